"""Signing in and out at the hub: ``POST /v1/sign-in`` (a user id and password for a short-lived bearer token) and
``POST /v1/sign-out`` (revoke the token presented).

Neither route takes :func:`api.hub.access.authorise`; both are allow-listed by name, with this reason, in the
route-table test (tests/api/test_access_grid.py) and the semgrep rule (.semgrep/route-without-authorise.yml). They
are how a caller gets and gives up the token ``authorise`` checks: before signing in there is no signed-in user for
the policy to decide on, and signing out only revokes the very token presented (a suspended user may do that too).
Neither reads or returns anything about people. Each attempt writes its own audit entries (:mod:`aim.access.sign_in`),
and the request limits in front of every route (:mod:`api.hub.limits`: ``AIM_RATE_LIMIT`` per caller, counted by
address before a token exists, and ``AIM_MAX_JSON_BODY_BYTES``) cover both.

A refused sign-in is one answer whatever the reason — 401 ``unauthenticated`` with the same detail for an unknown
user, a wrong password, a locked, suspended or password-less account — so the answer does not tell which accounts
exist; the audit entry says which it was.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from aim.access.passwords import MAX_LENGTH
from api.hub.access import bearer_token, request_id
from api.hub.deps import HubDep
from api.hub.schemas import ErrorOut

router = APIRouter(prefix="/v1")

ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorOut} for code in (401, 413, 422)}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class SignInIn(BaseModel):
    """A sign-in: the user id and password; any other field is refused (422)."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class SignInOut(BaseModel):
    """A bearer token for ``Authorization: Bearer``, when it expires, and who it signs in."""

    token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the token's scheme, not a secret
    expires_at: str
    expires_in: int
    user_id: str
    display_name: str
    role: str


@router.post("/sign-in", response_model=SignInOut, responses=ERRORS)
def sign_in(body: SignInIn, request: Request, response: Response, hub: HubDep) -> SignInOut:
    """Sign in with a user id and password: a bearer token valid for ``AIM_SIGN_IN_TOKEN_MINUTES``; 401 otherwise."""
    signed = hub.sign_in.sign_in(user_id=body.user_id, password=body.password, request_id=request_id(request))
    response.headers.update(NO_STORE)
    return SignInOut(
        token=signed.token,
        expires_at=signed.expires_at.isoformat(),
        expires_in=max(0, int((signed.expires_at - hub.clock.now()).total_seconds())),
        user_id=signed.user.user_id,
        display_name=signed.user.display_name,
        role=signed.user.role,
    )


@router.post("/sign-out", status_code=204, response_class=Response, responses=ERRORS)
def sign_out(request: Request, hub: HubDep) -> Response:
    """Revoke the bearer token sent with this request (204); 401 when it is missing, unknown, expired or revoked."""
    hub.sign_in.sign_out(token=bearer_token(request), request_id=request_id(request))
    return Response(status_code=204)
