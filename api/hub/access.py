"""The one dependency every staff endpoint uses: authenticate, decide through the DPO's policy, audit.

Contract (kept small and stable; routes depend on nothing else here)::

    from typing import Annotated
    from fastapi import Depends
    from api.hub.access import Access, authorise

    PersonAccess = Annotated[Access, Depends(authorise("view_person", person="person_id"), scope="function")]

    @router.get("/v1/persons/{person_id}")
    def view_person(person_id: str, access: PersonAccess):
        summary = hub.search.person(person_id, categories=access.visible_categories)
        access.record(results=len(summary.rows))            # optional: adds the outcome to the audit entry
        return {..., "flag": access.mask(row.flag, row.category)}

``authorise(action, *, person=None)`` returns a dependency that yields an :class:`Access`. It is always declared with
``scope="function"``, so that the audit entry is completed before the answer is sent: if writing it fails, the caller
gets an error, never an answer the log does not hold (semgrep rule ``aim-hub-route-without-authorise``).

* ``access.user_id``, ``.role``, ``.team``, ``.organisation``: who is asking (a staff account);
* ``access.purpose``, ``.case_reference``: as declared in the ``X-AIM-Purpose`` and ``X-AIM-Case-Ref`` headers
  (required for search and view actions, per the action registry in :mod:`governance.action`);
* ``access.visible_categories``: the data categories whose flags this request may show; ``access.mask(flag,
  category)`` applies it (partner and date are always shown to a request that was allowed);
* ``access.decision``: the policy's :class:`governance.Decision` with its reasons;
* ``access.record(results=N, target="person:123", **counts)``: what the route found. ``results=0`` makes the entry a
  *zero-result* search. Targets are ``kind:opaque-id`` — never a name, date of birth, address or postcode; for a
  search use :func:`governance.query_target` over the encoded query.

What it does on every request, before the route runs:

1. reads ``Authorization: Bearer <staff token>`` (from ``POST /v1/sign-in``, or ``aim hub users new-token``); no
   valid token -> 401;
2. decides ``action`` through the policy decider chosen in :func:`aim.bootstrap.bootstrap` — deny by default; an
   action the registry does not know is denied; a suspended user, a missing purpose or case reference, a purpose
   or role not granted -> 403; when ``person`` names a path parameter, that person's restricted status and the
   user's break-glass grants for them are taken into account;
3. writes **exactly one** audit entry per request: a refusal at once (then the error is raised and rendered by
   :mod:`api.hub.errors` as ``{"error", "detail", "problems": [{code, detail, rule}, ...]}``); an allowed request
   when the route has finished, with what it recorded, or the error it raised (``failed: NotFoundError``). A
   request allowed by a break-glass grant also lands in the DPO's review queue.

An optional ``X-AIM-Request-Id`` header (letters, digits, ``-``; up to 64) is kept on the entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from fastapi import Request

from aim.access.service import Access
from api.hub.deps import HubDep

__all__ = ["CASE_REF_HEADER", "PURPOSE_HEADER", "REQUEST_ID_HEADER", "Access", "authorise"]

PURPOSE_HEADER = "X-AIM-Purpose"
CASE_REF_HEADER = "X-AIM-Case-Ref"
REQUEST_ID_HEADER = "X-AIM-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9\-]{1,64}$")


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def request_id(request: Request) -> str | None:
    """The caller's ``X-AIM-Request-Id`` when well formed (letters, digits, ``-``; up to 64), else ``None``."""
    given = request.headers.get(REQUEST_ID_HEADER)
    return given if given and _REQUEST_ID.match(given) else None


def authorise(action: str, *, person: str | None = None) -> Callable[..., Iterator[Access]]:
    """A dependency allowing ``action`` only as the policy says, auditing the request either way.

    Args:
        action: an action from :data:`governance.DEFAULT_ACTIONS` (``search``, ``view_person``, ``list_alerts``, ...).
        person: the name of the path parameter holding the person id, for person-scoped actions.
    """

    def dependency(request: Request, hub: HubDep) -> Iterator[Access]:
        access = hub.access.authorise(
            token=bearer_token(request),
            action=action,
            purpose=request.headers.get(PURPOSE_HEADER),
            case_reference=request.headers.get(CASE_REF_HEADER),
            person_id=request.path_params.get(person) if person else None,
            request_id=request_id(request),
        )
        try:
            yield access
        except Exception as exc:
            hub.access.complete(access, failure=type(exc).__name__)
            raise
        hub.access.complete(access)

    dependency.__name__ = f"authorise_{action}"
    return dependency
