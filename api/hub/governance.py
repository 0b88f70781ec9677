"""The DPO's API: audit log search and verification, break-glass grants and their review queue, the transparency
report, and subject access.

Each route parses, calls one service, renders. Access is decided by :func:`api.hub.access.authorise` (actions
``read_audit``, ``break_glass``, ``review_break_glass``, ``read_transparency``, ``export_sar``), so each request
here is itself in the audit log.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from aim.audit.log import AuditFilter
from aim.audit.reports import subject_access, transparency
from aim.errors import ConfigError
from api.hub.access import Access, authorise
from api.hub.deps import HubDep
from governance import event_to_record

router = APIRouter(prefix="/v1")

AuditAccess = Annotated[Access, Depends(authorise("read_audit"), scope="function")]
ReviewAccess = Annotated[Access, Depends(authorise("review_break_glass"), scope="function")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BreakGlassIn(_In):
    person_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")
    justification: str = Field(min_length=1, max_length=4000)
    minutes: int | None = Field(default=None, ge=1, le=24 * 60)


class ReviewIn(_In):
    note: str = Field(min_length=1, max_length=4000)


@router.get("/audit")
def search_audit(
    *,
    access: AuditAccess,
    hub: HubDep,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    target: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Audit entries, newest first, filtered."""
    where = AuditFilter(
        actor=actor, action=action, outcome=outcome, target=target, since=since, until=until, limit=limit
    )
    entries = hub.audit_log.search(where)
    access.record(results=len(entries), target="audit:search")
    return {"entries": [{"sequence": e.sequence, **event_to_record(e.event)} for e in entries]}


@router.get("/audit/verify")
def verify_audit(access: AuditAccess, hub: HubDep) -> dict[str, Any]:
    """Verify the whole chain and its checkpoints."""
    report = hub.audit_log.verify()
    access.record(target="audit:verify", problems=len(report.problems))
    return {
        "ok": report.ok,
        "entries": report.entries_checked,
        "checkpoints": report.checkpoints_checked,
        "head": report.head.sequence,
        "unanchored": report.unanchored,
        "problems": [{"kind": p.kind.value, "sequence": p.sequence, "message": p.message} for p in report.problems],
    }


@router.post("/break-glass", status_code=201)
def open_break_glass(
    body: BreakGlassIn, access: Annotated[Access, Depends(authorise("break_glass"), scope="function")], hub: HubDep
) -> dict[str, Any]:
    """Open a time-limited break-glass grant for one person, with a written justification."""
    if hub.policy is None:
        raise ConfigError("no access policy is loaded: set AIM_POLICY_PATH")
    grant = hub.access.break_glass.open(
        hub.policy,
        user_id=access.user_id,
        roles=frozenset({access.role}),
        person_id=body.person_id,
        case_reference=access.case_reference or "",
        justification=body.justification,
        minutes=body.minutes,
    )
    access.record(target=f"grant:{grant.grant_id}")
    return {
        "grant_id": grant.grant_id,
        "person_id": grant.person_id,
        "granted_at": grant.granted_at.isoformat(),
        "expires_at": grant.expires_at.isoformat(),
    }


@router.get("/break-glass/reviews")
def review_queue(access: ReviewAccess, hub: HubDep, include_reviewed: bool = False) -> dict[str, Any]:
    """Break-glass uses waiting for the DPO's review (or all of them)."""
    uses = hub.access.break_glass.queue(include_reviewed=include_reviewed)
    access.record(results=len(uses))
    return {
        "uses": [
            {
                "use_id": u.use_id,
                "grant_id": u.grant_id,
                "user": u.user_id,
                "person_id": u.person_id,
                "case_reference": u.case_reference,
                "justification": u.justification,
                "action": u.action,
                "used_at": u.used_at.isoformat(),
                "audit_sequence": u.audit_sequence,
                "reviewed_at": u.reviewed_at.isoformat() if u.reviewed_at else None,
                "reviewed_by": u.reviewed_by,
                "review_note": u.review_note,
            }
            for u in uses
        ]
    }


@router.post("/break-glass/reviews/{use_id}")
def mark_reviewed(use_id: int, body: ReviewIn, access: ReviewAccess, hub: HubDep) -> dict[str, Any]:
    """Mark one break-glass use reviewed, with a note."""
    hub.access.break_glass.mark_reviewed(use_id, reviewer=access.user_id, note=body.note)
    access.record(target=f"grant:use-{use_id}")
    return {"use_id": use_id, "reviewed": True}


@router.get("/transparency")
def transparency_report(
    access: Annotated[Access, Depends(authorise("read_transparency"), scope="function")],
    hub: HubDep,
    period_start: Annotated[date, Query(alias="from")],
    period_end: Annotated[date, Query(alias="to")],
) -> dict[str, Any]:
    """The transparency report for a period; counts from 1 to 4 shown as <5."""
    report = transparency(database=hub.database, period_start=period_start, period_end=period_end)
    access.record(target="report:transparency")
    return report.to_data()


@router.get("/subject-access/{person_id}")
def export_subject_access(
    person_id: str,
    access: Annotated[Access, Depends(authorise("export_sar", person="person_id"), scope="function")],
    hub: HubDep,
) -> dict[str, Any]:
    """Everything held about one person, and who viewed it and why."""
    export = subject_access(database=hub.database, person_id=person_id, at=hub.clock.now())
    access.record(results=len(export["records"]))
    return export
