"""Sign in and sign out.

Staff sign in with their user id and password: the portal calls the hub's ``POST /v1/sign-in`` and keeps the
short-lived token it answers in the session, in the portal's memory (the browser holds only the session id). A
refusal is one plain sentence, whatever the hub's reason. In demo mode a demo user can be picked from a list; a
staff token from ``aim hub users new-token`` can still be pasted. Signing out revokes the session's token at the
hub (except a demo user's shared token, which every pick of that user uses).
"""

from __future__ import annotations

import hmac
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.portal.deps import FormSession, Portal, PortalDep, render
from api.portal.hub import HubError
from api.portal.session import COOKIE, Session
from api.portal.settings import DemoUser

router = APIRouter()

REFUSED = (
    "The user id or password is not right, or the account cannot sign in at the moment. Check them and try again. "
    "After several wrong passwords in a row the account is locked for a while; your administrator can unlock it."
)
PROBLEMS = {
    401: REFUSED,
    422: "The user id or password is not in a form the hub accepts. Check them and try again.",
    429: "There have been too many sign-in attempts from here. Wait a minute, then try again.",
    503: "The portal could not reach the AIM hub. Try again in a few minutes; if it keeps happening, tell the "
    "service desk.",
}


@router.get("/")
def home(request: Request, portal: PortalDep) -> Response:
    signed = portal.sessions.get(request.cookies.get(COOKIE))
    return RedirectResponse("/search" if signed else "/signin", status_code=303)


@router.get("/signin")
def signin_form(request: Request, portal: PortalDep, expired: int = 0) -> Response:
    message = "Your sign-in has expired or is no longer valid. Sign in again." if expired else None
    return render(request, "signin.html", demo_users=portal.demo_users, problem=message)


@router.post("/signin")
def signin(
    *,
    request: Request,
    portal: PortalDep,
    user_id: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    demo_user: Annotated[str, Form()] = "",
) -> Response:
    demo = next((u for u in portal.demo_users if u.user_id == demo_user), None) if demo_user else None
    user_id = user_id.strip()
    try:
        if demo is not None:
            session = _demo_session(portal, demo)
        elif user_id or password:
            if not user_id or not password:
                missing = "your user id" if not user_id else "your password"
                return _again(request, portal, 400, f"Enter {missing}.", user_id)
            session = _password_session(portal, user_id, password)
        elif token.strip():
            # The hub decides what this token may do on every call; the portal learns no more than it needs.
            session = portal.sessions.create(token=token.strip(), user_id="staff user", name="Staff user", role="")
        else:
            return _again(request, portal, 400, "Enter your user id and password.", user_id)
    except HubError as exc:
        status = exc.status if exc.status in PROBLEMS else 502
        problem = PROBLEMS.get(exc.status, "The hub could not sign you in just now. Try again in a minute.")
        return _again(request, portal, status, problem, user_id)
    session.flash = f"Signed in as {session.name}."
    response = RedirectResponse("/search", status_code=303)
    response.set_cookie(COOKIE, session.sid, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/signout")
def signout(session: FormSession, portal: PortalDep) -> Response:
    if not any(user.token and hmac.compare_digest(user.token, session.token) for user in portal.demo_users):
        # Already expired or revoked, or the hub is away: the token then dies with its lifetime anyway.
        with suppress(HubError):
            portal.hub.sign_out(session.token)
    portal.sessions.drop(session.sid)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def _password_session(portal: Portal, user_id: str, password: str) -> Session:
    signed = portal.hub.sign_in(user_id, password)
    return portal.sessions.create(
        token=str(signed["token"]),
        user_id=str(signed["user_id"]),
        name=str(signed["display_name"]),
        role=str(signed["role"]),
    )


def _demo_session(portal: Portal, demo: DemoUser) -> Session:
    if demo.password:
        return _password_session(portal, demo.user_id, demo.password)
    return portal.sessions.create(token=demo.token, user_id=demo.user_id, name=demo.name, role=demo.role)


def _again(request: Request, portal: Portal, status: int, problem: str, user_id: str) -> Response:
    """The sign-in page again with the problem; the user id typed is kept, the password never is."""
    return render(request, "signin.html", status, demo_users=portal.demo_users, problem=problem, user_id=user_id)
