"""The set-based half of a run: which qualifying persons are new, held, suppressed or have something to add, and
the statements that raise the new alerts with their evidence and events in the database (``INSERT ... SELECT``).

Only persons whose current alert has new interactions are read into Python (:mod:`aim.rules.decision`); a person
who qualifies but is suppressed (open alert, watch list, cooldown) is counted, never read, and the alerts raised
for everyone else never pass through Python either. The same statements run on SQLite and PostgreSQL; the one
difference, aggregating a group's keys in order, is compiled per dialect below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, String, and_, cast, exists, false, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from aim.rules.model import Rule
from aim.rules.query import _conditions, _distinct_key, _fresh, _joined, qualifying
from aim.rules.store import OPEN
from aim.storage.rules_tables import alert_events, alerts, watchlist
from aim.storage.tables import links
from aim.storage.types import UTCDateTime

SYSTEM = "rules"


class json_keys(FunctionElement[str]):
    """A group's keys as a sorted JSON list of strings (the ``alerts.seen`` column)."""

    type = String()
    inherit_cache = True
    name = "json_keys"


class joined_keys(FunctionElement[str]):
    """A group's keys, sorted, joined with ``', '`` (an event's note)."""

    type = String()
    inherit_cache = True
    name = "joined_keys"


@compiles(json_keys)
def _json_keys_sqlite(element: json_keys, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite (before 3.44) has no ORDER BY inside an aggregate: the grouped subquery feeds the keys in order, and
    # readers sort the list again, so the order is never relied on.
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_keys, "postgresql")
def _json_keys_postgresql(element: json_keys, compiler: SQLCompiler, **kw: Any) -> str:
    key = compiler.process(element.clauses, **kw)
    return f"CAST(json_agg({key} ORDER BY {key}) AS TEXT)"


@compiles(joined_keys)
def _joined_keys_sqlite(element: joined_keys, compiler: SQLCompiler, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ', ')"


@compiles(joined_keys, "postgresql")
def _joined_keys_postgresql(element: joined_keys, compiler: SQLCompiler, **kw: Any) -> str:
    key = compiler.process(element.clauses, **kw)
    return f"string_agg({key}, ', ' ORDER BY {key})"


def episode(rule: Rule, as_of: date, person: ColumnElement[Any]) -> ColumnElement[bool]:
    """The person has an alert of this rule (and mode) whose window overlaps this run's: its episode."""
    start, end = rule.window.bounds(as_of)
    return exists().where(
        alerts.c.rule_id == rule.id,
        alerts.c.mode == (rule.mode or "live"),
        alerts.c.person_pk == person,
        alerts.c.window_start <= end,
        alerts.c.window_end >= start,
    )


def suppressed(rule: Rule, as_of: date, person: ColumnElement[Any]) -> ColumnElement[bool]:
    """The rule's suppression holds for the person (watched, another open alert, or within the cooldown)."""
    mode = rule.mode or "live"
    held: list[ColumnElement[bool]] = []
    if rule.suppression.skip_if_watched:
        held.append(exists().where(watchlist.c.person_pk == person, watchlist.c.status == "active"))
    if rule.suppression.skip_if_open:
        other = alerts.alias("other")
        held.append(exists().where(other.c.person_pk == person, other.c.mode == mode, other.c.status.in_(OPEN)))
    if rule.suppression.cooldown_days:
        # Closed on a (UTC) day after as_of - cooldown: as_of < closed day + cooldown, as the rule says.
        since = datetime.combine(as_of - timedelta(days=rule.suppression.cooldown_days - 1), time(), UTC)
        closed = alerts.alias("closed")
        held.append(
            exists().where(
                closed.c.rule_id == rule.id,
                closed.c.mode == mode,
                closed.c.person_pk == person,
                closed.c.status == "closed",
                closed.c.closed_at >= since,
            )
        )
    return or_(false(), *held)


def classify(rule: Rule, as_of: date, person_pks: Sequence[int] | None) -> Any:
    """Every qualifying person with something not yet held by this rule's alerts: (person, has episode, suppressed)."""
    who = qualifying(rule, as_of, person_pks).subquery()
    return select(
        who.c.person_pk,
        episode(rule, as_of, who.c.person_pk).label("episode"),
        suppressed(rule, as_of, who.c.person_pk).label("suppressed"),
    )


def _grouped(rule: Rule, as_of: date, person_pks: Sequence[int] | None, *, fresh: bool = True) -> Any:
    """The qualifying persons with their sorted keys: distinct (person, key) pairs in key order, then grouped.

    With ``fresh``, only persons with an interaction not yet held by this rule's alerts (as :func:`qualifying`)."""
    key = _distinct_key(rule)
    counted = func.max(_fresh(rule, as_of)) if fresh else literal(1, Integer())
    pairs = (
        select(links.c.person_pk, key.label("k"), counted.label("fresh"))
        .select_from(_joined())  # type: ignore[arg-type]
        .where(and_(*_conditions(rule, as_of, person_pks)))
        .group_by(links.c.person_pk, key)
        .order_by(links.c.person_pk, key)
        .subquery("pairs")
    )
    return (
        select(
            pairs.c.person_pk,
            func.count().label("n"),
            json_keys(pairs.c.k).label("seen"),
            joined_keys(pairs.c.k).label("keys"),
        )
        .group_by(pairs.c.person_pk)
        .having(func.count() >= rule.threshold, func.max(pairs.c.fresh) == 1)
        .subquery("grouped")
    )


def raise_alerts(rule: Rule, as_of: date, person_pks: Sequence[int], now: datetime, *, narrow: bool = False) -> Any:
    """INSERT ... SELECT of a new alert for each of the persons given: those :func:`classify` found qualifying with
    no episode and no suppression, in the same transaction under the rules lock.

    The statement reads no alert: had it kept the episode and suppression checks, PostgreSQL would probe the table it
    is inserting into once per new alert, through every row already inserted by the statement (the first run over
    1,000,000 interactions spent 73 of its 88 s there).

    With ``narrow`` (a run for the few persons a feed touched) the window is read for those persons only; a full run
    reads it once and keeps the persons given."""
    start, end = rule.window.bounds(as_of)
    # Without the freshness probe: a person with no episode holds none of the window's interactions in an alert of
    # this rule, and probing the alerts while chunks of them are inserted would grow with every chunk.
    grouped = _grouped(rule, as_of, person_pks if narrow else None, fresh=False)
    values: dict[str, Any] = {
        "rule_id": literal(rule.id, String()),
        "rule_version": literal(rule.version, Integer()),
        "action": literal(rule.action, String()),
        "mode": literal(rule.mode or "live", String()),
        "person_pk": grouped.c.person_pk,
        "severity": literal(rule.severity, String()),
        "queue": literal(rule.queue, String()),
        "distinct_by": literal(rule.distinct_by, String()),
        "threshold": literal(rule.threshold, Integer()),
        "status": literal("new", String()),
        "window_start": literal(start, Date()),
        "window_end": literal(end, Date()),
        "seen": grouped.c.seen,
        "raised_at": literal(now, UTCDateTime()),
        "updated_at": literal(now, UTCDateTime()),
    }
    # ``+ 0``: a membership test, never an index look-up driven by the list (SQLite would otherwise seek every
    # listed person for every interaction in the window).
    source = select(*values.values()).where((grouped.c.person_pk + 0).in_(list(person_pks)))
    return alerts.insert().from_select(list(values), source)


def raised_events(rule: Rule, as_of: date, person_pks: Sequence[int] | None, after_pk: int, now: datetime) -> Any:
    """INSERT ... SELECT of the ``raised`` event, naming the keys, for this rule's alerts numbered after ``after_pk``.

    Run before their evidence is written (the keys are read from the window, not from the evidence)."""
    grouped = _grouped(rule, as_of, person_pks, fresh=False)
    what = " partners: " if rule.distinct_by == "partner" else " partner types: "
    note = cast(grouped.c.n, String()) + literal(what, String()) + grouped.c["keys"]
    source = (
        select(alerts.c.pk, literal("raised", String()), literal(SYSTEM, String()), note, literal(now, UTCDateTime()))
        .select_from(alerts.join(grouped, grouped.c.person_pk == alerts.c.person_pk))
        .where(
            alerts.c.pk > after_pk,
            alerts.c.rule_id == rule.id,
            alerts.c.mode == (rule.mode or "live"),
            alerts.c.window_start == rule.window.bounds(as_of)[0],
        )
    )
    return alert_events.insert().from_select(["alert_pk", "kind", "actor", "note", "at"], source)


def last_alert_pk() -> Any:
    return select(func.coalesce(func.max(alerts.c.pk), 0))
