"""Safeguarding API: alerts (list, acknowledge, assign, snooze, close, re-open), the watch list, notifications
(list, mark read).

Each route parses, calls one service, renders. Access is decided by :func:`api.hub.access.authorise` (actions
``list_alerts``, ``update_alert``, ``manage_watchlist``); an evidence row's flag is shown only when its category is
visible to the request; partner and date always are.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from aim.alerts.service import Alert, AlertFilter
from aim.alerts.watchlist import Notification, WatchEntry
from api.hub.access import Access, authorise
from api.hub.deps import HubDep

router = APIRouter(prefix="/v1")

ListAccess = Annotated[Access, Depends(authorise("list_alerts"), scope="function")]
UpdateAccess = Annotated[Access, Depends(authorise("update_alert"), scope="function")]
WatchAccess = Annotated[Access, Depends(authorise("manage_watchlist"), scope="function")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignIn(_In):
    assignee: str = Field(min_length=1, max_length=64)


class SnoozeIn(_In):
    until: date


class CloseIn(_In):
    outcome: str | None = None
    note: str | None = None


class NoteIn(_In):
    note: str = Field(min_length=1, max_length=1000)


class WatchIn(_In):
    person_id: int
    team: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    review_date: date
    alert_id: int | None = None


class RenewIn(_In):
    review_date: date


class RemoveIn(_In):
    reason: str = Field(min_length=1, max_length=500)


class ReadIn(_In):
    ids: list[int] | None = Field(default=None, max_length=1000)  # absent: every unread one of the team
    team: str | None = Field(default=None, min_length=1, max_length=64)


def _alert(alert: Alert) -> dict[str, object]:
    return {
        "id": alert.pk,
        "rule": {"id": alert.rule_id, "version": alert.rule_version},
        "action": alert.action,
        "mode": alert.mode,
        "person_id": alert.person_pk,
        "severity": alert.severity,
        "queue": alert.queue,
        "status": alert.status,
        "window": {"from": alert.window_start.isoformat(), "to": alert.window_end.isoformat()},
        "partners": list(alert.partners),
        "assigned_to": alert.assigned_to,
        "snoozed_until": alert.snoozed_until.isoformat() if alert.snoozed_until else None,
        "outcome": alert.outcome,
        "outcome_note": alert.outcome_note,
        "raised_at": _stamp(alert.raised_at),
        "updated_at": _stamp(alert.updated_at),
    }


def _entry(entry: WatchEntry) -> dict[str, object]:
    return {
        "id": entry.pk,
        "person_id": entry.person_pk,
        "team": entry.team,
        "reason": entry.reason,
        "review_date": entry.review_date.isoformat(),
        "status": entry.status,
        "added_by": entry.added_by,
        "added_at": _stamp(entry.added_at),
        "end_reason": entry.end_reason,
    }


def _notification(item: Notification) -> dict[str, object]:
    return {
        "id": item.pk,
        "team": item.team,
        "person_id": item.person_pk,
        "partner": item.partner,
        "date": item.interaction_date.isoformat(),
        "category": item.category,
        "text": item.text,
        "read": item.read,
        "created_at": _stamp(item.created_at),
    }


def _stamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _page(items: list[dict[str, object]], total: int, limit: int, offset: int) -> dict[str, object]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/alerts")
def list_alerts(
    *,
    hub: HubDep,
    access: ListAccess,
    status: str | None = None,
    queue: str | None = None,
    action: str | None = None,
    rule_id: str | None = None,
    person_id: int | None = None,
    assigned_to: str | None = None,
    mode: str = Query("live", pattern="^(live|shadow)$"),
    include_snoozed: bool = False,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> dict[str, object]:
    query = AlertFilter(
        status=status,
        queue=queue,
        action=action,
        rule_id=rule_id,
        person_pk=person_id,
        assigned_to=assigned_to,
        mode=mode,
        include_snoozed=include_snoozed,
        limit=limit,
        offset=offset,
    )
    page = hub.alerts.list_alerts(query=query)
    access.record(results=len(page.items))
    return _page([_alert(a) for a in page.items], page.total, page.limit, page.offset)


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: int, hub: HubDep, access: ListAccess) -> dict[str, object]:
    detail = hub.alerts.get(alert_pk=alert_id)
    access.record(target=f"alert:{alert_id}", results=len(detail.evidence))
    return {
        **_alert(detail.alert),
        "evidence": [
            {"partner": e.partner, "date": e.interaction_date.isoformat(), "flag": access.mask(e.flag, e.category)}
            for e in detail.evidence
        ],
        "events": [{"kind": e.kind, "actor": e.actor, "note": e.note, "at": _stamp(e.at)} for e in detail.events],
    }


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(alert_id: int, hub: HubDep, access: UpdateAccess) -> dict[str, object]:
    access.record(target=f"alert:{alert_id}")
    return _alert(hub.alerts.acknowledge(alert_pk=alert_id, actor=access.user_id))


@router.post("/alerts/{alert_id}/assign")
def assign(alert_id: int, body: AssignIn, hub: HubDep, access: UpdateAccess) -> dict[str, object]:
    access.record(target=f"alert:{alert_id}")
    return _alert(hub.alerts.assign(alert_pk=alert_id, actor=access.user_id, assignee=body.assignee))


@router.post("/alerts/{alert_id}/snooze")
def snooze(alert_id: int, body: SnoozeIn, hub: HubDep, access: UpdateAccess) -> dict[str, object]:
    access.record(target=f"alert:{alert_id}")
    return _alert(hub.alerts.snooze(alert_pk=alert_id, actor=access.user_id, until=body.until))


@router.post("/alerts/{alert_id}/close")
def close(alert_id: int, body: CloseIn, hub: HubDep, access: UpdateAccess) -> dict[str, object]:
    access.record(target=f"alert:{alert_id}")
    return _alert(hub.alerts.close(alert_pk=alert_id, actor=access.user_id, outcome=body.outcome, note=body.note))


@router.post("/alerts/{alert_id}/reopen")
def reopen(alert_id: int, body: NoteIn, hub: HubDep, access: UpdateAccess) -> dict[str, object]:
    access.record(target=f"alert:{alert_id}")
    return _alert(hub.alerts.reopen(alert_pk=alert_id, actor=access.user_id, note=body.note))


@router.get("/watchlist")
def list_watchlist(
    *,
    hub: HubDep,
    access: WatchAccess,
    team: str | None = None,
    status: str | None = Query("active", pattern="^(active|removed|expired)$"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> dict[str, object]:
    entries, total = hub.watchlist.list_entries(team=team, status=status, limit=limit, offset=offset)
    access.record(results=len(entries))
    return _page([_entry(e) for e in entries], total, limit, offset)


@router.post("/watchlist", status_code=201)
def add_to_watchlist(body: WatchIn, hub: HubDep, access: WatchAccess) -> dict[str, object]:
    access.record(target=f"person:{body.person_id}")
    entry = hub.watchlist.add(
        person_pk=body.person_id,
        team=body.team,
        reason=body.reason,
        review_date=body.review_date,
        actor=access.user_id,
        alert_pk=body.alert_id,
    )
    return _entry(entry)


@router.get("/watchlist/{entry_id}")
def get_watch_entry(entry_id: int, hub: HubDep, access: WatchAccess) -> dict[str, object]:
    access.record(target=f"watchlist:{entry_id}")
    return _entry(hub.watchlist.get(entry_pk=entry_id))


@router.post("/watchlist/{entry_id}/renew")
def renew(entry_id: int, body: RenewIn, hub: HubDep, access: WatchAccess) -> dict[str, object]:
    access.record(target=f"watchlist:{entry_id}")
    return _entry(hub.watchlist.renew(entry_pk=entry_id, review_date=body.review_date, actor=access.user_id))


@router.post("/watchlist/{entry_id}/remove")
def remove(entry_id: int, body: RemoveIn, hub: HubDep, access: WatchAccess) -> dict[str, object]:
    access.record(target=f"watchlist:{entry_id}")
    return _entry(hub.watchlist.remove(entry_pk=entry_id, reason=body.reason, actor=access.user_id))


@router.get("/notifications")
def list_notifications(
    *,
    hub: HubDep,
    access: ListAccess,
    team: str | None = None,
    unread_only: bool = False,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> dict[str, object]:
    """The owning team's notifications: the caller's own team unless another is named."""
    items, total = hub.watchlist.notifications(
        team=team or access.team, unread_only=unread_only, limit=limit, offset=offset
    )
    access.record(results=len(items))
    return _page([_notification(n) for n in items], total, limit, offset)


@router.post("/notifications/read")
def mark_notifications_read(body: ReadIn, hub: HubDep, access: ListAccess) -> dict[str, object]:
    """Mark the team's notifications read: the ids given, or every unread one (the caller's own team by default)."""
    team = body.team or access.team
    marked = hub.watchlist.mark_read(team=team, notification_pks=body.ids)
    access.record(target="watchlist:notifications", marked=marked)
    return {"team": team, "marked": marked}
