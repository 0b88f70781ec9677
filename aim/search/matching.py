"""Finding and scoring a query's candidate records: the hub's half of a search, on encodings only.

1. The query's blocking keys (:mod:`aim.search.keys`) find candidate records in ``search_keys``, one index lookup
   per key; a key shared by more than ``max_block`` records (a very common name in a very common year) is skipped,
   as blocking skips an oversized block.
2. Candidates under another key set, or not yet linked to a person, are left out.
3. The model scores each pair (term frequencies counted over the hub), and
   the household guard holds a pair whose first name or date of birth differs below the link threshold.
4. A record's band: ``strong`` at or above the model's upper threshold (or the same NHS number or local id),
   ``possible`` at or above the lower one; below that it is no match.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from aim.identity import store
from aim.search.keys import query_keys
from aim.search.query import EncodedQuery
from aim.search.views import POSSIBLE, STRONG
from aim.storage.search_tables import search_keys
from aim.storage.tables import links, record_tokens, records
from linkage.batch import RecordBatch
from linkage.blocking import BlockingRule
from linkage.fellegi_sunter import TermFrequencies
from linkage.model import LinkageModel
from linkage.scoring import guarded_weights, score_pairs, tf_fields
from linkage.stored import batch_from_stored, token_head

MAX_BLOCK = 5_000
_DETERMINISTIC = ("tk_nhs", "tk_local")


@dataclass(frozen=True)
class Match:
    """A candidate record that matched: its person, band, and rank weight (internal; never leaves the hub)."""

    record_pk: int
    person_pk: int
    band: str
    rank: float


def candidates(conn: Connection, keys: Sequence[int], *, max_block: int = MAX_BLOCK) -> set[int]:
    """The records filed under any of ``keys`` (one statement), leaving out keys shared by more than ``max_block``."""
    if not keys:
        return set()
    by_key: dict[int, list[int]] = defaultdict(list)
    query = select(search_keys.c.key, search_keys.c.record_pk).where(search_keys.c.key.in_(list(keys)))
    for key, record_pk in conn.execute(query):
        by_key[int(key)].append(int(record_pk))
    return {pk for pks in by_key.values() if len(pks) <= max_block for pk in pks}


def linked(conn: Connection, pks: set[int], key_id: str) -> dict[int, int]:
    """Record pk to person pk for the candidates linked to a person and encoded under ``key_id``."""
    out: dict[int, int] = {}
    for chunk in store.chunks(sorted(pks)):
        query = (
            select(records.c.pk, links.c.person_pk)
            .join(links, links.c.record_pk == records.c.pk)
            .where(records.c.pk.in_(chunk), records.c.key_id == key_id)
        )
        out.update({int(r.pk): int(r.person_pk) for r in conn.execute(query)})
    return out


class TermCounts:
    """How common the query's tokens are among the hub's records, for term-frequency adjustment.

    A token's count is one lookup on the ``(field, token)`` index; the number of records holding each field is
    counted once and kept until the records change (``invalidate``).
    """

    def __init__(self) -> None:
        self._totals: dict[str, int] | None = None

    def invalidate(self) -> None:
        self._totals = None

    def frequencies(self, conn: Connection, model: LinkageModel, enc: EncodedQuery) -> dict[str, TermFrequencies]:
        fields = sorted(tf_fields(model))
        # Read once into a local: another request's invalidate() may clear the shared counts at any moment.
        totals = self._totals
        if totals is None:
            query = (
                select(record_tokens.c.field, func.count())
                .where(record_tokens.c.field.in_(fields))
                .group_by(record_tokens.c.field)
            )
            totals = dict.fromkeys(fields, 0) | {str(f): int(n) for f, n in conn.execute(query)}
            self._totals = totals
        out: dict[str, TermFrequencies] = {}
        for name in fields:
            total = max(totals.get(name, 0), 1)
            value = enc.enc.get(name)
            if not isinstance(value, str):
                out[name] = TermFrequencies(np.empty(0, np.uint64), np.empty(0), 1.0 / total)
                continue
            raw = _token_bytes(value)
            count = conn.execute(
                select(func.count()).where(and_(record_tokens.c.field == name, record_tokens.c.token == raw))
            ).scalar_one()
            values = np.array([token_head(raw)], dtype=np.uint64)
            out[name] = TermFrequencies(values, np.array([max(int(count), 1) / total]), 1.0 / total)
        return out


def _token_bytes(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def score(
    model: LinkageModel, query: RecordBatch, pool: RecordBatch, frequencies: dict[str, TermFrequencies]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Each pool record's guarded weight against the query, and whether a deterministic field agrees.

    Every pool record shares a blocking key with the query (that is how it was found), so each is a candidate pair;
    a key collision only adds a pair the model scores low.
    """
    j = np.arange(len(pool), dtype=np.int64)
    i = np.zeros(len(pool), dtype=np.int64)
    scored = score_pairs(model, query, pool, i, j, frequencies=frequencies)
    weight = guarded_weights(model, scored)
    same = np.zeros(len(j), dtype=np.bool_)
    for name in _DETERMINISTIC:
        left = query.tokens[name][i]
        same |= (left != 0) & (left == pool.tokens[name])
    return weight, same


def query_batch(query: EncodedQuery) -> RecordBatch:
    """The query as a one-record batch, built from raw bytes (cheaper than decoding base64 column by column)."""
    blooms: dict[str, list[bytes | None]] = {}
    tokens: list[tuple[int, str, bytes]] = []
    for name, value in query.enc.items():
        if name.startswith("bf_"):
            blooms[name] = [base64.b64decode(value)]
        else:
            tokens.extend((0, name, _token_bytes(item)) for item in (value if isinstance(value, list) else [value]))
    return batch_from_stored(1, blooms, tokens)


def find_matches(
    conn: Connection,
    *,
    model: LinkageModel,
    rules: Sequence[BlockingRule],
    query: EncodedQuery,
    counts: TermCounts,
) -> list[Match]:
    """Every record matching ``query`` at least as a possible match, best first."""
    batch = query_batch(query)
    person_of = linked(conn, candidates(conn, query_keys(batch, rules)), query.key_id)
    if not person_of:
        return []
    loaded = store.load_records(conn, person_of)
    weight, same = score(model, batch, loaded.batch, counts.frequencies(conn, model, query))
    upper, lower = model.thresholds.upper, model.thresholds.lower
    out = []
    for row, (w, det) in enumerate(zip(weight.tolist(), same.tolist(), strict=True)):
        if det or w >= upper:
            band = STRONG
        elif w >= lower:
            band = POSSIBLE
        else:
            continue
        pk = int(loaded.pks[row])
        out.append(Match(pk, person_of[pk], band, float("inf") if det else w))
    out.sort(key=lambda m: (-m.rank, m.record_pk))
    return out


__all__ = ["MAX_BLOCK", "Match", "TermCounts", "candidates", "find_matches", "linked", "score"]
