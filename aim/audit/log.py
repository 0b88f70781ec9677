"""The audit log service: verify the chain, sign checkpoints, search entries, and record governance events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from aim.clock import Clock
from aim.storage.database import Database
from aim.storage.governance_tables import audit_log
from governance import AuditEntry, Checkpoint, CheckpointSigner, VerifyReport, verify
from governance.audit import format_time

from . import store


@dataclass(frozen=True)
class AuditFilter:
    """What ``aim hub audit show`` and the DPO's search select; every field optional."""

    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    target: str | None = None
    purpose: str | None = None
    case_reference: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 100


class AuditLog:
    """Reads and checks the stored chain; signs checkpoints with the hub's key (loaded on first use)."""

    def __init__(self, *, database: Database, clock: Clock, signer: Callable[[], CheckpointSigner]) -> None:
        self._db = database
        self._clock = clock
        self._signer = signer

    def verify(self) -> VerifyReport:
        """Walk every entry and checkpoint; the report names the first broken entry."""
        signer = self._signer()
        with self._db.read() as conn:
            entries = list(store.iter_entries(conn))
            marks = store.checkpoints(conn)
        return verify(entries, marks, {signer.key_id: signer.public_key})

    def checkpoint(self) -> Checkpoint:
        """Sign the current head and store the checkpoint (under the chain's lock, so the head cannot move)."""
        signer = self._signer()
        with self._db.write() as conn:
            store.lock_chain(conn)
            current = store.head(conn)
            mark = signer.sign(current.sequence, current.entry_hash, self._clock.now())
            store.store_checkpoint(conn, mark)
        return mark

    def search(self, where: AuditFilter) -> list[AuditEntry]:
        """Entries matching every given field, newest first."""
        t = audit_log.c
        query = select(audit_log).order_by(t.sequence.desc()).limit(max(1, min(where.limit, 10_000)))
        for column, value in (
            (t.actor, where.actor),
            (t.action, where.action),
            (t.outcome, where.outcome),
            (t.target, where.target),
            (t.purpose, where.purpose),
            (t.case_reference, where.case_reference),
        ):
            if value is not None:
                query = query.where(column == value)
        if where.since is not None:
            query = query.where(t.occurred_at >= format_time(_midnight(where.since)))
        if where.until is not None:
            query = query.where(t.occurred_at < format_time(_midnight(where.until + timedelta(days=1))))
        with self._db.read() as conn:
            return list(store.iter_entries(conn, query))

    def count(self) -> int:
        with self._db.read() as conn:
            return store.head(conn).sequence


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
