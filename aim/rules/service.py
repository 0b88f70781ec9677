"""Evaluate the rules: after each ingest for the persons it touched, nightly for everyone, and on demand.

Every run takes one write transaction and the rules lock (an advisory lock on PostgreSQL; SQLite's write lock), so
two runs never interleave and a run can always be repeated: what it would raise again is already there. The persons
an ingest (or a split or merge) touched are re-evaluated ``REEVALUATE_PART`` persons a run: a person's alerts depend
on that person's interactions and alerts alone, so the parts give what one run would, and on SQLite a search's audit
entry waits for one part, not for the whole run (19,600 persons took 13.5 s in one transaction on a hub of 1.6
million records).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from aim.clock import Clock, local_today
from aim.ingest.service import FeedCommitted
from aim.rules import raising, store
from aim.rules.decision import Decision, decide
from aim.rules.errors import RuleFileError, UnknownRuleError
from aim.rules.loader import load_rules
from aim.rules.model import Rule
from aim.rules.query import Hit, evidence_for_alerts, hits
from aim.storage.database import Database
from aim.storage.rules_tables import alert_evidence, alerts, rule_versions
from aim.storage.tables import links, record_changes

log = logging.getLogger("aim.rules")
LOCK_KEY = "aim.rules.run"
SYSTEM = "rules"


@dataclass
class RunReport:
    """What one rule did in one run."""

    rule_id: str
    version: int
    mode: str
    qualifying: int = 0
    """Persons who meet the rule with at least one interaction no alert of the rule holds yet (the others are
    already explained by their alert, so a second run finds none)."""
    raised: int = 0
    extended: int = 0
    reopened: int = 0
    suppressed: int = 0

    def add(self, other: RunReport) -> None:
        """Add another part's counts for the same rule."""
        self.qualifying += other.qualifying
        self.raised += other.raised
        self.extended += other.extended
        self.reopened += other.reopened
        self.suppressed += other.suppressed

    def line(self) -> str:
        return (
            f"{self.rule_id} v{self.version} ({self.mode}): {self.qualifying} persons qualify with something new; "
            f"raised {self.raised}, added to {self.extended}, re-opened {self.reopened}, suppressed {self.suppressed}"
        )


@dataclass
class WouldRaise:
    """A backtest's would-be alert: the person, the window it was first raised for, and its explanation."""

    person_pk: int
    first_raised_on: date
    window_start: date
    window_end: date
    keys: set[str] = field(default_factory=set)
    record_pks: set[int] = field(default_factory=set)


REEVALUATE_PART = 100
"""Persons re-evaluated in one run by :meth:`RulesService.reevaluate_persons`: about 0.07 s of write transaction on a
hub of 1.6 million records."""

_RAISE_CHUNK = 30_000
"""Persons per statement raising alerts: each statement reads the window once; under SQLite's 32,766 variables."""

_ANALYZE = {"alerts": "ANALYZE alerts", "alert_evidence": "ANALYZE alert_evidence"}


class RulesService:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        zone: ZoneInfo,
        rules_dir: Path | None = None,
        rules: list[Rule] | None = None,
        after_run: list[Any] | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._zone = zone
        self._rules_dir = rules_dir
        self._rules = rules
        # Called with (connection, person pks or None) at the end of each run, inside its transaction.
        self.after_run: list[Any] = after_run if after_run is not None else []

    def today(self) -> date:
        return local_today(self._clock, self._zone)

    def rules(self) -> list[Rule]:
        """The rules as configured (files re-read on every call, so an edited file takes effect at the next run)."""
        if self._rules is not None:
            return list(self._rules)
        if self._rules_dir is None:
            raise RuleFileError("no rules directory is configured: set AIM_RULES_DIR to the directory of rule files")
        return load_rules(self._rules_dir)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules():
            if rule.id == rule_id:
                return rule
        raise UnknownRuleError(f"no rule {rule_id!r}: 'aim hub rules list' shows the rules that are loaded")

    def run(
        self, *, as_of: date | None = None, person_pks: Iterable[int] | None = None, rules: list[Rule] | None = None
    ) -> list[RunReport]:
        """Evaluate the active (live) and shadow rules as of ``as_of`` (today) for everyone or the persons given."""
        as_of = as_of or self.today()
        scope = None if person_pks is None else sorted(set(person_pks))
        runnable = [r for r in (rules if rules is not None else self.rules()) if r.mode is not None]
        # Alerts before suggestions, so a suggestion can be suppressed by an alert raised in the same run.
        runnable.sort(key=lambda r: (r.action != "alert", r.id))
        if scope is not None and not scope:
            return []
        with self._db.write() as conn:
            self._lock(conn)
            self._no_jit(conn)
            now = self._clock.now()
            if scope is None:
                self._refresh_statistics(conn, "alerts", "alert_evidence")
            self._record_versions(conn, runnable, now)
            reports = [self._evaluate(conn, rule, as_of, scope, now) for rule in runnable]
            for hook in self.after_run:
                hook(conn, scope)
        return reports

    def after_ingest(self, event: FeedCommitted) -> None:
        """The ingest hook: re-check the alerts of, and run the rules for, the persons the feed touched."""
        with self._db.read() as conn:
            touched = set(
                conn.execute(
                    select(links.c.person_pk)
                    .join(record_changes, record_changes.c.record_pk == links.c.record_pk)
                    .where(record_changes.c.feed_pk == event.feed_pk)
                    .distinct()
                ).scalars()
            )
        if not touched:
            return
        try:
            self.reevaluate_persons(touched)
        except RuleFileError as exc:
            # The feed is committed whatever happens here; the nightly run reports the same problem.
            log.error("rules not run after feed %s: %s", event.feed_pk, exc)

    def nightly(self, *, as_of: date | None = None) -> list[RunReport]:
        """The nightly job: re-check every alert still open, then run every rule for everyone."""
        with self._db.read() as conn:
            open_persons = set(
                conn.execute(select(alerts.c.person_pk).where(alerts.c.status.in_(store.OPEN))).scalars()
            )
        self._recheck(open_persons)
        return self.run(as_of=as_of)

    def reevaluate_persons(self, person_pks: Iterable[int], *, as_of: date | None = None) -> list[RunReport]:
        """After a split (or corrected data): drop evidence no longer linked to the alert's person, annotate the
        alert or withdraw it when too few partners remain, then run the rules for these persons.

        The identity code calls this with every person a split or merge touched (both sides). Done
        ``REEVALUATE_PART`` persons at a time, each part re-checked and run in transactions of its own; the reports
        add up the parts'."""
        persons = sorted(set(person_pks))
        as_of = as_of or self.today()  # one day for every part, even across midnight
        totals: dict[str, RunReport] = {}
        for part in store.chunks(persons, REEVALUATE_PART):
            self._recheck(part)
            for report in self.run(as_of=as_of, person_pks=part):
                total = totals.setdefault(report.rule_id, RunReport(report.rule_id, report.version, report.mode))
                total.add(report)
        return list(totals.values())

    def backtest(self, rule: Rule, *, start: date, end: date) -> list[WouldRaise]:
        """What ``rule`` would have raised on each day from ``start`` to ``end``, writing nothing."""
        if end < start:
            raise RuleFileError(f"--to {end} is before --from {start}: give a range that runs forwards")
        episodes: dict[int, list[WouldRaise]] = defaultdict(list)
        with self._db.read() as conn:
            day = start
            while day <= end:
                by_person: dict[int, list[Hit]] = defaultdict(list)
                for hit in hits(conn, rule, day):
                    by_person[hit.person_pk].append(hit)
                window_start, _ = rule.window.bounds(day)
                for person, person_hits in by_person.items():
                    current = next((e for e in episodes[person] if e.window_end >= window_start), None)
                    if current is None:
                        current = WouldRaise(person, day, window_start, day)
                        episodes[person].append(current)
                    current.window_end = day
                    current.keys |= {h.key(rule.distinct_by) for h in person_hits}
                    current.record_pks |= {h.record_pk for h in person_hits}
                day += timedelta(days=1)
        return sorted((e for group in episodes.values() for e in group), key=lambda e: (e.first_raised_on, e.person_pk))

    def _lock(self, conn: Connection) -> None:
        if self._db.backend == "postgresql":
            number = int.from_bytes(hashlib.sha256(LOCK_KEY.encode()).digest()[:8], "big", signed=True)
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": number})

    def _no_jit(self, conn: Connection) -> None:
        """Turn PostgreSQL's JIT compilation off for this run's transaction: the classification's cost estimate (its
        suppression and freshness subqueries) passes the JIT thresholds over a large window, and compiling it took
        about 1.4 s of a 1.6 s statement over 1,000,000 interactions, far more than it saved."""
        if self._db.backend == "postgresql":
            conn.execute(text("SET LOCAL jit = off"))

    def _record_versions(self, conn: Connection, rules: list[Rule], now: datetime) -> None:
        """Keep every version run; a changed rule must carry a new version number."""
        for rule in rules:
            body = rule.to_dict()
            body.pop("status")
            definition = json.dumps(body, sort_keys=True, separators=(",", ":"))
            digest = hashlib.sha256(definition.encode()).hexdigest()
            row = conn.execute(
                select(rule_versions.c.sha256).where(
                    rule_versions.c.rule_id == rule.id, rule_versions.c.version == rule.version
                )
            ).first()
            if row is None:
                conn.execute(
                    rule_versions.insert().values(
                        rule_id=rule.id,
                        version=rule.version,
                        status=rule.status,
                        definition=definition,
                        sha256=digest,
                        recorded_at=now,
                    )
                )
            elif row[0] != digest:
                raise RuleFileError(
                    f"rule {rule.id} version {rule.version} differs from the version {rule.version} already run: "
                    f"give the changed rule version {rule.version + 1}"
                )
            else:
                conn.execute(
                    rule_versions.update()
                    .where(rule_versions.c.rule_id == rule.id, rule_versions.c.version == rule.version)
                    .values(status=rule.status)
                )

    def _refresh_statistics(self, conn: Connection, *tables: str) -> None:
        """ANALYZE the alert tables, so both planners probe the evidence by record (one index look-up per interaction
        in the window) rather than walking every alert of the rule for each interaction: on SQLite without statistics
        a second run over 100,000 interactions took 40 s instead of 0.3 s. SQLite samples at most 1,000 rows per
        index (``analysis_limit``), so the cost stays flat as the tables grow; PostgreSQL samples by itself."""
        if self._db.backend == "sqlite":
            conn.execute(text("PRAGMA analysis_limit = 1000"))
        for table in tables:
            conn.execute(text(_ANALYZE[table]))

    def _evaluate(self, conn: Connection, rule: Rule, as_of: date, scope: list[int] | None, now: datetime) -> RunReport:
        """Decide in the database: count the suppressed, raise the new alerts set-based (only their persons' ids pass
        through Python); read into Python only the persons whose current alert (episode) has interactions it does not
        hold yet."""
        report = RunReport(rule.id, rule.version, rule.mode or "live")
        held: list[int] = []
        to_raise: list[int] = []
        parts: list[list[int] | None] = [None] if scope is None else [list(c) for c in store.chunks(scope, 5000)]
        for part in parts:
            for person, has_episode, is_suppressed in conn.execute(raising.classify(rule, as_of, part)):
                report.qualifying += 1
                if has_episode:
                    held.append(person)
                elif is_suppressed:
                    report.suppressed += 1
                else:
                    to_raise.append(person)
        if held:
            self._add_to_episodes(conn, rule, as_of, sorted(held), report=report, now=now)
        if not to_raise:
            return report  # the steady nightly case: one pass over the window and nothing read into Python
        report.raised = self._raise(conn, rule, as_of, sorted(to_raise), narrow=scope is not None, now=now)
        return report

    def _raise(
        self, conn: Connection, rule: Rule, as_of: date, persons: list[int], *, narrow: bool, now: datetime
    ) -> int:
        """Raise a new alert, with its evidence and its ``raised`` event, for each of ``persons``; returns how many.

        On PostgreSQL one statement per chunk writes all three, reading the window once; SQLite, which has no
        data-modifying ``WITH``, writes the alerts and then their events and evidence by alert number."""
        before = conn.execute(raising.last_alert_pk()).scalar_one()
        chunks = [list(chunk) for chunk in store.chunks(persons, _RAISE_CHUNK)]
        if self._db.backend == "postgresql":
            for chunk in chunks:
                conn.execute(raising.raise_alerts_with_evidence(rule, as_of, chunk, now, narrow=narrow))
            tables = ["alerts", "alert_evidence"]
        else:
            for chunk in chunks:
                conn.execute(raising.raise_alerts(rule, as_of, chunk, now, narrow=narrow))
            # Thousands of alerts may have just arrived: without fresh statistics the planner takes the table for
            # empty and joins the window to it the slow way round.
            self._refresh_statistics(conn, "alerts")
            conn.execute(raising.raised_events(rule, before, now))
            conn.execute(evidence_for_alerts(rule, as_of, before, now))
            tables = ["alert_evidence"]
        # And for the next rule's (and run's) look-ups of the alerts and evidence.
        self._refresh_statistics(conn, *tables)
        mine = [alerts.c.pk > before, alerts.c.rule_id == rule.id, alerts.c.mode == (rule.mode or "live")]
        return int(conn.execute(select(func.count()).where(*mine)).scalar_one())

    def _add_to_episodes(
        self, conn: Connection, rule: Rule, as_of: date, persons: list[int], *, report: RunReport, now: datetime
    ) -> None:
        """Add the new interactions to each person's current alert, re-opening it for a partner not seen before."""
        by_person: dict[int, list[Hit]] = defaultdict(list)
        for hit in hits(conn, rule, as_of, persons):
            by_person[hit.person_pk].append(hit)
        states = store.alert_states(conn, rule_id=rule.id, mode=report.mode, person_pks=persons)
        evidence: list[tuple[int, Hit]] = []
        events: list[store.EventRow] = []
        for person, person_hits in sorted(by_person.items()):
            d = decide(rule, as_of, person_hits, states.get(person, []))
            if d.kind == "extend" and d.alert is not None:
                evidence += [(d.alert.pk, hit) for hit in d.hits]
                events += self._extend(conn, d, as_of, now)
                report.extended += 1
                report.reopened += int(d.reopen)
        store.insert_evidence(conn, evidence, now=now)
        store.insert_events(conn, events, now=now)

    def _extend(
        self, conn: Connection, d: Decision, as_of: date, now: datetime
    ) -> list[tuple[int, str, str, str | None]]:
        alert = d.alert
        assert alert is not None
        values: dict[str, Any] = {"updated_at": now, "window_end": max(alert.window_end, as_of)}
        note = f"{len(d.hits)} more interaction(s)"
        events: list[store.EventRow] = []
        if d.new_keys:
            values["seen"] = json.dumps(sorted(alert.seen | set(d.new_keys)))
            note += f"; new: {', '.join(d.new_keys)}"
            values["snoozed_until"] = None
        if d.reopen:
            values.update(status="new", closed_at=None, outcome=None, outcome_note=None, snoozed_until=None)
            events.append((alert.pk, "reopened", SYSTEM, note))
        else:
            events.append((alert.pk, "evidence_added", SYSTEM, note))
        store.update_alert(conn, alert.pk, **values)
        return events

    def _recheck(self, person_pks: Iterable[int]) -> None:
        """Drop evidence whose record is no longer linked to the alert's person; annotate or withdraw."""
        persons = sorted(set(person_pks))
        if not persons:
            return
        with self._db.write() as conn:
            self._lock(conn)
            now = self._clock.now()
            for chunk in store.chunks(persons):
                rows = conn.execute(
                    select(
                        alerts.c.pk,
                        alerts.c.person_pk,
                        alerts.c.status,
                        alerts.c.threshold,
                        alerts.c.distinct_by,
                        alert_evidence.c.record_pk,
                        alert_evidence.c.partner_code,
                        alert_evidence.c.partner_type,
                        links.c.person_pk.label("linked_to"),
                    )
                    .join(alert_evidence, alert_evidence.c.alert_pk == alerts.c.pk, isouter=True)
                    .join(links, links.c.record_pk == alert_evidence.c.record_pk, isouter=True)
                    .where(alerts.c.person_pk.in_(chunk), alerts.c.status != "withdrawn")
                ).mappings()
                grouped: dict[int, list[Any]] = defaultdict(list)
                for row in rows:
                    grouped[row["pk"]].append(row)
                for alert_pk, alert_rows in grouped.items():
                    self._recheck_alert(conn, alert_pk, alert_rows, now)

    def _recheck_alert(self, conn: Connection, alert_pk: int, rows: list[Any], now: datetime) -> None:
        first = rows[0]
        present = [r for r in rows if r["record_pk"] is not None]
        moved = [r["record_pk"] for r in present if r["linked_to"] != first["person_pk"]]
        kept = [r for r in present if r["linked_to"] == first["person_pk"]]
        keys = {
            (r["partner_type"] or f"partner:{r['partner_code']}")
            if r["distinct_by"] == "partner_type"
            else r["partner_code"]
            for r in kept
        }
        if not moved and (len(keys) >= first["threshold"] or first["status"] not in store.OPEN):
            return  # nothing moved and nothing to withdraw: a re-run changes nothing
        store.remove_evidence(conn, alert_pk, moved)
        note = (
            f"{len(moved)} interaction(s) no longer linked to this person; {len(keys)} of {first['threshold']} remain"
        )
        if len(keys) < first["threshold"] and first["status"] in store.OPEN:
            store.update_alert(conn, alert_pk, status="withdrawn", updated_at=now)
            store.insert_events(conn, [(alert_pk, "withdrawn", SYSTEM, note)], now=now)
        else:
            store.update_alert(conn, alert_pk, updated_at=now)
            store.insert_events(conn, [(alert_pk, "annotated", SYSTEM, note)], now=now)


def _what(rule: Rule) -> str:
    return "partners" if rule.distinct_by == "partner" else "partner types"
