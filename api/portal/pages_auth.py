"""Sign in (a staff token, or in demo mode a demo user picked from a list) and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.portal.deps import FormSession, PortalDep, render
from api.portal.session import COOKIE

router = APIRouter()


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
    request: Request,
    portal: PortalDep,
    token: Annotated[str, Form()] = "",
    demo_user: Annotated[str, Form()] = "",
) -> Response:
    demo = next((u for u in portal.demo_users if u.user_id == demo_user), None) if demo_user else None
    if demo is not None:
        session = portal.sessions.create(token=demo.token, user_id=demo.user_id, name=demo.name, role=demo.role)
    elif token.strip():
        # The hub decides what this token may do on every call; the portal learns no more than it needs.
        session = portal.sessions.create(token=token.strip(), user_id="staff user", name="Staff user", role="")
    else:
        problem = "Enter your staff token" + (", or choose a demo user" if portal.demo_users else "") + "."
        return render(request, "signin.html", 400, demo_users=portal.demo_users, problem=problem)
    session.flash = f"Signed in as {session.name}."
    response = RedirectResponse("/search", status_code=303)
    response.set_cookie(COOKIE, session.sid, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/signout")
def signout(session: FormSession, portal: PortalDep) -> Response:
    portal.sessions.drop(session.sid)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE)
    return response
