"""The data steward's review queue: pending pairs with per-field agreement levels, accept or reject, split a person,
undo a merge or a split.

Each route parses, calls one service (:class:`aim.identity.review.ReviewService`), renders. Every route is behind
``authorise("review_links")`` (the policy grants it to the data steward for the ``data_quality`` purpose); the
steward's user id is recorded as the actor of each change. A pair shows partners, record references, flags, dates,
person ids, a confidence band and each field's agreement level label: never an encoding, never a weight.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from aim.identity.review import Change
from api.hub.access import Access, authorise
from api.hub.deps import HubDep

router = APIRouter(prefix="/v1/review")

ReviewAccess = Annotated[Access, Depends(authorise("review_links"), scope="function")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionIn(_In):
    note: str | None = Field(default=None, max_length=1000)


class RecordRefIn(_In):
    partner: str = Field(min_length=1, max_length=64)
    record_id: str = Field(min_length=1, max_length=128)


class SplitIn(_In):
    records: list[RecordRefIn] = Field(min_length=1, max_length=1000)


def _change(change: Change) -> dict[str, object]:
    return {"event_id": change.event_id, "person_id": change.person_id, "other_person_id": change.other_person_id}


@router.get("/pairs")
def list_pairs(*, hub: HubDep, access: ReviewAccess, limit: int = Query(50, ge=1, le=500)) -> dict[str, object]:
    """Pending pairs, the oldest first."""
    page = hub.identity.review.queue(limit=limit)
    access.record(results=len(page.items), pending=page.total)
    return {
        "items": [item.to_public(access.visible_categories) for item in page.items],
        "total": page.total,
        "limit": limit,
    }


@router.post("/pairs/{pair_id}/accept")
def accept_pair(pair_id: int, body: DecisionIn, *, hub: HubDep, access: ReviewAccess) -> dict[str, object]:
    """Link the pair's records: their persons merge, the older id surviving."""
    access.record(target=f"link:pair-{pair_id}")
    change = hub.identity.review.accept(pair_id=pair_id, actor=access.user_id, note=body.note)
    return {"pair_id": pair_id, "status": "accepted", **_change(change)}


@router.post("/pairs/{pair_id}/reject")
def reject_pair(pair_id: int, body: DecisionIn, *, hub: HubDep, access: ReviewAccess) -> dict[str, object]:
    """Keep the pair's records apart, now and in every later run."""
    access.record(target=f"link:pair-{pair_id}")
    hub.identity.review.reject(pair_id=pair_id, actor=access.user_id, note=body.note)
    return {"pair_id": pair_id, "status": "rejected"}


@router.post("/persons/{person_id}/split")
def split_person(person_id: int, body: SplitIn, *, hub: HubDep, access: ReviewAccess) -> dict[str, object]:
    """Move records out of a person into a person of their own; they stay apart from then on."""
    access.record(target=f"person:{person_id}", records=len(body.records))
    refs = [(ref.partner, ref.record_id) for ref in body.records]
    change = hub.identity.review.split(person_id=person_id, records=refs, actor=access.user_id)
    return _change(change)


@router.post("/events/{event_id}/undo")
def undo_event(event_id: int, *, hub: HubDep, access: ReviewAccess) -> dict[str, object]:
    """Reverse a merge (restoring the absorbed id) or a split (merging the two back)."""
    access.record(target=f"link:event-{event_id}")
    change = hub.identity.review.undo(event_id=event_id, actor=access.user_id)
    return {"undone": event_id, **_change(change)}
