"""The encoded-record schema: which encoded fields a feed row may carry, and their shapes.

This is the contract between the partner's encoder and the hub. The hub validates every row's encodings against
it and compares records field by field; it never sees the values behind them.

Kinds:
    ``bloom``   a keyed, diffused Bloom filter of q-grams, base64 (standard alphabet, padded) of
                ``BLOOM_BITS // 8`` bytes; compared by Dice similarity.
    ``token``   a keyed token (``TOKEN_BYTES`` bytes, base64url without padding); compared for equality and used
                for blocking.
    ``tokens``  a list of at most ``MAX_TOKENS`` such tokens (e.g. one per part of a hyphenated surname).

A missing value has no entry at all: the encoder never emits a token for an empty value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

ENCODING_PROFILE = "aim-enc-1"
BLOOM_BITS = 1024
TOKEN_BYTES = 16
MAX_TOKENS = 6

Kind = Literal["bloom", "token", "tokens"]


@dataclass(frozen=True)
class FieldSpec:
    """One encoded field: its name in a feed row, its kind and what it encodes."""

    name: str
    kind: Kind
    description: str


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("bf_first", "bloom", "first name q-grams"),
    FieldSpec("bf_last", "bloom", "last name q-grams"),
    FieldSpec("bf_address", "bloom", "address q-grams"),
    FieldSpec("tk_first", "token", "normalised first name"),
    FieldSpec("tk_first_canon", "token", "nickname-canonical first name"),
    FieldSpec("tk_first_phon", "token", "phonetic code of the first name"),
    FieldSpec("tk_last", "token", "normalised last name"),
    FieldSpec("tk_last_phon", "token", "phonetic code of the last name"),
    FieldSpec("tk_last_parts", "tokens", "each part of a hyphenated or multi-part last name"),
    FieldSpec("tk_dob", "token", "full date of birth"),
    FieldSpec("tk_dob_swap", "token", "date of birth with day and month swapped, when that is a valid date"),
    FieldSpec("tk_dob_ym", "token", "year and month of birth"),
    FieldSpec("tk_dob_y", "token", "year of birth"),
    FieldSpec("tk_dob_md", "token", "month and day of birth"),
    FieldSpec("tk_gender", "token", "normalised gender code"),
    FieldSpec("tk_pc_unit", "token", "full postcode"),
    FieldSpec("tk_pc_sector", "token", "postcode sector"),
    FieldSpec("tk_pc_district", "token", "postcode district"),
    FieldSpec("tk_nhs", "token", "NHS number"),
    FieldSpec("tk_local", "token", "the partner's local person id, scoped to the partner"),
)

FIELDS_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}

_BLOOM_B64_LEN = 4 * ((BLOOM_BITS // 8 + 2) // 3)
_TOKEN_B64_LEN = (TOKEN_BYTES * 8 + 5) // 6


def _bloom_problem(value: object) -> str | None:
    if not isinstance(value, str) or len(value) != _BLOOM_B64_LEN:
        return f"must be base64 of {BLOOM_BITS // 8} bytes ({_BLOOM_B64_LEN} characters)"
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64"
    return None


def _token_problem(value: object) -> str | None:
    if not isinstance(value, str) or len(value) != _TOKEN_B64_LEN:
        return f"must be a base64url token of {TOKEN_BYTES} bytes ({_TOKEN_B64_LEN} characters, no padding)"
    try:
        base64.urlsafe_b64decode(value + "==")
    except (binascii.Error, ValueError):
        return "is not valid base64url"
    if any(ch in value for ch in "+/="):
        return "is not valid base64url"
    return None


def validate_encoded(enc: Mapping[str, object]) -> list[str]:
    """Check one row's encodings against the schema.

    Args:
        enc: field name to encoded value, as read from a feed row.

    Returns:
        One message per problem (field name, rule and fix; never the value itself); empty when valid.
    """
    problems: list[str] = []
    for name, value in enc.items():
        spec = FIELDS_BY_NAME.get(name)
        if spec is None:
            problems.append(f"unknown encoded field {name!r}: allowed fields are listed in docs/feed-format.md")
            continue
        if spec.kind == "bloom":
            problem = _bloom_problem(value)
        elif spec.kind == "token":
            problem = _token_problem(value)
        elif not isinstance(value, list) or not 1 <= len(value) <= MAX_TOKENS:
            problem = f"must be a list of 1 to {MAX_TOKENS} tokens"
        else:
            problem = next((p for p in map(_token_problem, value) if p), None)
        if problem:
            problems.append(f"encoded field {name!r} {problem}")
    if "bf_first" not in enc and "bf_last" not in enc:
        problems.append("no name or address encoding: a row needs at least bf_first or bf_last")
    return problems
