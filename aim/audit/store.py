"""The audit log in the database: an :class:`~governance.AuditSink` whose appends never fork the chain.

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock taken before the head is read; on SQLite
by the write transaction itself (``BEGIN IMMEDIATE`` holds the database's one write lock). The primary key on
``sequence`` is the last line of defence: a second entry with the same sequence number cannot be stored.

The hub's sink commits in groups: requests that finish while an append is being written queue their entries, and
the next of them writes the whole queue in one transaction (one turn at the write lock, one flush of the log),
instead of one transaction each waiting behind the others. Every caller still returns only once its own entry is
committed, so no answer leaves the hub before its audit entry is durable.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
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
    return append_all_in(conn, [event])[0]


def append_all_in(conn: Connection, events: Sequence[AuditEvent]) -> list[AuditEntry]:
    """Append ``events``, in order, inside the caller's write transaction: the head read once, one insert."""
    lock_chain(conn)
    entries, last = [], head(conn)
    for event in events:
        last_entry = chain_next(last, event)
        entries.append(last_entry)
        last = last_entry.head
    conn.execute(insert(audit_log), [entry_to_row(entry) for entry in entries])
    return entries


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
class _Queued:
    event: AuditEvent
    done: bool = False
    entry: AuditEntry | None = None
    error: BaseException | None = None


class DatabaseAuditSink:
    """The hub's audit sink: appends from threads that meet are committed together (see the module's note)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: list[_Queued] = []
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()  # held by the thread writing a group

    def append(self, event: AuditEvent) -> AuditEntry:
        """Commit ``event`` as the chain's next entry; returns once it is committed.

        Raises:
            whatever the write transaction raised (e.g. a storage timeout): nothing of its group was stored.
        """
        mine = _Queued(event)
        with self._queue_lock:
            self._queue.append(mine)
        with self._writer:
            if not mine.done:  # no writer took it along while this thread waited: write the queue, with it
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._write(group)
        if mine.error is not None:
            raise mine.error
        assert mine.entry is not None
        return mine.entry

    def _write(self, group: list[_Queued]) -> None:
        try:
            with self.database.write() as conn:
                entries = append_all_in(conn, [queued.event for queued in group])
        except BaseException as exc:  # each caller raises it: nothing of the group was stored
            for queued in group:
                queued.error, queued.done = exc, True
            return
        for queued, entry in zip(group, entries, strict=True):
            queued.entry, queued.done = entry, True


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
