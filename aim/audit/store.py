"""The audit log in the database: an :class:`~governance.AuditSink` whose appends never fork the chain.

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock taken before the head is read; on SQLite
by the write transaction itself (``BEGIN IMMEDIATE`` holds the database's one write lock). The primary key on
``sequence`` is the last line of defence: a second entry with the same sequence number cannot be stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select, text
from sqlalchemy.engine import Connection

from aim.storage.database import Database
from aim.storage.governance_tables import audit_checkpoints, audit_log
from governance import EMPTY_HEAD, AuditEntry, AuditEvent, ChainHead, Checkpoint, chain_next
from governance.audit import event_from_record, event_to_record

# An arbitrary fixed number naming the audit chain's lock among the hub's advisory locks.
_CHAIN_LOCK = 0x41494D_415544  # "AIM" "AUD"


def lock_chain(conn: Connection) -> None:
    """Take the chain's append lock for the rest of this write transaction (waits for the holder)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})


def head(conn: Connection) -> ChainHead:
    row = conn.execute(
        select(audit_log.c.sequence, audit_log.c.entry_hash).order_by(audit_log.c.sequence.desc()).limit(1)
    ).first()
    return EMPTY_HEAD if row is None else ChainHead(int(row.sequence), row.entry_hash)


def append_in(conn: Connection, event: AuditEvent) -> AuditEntry:
    """Append ``event`` inside the caller's write transaction (so it commits or rolls back with the action)."""
    lock_chain(conn)
    entry = chain_next(head(conn), event)
    conn.execute(insert(audit_log).values(**entry_to_row(entry)))
    return entry


def entry_to_row(entry: AuditEntry) -> dict[str, Any]:
    record = event_to_record(entry.event)
    row = {key: record[key] for key in ("occurred_at", "actor", "organisation", "action", "outcome", "purpose")}
    row |= {key: record[key] for key in ("case_reference", "target", "break_glass_grant", "request_id")}
    row |= {key: json.dumps(record[key], sort_keys=True) for key in ("roles", "reasons", "counts")}
    return row | {"sequence": entry.sequence, "prev_hash": entry.prev_hash, "entry_hash": entry.entry_hash}


def entry_from_row(row: Any) -> AuditEntry:
    m = row._mapping
    record = {key: m[key] for key in ("occurred_at", "actor", "organisation", "action", "outcome", "purpose")}
    record |= {key: m[key] for key in ("case_reference", "target", "break_glass_grant", "request_id")}
    record |= {key: json.loads(m[key]) for key in ("roles", "reasons", "counts")}
    return AuditEntry(int(m["sequence"]), m["prev_hash"], m["entry_hash"], event_from_record(record))


@dataclass
class DatabaseAuditSink:
    """The hub's audit sink: each :meth:`append` is its own serialised write transaction."""

    database: Database

    def append(self, event: AuditEvent) -> AuditEntry:
        with self.database.write() as conn:
            return append_in(conn, event)


def iter_entries(conn: Connection, query: Select[Any] | None = None) -> Iterator[AuditEntry]:
    """Entries in stored order (by sequence), or those ``query`` selects from ``audit_log``."""
    for row in conn.execute(query if query is not None else select(audit_log).order_by(audit_log.c.sequence)):
        yield entry_from_row(row)


def store_checkpoint(conn: Connection, checkpoint: Checkpoint) -> None:
    conn.execute(
        insert(audit_checkpoints).values(
            sequence=checkpoint.sequence,
            head_hash=checkpoint.head_hash,
            key_id=checkpoint.key_id,
            signed_at=checkpoint.signed_at.isoformat(),
            signature=checkpoint.signature,
        )
    )


def checkpoints(conn: Connection) -> list[Checkpoint]:
    rows = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.pk))
    return [
        Checkpoint(int(row.sequence), row.head_hash, row.key_id, datetime.fromisoformat(row.signed_at), row.signature)
        for row in rows
    ]
