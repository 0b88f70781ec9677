"""The data steward's review queue: the pending pairs, oldest first, each with its two records (partner, record
reference, flag, date, AIM person), each field's agreement level and a confidence band, exactly as the hub returns
them (never an encoding, a weight or a score); accept or reject a pair; split records out of a person; undo the
merges and splits made in this session.

Every hub call declares the purpose of resolving identity links (``data_quality``) and the session's case reference,
as the other screens that are not a search do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.portal.deps import FormSession, PortalDep, SessionDep, render
from api.portal.errors import PageError, from_hub
from api.portal.hub import Context, HubError
from api.portal.session import Session, Undoable

router = APIRouter()

REVIEW_PURPOSE = "data_quality"
PAGE = 25
NOTE_MAX = 1000
KEEP_UNDOABLE = 20
RECORD_REF = re.compile(r"^\s*([A-Za-z0-9_\-]{1,64})\s*:\s*(\S.{0,127}?)\s*$")
DECISIONS = {"accept": "accepted", "reject": "rejected"}


def review_context(session: Session) -> Context:
    return Context(token=session.token, purpose=REVIEW_PURPOSE, case_reference=session.case_reference)


def level_kind(level: str) -> str:
    """How strongly a level label agrees, for its marker; the label itself is always shown."""
    if level in {"exact", "same"}:
        return "agree"
    if level == "different":
        return "differ"
    if level.startswith("missing"):
        return "missing"
    return "partial"


@dataclass
class SplitForm:
    person: str = ""
    records: str = ""


def _queue_page(
    request: Request,
    portal: Any,
    session: Session,
    *,
    split: SplitForm,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    page = portal.hub.review_pairs(review_context(session), limit=PAGE)
    return render(
        request,
        "review.html",
        status,
        pairs=page.get("items", []),
        total=page.get("total", 0),
        split=split,
        problems=problems or {},
        partner_names=dict(portal.partners()),
        level_kind=level_kind,
        undoable=session.undoable,
        purpose=REVIEW_PURPOSE,
    )


@router.get("/review")
def queue(request: Request, portal: PortalDep, session: SessionDep, person: str = "", records: str = "") -> Response:
    return _queue_page(request, portal, session, split=SplitForm(person, records))


def _hub_refusal(exc: HubError) -> PageError:
    """A refusal shown with a way back to the queue (401 is left to the sign-in handler)."""
    if exc.status == 401:
        raise exc
    return from_hub(exc, back="/review")


def _remember(session: Session, change: Undoable) -> None:
    session.undoable = [change, *session.undoable][:KEEP_UNDOABLE]


@router.post("/review/pairs/{pair_id}")
def decide(
    pair_id: int,
    portal: PortalDep,
    session: FormSession,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    if decision not in DECISIONS:
        raise PageError(
            "Choose accept or reject",
            f"'{decision}' is not a decision on a pair.",
            "Go back to the queue and use the Accept or Reject button.",
            back="/review",
        )
    if len(note) > NOTE_MAX:
        raise PageError(
            "The note is too long",
            f"The note has {len(note)} characters.",
            f"Go back and keep it to {NOTE_MAX} characters.",
            back="/review",
        )
    try:
        change = portal.hub.review_decide(review_context(session), pair_id, decision, note.strip() or None)
    except HubError as exc:
        raise _hub_refusal(exc) from None
    if decision == "reject":
        session.flash = f"Pair {pair_id} rejected: its two records will be kept apart."
    elif change.get("event_id") is None:
        session.flash = f"Pair {pair_id} accepted: both records were already in AIM person {change.get('person_id')}."
    else:
        text = (
            f"Pair {pair_id} accepted: AIM person {change['other_person_id']} merged into AIM person "
            f"{change['person_id']}."
        )
        _remember(session, Undoable(int(change["event_id"]), "merge", text))
        session.flash = text
    return RedirectResponse("/review", status_code=303)


def _parse_split(form: SplitForm) -> tuple[int | None, list[dict[str, str]], dict[str, str]]:
    problems: dict[str, str] = {}
    person = form.person.strip()
    if not person.isdigit() or len(person) > 18:
        problems["person"] = "Enter the AIM person number the records are in, for example 1042"
    refs: list[dict[str, str]] = []
    lines = [line for line in form.records.splitlines() if line.strip()]
    bad = [line.strip() for line in lines if not RECORD_REF.match(line)]
    if not lines:
        problems["records"] = "Enter at least one record to move out, as PARTNER:RECORD_ID"
    elif bad:
        problems["records"] = f"Write each record as PARTNER:RECORD_ID, one a line (not: {bad[0][:40]})"
    else:
        for line in lines:
            matched = RECORD_REF.match(line)
            assert matched is not None
            refs.append({"partner": matched.group(1).upper(), "record_id": matched.group(2)})
    return (int(person) if "person" not in problems else None), refs, problems


@router.post("/review/split")
def split(
    *,
    request: Request,
    portal: PortalDep,
    session: FormSession,
    person: Annotated[str, Form()] = "",
    records: Annotated[str, Form()] = "",
) -> Response:
    form = SplitForm(person, records)
    person_id, refs, problems = _parse_split(form)
    if problems or person_id is None:
        return _queue_page(request, portal, session, split=form, problems=problems, status=400)
    try:
        change = portal.hub.review_split(review_context(session), person_id, refs)
    except HubError as exc:
        if exc.status in {404, 422}:
            problems = {"records": f"The hub could not split: {exc}"}
            return _queue_page(request, portal, session, split=form, problems=problems, status=400)
        raise _hub_refusal(exc) from None
    moved = "1 record" if len(refs) == 1 else f"{len(refs)} records"
    text = f"{moved} moved out of AIM person {person_id} into AIM person {change.get('other_person_id')}."
    if change.get("event_id") is not None:
        _remember(session, Undoable(int(change["event_id"]), "split", text))
    session.flash = text
    return RedirectResponse("/review", status_code=303)


@router.post("/review/events/{event_id}/undo")
def undo(event_id: int, portal: PortalDep, session: FormSession) -> Response:
    try:
        change = portal.hub.review_undo(review_context(session), event_id)
    except HubError as exc:
        raise _hub_refusal(exc) from None
    undone = next((u for u in session.undoable if u.event_id == event_id), None)
    session.undoable = [u for u in session.undoable if u.event_id != event_id]
    person, other = change.get("person_id"), change.get("other_person_id")
    if undone is not None and undone.kind == "merge":
        text = f"Merge undone: the records are back in AIM persons {person} and {other}."
        kind = "split"
    elif undone is not None:
        text = f"Split undone: the records are back together in AIM person {person}."
        kind = "merge"
    else:
        text, kind = f"Change {event_id} undone.", ""
    if kind and change.get("event_id") is not None:
        _remember(session, Undoable(int(change["event_id"]), kind, text))
    session.flash = text
    return RedirectResponse("/review", status_code=303)
