"""Identity resolution's reads and writes: records as batches, candidate lookup by shared token, persons, links,
their history, events and the review queue. Set-based where it matters (one statement per chunk)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from aim.storage import bulk
from aim.storage.identity_tables import identity_cursor, identity_events, link_history, review_pairs
from aim.storage.tables import links, partners, persons, record_tokens, records
from linkage.batch import BLOOM_WORDS, RecordBatch
from linkage.fellegi_sunter import TermFrequencies
from linkage.schema import FIELDS, MAX_TOKENS
from linkage.stored import bloom_rows, token_head, token_heads

BLOOM_FIELDS = tuple(spec.name for spec in FIELDS if spec.kind == "bloom")
RESOLVER = "resolver"
_CHUNK = 500
_STREAM = 50_000  # rows per fetch when reading a whole table


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Loaded:
    """Records as a batch, with each row's record pk."""

    pks: NDArray[np.int64]
    batch: RecordBatch


def load_records(conn: Connection, record_pks: Iterable[int]) -> Loaded:
    """The encodings of ``record_pks`` (those that still exist), ordered by pk."""
    wanted = sorted(set(record_pks))
    rows: list[Any] = []
    for chunk in bulk.chunks(conn, wanted):
        query = select(records.c.pk, *(records.c[name] for name in BLOOM_FIELDS)).where(
            bulk.among(conn, records.c.pk, chunk)
        )
        rows.extend(conn.execute(query).all())
    rows.sort(key=lambda r: r[0])
    columns = _Columns(np.array([r[0] for r in rows], dtype=np.int64))
    columns.add_blooms(rows)
    for chunk in bulk.chunks(conn, columns.pks.tolist()):
        query = _TOKENS.where(bulk.among(conn, record_tokens.c.record_pk, chunk))
        columns.add_tokens(conn.execute(query).all())
    return columns.loaded()


def load_linked(conn: Connection) -> tuple[Loaded, dict[int, int]]:
    """Every linked record's encodings, ordered by pk, and each one's person.

    Read table by table in key order (one pass over the records, one over their tokens) instead of key by key: for
    a feed so large that looking its candidates up by token would read more than the whole store.
    """
    pairs = conn.execute(select(links.c.record_pk, links.c.person_pk).order_by(links.c.record_pk)).all()
    columns = _Columns(np.array([r for r, _ in pairs], dtype=np.int64))
    person_of: dict[int, int] = dict(pairs)
    del pairs
    query = select(records.c.pk, *(records.c[name] for name in BLOOM_FIELDS)).order_by(records.c.pk)
    for part in conn.execute(query.execution_options(yield_per=_STREAM)).partitions():
        columns.add_blooms(part)
    for part in conn.execute(_TOKENS.execution_options(yield_per=_STREAM)).partitions():
        columns.add_tokens(part)
    return columns.loaded(), person_of


# A record's tokens in key order: a list field's tokens fill its slots in the order of the tokens.
_TOKENS = select(record_tokens.c.record_pk, record_tokens.c.field, record_tokens.c.token).order_by(
    record_tokens.c.record_pk, record_tokens.c.field, record_tokens.c.token
)


class _Columns:
    """A batch's columns for the records ``pks`` (ascending), filled from rows read in parts, a column at a time.

    Rows of other records are passed over, so a part may come from a whole table.
    """

    def __init__(self, pks: NDArray[np.int64]) -> None:
        n = len(pks)
        self.pks = pks
        self.blooms = {name: np.zeros((n, BLOOM_WORDS), dtype=np.uint64) for name in BLOOM_FIELDS}
        self.singles = {spec.name: np.zeros(n, dtype=np.uint64) for spec in FIELDS if spec.kind == "token"}
        self.lists = {spec.name: np.zeros((n, MAX_TOKENS), dtype=np.uint64) for spec in FIELDS if spec.kind == "tokens"}
        self.filled = {name: np.zeros(n, dtype=np.int64) for name in self.lists}

    def add_blooms(self, part: Sequence[Any]) -> None:
        """Rows of (record pk, one column per Bloom field), in any order."""
        if not part:
            return
        owners, *values = zip(*part, strict=True)
        at, mine = _positions(self.pks, owners)
        for name, column in zip(BLOOM_FIELDS, values, strict=True):
            present = [k for k in np.flatnonzero(mine).tolist() if column[k] is not None]
            if present:
                self.blooms[name][at[present]] = bloom_rows([column[k] for k in present], name)

    def add_tokens(self, part: Sequence[Any]) -> None:
        """Rows of (record pk, field, raw token), ordered by record pk (see ``_TOKENS``)."""
        if not part:
            return
        owners, names, tokens = zip(*part, strict=True)
        at, mine = _positions(self.pks, owners)
        fields = np.array(names)
        heads = token_heads(tokens)
        for name in np.unique(fields[mine]).tolist():
            rows = mine & (fields == name)
            if name in self.singles:
                self.singles[name][at[rows]] = heads[rows]
            elif name in self.lists:
                _fill_slots(self.lists[name], self.filled[name], at[rows], heads[rows])

    def loaded(self) -> Loaded:
        return Loaded(self.pks, RecordBatch(blooms=self.blooms, tokens=self.singles, token_lists=self.lists))


def _positions(pks: NDArray[np.int64], wanted: Sequence[int]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Where each of ``wanted`` sits in the sorted ``pks``, and whether it is there at all."""
    keys = np.array(wanted, dtype=np.int64)
    at = np.minimum(np.searchsorted(pks, keys), max(len(pks) - 1, 0)).astype(np.int64)
    found = pks[at] == keys if len(pks) else np.zeros(len(keys), dtype=np.bool_)
    return at, found


def _fill_slots(
    column: NDArray[np.uint64], filled: NDArray[np.int64], at: NDArray[np.int64], heads: NDArray[np.uint64]
) -> None:
    """Put each record's list tokens (``at`` ascending) in its next free slots, as many as fit."""
    index = np.arange(len(at))
    first = np.ones(len(at), dtype=np.bool_)
    first[1:] = at[1:] != at[:-1]
    start = np.maximum.accumulate(np.where(first, index, 0))
    slot = index - start + filled[at]
    fits = slot < MAX_TOKENS
    column[at[fits], slot[fits]] = heads[fits]
    np.maximum.at(filled, at, slot + 1)


def load_all_records(conn: Connection) -> Loaded:
    """Every record the hub holds (for training)."""
    return load_records(conn, conn.execute(select(records.c.pk)).scalars().all())


def records_sharing(conn: Connection, record_pks: Sequence[int], anchors: Iterable[tuple[str, str]]) -> set[int]:
    """Records holding, in field ``right``, a token that one of ``record_pks`` holds in field ``left``.

    The ``(field, token)`` index answers this without reading the records themselves.
    """
    found: set[int] = set()
    mine = record_tokens.alias("mine")
    theirs = record_tokens.alias("theirs")
    for left, right in anchors:
        for chunk in bulk.chunks(conn, list(record_pks)):
            query = (
                select(theirs.c.record_pk)
                .distinct()
                .select_from(mine.join(theirs, and_(theirs.c.token == mine.c.token, theirs.c.field == right)))
                .where(mine.c.field == left, bulk.among(conn, mine.c.record_pk, chunk))
            )
            found.update(conn.execute(query).scalars())
    return found


def term_frequencies(conn: Connection, fields: Iterable[str]) -> dict[str, TermFrequencies]:
    """How common each token of ``fields`` is among all records, counted by the database."""
    out: dict[str, TermFrequencies] = {}
    for name in sorted(fields):
        query = (
            select(record_tokens.c.token, func.count())
            .where(record_tokens.c.field == name)
            .group_by(record_tokens.c.token)
        )
        counts: dict[int, int] = defaultdict(int)
        for token, count in conn.execute(query):
            counts[token_head(bytes(token))] += int(count)
        values = np.array(sorted(counts), dtype=np.uint64)
        shares = np.array([counts[int(v)] for v in values], dtype=np.float64)
        total = max(float(shares.sum()), 1.0)
        out[name] = TermFrequencies(values, shares / total, 1.0 / total)
    return out


def existing(conn: Connection, record_pks: Iterable[int]) -> set[int]:
    found: set[int] = set()
    for chunk in bulk.chunks(conn, sorted(set(record_pks))):
        found.update(conn.execute(select(records.c.pk).where(bulk.among(conn, records.c.pk, chunk))).scalars())
    return found


def linked_count(conn: Connection) -> int:
    """How many records are linked to a person."""
    return int(conn.execute(select(func.count()).select_from(links)).scalar_one())


def persons_of(conn: Connection, record_pks: Iterable[int]) -> dict[int, int]:
    """The current person of each linked record among ``record_pks``."""
    found: dict[int, int] = {}
    for chunk in bulk.chunks(conn, sorted(set(record_pks))):
        query = select(links.c.record_pk, links.c.person_pk).where(bulk.among(conn, links.c.record_pk, chunk))
        found.update({r.record_pk: r.person_pk for r in conn.execute(query)})
    return found


def members_of(conn: Connection, person_pks: Iterable[int]) -> dict[int, list[int]]:
    """The records of each person among ``person_pks``."""
    found: dict[int, list[int]] = defaultdict(list)
    for chunk in bulk.chunks(conn, sorted(set(person_pks))):
        query = select(links.c.person_pk, links.c.record_pk).where(bulk.among(conn, links.c.person_pk, chunk))
        for r in conn.execute(query):
            found[r.person_pk].append(r.record_pk)
    return found


def cursor(conn: Connection) -> int:
    value = conn.execute(select(identity_cursor.c.last_seq).where(identity_cursor.c.name == RESOLVER)).scalar()
    return int(value or 0)


def set_cursor(conn: Connection, seq: int, *, model_version: str, now: datetime) -> None:
    values = {"last_seq": seq, "model_version": model_version, "updated_at": now}
    done = conn.execute(update(identity_cursor).where(identity_cursor.c.name == RESOLVER).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(identity_cursor).values(name=RESOLVER, **values))


def detach(conn: Connection, record_pks: Sequence[int], *, reason: str, now: datetime) -> dict[int, int]:
    """Unlink ``record_pks``: remove their links, close their open history; returns each one's previous person.

    Ingest has already removed the links of changed and deleted records; the open history row remembers where
    each was, so a record corrected at its partner can return to its person.
    """
    previous: dict[int, int] = {}
    for chunk in bulk.chunks(conn, sorted(set(record_pks))):
        query = (
            select(link_history.c.record_pk, link_history.c.person_pk)
            .where(bulk.among(conn, link_history.c.record_pk, chunk), link_history.c.ended_at.is_(None))
            .order_by(link_history.c.pk)
        )
        previous.update({r.record_pk: r.person_pk for r in conn.execute(query)})
        conn.execute(
            update(link_history)
            .where(bulk.among(conn, link_history.c.record_pk, chunk), link_history.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        conn.execute(delete(links).where(bulk.among(conn, links.c.record_pk, chunk)))
    return previous


def supersede_reviews(conn: Connection, record_pks: Sequence[int], *, now: datetime) -> None:
    """Pending review pairs of changed records are out of date; they are re-scored if still candidates."""
    # status is never NULL: coalesce() only keeps SQLite's planner off the status index, which it chose over the
    # record indexes and so read every pending pair for each part of a run (352,725 on a hub of 1,000,000 people)
    pending = func.coalesce(review_pairs.c.status, "") == "pending"
    for chunk in bulk.chunks(conn, sorted(set(record_pks))):
        conn.execute(
            update(review_pairs)
            .where(
                pending,
                or_(
                    bulk.among(conn, review_pairs.c.record_a_pk, chunk),
                    bulk.among(conn, review_pairs.c.record_b_pk, chunk),
                ),
            )
            .values(status="superseded", decided_at=now)
        )


def new_person(conn: Connection, *, now: datetime) -> int:
    pk = conn.execute(insert(persons).values(created_at=now).returning(persons.c.pk)).scalar_one()
    return int(pk)


def new_persons(conn: Connection, count: int, *, now: datetime) -> list[int]:
    """``count`` new persons written at once, their keys ascending."""
    if count <= 0:
        return []
    keys = bulk.new_keys(conn, persons, count)
    bulk.insert_rows(conn, persons, [{"pk": pk, "created_at": now} for pk in keys])
    return keys


def empty_unmerged(conn: Connection, person_pks: Iterable[int]) -> set[int]:
    """Those of ``person_pks`` with no records that were not merged into another: free to be reused."""
    wanted = sorted(set(person_pks))
    if not wanted:
        return set()
    used = set(members_of(conn, wanted))
    free: set[int] = set()
    for chunk in bulk.chunks(conn, wanted):
        query = select(persons.c.pk).where(bulk.among(conn, persons.c.pk, chunk), persons.c.merged_into.is_(None))
        free.update(pk for pk in conn.execute(query).scalars() if pk not in used)
    return free


@dataclass(frozen=True)
class NewLink:
    record_pk: int
    person_pk: int
    method: str
    weight: float | None
    confidence: float | None


def insert_links(conn: Connection, made: Sequence[NewLink], *, model_version: str, now: datetime) -> None:
    bulk.insert_rows(
        conn,
        links,
        [
            {
                "person_pk": link.person_pk,
                "record_pk": link.record_pk,
                "method": link.method,
                "confidence": link.confidence,
                "weight": link.weight,
                "model_version": model_version,
                "created_at": now,
            }
            for link in made
        ],
    )
    bulk.insert_rows(
        conn,
        link_history,
        [
            {
                "record_pk": link.record_pk,
                "person_pk": link.person_pk,
                "method": link.method,
                "weight": link.weight,
                "started_at": now,
            }
            for link in made
        ],
    )


def move_records(conn: Connection, record_pks: Sequence[int], *, to_person: int, reason: str, now: datetime) -> None:
    """Re-point the links of ``record_pks`` at ``to_person``, closing and reopening their history."""
    for chunk in bulk.chunks(conn, sorted(set(record_pks))):
        current = conn.execute(
            select(links.c.record_pk, links.c.method, links.c.weight).where(bulk.among(conn, links.c.record_pk, chunk))
        ).all()
        conn.execute(update(links).where(bulk.among(conn, links.c.record_pk, chunk)).values(person_pk=to_person))
        conn.execute(
            update(link_history)
            .where(bulk.among(conn, link_history.c.record_pk, chunk), link_history.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
        if current:
            conn.execute(
                insert(link_history),
                [
                    {"record_pk": r.record_pk, "person_pk": to_person, "method": r.method, "weight": r.weight}
                    | {"started_at": now}
                    for r in current
                ],
            )


def set_merged_into(conn: Connection, person_pk: int, survivor: int | None) -> None:
    conn.execute(update(persons).where(persons.c.pk == person_pk).values(merged_into=survivor))


def record_event(
    conn: Connection,
    *,
    kind: str,
    person_pk: int,
    other_person_pk: int,
    record_pks: Sequence[int],
    reason: str,
    actor: str,
    model_version: str | None,
    now: datetime,
    reverses_pk: int | None = None,
) -> int:
    pk = conn.execute(
        insert(identity_events)
        .values(
            kind=kind,
            person_pk=person_pk,
            other_person_pk=other_person_pk,
            record_pks=json.dumps(sorted(int(r) for r in record_pks)),
            reason=reason,
            actor=actor,
            model_version=model_version,
            reverses_pk=reverses_pk,
            created_at=now,
        )
        .returning(identity_events.c.pk)
    ).scalar_one()
    if reverses_pk is not None:
        conn.execute(update(identity_events).where(identity_events.c.pk == reverses_pk).values(reversed_by_pk=pk))
    return int(pk)


_DECISIONS_BY_LOOKUP = 5_000


def decided_pairs(conn: Connection, lows: Sequence[int]) -> list[tuple[int, int, str]]:
    """The steward's decisions (accepted or rejected) on pairs whose lower record pk is one of ``lows``, as
    ``(low pk, high pk, status)``. Looked up by ``lows`` when they are few; past ``_DECISIONS_BY_LOOKUP`` every
    decision is read instead (a handful per thousand persons, against lookups for each of a large feed's records)."""
    decided = review_pairs.c.status.in_(("accepted", "rejected"))
    columns = (review_pairs.c.record_a_pk, review_pairs.c.record_b_pk, review_pairs.c.status)
    if len(lows) > _DECISIONS_BY_LOOKUP:
        wanted = set(lows)
        rows = conn.execute(select(*columns).where(decided))
        return [(int(a), int(b), str(status)) for a, b, status in rows if a in wanted]
    found: list[tuple[int, int, str]] = []
    for chunk in bulk.chunks(conn, list(lows)):
        rows = conn.execute(select(*columns).where(bulk.among(conn, review_pairs.c.record_a_pk, chunk), decided))
        found.extend((int(a), int(b), str(status)) for a, b, status in rows)
    return found


def queue_reviews(conn: Connection, pending: Sequence[dict[str, Any]], *, now: datetime) -> int:
    """Add pairs to the review queue, or re-open a superseded one; pairs already pending or decided are kept."""
    if not pending:
        return 0
    keys = {(p["record_a_pk"], p["record_b_pk"]) for p in pending}
    known: dict[tuple[int, int], tuple[int, str]] = {}
    for chunk in bulk.chunks(conn, sorted({a for a, _ in keys})):
        query = select(
            review_pairs.c.pk, review_pairs.c.record_a_pk, review_pairs.c.record_b_pk, review_pairs.c.status
        ).where(bulk.among(conn, review_pairs.c.record_a_pk, chunk))
        for r in conn.execute(query):
            known[(r.record_a_pk, r.record_b_pk)] = (r.pk, r.status)
    fresh, reopened = [], 0
    for item in pending:
        key = (item["record_a_pk"], item["record_b_pk"])
        if key not in known:
            fresh.append(item | {"status": "pending", "source": "model", "created_at": now, "attempts": 1})
        elif known[key][1] == "superseded":
            conn.execute(
                update(review_pairs)
                .where(review_pairs.c.pk == known[key][0])
                .values(
                    status="pending",
                    levels=item["levels"],
                    weight=item["weight"],
                    model_version=item["model_version"],
                    decided_at=None,
                    attempts=review_pairs.c.attempts + 1,
                )
            )
            reopened += 1
    for chunk in chunks(fresh, 2000):
        conn.execute(insert(review_pairs), list(chunk))
    return len(fresh) + reopened


def partner_codes(conn: Connection) -> dict[int, str]:
    return {r.pk: r.code for r in conn.execute(select(partners.c.pk, partners.c.code))}
