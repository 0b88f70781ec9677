"""Alerts in the database: plain functions over a :class:`~sqlalchemy.engine.Connection` (no domain decisions)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from aim.rules.query import Hit
from aim.storage.rules_tables import alert_events, alert_evidence, alerts, watchlist

OPEN = ("new", "acknowledged", "assigned")
EventRow = tuple[int, str, str, str | None]  # alert pk, kind, actor, note
_CHUNK = 500


@dataclass
class AlertState:
    """What evaluation needs to know of an existing alert."""

    pk: int
    person_pk: int
    status: str
    window_start: date
    window_end: date
    seen: set[str]
    closed_at: datetime | None
    evidence: set[int]


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def alert_states(
    conn: Connection, *, rule_id: str, mode: str, person_pks: Iterable[int]
) -> dict[int, list[AlertState]]:
    """Every alert of ``rule_id`` in ``mode`` for these persons, with its evidence record keys."""
    found: dict[int, list[AlertState]] = defaultdict(list)
    by_pk: dict[int, AlertState] = {}
    for chunk in chunks(sorted(set(person_pks))):
        rows = conn.execute(
            select(alerts).where(alerts.c.rule_id == rule_id, alerts.c.mode == mode, alerts.c.person_pk.in_(chunk))
        ).mappings()
        for row in rows:
            state = AlertState(
                pk=row["pk"],
                person_pk=row["person_pk"],
                status=row["status"],
                window_start=row["window_start"],
                window_end=row["window_end"],
                seen=set(json.loads(row["seen"])),
                closed_at=row["closed_at"],
                evidence=set(),
            )
            found[state.person_pk].append(state)
            by_pk[state.pk] = state
    for chunk in chunks(sorted(by_pk)):
        for alert_pk, record_pk in conn.execute(
            select(alert_evidence.c.alert_pk, alert_evidence.c.record_pk).where(alert_evidence.c.alert_pk.in_(chunk))
        ):
            by_pk[alert_pk].evidence.add(record_pk)
    return found


def persons_with_open_alerts(conn: Connection, *, mode: str, person_pks: Iterable[int]) -> set[int]:
    result: set[int] = set()
    for chunk in chunks(sorted(set(person_pks))):
        result.update(
            conn.execute(
                select(alerts.c.person_pk).where(
                    alerts.c.mode == mode, alerts.c.status.in_(OPEN), alerts.c.person_pk.in_(chunk)
                )
            ).scalars()
        )
    return result


def watched_persons(conn: Connection, *, person_pks: Iterable[int]) -> set[int]:
    result: set[int] = set()
    for chunk in chunks(sorted(set(person_pks))):
        result.update(
            conn.execute(
                select(watchlist.c.person_pk).where(watchlist.c.status == "active", watchlist.c.person_pk.in_(chunk))
            ).scalars()
        )
    return result


def insert_alerts(conn: Connection, values: list[dict[str, Any]]) -> dict[int, int]:
    """Insert new alerts; returns person_pk -> new alert pk."""
    if not values:
        return {}
    result = conn.execute(insert(alerts).returning(alerts.c.pk, alerts.c.person_pk), values)
    return {person_pk: pk for pk, person_pk in result}


def insert_evidence(conn: Connection, pairs: list[tuple[int, Hit]], *, now: datetime) -> None:
    if not pairs:
        return
    conn.execute(
        insert(alert_evidence),
        [
            {
                "alert_pk": alert_pk,
                "record_pk": hit.record_pk,
                "partner_code": hit.partner_code,
                "partner_type": hit.partner_type,
                "flag": hit.flag,
                "interaction_date": hit.interaction_date,
                "added_at": now,
            }
            for alert_pk, hit in pairs
        ],
    )


def insert_events(conn: Connection, events: list[EventRow], *, now: datetime) -> None:
    """Append (alert pk, kind, actor, note) events."""
    if not events:
        return
    conn.execute(
        insert(alert_events),
        [{"alert_pk": pk, "kind": kind, "actor": actor, "note": note, "at": now} for pk, kind, actor, note in events],
    )


def update_alert(conn: Connection, pk: int, **values: Any) -> None:
    conn.execute(update(alerts).where(alerts.c.pk == pk).values(**values))


def remove_evidence(conn: Connection, alert_pk: int, record_pks: Iterable[int]) -> None:
    for chunk in chunks(sorted(set(record_pks))):
        conn.execute(
            delete(alert_evidence).where(alert_evidence.c.alert_pk == alert_pk, alert_evidence.c.record_pk.in_(chunk))
        )
