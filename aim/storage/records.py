"""The current encoded records: one row per (partner, record_id), with its keyed tokens in ``record_tokens``.

Writes are set-based (one statement, or one ``COPY`` on PostgreSQL, per table per batch; see :mod:`aim.storage.bulk`),
so a 5,000-row batch costs a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.engine import Connection

from aim.ingest.plan import Plan
from aim.ingest.validation import StoredRow
from aim.storage import bulk
from aim.storage.tables import DERIVED_FROM_RECORD, record_changes, record_tokens, records
from linkage.schema import FIELDS

BLOOM_FIELDS = tuple(spec.name for spec in FIELDS if spec.kind == "bloom")


def existing_pks(conn: Connection, *, partner_pk: int, record_ids: Iterable[str]) -> dict[str, int]:
    """Primary keys of the partner's records among ``record_ids``."""
    found: dict[str, int] = {}
    for chunk in bulk.chunks(conn, sorted(set(record_ids))):
        query = select(records.c.record_id, records.c.pk).where(
            records.c.partner_pk == partner_pk, bulk.among(conn, records.c.record_id, chunk)
        )
        found.update({r.record_id: r.pk for r in conn.execute(query)})
    return found


def _values(row: StoredRow, *, key_id: str, feed_pk: int, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {
        "key_id": key_id,
        "flag": row.flag,
        "interaction_date": row.interaction_date,
        "lead_contact": row.lead_contact,
        "display": row.display,
        "feed_pk": feed_pk,
        "updated_at": now,
    }
    for name in BLOOM_FIELDS:
        values[name] = row.blooms.get(name)
    return values


# An arbitrary fixed number naming the lock on adding and removing record changes among the hub's advisory locks.
_CHANGES_LOCK = 0x41494D_434847  # "AIM" "CHG"


def lock_changes(conn: Connection) -> None:
    """Hold the right to add or remove ``record_changes`` entries to the end of this transaction (PostgreSQL: an
    advisory lock, which readers and autovacuum do not wait for; on SQLite the write transaction already holds the
    database's one write lock). Taken first by every transaction that adds or removes changes, so their entries
    become visible in the order they are numbered: identity resolution and the search read model carry on from a
    cursor, and would pass over for good the changes of a transaction that took its numbers before another's but
    committed after it."""
    if bulk.is_postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHANGES_LOCK})


def apply_plan(conn: Connection, plan: Plan, *, partner_pk: int, feed_pk: int, key_id: str, now: datetime) -> None:
    """Write a batch's net changes: derived data of replaced and deleted records first, then the records, then
    the new tokens, then one ``record_changes`` entry per changed record for the linkage step (numbered in the order
    the batches commit: see :func:`lock_changes`)."""
    lock_changes(conn)
    for chunk in bulk.chunks(conn, plan.changed_pks):
        for table in DERIVED_FROM_RECORD:
            conn.execute(delete(table).where(bulk.among(conn, table.c.record_pk, chunk)))
    for chunk in bulk.chunks(conn, list(plan.deletes.values())):
        conn.execute(delete(records).where(bulk.among(conn, records.c.pk, chunk)))
    if plan.updates:
        conn.execute(
            update(records).where(records.c.pk == bindparam("b_pk")),
            [
                {"b_pk": pk, **_values(row, key_id=key_id, feed_pk=feed_pk, now=now)}
                for pk, row in plan.updates.values()
            ],
        )
    new_pks = _insert_records(conn, plan, partner_pk=partner_pk, feed_pk=feed_pk, key_id=key_id, now=now)
    written = [*plan.updates.values(), *((new_pks[rid], row) for rid, row in plan.inserts.items())]
    tokens = [{"record_pk": pk, "field": name, "token": token} for pk, row in written for name, token in row.tokens]
    bulk.insert_rows(conn, record_tokens, tokens)
    changed = [
        *((rid, pk, "upsert") for rid, (pk, _) in plan.updates.items()),
        *((rid, pk, "upsert") for rid, pk in new_pks.items()),
        *((rid, pk, "delete") for rid, pk in plan.deletes.items()),
    ]
    bulk.insert_rows(
        conn,
        record_changes,
        [
            {"partner_pk": partner_pk, "record_id": rid, "record_pk": pk, "change": change, "feed_pk": feed_pk}
            | {"changed_at": now}
            for rid, pk, change in changed
        ],
    )


def _insert_records(
    conn: Connection, plan: Plan, *, partner_pk: int, feed_pk: int, key_id: str, now: datetime
) -> dict[str, int]:
    if not plan.inserts:
        return {}
    params = [
        {"partner_pk": partner_pk, "record_id": rid, "created_at": now}
        | _values(row, key_id=key_id, feed_pk=feed_pk, now=now)
        for rid, row in plan.inserts.items()
    ]
    keys = bulk.new_keys(conn, records, len(params))
    bulk.insert_rows(conn, records, [{"pk": pk} | values for pk, values in zip(keys, params, strict=True)])
    return dict(zip(plan.inserts, keys, strict=True))


def count_records(conn: Connection, *, partner_pk: int | None = None) -> int:
    query = select(func.count()).select_from(records)
    if partner_pk is not None:
        query = query.where(records.c.partner_pk == partner_pk)
    return int(conn.execute(query).scalar_one())


def latest_change(conn: Connection) -> int:
    """The number of the last record change (0 for none)."""
    return int(conn.execute(select(func.max(record_changes.c.seq))).scalar() or 0)


def changes_after(conn: Connection, *, after_seq: int, limit: int = 10_000) -> list[dict[str, Any]]:
    """The record changes after ``after_seq``, oldest first: the linkage step's work list (an outbox)."""
    query = select(record_changes).where(record_changes.c.seq > after_seq).order_by(record_changes.c.seq).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]
