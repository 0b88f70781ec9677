"""The DPO's screens: the audit log (search, with the chain's verification status), the break-glass review queue
and the transparency report (its tables as the hub returns them, small counts already suppressed, with bar charts
beside two of them). Each hub call declares the purpose of reading the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from aim.alerts.service import OUTCOMES as ALERT_OUTCOMES
from api.portal.chart import BarChart, bar_chart
from api.portal.deps import AUDIT_PURPOSE, FormSession, PortalDep, SessionDep, audit_context, render
from api.portal.errors import PageError
from governance.transparency import ALERTS, SEARCHES

router = APIRouter()

OUTCOMES = ["", "allowed", "denied", "zero_result"]


@router.get("/audit")
def audit(
    *,
    request: Request,
    portal: PortalDep,
    session: SessionDep,
    actor: str = "",
    action: str = "",
    outcome: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    ctx = audit_context(session)
    verification = portal.hub.verify(ctx)
    found = portal.hub.audit(
        ctx,
        actor=actor,
        action=action,
        outcome=outcome if outcome in OUTCOMES else "",
        since=since,
        until=until,
        limit=200,
    )
    filters = {"actor": actor, "action": action, "outcome": outcome, "since": since, "until": until}
    return render(
        request,
        "audit.html",
        verification=verification,
        entries=found.get("entries", []),
        filters=filters,
        outcomes=OUTCOMES,
        purpose=AUDIT_PURPOSE,
    )


@router.get("/break-glass")
def reviews(request: Request, portal: PortalDep, session: SessionDep, all: int = 0) -> Response:
    found = portal.hub.break_glass_reviews(audit_context(session), include_reviewed=bool(all))
    return render(request, "break_glass.html", uses=found.get("uses", []), show_all=bool(all), purpose=AUDIT_PURPOSE)


@router.post("/break-glass/{use_id}")
def review(use_id: int, portal: PortalDep, session: FormSession, note: Annotated[str, Form()] = "") -> Response:
    if not note.strip():
        raise PageError(
            "A review note is needed",
            "Marking a break-glass use reviewed needs a note.",
            "Go back and write what you checked and concluded.",
            back="/break-glass",
        )
    portal.hub.mark_reviewed(audit_context(session), use_id, note.strip())
    session.flash = f"Break-glass use {use_id} marked reviewed."
    return RedirectResponse("/break-glass", status_code=303)


PERIODS = {
    "month": "This month so far",
    "last_month": "Last month",
    "quarter": "This quarter so far",
    "last_quarter": "Last quarter",
    "year": "This year so far",
    "last_year": "Last year",
}
DEFAULT_PERIOD = "quarter"
COLUMN_NAMES = {
    "purpose": "Purpose",
    "role": "Role",
    "action": "Action",
    "use": "Grant",
    "rule": "Rule",
    "outcome": "Outcome",
    "category": "Data category",
}
CHARTS = {SEARCHES: "one bar per purpose and role", ALERTS: "one bar per rule and outcome"}


def period_of(preset: str, today: date) -> tuple[date, date]:
    """The first and last day of a named period, as of ``today``."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if preset == "month":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if preset == "last_quarter":
        end = quarter_start - timedelta(days=1)
        return date(end.year, end.month - 2, 1), end
    if preset == "year":
        return date(today.year, 1, 1), today
    if preset == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    return quarter_start, today


def _custom(start: str, end: str) -> tuple[tuple[date, date] | None, dict[str, str]]:
    problems: dict[str, str] = {}
    parsed: dict[str, date] = {}
    for name, value, what in (("from", start, "first"), ("to", end, "last")):
        try:
            parsed[name] = date.fromisoformat(value.strip())
        except ValueError:
            problems[name] = f"Enter the {what} day of the period as a date, for example 2026-10-01"
    if not problems and parsed["from"] > parsed["to"]:
        problems["to"] = "The last day must be the same as or after the first day"
    return (None if problems else (parsed["from"], parsed["to"])), problems


@dataclass(frozen=True)
class ReportView:
    """One table of the report as the screen shows it: headed columns, rows of (text, hint) cells, and a chart."""

    title: str
    columns: list[str]
    rows: list[tuple[list[tuple[str, str]], str]]
    chart: BarChart | None


def _cell(column: str, key: str, purposes: dict[str, str]) -> tuple[str, str]:
    """What a key reads as on the screen, and a hint (the controlled list's wording) where there is one."""
    if column == "purpose":
        return key.replace("_", " "), purposes.get(key, "")
    if column == "outcome":
        return key.replace("_", " "), ALERT_OUTCOMES.get(key, "")
    if column in {"role", "action", "category"}:
        return key.replace("_", " ").replace(",", ", "), ""
    return key, ""


def _view(table: dict[str, Any], purposes: dict[str, str]) -> ReportView:
    columns = [str(c) for c in table.get("columns", [])]
    rows = []
    for row in table.get("rows", []):
        cells = [_cell(c, str(row.get(c, "")), purposes) for c in columns]
        rows.append((cells, str(row.get("count", ""))))
    title = str(table.get("title", ""))
    chart = None
    if title in CHARTS:
        chart = bar_chart(
            chart_id="chart-" + title.split(maxsplit=1)[0],
            title=title[:1].upper() + title[1:],
            what=CHARTS[title],
            rows=[(" · ".join(text for text, _hint in cells), count) for cells, count in rows],
        )
    return ReportView(title[:1].upper() + title[1:], [COLUMN_NAMES.get(c, c) for c in columns], rows, chart)


@router.get("/transparency")
def transparency(
    *,
    request: Request,
    portal: PortalDep,
    session: SessionDep,
    period: str = "",
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
) -> Response:
    today = date.today()
    chosen, problems = (None, {}) if not (start or end) else _custom(start, end)
    preset = "" if (start or end) else (period if period in PERIODS else DEFAULT_PERIOD)
    if preset:
        chosen = period_of(preset, today)
    values: dict[str, Any] = {
        "periods": PERIODS,
        "preset": preset,
        "problems": problems,
        "form": {"from": start, "to": end},
        "purpose": AUDIT_PURPOSE,
    }
    if chosen is None:
        return render(request, "transparency.html", 400, report=None, tables=[], **values)
    values["form"] = {"from": chosen[0].isoformat(), "to": chosen[1].isoformat()}
    report = portal.hub.transparency(
        audit_context(session), period_start=chosen[0].isoformat(), period_end=chosen[1].isoformat()
    )
    purposes = dict(portal.purposes())
    tables = [_view(t, purposes) for t in report.get("tables", [])]
    return render(request, "transparency.html", report=report, tables=tables, **values)
