"""The partner-side encoder: one raw identity in, the encoded fields of :mod:`linkage.schema` out.

Every identifier is normalised (:mod:`linkage.normalise`) and then encoded under its own key (:mod:`linkage.keyset`):
names and the address as keyed, diffused Bloom filters (:mod:`linkage.bloom`) for fuzzy comparison, and every exact
or partial part of the evidence as a keyed token (:mod:`linkage.token`) for equality and blocking. A missing value
gives no field at all. A value that cannot be normalised is reported as a :class:`FieldProblem` naming the column and
the rule, never the value, and the record gets no encoding.

Each column's result is kept per distinct raw text, so a name, date of birth or postcode that recurs in an extract is
normalised and encoded once. That is what makes encoding fast; it holds plaintext only in the encoding process's
memory, where the extract already is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import jellyfish

from linkage.bloom import BloomEncoder, BloomParams
from linkage.errors import NormalisationError
from linkage.keyset import TOKEN_PURPOSES, FieldKeys
from linkage.nickname import canonical_first_name
from linkage.normalise import (
    normalise_address,
    normalise_birth_date,
    normalise_gender,
    normalise_name,
    normalise_nhs_number,
    normalise_postcode,
    swapped_day_month,
)
from linkage.schema import MAX_TOKENS
from linkage.token import Tokeniser

Encoded = dict[str, str | list[str]]
_CACHE_LIMIT = 200_000
IDENTITY_COLUMNS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "address",
    "postcode",
    "nhs_number",
    "local_id",
)


@dataclass(frozen=True)
class RawIdentity:
    """A subject's identifiers as the partner recorded them; an empty string means not recorded."""

    first_name: str = ""
    last_name: str = ""
    date_of_birth: str = ""
    gender: str = ""
    address: str = ""
    postcode: str = ""
    nhs_number: str = ""
    local_id: str = ""


@dataclass(frozen=True)
class FieldProblem:
    """Why one column of a record cannot be encoded: the column and the rule (never the value)."""

    column: str
    reason: str


@dataclass(frozen=True)
class EncodingParams:
    """The Bloom parameters of the name fields (first and last share them) and of the address."""

    name: BloomParams = field(default_factory=lambda: BloomParams(q=2, k=10, t=4))
    address: BloomParams = field(default_factory=lambda: BloomParams(q=2, k=10, t=4))


# A column's contribution before Bloom encoding: its tokens and, for a Bloom field, the normalised text to encode.
_Part = tuple[Encoded, str | None]
_BLOOM_FIELD = {"first_name": "bf_first", "last_name": "bf_last", "address": "bf_address"}


class RecordEncoder:
    """Encodes raw identities under one partnership key set, for one partner.

    Args:
        keys: the derived keys of the partnership key set.
        partner: the partner's code; scopes ``tk_local`` so two partners' local ids never collide.
        today: the date against which a date of birth in the future is refused.
        params: the Bloom parameters; the default is what ``docs/encoding.md`` justifies.
    """

    def __init__(self, keys: FieldKeys, *, partner: str, today: date, params: EncodingParams | None = None) -> None:
        self.key_id = keys.key_id
        self.partner = partner
        self.today = today
        self.params = params or EncodingParams()
        self._tokens = {name: Tokeniser(keys.token_key(name)) for name in TOKEN_PURPOSES}
        self._names = BloomEncoder(keys.bloom_key("bf_first"), keys.diffusion_key("bf_first"), self.params.name)
        self._address = BloomEncoder(
            keys.bloom_key("bf_address"), keys.diffusion_key("bf_address"), self.params.address
        )
        self._columns: dict[str, Callable[[str], _Part]] = {
            "first_name": self._first_name,
            "last_name": self._last_name,
            "date_of_birth": self._date_of_birth,
            "gender": self._gender,
            "address": self._address_part,
            "postcode": self._postcode,
            "nhs_number": self._nhs_number,
            "local_id": self._local_id,
        }
        self._done: dict[str, dict[str, Encoded | str]] = {column: {"": {}} for column in self._columns}

    def _first_name(self, raw: str) -> _Part:
        name = normalise_name(raw)
        if name is None:
            return {}, None
        tk = self._tokens
        joined = name.joined
        enc: Encoded = {
            "tk_first": tk["tk_first"](joined),
            # A first name given with a middle name ("John Paul") is canonicalised by its first part.
            "tk_first_canon": tk["tk_first_canon"](canonical_first_name(name.parts[0])),
            "tk_first_phon": tk["tk_first_phon"](jellyfish.metaphone(joined) or joined),
        }
        return enc, joined

    def _last_name(self, raw: str) -> _Part:
        name = normalise_name(raw)
        if name is None:
            return {}, None
        tk = self._tokens
        joined = name.joined
        parts = list(dict.fromkeys(name.parts))[:MAX_TOKENS]
        enc: Encoded = {
            "tk_last": tk["tk_last"](joined),
            "tk_last_parts": [tk["tk_last_parts"](p) for p in parts],
            "tk_last_phon": tk["tk_last_phon"](jellyfish.metaphone(joined) or joined),
        }
        return enc, joined

    def _date_of_birth(self, raw: str) -> _Part:
        born = normalise_birth_date(raw, today=self.today)
        if born is None:
            return {}, None
        tk = self._tokens
        enc: Encoded = {
            "tk_dob": tk["tk_dob"](born.isoformat()),
            "tk_dob_ym": tk["tk_dob_ym"](f"{born.year:04d}-{born.month:02d}"),
            "tk_dob_y": tk["tk_dob_y"](f"{born.year:04d}"),
            "tk_dob_md": tk["tk_dob_md"](f"{born.month:02d}-{born.day:02d}"),
        }
        swapped = swapped_day_month(born)
        if swapped is not None:
            enc["tk_dob_swap"] = tk["tk_dob_swap"](swapped.isoformat())
        return enc, None

    def _gender(self, raw: str) -> _Part:
        code = normalise_gender(raw)
        return ({"tk_gender": self._tokens["tk_gender"](code)} if code else {}), None

    def _address_part(self, raw: str) -> _Part:
        return {}, normalise_address(raw)

    def _postcode(self, raw: str) -> _Part:
        postcode = normalise_postcode(raw)
        if postcode is None:
            return {}, None
        tk = self._tokens
        enc: Encoded = {
            "tk_pc_unit": tk["tk_pc_unit"](postcode.unit),
            "tk_pc_sector": tk["tk_pc_sector"](postcode.sector),
            "tk_pc_district": tk["tk_pc_district"](postcode.district),
        }
        return enc, None

    def _nhs_number(self, raw: str) -> _Part:
        digits = normalise_nhs_number(raw)
        return ({"tk_nhs": self._tokens["tk_nhs"](digits)} if digits else {}), None

    def _local_id(self, raw: str) -> _Part:
        local = raw.strip()
        # The partner code is part of the value: the same local id at two partners is two different people.
        return ({"tk_local": self._tokens["tk_local"](f"{self.partner}\x1f{local}")} if local else {}), None

    def _column(self, column: str, raws: list[str]) -> list[Encoded | str]:
        """Each record's encoded fields for one column, or the reason it cannot be encoded.

        Results are kept per distinct raw text; the texts not seen before are normalised, and their Bloom filters
        made, together.
        """
        done = self._done[column]
        new = [raw for raw in dict.fromkeys(raws) if raw not in done]
        if new:
            if len(done) + len(new) > _CACHE_LIMIT:
                done.clear()
                done[""] = {}
                new = list(dict.fromkeys(raws))
            self._add(column, new, done)
        return [done[raw] for raw in raws]

    def _add(self, column: str, raws: list[str], done: dict[str, Encoded | str]) -> None:
        parts: list[tuple[str, Encoded, str | None]] = []
        for raw in raws:
            try:
                enc, text = self._columns[column](raw)
            except NormalisationError as exc:
                done[raw] = str(exc)
                continue
            parts.append((raw, enc, text))
        field = _BLOOM_FIELD.get(column)
        if field is not None:
            encoder = self._address if field == "bf_address" else self._names
            texts = [text for _, _, text in parts if text]
            blooms = iter(encoder.encode_many(texts))
            for _, enc, text in parts:
                if text:
                    enc[field] = next(blooms)
        for raw, enc, _ in parts:
            done[raw] = enc

    def encode_many(self, records: Sequence[RawIdentity]) -> list[Encoded | list[FieldProblem]]:
        """Encode records; for each, its encoded fields or every problem that stops it being encoded.

        Args:
            records: raw identities.

        Returns:
            One result per record, in order: a mapping of encoded field to value (only the fields present), or a
            non-empty list of problems. Token lists in the result may be shared between records: do not mutate.
        """
        columns = [self._column(c, [getattr(r, c) for r in records]) for c in IDENTITY_COLUMNS]
        results: list[Encoded | list[FieldProblem]] = []
        for parts in zip(*columns, strict=True):
            enc: Encoded = {}
            failed = False
            for part in parts:
                if type(part) is str:
                    failed = True
                    break
                enc.update(part)
            if failed:
                results.append(
                    [FieldProblem(c, p) for c, p in zip(IDENTITY_COLUMNS, parts, strict=True) if type(p) is str]
                )
            elif "bf_first" not in enc and "bf_last" not in enc:
                results.append([FieldProblem("first_name", "at least one of first_name and last_name is required")])
            else:
                results.append(enc)
        return results

    def encode(self, record: RawIdentity) -> Encoded | list[FieldProblem]:
        """Encode one record (see :meth:`encode_many`, which is faster for many)."""
        return self.encode_many([record])[0]
