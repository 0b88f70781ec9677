"""Alerts (list, detail with evidence, acknowledge, assign, snooze, close with outcome, re-open, add to the watch list)
and the watch list (add, renew, remove). Each hub call declares the purpose of working the alert list."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from aim.alerts.service import OUTCOMES
from api.portal.deps import WORK_PURPOSE, FormSession, PortalDep, SessionDep, render, work_context
from api.portal.errors import PageError

router = APIRouter()

STATUSES = [
    ("", "Open (not closed)"),
    ("new", "New"),
    ("acknowledged", "Acknowledged"),
    ("assigned", "Assigned"),
    ("closed", "Closed"),
]
ACTIONS = {
    "acknowledge": "Alert acknowledged.",
    "assign": "Alert assigned.",
    "snooze": "Alert snoozed.",
    "close": "Alert closed.",
    "reopen": "Alert re-opened.",
}
DEFAULT_REVIEW_DAYS = 28


@router.get("/alerts")
def alerts(request: Request, portal: PortalDep, session: SessionDep, status: str = "") -> Response:
    if status not in dict(STATUSES):
        status = ""
    page = portal.hub.alerts(work_context(session), status=status or None, limit=200)
    items = page.get("items", [])
    if not status:
        items = [a for a in items if a.get("status") != "closed"]
    return render(
        request,
        "alerts.html",
        alerts=items,
        total=page.get("total", 0),
        status=status,
        statuses=STATUSES,
        purpose=WORK_PURPOSE,
    )


@router.get("/alerts/{alert_id}")
def alert(request: Request, alert_id: int, portal: PortalDep, session: SessionDep) -> Response:
    detail = portal.hub.alert(work_context(session), alert_id)
    return render(
        request,
        "alert.html",
        alert=detail,
        outcomes=list(OUTCOMES.items()),
        review_date=(date.today() + timedelta(days=DEFAULT_REVIEW_DAYS)).isoformat(),
        team=_team(session.role),
        purpose=WORK_PURPOSE,
    )


def _team(role: str) -> str:
    return "safeguarding" if role.startswith("safeguarding") else "mash"


@router.post("/alerts/{alert_id}/{action}")
def alert_action(
    *,
    alert_id: int,
    action: str,
    portal: PortalDep,
    session: FormSession,
    assignee: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    back = f"/alerts/{alert_id}"
    if action not in ACTIONS:
        raise PageError(
            "Unknown action",
            f"'{action}' is not something an alert can do.",
            "Go back to the alert.",
            status=404,
            back=back,
        )
    body: dict[str, object] | None = None
    if action == "assign":
        body = {"assignee": _required(assignee, "the person or team to assign it to", back)}
    elif action == "snooze":
        body = {"until": _required(until, "the date to snooze it until", back)}
    elif action == "close":
        body = {"outcome": _required(outcome, "an outcome", back), "note": _required(note, "a note", back)}
    elif action == "reopen":
        body = {"note": _required(note, "a note saying why", back)}
    portal.hub.alert_action(work_context(session), alert_id, action, body)
    session.flash = ACTIONS[action]
    return RedirectResponse(back, status_code=303)


def _required(value: str, what: str, back: str) -> str:
    if not value.strip():
        raise PageError(
            "Some details are missing",
            f"This needs {what}.",
            f"Go back and enter {what}, then send the form again.",
            back=back,
        )
    return value.strip()


@router.get("/watchlist")
def watchlist(request: Request, portal: PortalDep, session: SessionDep, status: str = "active") -> Response:
    if status not in {"active", "removed", "expired"}:
        status = "active"
    page = portal.hub.watchlist(work_context(session), status=status)
    return render(
        request,
        "watchlist.html",
        entries=page.get("items", []),
        status=status,
        review_date=(date.today() + timedelta(days=DEFAULT_REVIEW_DAYS)).isoformat(),
        team=_team(session.role),
        purpose=WORK_PURPOSE,
    )


@router.post("/watchlist")
def watch_add(
    *,
    portal: PortalDep,
    session: FormSession,
    person_id: Annotated[str, Form()] = "",
    team: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    review_date: Annotated[str, Form()] = "",
    alert_id: Annotated[str, Form()] = "",
) -> Response:
    back = f"/alerts/{alert_id}" if alert_id.strip().isdigit() else "/watchlist"
    if not person_id.strip().isdigit():
        raise PageError(
            "Some details are missing",
            "The watch list needs the person's AIM reference (a number).",
            "Go back and enter it.",
            back=back,
        )
    body: dict[str, object] = {
        "person_id": int(person_id),
        "team": _required(team, "the owning team", back),
        "reason": _required(reason, "a reason", back),
        "review_date": _required(review_date, "a review date", back),
    }
    if alert_id.strip().isdigit():
        body["alert_id"] = int(alert_id)
    portal.hub.watch_add(work_context(session), body)
    session.flash = f"Person {person_id} added to the watch list."
    return RedirectResponse("/watchlist", status_code=303)


@router.post("/watchlist/{entry_id}/{action}")
def watch_action(
    *,
    entry_id: int,
    action: str,
    portal: PortalDep,
    session: FormSession,
    review_date: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    if action == "renew":
        body = {"review_date": _required(review_date, "a new review date", "/watchlist")}
    elif action == "remove":
        body = {"reason": _required(reason, "a reason for removing the entry", "/watchlist")}
    else:
        raise PageError(
            "Unknown action",
            f"'{action}' is not something a watch-list entry can do.",
            "Go back to the watch list.",
            status=404,
            back="/watchlist",
        )
    portal.hub.watch_action(work_context(session), entry_id, action, body)
    session.flash = "Watch-list entry renewed." if action == "renew" else "Watch-list entry removed."
    return RedirectResponse("/watchlist", status_code=303)
