"""Finding and scoring a query's candidate records: the hub's half of a search, on encodings only.

1. The query's blocking keys (:mod:`aim.search.keys`) find candidate records in ``search_keys``, one index lookup
   per key; a key shared by more than ``max_block`` records (a very common name in a very common year) is skipped,
   as blocking skips an oversized block.
2. The candidates' encodings are read with their person, one row per record (Bloom filters from ``records``, tokens
   packed in ``search_tokens``); candidates under another key set, or not yet linked to a person, are left out.
3. The model scores each pair (term frequencies counted over the hub), and
   the household guard holds a pair whose first name or date of birth differs below the link threshold.
4. A record's band: ``strong`` at or above the model's upper threshold (or the same NHS number or local id),
   ``possible`` at or above the lower one; below that it is no match.
"""

from __future__ import annotations

import base64
import functools
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.engine import Connection

from aim.identity.store import BLOOM_FIELDS
from aim.search.keys import query_keys
from aim.search.query import EncodedQuery
from aim.search.views import POSSIBLE, STRONG
from aim.storage import bulk
from aim.storage.search_tables import search_keys, search_tokens
from aim.storage.tables import links, record_tokens, records
from linkage.batch import RecordBatch
from linkage.blocking import BlockingRule
from linkage.fellegi_sunter import TermFrequencies
from linkage.model import LinkageModel
from linkage.scoring import guarded_weights, score_pairs, tf_fields
from linkage.stored import batch_from_packed, batch_from_stored, token_head

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
    for key, record_pk in conn.execute(_statements(bulk.is_postgres(conn)).candidates, {"keys": list(keys)}):
        by_key[int(key)].append(int(record_pk))
    return {pk for pks in by_key.values() if len(pks) <= max_block for pk in pks}


@dataclass(frozen=True)
class Pool:
    """A search's candidate records, ascending by pk: their persons and encodings."""

    pks: NDArray[np.int64]
    person_pks: NDArray[np.int64]
    batch: RecordBatch


def pool(conn: Connection, pks: set[int], key_id: str) -> Pool:
    """The candidates ``pks`` linked to a person and encoded under ``key_id``, read one row per record."""
    statement = _statements(bulk.is_postgres(conn)).pool
    rows: list[Any] = []
    for chunk in bulk.chunks(conn, sorted(pks)):
        rows.extend(conn.execute(statement, {"pks": list(chunk), "key_id": key_id}))
    rows.sort(key=lambda r: r[0])
    blooms = {name: [getattr(r, name) for r in rows] for name in BLOOM_FIELDS}
    batch = batch_from_packed(blooms, [r.tokens for r in rows])
    ids = np.array([(r.pk, r.person_pk) for r in rows], dtype=np.int64).reshape(len(rows), 2)
    return Pool(ids[:, 0].copy(), ids[:, 1].copy(), batch)


@dataclass(frozen=True)
class _Statements:
    candidates: Select[Any]
    pool: Select[Any]


@functools.cache
def _statements(postgres: bool) -> _Statements:
    """A search's statements, built once per database kind and run with the keys as parameters."""
    return _Statements(
        candidates=select(search_keys.c.key, search_keys.c.record_pk).where(
            bulk.among_param(postgres, search_keys.c.key, "keys")
        ),
        pool=select(
            records.c.pk, links.c.person_pk, search_tokens.c.tokens, *(records.c[name] for name in BLOOM_FIELDS)
        )
        .join(links, links.c.record_pk == records.c.pk)
        .join(search_tokens, search_tokens.c.record_pk == records.c.pk)
        .where(bulk.among_param(postgres, records.c.pk, "pks"), records.c.key_id == bindparam("key_id")),
    )


class TermCounts:
    """How common the query's tokens are among the hub's records, for term-frequency adjustment.

    A token's count is one lookup on the ``(field, token)`` index; the number of records holding each field is
    counted once. Both are kept until the records change (``invalidate``): the common names, whose counts cost the
    most to take, are the ones searched again. At most ``KEPT_COUNTS`` token counts are kept.

    After the records change, one request counts the totals again (a second or more on a hub of a million records,
    longer while a nightly feed is written) and the others go on with the totals from before the change, which a
    night's feed moves by a few per cent; only the very first count, with no totals yet, is waited for.
    """

    def __init__(self) -> None:
        self._totals: dict[str, int] | None = None
        self._previous: dict[str, int] | None = None  # the totals before the records last changed
        self._counts: dict[tuple[str, bytes], int] = {}
        self._counting = threading.Lock()  # held by the request counting the totals

    def invalidate(self) -> None:
        self._previous = self._totals or self._previous
        self._totals = None
        self._counts = {}

    def frequencies(self, conn: Connection, model: LinkageModel, enc: EncodedQuery) -> dict[str, TermFrequencies]:
        fields = sorted(tf_fields(model))
        # Read once into locals: another request's invalidate() may replace the shared counts at any moment, and a
        # count taken before it must not land among those taken after.
        totals, counts = self._totals, self._counts
        if totals is None:
            totals, counts = self._recount(conn, fields, counts)
        out: dict[str, TermFrequencies] = {}
        for name in fields:
            total = max(totals.get(name, 0), 1)
            value = enc.enc.get(name)
            if not isinstance(value, str):
                out[name] = TermFrequencies(np.empty(0, np.uint64), np.empty(0), 1.0 / total)
                continue
            raw = _token_bytes(value)
            count = counts.get((name, raw))
            if count is None:
                count = int(conn.execute(_TOKEN_COUNT, {"field": name, "token": raw}).scalar_one())
                if len(counts) >= KEPT_COUNTS:
                    counts.clear()
                counts[(name, raw)] = count
            values = np.array([token_head(raw)], dtype=np.uint64)
            out[name] = TermFrequencies(values, np.array([max(count, 1) / total]), 1.0 / total)
        return out

    def _recount(
        self, conn: Connection, fields: list[str], counts: dict[tuple[str, bytes], int]
    ) -> tuple[dict[str, int], dict[tuple[str, bytes], int]]:
        """The totals and the token counts to go with them: the totals counted by this request (or by the one
        ahead of it), or the previous ones while another request counts."""
        previous = self._previous
        if not self._counting.acquire(blocking=previous is None):
            assert previous is not None
            return previous, counts
        try:
            totals, counts = self._totals, self._counts  # counted meanwhile by the request ahead
            if totals is None:
                totals = self._count_totals(conn, fields)
                if self._counts is counts:  # not invalidated while counting
                    self._totals = totals
            return totals, counts
        finally:
            self._counting.release()

    @staticmethod
    def _count_totals(conn: Connection, fields: list[str]) -> dict[str, int]:
        query = (
            select(record_tokens.c.field, func.count())
            .where(record_tokens.c.field.in_(fields))
            .group_by(record_tokens.c.field)
        )
        return dict.fromkeys(fields, 0) | {str(f): int(n) for f, n in conn.execute(query)}


KEPT_COUNTS = 100_000
_TOKEN_COUNT = select(func.count()).where(
    record_tokens.c.field == bindparam("field"), record_tokens.c.token == bindparam("token")
)


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
    found = pool(conn, candidates(conn, query_keys(batch, rules)), query.key_id)
    if not len(found.pks):
        return []
    weight, same = score(model, batch, found.batch, counts.frequencies(conn, model, query))
    upper, lower = model.thresholds.upper, model.thresholds.lower
    out = []
    for row, (w, det) in enumerate(zip(weight.tolist(), same.tolist(), strict=True)):
        if det or w >= upper:
            band = STRONG
        elif w >= lower:
            band = POSSIBLE
        else:
            continue
        out.append(Match(int(found.pks[row]), int(found.person_pks[row]), band, float("inf") if det else w))
    out.sort(key=lambda m: (-m.rank, m.record_pk))
    return out


__all__ = ["MAX_BLOCK", "Match", "Pool", "TermCounts", "candidates", "find_matches", "pool", "score"]
