"""The retention purge: delete records past their category's retention period and everything derived from them,
recording the purge (counts only, never the rows) in the audit log in the same transaction.

Derived data goes by :data:`aim.storage.tables.DERIVED_FROM_RECORD` (every table keyed by ``record_pk``: tokens,
links, alert evidence, ...) — deleted explicitly, so the counts are known, and by ``ON DELETE CASCADE`` as a second
line — then the change outbox rows that name the record, then persons left with no link.

One purge at a time: PostgreSQL takes a transaction-scoped advisory lock (a second purge returns at once, having done
nothing); SQLite's write transaction already holds the database's only write lock. The nightly job purges once a day:
when several hubs share a database, each scheduler fires it, and those after the first find the day's purge in the
audit log and do nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import and_, delete, exists, false, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from aim.audit.store import append_in
from aim.clock import Clock
from aim.errors import ConfigError
from aim.storage.database import Database
from aim.storage.governance_tables import audit_log
from aim.storage.records import lock_changes
from aim.storage.tables import DERIVED_FROM_RECORD, links, persons, record_changes, records
from aim.vocabulary import default_vocabulary
from governance import Policy, PurgeReport, policy_digest, purge_cutoffs
from governance.retention import PURGE_ACTION

PURGE_LOCK = "aim:retention_purge"


@dataclass(frozen=True)
class PurgeResult:
    """What a purge did (or, dry, would do); ``ran`` is False when another purge held the lock (or, for the nightly
    job, the day's purge was already done)."""

    report: PurgeReport
    dry_run: bool
    ran: bool = True
    audit_sequence: int | None = None


def purge(
    *,
    database: Database,
    policy: Policy | None,
    clock: Clock,
    as_of: date | None = None,
    dry_run: bool = False,
    once_a_day: bool = False,
) -> PurgeResult:
    """Purge every record expired on ``as_of`` (default: today, UTC) under ``policy``'s retention periods.

    With ``once_a_day`` (the nightly job), nothing is done when the audit log already records a purge as of that day.
    """
    if policy is None:
        raise ConfigError("no access policy is loaded, so no retention periods: set AIM_POLICY_PATH")
    as_of = as_of or clock.now().date()
    cutoffs = purge_cutoffs(policy.retention, as_of)
    digest = policy_digest(policy)
    with database.write() as conn:
        if not database.try_lock(conn, PURGE_LOCK) or (once_a_day and _purged(conn, as_of)):
            return PurgeResult(PurgeReport(as_of, digest, cutoffs), dry_run, ran=False)
        lock_changes(conn)  # before any row is deleted, as ingest takes it before its rows: never a cycle of waits
        expired = _expired(conn, cutoffs)
        ids = [pk for pk, _category in expired]
        derived = _delete_derived(conn, ids)
        report = PurgeReport(as_of, digest, cutoffs, dict(Counter(c for _pk, c in expired)), derived)
        if dry_run:
            conn.rollback()
            return PurgeResult(report, dry_run=True)
        entry = append_in(conn, report.audit_event(clock.now()))
    return PurgeResult(report, dry_run=False, audit_sequence=entry.sequence)


def _purged(conn: Connection, as_of: date) -> bool:
    """The audit log holds a purge as of ``as_of`` (read under the purge lock, so a purge just committed counts)."""
    query = select(audit_log.c.sequence).where(
        audit_log.c.action == PURGE_ACTION, audit_log.c.target == f"purge:{as_of.isoformat()}"
    )
    return conn.execute(query.limit(1)).first() is not None


def _expired(conn: Connection, cutoffs: dict[str, date]) -> list[tuple[int, str]]:
    flags = default_vocabulary().flags
    by_category: dict[str, list[str]] = {}
    for flag, category in flags.items():
        by_category.setdefault(category, []).append(flag)
    clauses = [
        and_(records.c.flag.in_(by_category[category]), records.c.interaction_date <= cutoff)
        for category, cutoff in cutoffs.items()
        if category in by_category
    ]
    query = select(records.c.pk, records.c.flag).where(or_(*clauses) if clauses else false())
    return [(int(row.pk), flags[row.flag]) for row in conn.execute(query)]


def _delete_derived(conn: Connection, ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for table in DERIVED_FROM_RECORD:
            removed = conn.execute(delete(table).where(table.c.record_pk.in_(chunk))).rowcount
            counts[table.name] = counts.get(table.name, 0) + removed
        removed = conn.execute(delete(record_changes).where(record_changes.c.record_pk.in_(chunk))).rowcount
        counts["record_changes"] = counts.get("record_changes", 0) + removed
        conn.execute(delete(records).where(records.c.pk.in_(chunk)))
    counts["persons"] = _delete_orphan_persons(conn) if ids else 0
    return counts


def _delete_orphan_persons(conn: Connection) -> int:
    """Persons with no link left; one another table still needs is kept (and its count not reported)."""
    orphans: list[Any] = list(
        conn.execute(select(persons.c.pk).where(~exists().where(links.c.person_pk == persons.c.pk))).scalars()
    )
    removed = 0
    for pk in orphans:
        try:
            with conn.begin_nested():
                removed += conn.execute(delete(persons).where(persons.c.pk == pk)).rowcount
        except IntegrityError:
            continue
    return removed


def purge_job(*, database: Database, policy: Policy | None, clock: Clock) -> Callable[[], PurgeResult]:
    """The nightly purge as a no-argument function, for a scheduler (see :func:`schedule_nightly_purge`): once a day,
    however many hubs on the database fire it."""

    def run() -> PurgeResult:
        return purge(database=database, policy=policy, clock=clock, once_a_day=True)

    return run


def schedule_nightly_purge(
    scheduler: BaseScheduler, job: Callable[[], object], *, hour: int = 2, minute: int = 30
) -> Job:
    """Add the purge to an APScheduler scheduler, nightly at ``hour:minute`` in the scheduler's time zone (the hub's
    ``AIM_TIMEZONE``, like the other nightly jobs); never two at once, missed runs coalesced into one.

    Example::

        scheduler = BackgroundScheduler(timezone=hub.settings.zone)
        schedule_nightly_purge(scheduler, purge_job(database=hub.database, policy=hub.policy, clock=hub.clock))
        scheduler.start()
    """
    return scheduler.add_job(
        job,
        # The trigger's own zone: without one, APScheduler takes the machine's zone, not the scheduler's.
        CronTrigger(hour=hour, minute=minute, timezone=scheduler.timezone),
        id="retention_purge",
        name="retention purge",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
