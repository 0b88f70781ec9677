"""Search API: ``POST /v1/search`` (an encoded query from the portal), ``GET /v1/persons/{id}`` and its timeline.

Each route parses, calls one service (:class:`aim.search.SearchService`), renders. Access is decided and audited by
:func:`api.hub.access.authorise` (actions ``search``, ``view_person``, ``view_timeline``); a search's audit entry
names the fingerprint of the *encoded* query and the number of persons returned (zero makes it a zero-result
search). Responses carry partners, dates, masked flags, lead contacts and confidence bands: never an encoding, a
weight or a score.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from aim.search import EncodedQuery, PersonSummary
from api.hub.access import Access, authorise
from api.hub.deps import HubDep
from governance import query_target

router = APIRouter(prefix="/v1")

SearchAccess = Annotated[Access, Depends(authorise("search"), scope="function")]
PersonAccess = Annotated[Access, Depends(authorise("view_person", person="person_id"), scope="function")]
TimelineAccess = Annotated[Access, Depends(authorise("view_timeline", person="person_id"), scope="function")]


class SearchIn(BaseModel):
    """An encoded search: the key set's id and the encodings of a feed row (see docs/search.md)."""

    model_config = ConfigDict(extra="forbid")

    key_id: str = Field(min_length=1, max_length=64)
    enc: dict[str, str | list[str]] = Field(max_length=32)
    limit: int = Field(10, ge=1, le=50)


def _summary(person: PersonSummary) -> dict[str, object]:
    out: dict[str, object] = {"person_id": person.person_id}
    if person.band is not None:
        out["confidence"] = person.band
    out |= {
        "interactions": person.interactions,
        "partners_count": person.partners_count,
        "first_interaction": person.first_date.isoformat(),
        "last_interaction": person.last_date.isoformat(),
        "partners": [
            {
                "partner": a.partner,
                "partner_name": a.partner_name,
                "interactions": a.interactions,
                "first_interaction": a.first_date.isoformat(),
                "last_interaction": a.last_date.isoformat(),
                "latest_flag": a.latest_flag,
                "lead_contact": a.lead_contact,
            }
            for a in person.partners
        ],
    }
    return out


@router.post("/search")
def search(body: SearchIn, hub: HubDep, access: SearchAccess) -> dict[str, object]:
    query = EncodedQuery(key_id=body.key_id, enc=body.enc)
    access.record(target=query_target(body.enc))  # type: ignore[arg-type]  # a fingerprint of the encodings
    result = hub.search.search_persons(query=query, access=access, limit=body.limit)
    access.record(results=len(result.persons))
    return {"persons": [_summary(p) for p in result.persons], "total": result.total, "limit": body.limit}


@router.get("/persons/{person_id}")
def view_person(person_id: int, hub: HubDep, access: PersonAccess) -> dict[str, object]:
    person = hub.search.person(person_id=person_id, access=access)
    access.record(results=person.interactions)
    return _summary(person)


@router.get("/persons/{person_id}/timeline")
def view_timeline(
    person_id: int,
    hub: HubDep,
    access: TimelineAccess,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> dict[str, object]:
    page = hub.search.timeline(person_id=person_id, access=access, limit=limit, offset=offset)
    access.record(results=len(page.items))
    return {
        "person_id": page.person_id,
        "items": [
            {
                "partner": i.partner,
                "partner_name": i.partner_name,
                "date": i.interaction_date.isoformat(),
                "flag": i.flag,
                "lead_contact": i.lead_contact,
                "confidence": i.confidence,
            }
            for i in page.items
        ],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }
