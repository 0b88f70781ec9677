"""The portal's typed dependencies: the portal (settings, keys, policy, hub client), the signed-in session, the CSRF
check on every form, and page rendering."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.portal.errors import PageError, SignInRequired
from api.portal.hub import Context, HubAPI
from api.portal.session import COOKIE, Session, SessionStore
from api.portal.settings import DemoUser, PortalSettings
from governance import Policy
from linkage.keyset import FieldKeys

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")

# The purpose the portal declares for the screens that are not a search: the controlled list's ids.
WORK_PURPOSE = "watchlist_review"
AUDIT_PURPOSE = "audit"


@dataclass
class Portal:
    """What every screen needs, built once by the app factory."""

    settings: PortalSettings
    keys: FieldKeys
    policy: Policy
    hub: HubAPI
    sessions: SessionStore
    demo_users: list[DemoUser]

    def purposes(self) -> list[tuple[str, str]]:
        return [(p.id, p.description) for p in self.policy.purposes]

    def partners(self) -> list[tuple[str, str]]:
        return [(p.code, p.name) for p in self.policy.partners]

    def may(self, role: str, action: str) -> bool:
        """Whether the menu offers a screen: the role holds a grant of ``action``, or its role is not known here (a
        token sign-in). The hub still decides every call."""
        if not role:
            return True
        found = self.policy.role(role)
        return found is not None and any(action in grant.actions for grant in found.grants)


def get_portal(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


PortalDep = Annotated[Portal, Depends(get_portal)]


def optional_session(request: Request, portal: PortalDep) -> Session | None:
    return portal.sessions.get(request.cookies.get(COOKIE))


def signed_in(session: Annotated[Session | None, Depends(optional_session)]) -> Session:
    if session is None:
        raise SignInRequired("sign in first")
    return session


SessionDep = Annotated[Session, Depends(signed_in)]


def checked_form(session: SessionDep, csrf: Annotated[str, Form()] = "") -> Session:
    """The session of a form post whose CSRF token matches: a form from elsewhere is refused."""
    if not hmac.compare_digest(csrf, session.csrf):
        raise PageError(
            "This form has expired",
            "The form was not sent from this portal session.",
            "Go back, reload the page and send the form again.",
            status=400,
        )
    return session


FormSession = Annotated[Session, Depends(checked_form)]


def work_context(session: Session) -> Context:
    return Context(token=session.token, purpose=WORK_PURPOSE, case_reference=session.case_reference)


def audit_context(session: Session) -> Context:
    return Context(token=session.token, purpose=AUDIT_PURPOSE, case_reference=session.case_reference)


def case_context(session: Session, *, back: str = "/search") -> Context:
    """The declared purpose and case reference, needed for every search and person view."""
    if not session.purpose or not session.case_reference:
        raise PageError(
            "Declare a purpose and case reference first",
            "Every search and person view must say why it is made, and for which case.",
            "Start from the search screen: choose a purpose and enter the case reference.",
            status=400,
            back=back,
        )
    return Context(token=session.token, purpose=session.purpose, case_reference=session.case_reference)


def render(request: Request, template: str, status_code: int = 200, /, **context: Any) -> HTMLResponse:
    portal: Portal = request.app.state.portal
    session = portal.sessions.get(request.cookies.get(COOKIE))
    flash = session.pop_flash() if session else None
    values = {
        "session": session,
        "flash": flash,
        "today": date.today(),
        "purpose_names": dict(portal.purposes()),
        "path": request.url.path,
        "may": lambda action: session is not None and portal.may(session.role, action),
        **context,
    }
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
