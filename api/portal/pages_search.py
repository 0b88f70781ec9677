"""MASH search: declare a purpose and case reference, search by name, date of birth, gender and postcode; see the
candidates with their confidence band and activity per partner; open a person's timeline; break glass.

The query is encoded here with the partnership key set (:func:`aim.search.encode_query`): the hub receives only
encodings. What comes back is shown as it is: partner, date, flag where the policy allows, lead contact, band.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from aim.search import QueryError, encode_query
from api.portal.deps import FormSession, PortalDep, SessionDep, case_context, render
from api.portal.errors import PageError
from api.portal.hub import Context, HubError
from linkage.normalise import parse_date

router = APIRouter()

GENDERS = [("", "Not known"), ("F", "Female"), ("M", "Male"), ("U", "Other or unknown")]
CASE_REF_MAX = 64


@dataclass
class SearchForm:
    purpose: str = ""
    case_reference: str = ""
    first_name: str = ""
    last_name: str = ""
    date_of_birth: str = ""
    gender: str = ""
    postcode: str = ""


def _form_page(
    request: Request, portal: Any, form: SearchForm, problems: dict[str, str], status: int = 200
) -> Response:
    return render(
        request, "search.html", status, form=form, problems=problems, purposes=portal.purposes(), genders=GENDERS
    )


@router.get("/search")
def search_form(request: Request, portal: PortalDep, session: SessionDep) -> Response:
    form = SearchForm(purpose=session.purpose or "", case_reference=session.case_reference or "")
    return _form_page(request, portal, form, {})


def _check(portal: Any, form: SearchForm) -> dict[str, str]:
    problems: dict[str, str] = {}
    if form.purpose not in dict(portal.purposes()):
        problems["purpose"] = "Choose the purpose of this search from the list"
    if not form.case_reference.strip():
        problems["case_reference"] = "Enter the case reference this search is for"
    elif len(form.case_reference.strip()) > CASE_REF_MAX:
        problems["case_reference"] = f"The case reference must be {CASE_REF_MAX} characters or fewer"
    if form.date_of_birth.strip() and parse_date(form.date_of_birth.strip()) is None:
        problems["date_of_birth"] = "Enter the date of birth as 23/03/2012 or 2012-03-23"
    return problems


@router.post("/search")
def search(
    *,
    request: Request,
    portal: PortalDep,
    session: FormSession,
    purpose: Annotated[str, Form()] = "",
    case_reference: Annotated[str, Form()] = "",
    first_name: Annotated[str, Form()] = "",
    last_name: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    gender: Annotated[str, Form()] = "",
    postcode: Annotated[str, Form()] = "",
) -> Response:
    form = SearchForm(purpose, case_reference.strip(), first_name, last_name, date_of_birth, gender, postcode)
    problems = _check(portal, form)
    if problems:
        return _form_page(request, portal, form, problems, 400)
    session.purpose, session.case_reference = form.purpose, form.case_reference
    try:
        query = encode_query(
            portal.keys,
            first_name=first_name,
            last_name=last_name,
            date_of_birth=date_of_birth,
            gender=gender,
            postcode=postcode,
        )
    except QueryError as exc:
        return _form_page(request, portal, form, {"query": _plain(str(exc))}, 400)
    ctx = Context(token=session.token, purpose=form.purpose, case_reference=form.case_reference)
    try:
        found = portal.hub.search(ctx, {**query.to_json(), "limit": 10})
    except HubError as exc:
        if exc.status == 422:
            return _form_page(request, portal, form, {"query": str(exc)}, 400)
        raise
    persons = found.get("persons", [])
    return render(
        request,
        "results.html",
        persons=persons,
        partners=portal.partners(),
        age=_age(date_of_birth),
        form=form,
        activity={p["person_id"]: {a["partner"]: a for a in p.get("partners", [])} for p in persons},
    )


def _plain(message: str) -> str:
    """A query problem for a person at a screen, not an API caller."""
    if "too thin" in message:
        return (
            "Add more details: a search needs a first name or surname with a date of birth, or both names with a "
            "postcode."
        )
    return message


def _age(date_of_birth: str) -> int | None:
    born = parse_date(date_of_birth.strip()) if date_of_birth.strip() else None
    if born is None:
        return None
    today = date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@router.get("/persons/{person_id}")
def person(request: Request, person_id: int, portal: PortalDep, session: SessionDep) -> Response:
    ctx = case_context(session)
    try:
        summary = portal.hub.person(ctx, person_id)
        timeline = portal.hub.timeline(ctx, person_id)
    except HubError as exc:
        if exc.status == 403 and any(p.get("code") == "restricted_subject" for p in exc.problems):
            return render(request, "restricted.html", 403, person_id=person_id, reasons=exc.problems)
        raise
    return render(
        request,
        "timeline.html",
        person=summary,
        items=timeline.get("items", []),
        total=timeline.get("total", 0),
        partners=portal.partners(),
        activity={a["partner"]: a for a in summary.get("partners", [])},
    )


@router.post("/persons/{person_id}/break-glass")
def break_glass(
    person_id: int,
    portal: PortalDep,
    session: FormSession,
    justification: Annotated[str, Form()] = "",
) -> Response:
    ctx = case_context(session)
    if len(justification.strip()) < 40:
        raise PageError(
            "A justification is needed",
            "Breaking glass needs a written justification of at least 40 characters.",
            "Go back and explain why you need to see this person's record now; the DPO reviews every use.",
            back=f"/persons/{person_id}",
        )
    portal.hub.break_glass(ctx, {"person_id": str(person_id), "justification": justification.strip()})
    session.flash = "Break-glass access granted for a limited time. This use will be reviewed by the DPO."
    return RedirectResponse(f"/persons/{person_id}", status_code=303)
