"""The set-based half of a run: which qualifying persons are new, held, suppressed or have something to add, and
the statements that raise the new alerts with their evidence and events in the database (``INSERT ... SELECT``).

Only persons whose current alert has new interactions are read into Python (:mod:`aim.rules.decision`); a person
who qualifies but is suppressed (open alert, watch list, cooldown) is counted, never read, and the alerts raised
for everyone else never pass through Python either. The statements are the same on SQLite and PostgreSQL but for
two differences: reading a JSON list of keys (aggregating one in order, naming its keys) is compiled per dialect
below, and PostgreSQL raises the alerts with their evidence and events in one statement (a data-modifying ``WITH``,
which SQLite lacks; there :func:`raise_alerts`, :func:`raised_events` and the evidence statement run one after the
other).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from aim.rules.model import Rule
from aim.rules.query import _conditions, _distinct_key, _joined, qualifying
from aim.rules.store import OPEN
from aim.storage.rules_tables import alert_events, alert_evidence, alerts, watchlist
from aim.storage.tables import links, partners, records
from aim.storage.types import UTCDateTime

SYSTEM = "rules"


class json_keys(FunctionElement[str]):
    """A group's keys as a sorted JSON list of strings (the ``alerts.seen`` column)."""

    type = String()
    inherit_cache = True
    name = "json_keys"


class json_length(FunctionElement[int]):
    """How many keys a JSON list of strings (``alerts.seen``) holds."""

    type = Integer()
    inherit_cache = True
    name = "json_length"


class json_joined(FunctionElement[str]):
    """The keys of a JSON list of strings (``alerts.seen``), sorted, joined with ``', '`` (an event's note)."""

    type = String()
    inherit_cache = True
    name = "json_joined"


@compiles(json_keys)
def _json_keys_sqlite(element: json_keys, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite (before 3.44) has no ORDER BY inside an aggregate: the grouped subquery feeds the keys in order, and
    # readers sort the list again, so the order is never relied on.
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_keys, "postgresql")
def _json_keys_postgresql(element: json_keys, compiler: SQLCompiler, **kw: Any) -> str:
    key = compiler.process(element.clauses, **kw)
    return f"CAST(json_agg({key} ORDER BY {key}) AS TEXT)"


def _argument(element: FunctionElement[Any]) -> ColumnElement[Any]:
    """The element's one argument (the column)."""
    (argument,) = element.clauses.clauses
    return argument


def _as_json(element: FunctionElement[Any]) -> ColumnElement[Any]:
    """PostgreSQL: the element's one argument (a text column holding JSON) cast to ``json``."""
    return cast(_argument(element), JSON())


@compiles(json_length)
def _json_length_sqlite(element: json_length, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array_length({compiler.process(element.clauses, **kw)})"


@compiles(json_length, "postgresql")
def _json_length_postgresql(element: json_length, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(func.json_array_length(_as_json(element)), **kw)


@compiles(json_joined)
def _json_joined_sqlite(element: json_joined, compiler: SQLCompiler, **kw: Any) -> str:
    # As json_keys: group_concat takes the keys in the order the subquery gives them.
    keys = func.json_each(_argument(element)).table_valued("value")
    ordered = select(keys.c.value).order_by(keys.c.value).subquery()
    return compiler.process(select(func.group_concat(ordered.c.value, ", ")).scalar_subquery(), **kw)


@compiles(json_joined, "postgresql")
def _json_joined_postgresql(element: json_joined, compiler: SQLCompiler, **kw: Any) -> str:
    keys = func.json_array_elements_text(_as_json(element)).table_valued("value")
    joined = func.string_agg(keys.c.value, aggregate_order_by(literal(", ", String()), keys.c.value))
    return compiler.process(select(joined).scalar_subquery(), **kw)


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


def _grouped(rule: Rule, as_of: date, person_pks: Sequence[int] | None) -> Any:
    """The qualifying persons with their sorted keys: distinct (person, key) pairs in key order, then grouped.

    No freshness probe: it serves only persons with no episode, who hold none of the window's interactions in an
    alert of this rule, and probing the alerts while chunks of them are inserted would grow with every chunk."""
    key = _distinct_key(rule)
    pairs = (
        select(links.c.person_pk, key.label("k"))
        .select_from(_joined())  # type: ignore[arg-type]
        .where(and_(*_conditions(rule, as_of, person_pks)))
        .group_by(links.c.person_pk, key)
        .order_by(links.c.person_pk, key)
        .subquery("pairs")
    )
    return (
        select(pairs.c.person_pk, json_keys(pairs.c.k).label("seen"))
        .group_by(pairs.c.person_pk)
        .having(func.count() >= rule.threshold)
        .subquery("grouped")
    )


def _new_alert(rule: Rule, as_of: date, grouped: Any, now: datetime) -> dict[str, Any]:
    """The columns of a new alert for each row of ``grouped`` (person_pk, seen)."""
    start, end = rule.window.bounds(as_of)
    return {
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


def _raised(rule: Rule, alert_pk: Any, seen: Any, now: datetime) -> list[Any]:
    """The ``raised`` event of a new alert, its note naming the keys of the alert's ``seen`` list."""
    what = " partners: " if rule.distinct_by == "partner" else " partner types: "
    note = cast(json_length(seen), String()) + literal(what, String()) + json_joined(seen)
    return [alert_pk, literal("raised", String()), literal(SYSTEM, String()), note, literal(now, UTCDateTime())]


_EVENT = ["alert_pk", "kind", "actor", "note", "at"]
_EVIDENCE = ["alert_pk", "record_pk", "partner_code", "partner_type", "flag", "interaction_date", "added_at"]


def raise_alerts(rule: Rule, as_of: date, person_pks: Sequence[int], now: datetime, *, narrow: bool = False) -> Any:
    """INSERT ... SELECT of a new alert for each of the persons given: those :func:`classify` found qualifying with
    no episode and no suppression, in the same transaction under the rules lock.

    The statement reads no alert: had it kept the episode and suppression checks, PostgreSQL would probe the table it
    is inserting into once per new alert, through every row already inserted by the statement (the first run over
    1,000,000 interactions spent 73 of its 88 s there).

    With ``narrow`` (a run for the few persons a feed touched) the window is read for those persons only; a full run
    reads it once and keeps the persons given."""
    grouped = _grouped(rule, as_of, person_pks if narrow else None)
    values = _new_alert(rule, as_of, grouped, now)
    # ``+ 0``: a membership test, never an index look-up driven by the list (SQLite would otherwise seek every
    # listed person for every interaction in the window).
    source = select(*values.values()).where((grouped.c.person_pk + 0).in_(list(person_pks)))
    return alerts.insert().from_select(list(values), source)


def raise_alerts_with_evidence(
    rule: Rule, as_of: date, person_pks: Sequence[int], now: datetime, *, narrow: bool = False
) -> Any:
    """PostgreSQL: :func:`raise_alerts`, their evidence and their ``raised`` events in one statement, reading the
    window once (data-modifying ``WITH``, which SQLite does not have; there the three statements run apart).

    The window's rows for the persons given are gathered once (``win``, read twice, so materialised), grouped into
    the new alerts (``new``, ``INSERT ... RETURNING``), and joined back to them as the evidence. Every part sees the
    same snapshot, so nothing probes the rows being inserted; the foreign keys are checked as for any insert. The
    evidence is every counting interaction of the alert's person in the window, as
    :func:`aim.rules.query.evidence_for_alerts` writes it on SQLite."""
    persons = bindparam("persons", list(person_pks), type_=ARRAY(BigInteger()))
    win = (
        select(
            links.c.person_pk,
            records.c.pk.label("record_pk"),
            partners.c.code,
            partners.c.partner_type,
            records.c.flag,
            records.c.interaction_date,
            _distinct_key(rule).label("k"),
        )
        .select_from(_joined())  # type: ignore[arg-type]
        .where(and_(*_conditions(rule, as_of, None)), _among(persons, narrow=narrow))
        .cte("win")
    )
    pairs = select(win.c.person_pk, win.c.k).distinct().subquery("pairs")
    grouped = (
        select(pairs.c.person_pk, json_keys(pairs.c.k).label("seen"))
        .group_by(pairs.c.person_pk)
        .having(func.count() >= rule.threshold)
        .subquery("grouped")
    )
    values = _new_alert(rule, as_of, grouped, now)
    new = (
        alerts.insert()
        .from_select(list(values), select(*values.values()))
        .returning(alerts.c.pk, alerts.c.person_pk, alerts.c.seen)
        .cte("new")
    )
    evidence = alert_evidence.insert().from_select(
        _EVIDENCE,
        select(new.c.pk, win.c.record_pk, win.c.code, win.c.partner_type, win.c.flag, win.c.interaction_date)
        .add_columns(literal(now, UTCDateTime()))
        .select_from(new.join(win, win.c.person_pk == new.c.person_pk)),
    )
    events = select(*_raised(rule, new.c.pk, new.c.seen, now))
    return alert_events.insert().from_select(_EVENT, events).add_cte(evidence.cte("evidence"))


def _among(persons: Any, *, narrow: bool) -> ColumnElement[bool]:
    """PostgreSQL: the person is one of ``persons``, an array sent as one parameter (a list of tens of thousands of
    ids costs more to render, send and parse than the test itself). As in :func:`raise_alerts`, a full run tests
    membership (``+ 0``: no index look-up driven by the list) and a narrow run looks the persons up by index."""
    person = links.c.person_pk if narrow else links.c.person_pk + 0
    return person == any_(persons)


def raised_events(rule: Rule, after_pk: int, now: datetime) -> Any:
    """INSERT ... SELECT of the ``raised`` event, naming the keys, for this rule's alerts numbered after ``after_pk``.

    The keys are the alert's own ``seen`` list, written from the window by :func:`raise_alerts`: reading the window
    again to name them cost a second pass over it per rule (about 1 s per rule over 1,000,000 interactions on
    PostgreSQL)."""
    source = select(*_raised(rule, alerts.c.pk, alerts.c.seen, now)).where(
        alerts.c.pk > after_pk, alerts.c.rule_id == rule.id, alerts.c.mode == (rule.mode or "live")
    )
    return alert_events.insert().from_select(_EVENT, source)


def last_alert_pk() -> Any:
    return select(func.coalesce(func.max(alerts.c.pk), 0))
