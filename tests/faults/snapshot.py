"""What a job leaves in the database, in a form two databases can be compared by: records named by partner and
record id (never by a database key, which a sequence may have moved on in a killed run), persons as the sets of
records they hold."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Connection

from aim.storage.identity_tables import identity_cursor, identity_events, link_history, review_pairs
from aim.storage.rules_tables import alert_events, alert_evidence, alerts, notifications
from aim.storage.tables import links, partners, records

RecordKey = tuple[str, str]  # (partner code, record id)
Person = frozenset[RecordKey]


@dataclass(frozen=True)
class IdentityState:
    """Identity resolution's output: the partition of records into persons, every link, history row and review."""

    partition: frozenset[Person]
    links: frozenset[tuple[Any, ...]]
    history: Counter[tuple[Any, ...]]
    reviews: frozenset[tuple[Any, ...]]
    events: Counter[tuple[Any, ...]]
    cursor: int | None

    @property
    def records(self) -> int:
        return sum(len(person) for person in self.partition)


@dataclass(frozen=True)
class RulesState:
    """The rules' output: alerts by (person's records, rule, mode, window) with their evidence and events."""

    alerts: frozenset[tuple[Any, ...]]
    evidence: frozenset[tuple[Any, ...]]
    events: Counter[tuple[Any, ...]]
    notifications: int


def _keys(conn: Connection) -> dict[int, RecordKey]:
    query = select(records.c.pk, partners.c.code, records.c.record_id).join(partners)
    return {int(pk): (code, record_id) for pk, code, record_id in conn.execute(query)}


def _persons(conn: Connection, keys: dict[int, RecordKey]) -> dict[int, Person]:
    members: dict[int, set[RecordKey]] = {}
    for person_pk, record_pk in conn.execute(select(links.c.person_pk, links.c.record_pk)):
        members.setdefault(int(person_pk), set()).add(keys[int(record_pk)])
    return {pk: frozenset(found) for pk, found in members.items()}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 9)


def identity_state(database_url: str) -> IdentityState:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            keys = _keys(conn)
            persons = _persons(conn, keys)
            link_rows = frozenset(
                (keys[r.record_pk], r.method, _round(r.weight), _round(r.confidence), r.model_version)
                for r in conn.execute(select(links))
            )
            history = Counter(
                (keys.get(r.record_pk), persons.get(r.person_pk), r.method, _round(r.weight), r.end_reason)
                for r in conn.execute(select(link_history))
            )
            reviews = frozenset(
                (
                    *sorted((keys[r.record_a_pk], keys[r.record_b_pk])),
                    r.status,
                    r.source,
                    r.levels,
                    _round(r.weight),
                    r.model_version,
                )
                for r in conn.execute(select(review_pairs))
            )
            events = Counter(
                (r.kind, r.reason, r.actor, frozenset(keys[pk] for pk in json.loads(r.record_pks)))
                for r in conn.execute(select(identity_events))
            )
            cursor = conn.execute(select(identity_cursor.c.last_seq)).scalar()
    finally:
        engine.dispose()
    return IdentityState(frozenset(persons.values()), link_rows, history, reviews, events, cursor)


def rules_state(database_url: str) -> RulesState:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            keys = _keys(conn)
            persons = _persons(conn, keys)
            alert_of = {
                r.pk: (
                    persons[r.person_pk],
                    r.rule_id,
                    r.rule_version,
                    r.mode,
                    r.action,
                    r.window_start,
                    r.window_end,
                )
                for r in conn.execute(select(alerts))
            }
            full = frozenset(
                (*alert_of[r.pk], r.status, tuple(sorted(json.loads(r.seen))), r.severity, r.queue)
                for r in conn.execute(select(alerts))
            )
            evidence = frozenset(
                (alert_of[r.alert_pk], keys[r.record_pk], r.partner_code, r.partner_type, r.flag, r.interaction_date)
                for r in conn.execute(select(alert_evidence))
            )
            events = Counter(
                (alert_of[r.alert_pk], r.kind, r.actor, r.note) for r in conn.execute(select(alert_events))
            )
            notified = len(conn.execute(select(notifications.c.pk)).all())
    finally:
        engine.dispose()
    return RulesState(full, evidence, events, notified)
