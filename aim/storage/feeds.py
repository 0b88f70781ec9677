"""Feeds, their batches and the rejected rows of each: the hub's ledger of what partners pushed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from aim.ingest.validation import Rejection
from aim.storage.tables import batch_progress, feed_batches, feeds, row_rejections


@dataclass(frozen=True)
class FeedRow:
    pk: int
    partner_pk: int
    feed_id: str
    manifest_sha256: str
    key_id: str
    row_count: int
    rows_sha256: str
    status: str
    batch_count: int | None
    accepted: int
    rejected: int
    inserted: int
    replaced: int
    deleted: int
    opened_at: datetime
    committed_at: datetime | None


@dataclass(frozen=True)
class BatchRow:
    pk: int
    feed_pk: int
    seq: int
    body_sha256: str
    size_bytes: int
    ends_with_newline: bool
    row_count: int
    valid_rows: int
    received_on: date
    applied_at: datetime | None
    inserted: int
    replaced: int
    deleted: int


_BATCH_COLUMNS = [c for c in feed_batches.c if c.name not in {"body", "received_at"}]


def _feed(row: RowMapping) -> FeedRow:
    return FeedRow(**{k: row[k] for k in FeedRow.__dataclass_fields__})


def _batch(row: RowMapping) -> BatchRow:
    values: dict[str, Any] = {k: row[k] for k in BatchRow.__dataclass_fields__}
    values["ends_with_newline"] = bool(values["ends_with_newline"])
    return BatchRow(**values)


def feed_row(conn: Connection, *, partner_pk: int, feed_id: str) -> FeedRow | None:
    query = select(feeds).where(feeds.c.partner_pk == partner_pk, feeds.c.feed_id == feed_id)
    row = conn.execute(query).mappings().first()
    return _feed(row) if row else None


def insert_feed(conn: Connection, **values: Any) -> None:
    conn.execute(insert(feeds).values(**values))


def update_feed(conn: Connection, pk: int, **values: Any) -> None:
    conn.execute(update(feeds).where(feeds.c.pk == pk).values(**values))


def batch_row(conn: Connection, *, feed_pk: int, seq: int, for_update: bool = False) -> BatchRow | None:
    query = select(*_BATCH_COLUMNS).where(feed_batches.c.feed_pk == feed_pk, feed_batches.c.seq == seq)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return _batch(row) if row else None


def batches_of(conn: Connection, feed_pk: int) -> list[BatchRow]:
    query = select(*_BATCH_COLUMNS).where(feed_batches.c.feed_pk == feed_pk).order_by(feed_batches.c.seq)
    return [_batch(r) for r in conn.execute(query).mappings()]


def rows_received(conn: Connection, feed_pk: int) -> int:
    query = select(func.coalesce(func.sum(feed_batches.c.row_count), 0)).where(feed_batches.c.feed_pk == feed_pk)
    return int(conn.execute(query).scalar_one())


def insert_batch(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(feed_batches).values(**values))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def batch_body(conn: Connection, batch_pk: int) -> bytes | None:
    body = conn.execute(select(feed_batches.c.body).where(feed_batches.c.pk == batch_pk)).scalar_one()
    return bytes(body) if body is not None else None


@dataclass(frozen=True)
class Progress:
    """How far a commit has applied a batch: its valid rows applied so far, and their counts."""

    applied_rows: int = 0
    inserted: int = 0
    replaced: int = 0
    deleted: int = 0


def progress(conn: Connection, batch_pk: int) -> Progress:
    row = conn.execute(select(batch_progress).where(batch_progress.c.batch_pk == batch_pk)).mappings().first()
    return Progress(**{k: row[k] for k in Progress.__dataclass_fields__}) if row else Progress()


def record_progress(conn: Connection, batch_pk: int, done: Progress) -> None:
    values = {k: getattr(done, k) for k in Progress.__dataclass_fields__}
    updated = conn.execute(update(batch_progress).where(batch_progress.c.batch_pk == batch_pk).values(**values))
    if updated.rowcount == 0:
        conn.execute(insert(batch_progress).values(batch_pk=batch_pk, **values))


def mark_applied(conn: Connection, batch_pk: int, *, now: datetime, done: Progress) -> None:
    """Record that a batch's rows are all in the records table, with their counts, and drop its raw bytes (kept until
    now for a commit to carry on with)."""
    values = {"applied_at": now, "body": None, "inserted": done.inserted, "replaced": done.replaced}
    conn.execute(update(feed_batches).where(feed_batches.c.pk == batch_pk).values(**values, deleted=done.deleted))
    conn.execute(delete(batch_progress).where(batch_progress.c.batch_pk == batch_pk))


def insert_rejections(conn: Connection, batch_pk: int, rejections: Iterable[Rejection], *, stage: str) -> int:
    params = [
        {
            "batch_pk": batch_pk,
            "position": r.position,
            "record_id": r.record_id,
            "reasons": json.dumps(list(r.reasons)),
            "stage": stage,
        }
        for r in rejections
    ]
    if params:
        conn.execute(insert(row_rejections), params)
    return len(params)


@dataclass(frozen=True)
class StoredRejection:
    seq: int
    position: int
    record_id: str | None
    reasons: tuple[str, ...]


def rejections_of(conn: Connection, feed_pk: int) -> list[StoredRejection]:
    query = (
        select(feed_batches.c.seq, row_rejections.c.position, row_rejections.c.record_id, row_rejections.c.reasons)
        .join(feed_batches, feed_batches.c.pk == row_rejections.c.batch_pk)
        .where(feed_batches.c.feed_pk == feed_pk)
        .order_by(feed_batches.c.seq, row_rejections.c.position)
    )
    return [
        StoredRejection(seq=r.seq, position=r.position, record_id=r.record_id, reasons=tuple(json.loads(r.reasons)))
        for r in conn.execute(query)
    ]


def batch_rejections(conn: Connection, batch_pk: int, *, stage: str) -> list[Rejection]:
    query = (
        select(row_rejections.c.position, row_rejections.c.record_id, row_rejections.c.reasons)
        .where(row_rejections.c.batch_pk == batch_pk, row_rejections.c.stage == stage)
        .order_by(row_rejections.c.position)
    )
    return [Rejection(r.position, r.record_id, tuple(json.loads(r.reasons))) for r in conn.execute(query)]


def apply_rejection_count(conn: Connection, feed_pk: int) -> int:
    query = (
        select(func.count())
        .select_from(row_rejections.join(feed_batches, feed_batches.c.pk == row_rejections.c.batch_pk))
        .where(feed_batches.c.feed_pk == feed_pk, row_rejections.c.stage == "apply")
    )
    return int(conn.execute(query).scalar_one())
