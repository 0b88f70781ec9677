"""A rule compiled to SQL (SQLAlchemy Core; the same statement runs on SQLite and PostgreSQL).

For one rule and one run date, :func:`hits` returns every interaction inside the window (and the rule's filter) of
every person whose distinct partners (or partner types) there reach the threshold: the alert's evidence, with the
qualifying persons found by one ``GROUP BY ... HAVING count(DISTINCT ...)`` in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, select
from sqlalchemy.engine import Connection

from aim.rules.model import Rule
from aim.storage.rules_tables import alert_evidence, alerts
from aim.storage.tables import links, partners, records
from aim.storage.types import UTCDateTime
from aim.vocabulary import default_vocabulary

_CHUNK = 500


@dataclass(frozen=True)
class Hit:
    """One interaction counting towards a rule for a person."""

    person_pk: int
    record_pk: int
    partner_code: str
    partner_type: str | None
    flag: str
    interaction_date: date

    def key(self, distinct_by: str) -> str:
        """What is counted: the partner's code, or its type (a partner without a type counts as itself)."""
        if distinct_by == "partner_type":
            return self.partner_type or f"partner:{self.partner_code}"
        return self.partner_code


def _distinct_key(rule: Rule) -> ColumnElement[str]:
    if rule.distinct_by == "partner_type":
        return func.coalesce(partners.c.partner_type, "partner:" + partners.c.code)
    return partners.c.code


def _conditions(rule: Rule, as_of: date, person_pks: Sequence[int] | None) -> list[ColumnElement[bool]]:
    start, end = rule.window.bounds(as_of)
    conditions = [records.c.interaction_date >= start, records.c.interaction_date <= end]
    flags = rule.filter.flag_set(default_vocabulary().flags)
    if flags is not None:
        conditions.append(records.c.flag.in_(sorted(flags)))
    if person_pks is not None:
        conditions.append(links.c.person_pk.in_(person_pks))
    return conditions


def _joined() -> object:
    return records.join(links, links.c.record_pk == records.c.pk).join(partners, partners.c.pk == records.c.partner_pk)


def _fresh(rule: Rule, as_of: date) -> ColumnElement[int]:
    """1 for an interaction not yet in the evidence of this rule's alert for an overlapping window, else 0.

    A correlated EXISTS probing ``alert_evidence`` by record: one index look-up per interaction in the window on both
    databases, whatever the statistics say of a just-filled alert table (an uncorrelated IN could be re-run per row)."""
    start, _ = rule.window.bounds(as_of)
    held = exists().where(
        alert_evidence.c.record_pk == records.c.pk,
        alerts.c.pk == alert_evidence.c.alert_pk,
        alerts.c.rule_id == rule.id,
        alerts.c.mode == (rule.mode or "live"),
        alerts.c.window_end >= start,
    )
    return case((held, 0), else_=1)


def qualifying(rule: Rule, as_of: date, person_pks: Sequence[int] | None = None) -> Select[tuple[int]]:
    """The persons whose distinct partners in the window reach the rule's threshold and who have at least one
    interaction there that this rule's current alert does not hold yet (the others have nothing new to decide)."""
    return (
        select(links.c.person_pk)
        .select_from(_joined())  # type: ignore[arg-type]
        .where(and_(*_conditions(rule, as_of, person_pks)))
        .group_by(links.c.person_pk)
        .having(func.count(_distinct_key(rule).distinct()) >= rule.threshold, func.max(_fresh(rule, as_of)) == 1)
    )


def evidence_for_alerts(rule: Rule, as_of: date, after_pk: int, now: datetime) -> Any:
    """INSERT ... SELECT of every counting interaction in the window into the evidence of this rule's new alerts
    (those numbered after ``after_pk``: a run holds the rules lock, so no other run raises any meanwhile)."""
    columns = ["alert_pk", "record_pk", "partner_code", "partner_type", "flag", "interaction_date", "added_at"]
    source = (
        select(
            alerts.c.pk,
            records.c.pk,
            partners.c.code,
            partners.c.partner_type,
            records.c.flag,
            records.c.interaction_date,
        )
        .add_columns(literal(now, UTCDateTime()))
        .select_from(_joined().join(alerts, alerts.c.person_pk == links.c.person_pk))  # type: ignore[attr-defined]
        .where(
            and_(*_conditions(rule, as_of, None)),
            alerts.c.pk > after_pk,
            alerts.c.rule_id == rule.id,
            alerts.c.mode == (rule.mode or "live"),
        )
    )
    return alert_evidence.insert().from_select(columns, source)


def evidence(rule: Rule, as_of: date, person_pks: Sequence[int] | None = None) -> Select[Any]:
    """Every counting interaction of every qualifying person: the statement :func:`hits` runs."""
    who = qualifying(rule, as_of, person_pks).subquery()
    return (
        select(
            links.c.person_pk,
            records.c.pk,
            partners.c.code,
            partners.c.partner_type,
            records.c.flag,
            records.c.interaction_date,
        )
        .select_from(_joined())  # type: ignore[arg-type]
        .where(and_(*_conditions(rule, as_of, person_pks)), links.c.person_pk.in_(select(who.c.person_pk)))
        .order_by(links.c.person_pk, records.c.interaction_date, records.c.pk)
    )


def hits(conn: Connection, rule: Rule, as_of: date, person_pks: Iterable[int] | None = None) -> Iterator[Hit]:
    """Run the rule as of ``as_of`` for everyone (``person_pks`` None) or for the persons given."""
    if person_pks is None:
        yield from _run(conn, evidence(rule, as_of))
        return
    pks = sorted(set(person_pks))
    for start in range(0, len(pks), _CHUNK):
        yield from _run(conn, evidence(rule, as_of, pks[start : start + _CHUNK]))


def _run(conn: Connection, statement: Select[Any]) -> Iterator[Hit]:
    for row in conn.execute(statement):
        yield Hit(
            person_pk=row[0],
            record_pk=row[1],
            partner_code=row[2],
            partner_type=row[3],
            flag=row[4],
            interaction_date=row[5],
        )
