"""A search query: encoded by the portal (which holds the partnership key set), checked and searched by the hub.

The portal calls :func:`encode_query` with what a MASH officer typed and sends the resulting :class:`EncodedQuery`
(``{"key_id": ..., "enc": {...}}``) to ``POST /v1/search``. The encodings are exactly those a partner's feed row
carries (:class:`linkage.encoder.RecordEncoder`), so the hub compares them with its records as it compares feed rows
with each other; the hub never receives the query in clear.

A query too thin to search with is refused on both sides with the same rule (:func:`thin_problem`): a name alone
(a surname, or even both names) matches too many people to be a search rather than a trawl.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aim.search.errors import QueryError
from linkage.encoder import RawIdentity, RecordEncoder
from linkage.keyset import FieldKeys
from linkage.schema import validate_encoded

PORTAL = "PORTAL"  # the partner code a query's local id is scoped to when no partner is named
_KEY_ID = re.compile(r"^k-[0-9a-f]{12}$|^k-[A-Za-z0-9\-]{1,60}$")

THIN_RULE = (
    "a search needs a name with a date of birth, or both names with a postcode, or an NHS number, or a partner's "
    "local id"
)


@dataclass(frozen=True)
class EncodedQuery:
    """A search as the hub receives it: the key set's id and the encoded fields (no plaintext)."""

    key_id: str
    enc: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The body the portal posts (plus ``limit`` if it wants)."""
        return {"key_id": self.key_id, "enc": dict(self.enc)}


def thin_problem(present: set[str]) -> str | None:
    """Why a query holding the encoded fields ``present`` is too thin to search with, or ``None``.

    The rule: a name (``bf_first`` or ``bf_last``) and a date of birth (``tk_dob``); or both names and a postcode
    (``tk_pc_unit``); or an NHS number (``tk_nhs``); or a local id (``tk_local``).
    """
    if present & {"tk_nhs", "tk_local"}:
        return None
    names = present & {"bf_first", "bf_last"}
    if names and "tk_dob" in present:
        return None
    if len(names) == 2 and "tk_pc_unit" in present:
        return None
    have = ", ".join(sorted(present)) or "nothing"
    return f"the query is too thin to search with (it holds {have}): {THIN_RULE}; add the date of birth"


def encode_query(
    keys: FieldKeys,
    *,
    first_name: str = "",
    last_name: str = "",
    date_of_birth: str = "",
    gender: str = "",
    postcode: str = "",
    address: str = "",
    nhs_number: str = "",
    local_id: str = "",
    local_id_partner: str = "",
    today: date | None = None,
) -> EncodedQuery:
    """Encode a search on the portal, as a partner's agent encodes a feed row.

    Args:
        keys: the partnership key set (the current one).
        first_name: as typed; the other identifiers likewise, each optional.
        local_id: a partner's own person id; ``local_id_partner`` names the partner it belongs to.
        today: the date a date of birth must not be after (default: today).

    Raises:
        QueryError: a value cannot be normalised (the message names the field and the rule, never the value), or
            the query is too thin to search with (see :func:`thin_problem`).
    """
    if local_id.strip() and not local_id_partner.strip():
        raise QueryError("a local id belongs to one partner: give local_id_partner (e.g. WMP) with it")
    raw = RawIdentity(
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        gender=gender,
        address=address,
        postcode=postcode,
        nhs_number=nhs_number,
        local_id=local_id,
    )
    encoder = RecordEncoder(keys, partner=local_id_partner.strip() or PORTAL, today=today or date.today())
    result = encoder.encode(raw)
    if isinstance(result, list):
        problems = [f"{p.column}: {p.reason}" for p in result]
        raise QueryError("the search cannot be encoded: " + "; ".join(problems), problems)
    why = thin_problem(set(result))
    if why is not None:
        raise QueryError(why)
    return EncodedQuery(key_id=keys.key_id, enc=dict(result))


def check_query(query: EncodedQuery) -> None:
    """The hub's check of a received query: a key id, encodings valid under the schema, and not too thin.

    Raises:
        QueryError: with every problem (field and rule, never a value).
    """
    problems = []
    if not _KEY_ID.match(query.key_id):
        problems.append("key_id must be the key set's id (k- and 12 hex digits), as the portal's key set names it")
    problems.extend(validate_encoded(query.enc))
    if problems:
        raise QueryError("the encoded query is not valid: " + "; ".join(problems), problems)
    why = thin_problem(set(query.enc))
    if why is not None:
        raise QueryError(why)
