"""The transparency report: what the hub was used for, counted from audit events and alert facts, small counts
suppressed.

Tables: searches by purpose and role; requests refused, by action; break-glass grants opened and used, by role;
alerts closed, by rule and outcome code; interactions purged, by category. Any count from 1 to 4 is shown as ``<5``
and its true value never leaves this module. Tables carry no totals, so a suppressed cell cannot be recovered by
subtraction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from governance.action import BREAK_GLASS
from governance.audit import AuditEvent, Outcome
from governance.retention import PURGE_ACTION

SUPPRESSION_THRESHOLD = 5
"""Counts below this (and above zero) are suppressed."""

SUPPRESSED = "<5"
"""How a suppressed count is shown."""

NO_ROLE = "(no role)"
NO_PURPOSE = "(no purpose)"


@dataclass(frozen=True)
class ReportCell:
    """One count: its keys, what is shown, and the count itself only when it is not suppressed."""

    keys: tuple[str, ...]
    shown: str
    count: int | None

    @classmethod
    def of(cls, keys: tuple[str, ...], count: int) -> ReportCell:
        """A cell with small-number suppression applied."""
        if 0 < count < SUPPRESSION_THRESHOLD:
            return cls(keys, SUPPRESSED, None)
        return cls(keys, str(count), count)


@dataclass(frozen=True)
class ReportTable:
    """A titled table of counts keyed by ``columns``."""

    title: str
    columns: tuple[str, ...]
    cells: tuple[ReportCell, ...]

    def to_data(self) -> dict[str, Any]:
        """JSON-ready: title, columns and rows of ``{column: key, ..., "count": shown}``."""
        rows = [{**dict(zip(self.columns, cell.keys, strict=True)), "count": cell.shown} for cell in self.cells]
        return {"title": self.title, "columns": list(self.columns), "rows": rows}


@dataclass(frozen=True)
class AlertFact:
    """One alert closed in the period: the rule that raised it and the outcome code it was closed with."""

    rule_id: str
    outcome: str


@dataclass(frozen=True)
class TransparencyReport:
    """The report for one period (both dates inclusive)."""

    period_start: date
    period_end: date
    tables: tuple[ReportTable, ...]

    def table(self, title: str) -> ReportTable:
        """The table with this title."""
        return next(table for table in self.tables if table.title == title)

    def to_data(self) -> dict[str, Any]:
        """JSON-ready form for the DPO endpoint and the published report."""
        return {
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "suppression": f"counts from 1 to {SUPPRESSION_THRESHOLD - 1} are shown as {SUPPRESSED}",
            "tables": [table.to_data() for table in self.tables],
        }


SEARCHES = "searches by purpose and role"
REFUSED = "requests refused, by action"
BREAK_GLASS_USES = "break-glass grants opened and used, by role"
ALERTS = "alerts by rule and outcome"
PURGES = "interactions purged, by category"


def transparency_report(
    *, events: Iterable[AuditEvent], alerts: Iterable[AlertFact], period_start: date, period_end: date
) -> TransparencyReport:
    """Count the period's audit events and alerts into the report's tables, suppressing small counts.

    Args:
        events: audit events (any period; only those dated within the period count).
        alerts: the alerts closed in the period, one fact each.
        period_start: first day counted.
        period_end: last day counted.

    Returns:
        The report.
    """
    searches: Counter[tuple[str, ...]] = Counter()
    refused: Counter[tuple[str, ...]] = Counter()
    break_glass: Counter[tuple[str, ...]] = Counter()
    purged: Counter[tuple[str, ...]] = Counter()
    for event in events:
        if not period_start <= event.occurred_at.date() <= period_end:
            continue
        role = ",".join(event.roles) or NO_ROLE
        if event.action == "search":
            searches[(event.purpose or NO_PURPOSE, role)] += 1
        if event.outcome is Outcome.DENIED:
            refused[(event.action,)] += 1
        if event.action == BREAK_GLASS and event.outcome is Outcome.ALLOWED:
            break_glass[(role, "opened")] += 1
        elif event.break_glass_grant is not None:
            break_glass[(role, "used")] += 1
        if event.action == PURGE_ACTION:
            for key, count in event.counts.items():
                if key.startswith("interactions."):
                    purged[(key.removeprefix("interactions."),)] += count
    alert_counts: Counter[tuple[str, ...]] = Counter((alert.rule_id, alert.outcome) for alert in alerts)
    tables = (
        _table(SEARCHES, ("purpose", "role"), searches),
        _table(REFUSED, ("action",), refused),
        _table(BREAK_GLASS_USES, ("role", "use"), break_glass),
        _table(ALERTS, ("rule", "outcome"), alert_counts),
        _table(PURGES, ("category",), purged),
    )
    return TransparencyReport(period_start, period_end, tables)


def _table(title: str, columns: tuple[str, ...], counts: Counter[tuple[str, ...]]) -> ReportTable:
    cells = tuple(ReportCell.of(keys, count) for keys, count in sorted(counts.items()) if count > 0)
    return ReportTable(title, columns, cells)
