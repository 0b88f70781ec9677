"""The alert lifecycle: list and read alerts with their evidence, acknowledge, assign, snooze, close, re-open."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aim.clock import Clock, local_today
from aim.errors import NotFoundError
from aim.rules import store
from aim.rules.errors import LifecycleConflictError, LifecycleError
from aim.storage.database import Database
from aim.storage.rules_tables import alert_events, alert_evidence, alerts
from aim.vocabulary import default_vocabulary
from governance import AlertFact

# The controlled list of outcome codes for closing an alert (docs/rules.md).
OUTCOMES: dict[str, str] = {
    "no_further_action": "Reviewed; no further action needed",
    "already_known": "Already known to and worked by a service",
    "early_help_offered": "Early help offered to the family",
    "referred_to_mash": "Referred to MASH by the reviewer",
    "added_to_watchlist": "Added to the watch list",
    "wrong_link": "The interactions are not about one person (raise it with the data steward)",
}
MAX_PAGE = 200


@dataclass(frozen=True)
class AlertFilter:
    status: str | None = None
    queue: str | None = None
    action: str | None = None
    rule_id: str | None = None
    person_pk: int | None = None
    assigned_to: str | None = None
    mode: str = "live"
    include_snoozed: bool = True
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Alert:
    pk: int
    rule_id: str
    rule_version: int
    action: str
    mode: str
    person_pk: int
    severity: str
    queue: str
    status: str
    window_start: date
    window_end: date
    partners: tuple[str, ...]
    assigned_to: str | None
    snoozed_until: date | None
    outcome: str | None
    outcome_note: str | None
    raised_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Evidence:
    record_pk: int
    partner: str
    flag: str
    category: str
    interaction_date: date


@dataclass(frozen=True)
class Event:
    kind: str
    actor: str
    note: str | None
    at: datetime


@dataclass(frozen=True)
class AlertDetail:
    alert: Alert
    evidence: tuple[Evidence, ...]
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Page:
    items: tuple[Alert, ...]
    total: int
    limit: int
    offset: int


class AlertService:
    def __init__(self, *, database: Database, clock: Clock, zone: ZoneInfo) -> None:
        self._db = database
        self._clock = clock
        self._zone = zone

    def list_alerts(self, *, query: AlertFilter) -> Page:
        """Alerts matching ``query``, newest first; snoozed ones only when ``include_snoozed``."""
        if not 1 <= query.limit <= MAX_PAGE or query.offset < 0:
            raise LifecycleError(f"limit must be 1-{MAX_PAGE} and offset 0 or more (got {query.limit}, {query.offset})")
        conditions = [alerts.c.mode == query.mode]
        for column, value in (
            (alerts.c.status, query.status),
            (alerts.c.queue, query.queue),
            (alerts.c.action, query.action),
            (alerts.c.rule_id, query.rule_id),
            (alerts.c.person_pk, query.person_pk),
            (alerts.c.assigned_to, query.assigned_to),
        ):
            if value is not None:
                conditions.append(column == value)
        if not query.include_snoozed:
            today = local_today(self._clock, self._zone)
            conditions.append((alerts.c.snoozed_until.is_(None)) | (alerts.c.snoozed_until <= today))
        with self._db.read() as conn:
            total = conn.execute(select(func.count()).select_from(alerts).where(*conditions)).scalar_one()
            rows = conn.execute(
                select(alerts)
                .where(*conditions)
                .order_by(alerts.c.updated_at.desc(), alerts.c.pk.desc())
                .limit(query.limit)
                .offset(query.offset)
            ).mappings()
            items = tuple(_alert(row) for row in rows)
        return Page(items=items, total=total, limit=query.limit, offset=query.offset)

    def get(self, *, alert_pk: int) -> AlertDetail:
        """One alert with every contributing interaction (partner, flag and date as they were when added)."""
        flags = default_vocabulary().flags
        with self._db.read() as conn:
            row = self._row(conn, alert_pk)
            evidence = tuple(
                Evidence(
                    e["record_pk"], e["partner_code"], e["flag"], flags.get(e["flag"], "unknown"), e["interaction_date"]
                )
                for e in conn.execute(
                    select(alert_evidence)
                    .where(alert_evidence.c.alert_pk == alert_pk)
                    .order_by(alert_evidence.c.interaction_date, alert_evidence.c.record_pk)
                ).mappings()
            )
            events = tuple(
                Event(e["kind"], e["actor"], e["note"], e["at"])
                for e in conn.execute(
                    select(alert_events).where(alert_events.c.alert_pk == alert_pk).order_by(alert_events.c.pk)
                ).mappings()
            )
        return AlertDetail(alert=_alert(row), evidence=evidence, events=events)

    def acknowledge(self, *, alert_pk: int, actor: str) -> Alert:
        return self._change(alert_pk, actor, "acknowledged", allowed=("new",), values={"status": "acknowledged"})

    def assign(self, *, alert_pk: int, actor: str, assignee: str) -> Alert:
        if not assignee.strip() or len(assignee) > 64:
            raise LifecycleError(f"assignee {assignee!r} must be a user or team id of 1-64 characters")
        return self._change(
            alert_pk,
            actor,
            "assigned",
            allowed=store.OPEN,
            values={"status": "assigned", "assigned_to": assignee.strip()},
            note=f"to {assignee.strip()}",
        )

    def snooze(self, *, alert_pk: int, actor: str, until: date) -> Alert:
        today = local_today(self._clock, self._zone)
        if until <= today:
            raise LifecycleError(f"snooze until {until} is not in the future: give a date after {today}")
        return self._change(
            alert_pk, actor, "snoozed", allowed=store.OPEN, values={"snoozed_until": until}, note=f"until {until}"
        )

    def close(self, *, alert_pk: int, actor: str, outcome: str | None, note: str | None) -> Alert:
        """Close with an outcome code from :data:`OUTCOMES` and a note; both are mandatory."""
        problems = []
        if not outcome or outcome not in OUTCOMES:
            problems.append(f"outcome {outcome!r} is not an outcome code: use one of {', '.join(OUTCOMES)}")
        if not note or not note.strip():
            problems.append("a note is required to close an alert: say what was checked and decided")
        elif len(note) > 1000:
            problems.append(f"the note has {len(note)} characters: keep it to 1000")
        if problems:
            raise LifecycleError("cannot close the alert: " + "; ".join(problems))
        assert note is not None
        return self._change(
            alert_pk,
            actor,
            "closed",
            allowed=store.OPEN,
            values={
                "status": "closed",
                "outcome": outcome,
                "outcome_note": note.strip(),
                "closed_at": self._clock.now(),
                "snoozed_until": None,
            },
            note=f"{outcome}: {note.strip()}",
        )

    def reopen(self, *, alert_pk: int, actor: str, note: str) -> Alert:
        if not note.strip():
            raise LifecycleError("a note is required to re-open an alert: say why")
        return self._change(
            alert_pk,
            actor,
            "reopened",
            allowed=("closed", "withdrawn"),
            values={"status": "new", "outcome": None, "outcome_note": None, "closed_at": None},
            note=note.strip(),
        )

    def _change(
        self,
        alert_pk: int,
        actor: str,
        kind: str,
        *,
        allowed: tuple[str, ...],
        values: dict[str, Any],
        note: str | None = None,
    ) -> Alert:
        with self._db.write() as conn:
            row = self._row(conn, alert_pk)
            if row["status"] not in allowed:
                raise LifecycleConflictError(
                    f"alert {alert_pk} is {row['status']}: it can be {kind} only when {' or '.join(allowed)}"
                )
            now = self._clock.now()
            store.update_alert(conn, alert_pk, updated_at=now, **values)
            store.insert_events(conn, [(alert_pk, kind, actor, note)], now=now)
            return _alert(self._row(conn, alert_pk))

    def _row(self, conn: Connection, alert_pk: int) -> Any:
        row = conn.execute(select(alerts).where(alerts.c.pk == alert_pk)).mappings().first()
        if row is None:
            raise NotFoundError(f"no alert {alert_pk}: list alerts to find its id")
        return row


def _alert(row: Any) -> Alert:
    return Alert(
        pk=row["pk"],
        rule_id=row["rule_id"],
        rule_version=row["rule_version"],
        action=row["action"],
        mode=row["mode"],
        person_pk=row["person_pk"],
        severity=row["severity"],
        queue=row["queue"],
        status=row["status"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        partners=tuple(sorted(json.loads(row["seen"]))),
        assigned_to=row["assigned_to"],
        snoozed_until=row["snoozed_until"],
        outcome=row["outcome"],
        outcome_note=row["outcome_note"],
        raised_at=row["raised_at"],
        updated_at=row["updated_at"],
    )


def closed_outcomes(conn: Connection, *, period_start: date, period_end: date) -> list[AlertFact]:
    """One fact per live alert closed with an outcome code in the period (UTC days, both inclusive), for the
    transparency report's "alerts by rule and outcome".

    Shadow alerts never reached anyone and withdrawn ones have no outcome, so neither counts. An alert re-opened and
    closed again counts once, in the period of its latest closing.
    """
    start = datetime.combine(period_start, time.min, tzinfo=UTC)
    end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=UTC)
    rows = conn.execute(
        select(alerts.c.rule_id, alerts.c.outcome).where(
            alerts.c.mode == "live",
            alerts.c.status == "closed",
            alerts.c.outcome.is_not(None),
            alerts.c.closed_at >= start,
            alerts.c.closed_at < end,
        )
    ).all()
    return [AlertFact(rule_id=row.rule_id, outcome=row.outcome) for row in rows]
