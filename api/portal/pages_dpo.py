"""The DPO's screens: the audit log (search, with the chain's verification status) and the break-glass review
queue. Each hub call declares the purpose of reading the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.portal.deps import AUDIT_PURPOSE, FormSession, PortalDep, SessionDep, audit_context, render
from api.portal.errors import PageError

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
