"""The portal's sign-in screen, in process, against a real hub app (SQLite and PostgreSQL): a user id and password
signs in through the hub's POST /v1/sign-in and the token stays in the portal's session; every refusal is one plain
sentence on the page, the user id kept and the password never shown; the demo picker signs in with the demo user's
password; signing out revokes the token at the hub; an expired token sends the user back to sign in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from aim.audit.log import AuditFilter
from aim.bootstrap import Hub
from aim.clock import FixedClock
from aim.keys import init_keys
from api.hub.app import create_app as create_hub_app
from api.portal.app import create_app as create_portal_app
from api.portal.pages_auth import REFUSED
from api.portal.session import COOKIE, Session
from api.portal.settings import PortalSettings
from tests.api.staff import DEMO_POLICY, headers, staff
from tests.asgi import TestClient

PASSWORD = "synthetic-correct-horse-42"  # test data only
DEMO_PASSWORD = "synthetic-demo-horse-42"


@dataclass
class Site:
    hub: Hub
    app: FastAPI
    portal: TestClient
    hub_http: TestClient

    def session(self) -> Session | None:
        found: Session | None = self.app.state.sessions.get(self.portal.cookies.get(COOKIE))
        return found

    def sign_in(self, **form: str) -> httpx.Response:
        self.portal.cookies.clear()
        response: httpx.Response = self.portal.post("/signin", data=form, follow_redirects=False)
        return response

    def works(self, token: str) -> bool:
        response = self.hub_http.get("/v1/audit", params={"limit": 1}, headers=headers(token, "audit", "DPO-1"))
        return response.status_code == 200


def _portal_settings(tmp_path: Path, demo_users: list[dict[str, str]]) -> PortalSettings:
    init_keys(directory=tmp_path / "keys")
    users = tmp_path / "demo-users.json"
    users.write_text(json.dumps(demo_users), encoding="utf-8")
    return PortalSettings(keys_dir=str(tmp_path / "keys"), policy_path=str(DEMO_POLICY), demo_users_path=str(users))


@pytest.fixture
def site(staff_hub: Hub, tmp_path: Path) -> Iterator[Site]:
    staff_hub.access.users.add(user_id="j.smith", display_name="J Smith", role="dpo")
    staff_hub.sign_in.set_password(user_id="j.smith", password=PASSWORD, actor="cli:test")
    staff_hub.access.users.add(user_id="demo.dpo", display_name="Demo DPO", role="dpo")
    staff_hub.sign_in.set_password(user_id="demo.dpo", password=DEMO_PASSWORD, actor="cli:test")
    token = staff(staff_hub, "token.dpo", "dpo")
    settings = _portal_settings(
        tmp_path,
        [
            {"user_id": "demo.dpo", "name": "Demo DPO", "role": "dpo", "password": DEMO_PASSWORD},
            {"user_id": "token.dpo", "name": "Token DPO", "role": "dpo", "token": token},
        ],
    )
    with TestClient(create_hub_app(hub=staff_hub), raise_server_exceptions=False) as hub_http:
        portal_app = create_portal_app(settings, http=hub_http)
        with TestClient(portal_app, raise_server_exceptions=False) as portal:
            yield Site(staff_hub, portal_app, portal, hub_http)


def _sign_ins(hub: Hub) -> list[str]:
    return [e.event.outcome.value for e in reversed(hub.audit_log.search(AuditFilter(action="sign_in")))]


def test_the_form_offers_user_id_and_password_the_demo_users_and_a_token(site: Site) -> None:
    page = site.portal.get("/signin").text
    for field in ('name="user_id"', 'name="password"', 'autocomplete="current-password"', 'name="demo_user"'):
        assert field in page
    assert "Sign in with a staff token instead" in page


def test_signing_in_with_a_password_keeps_the_hubs_token_in_the_session(site: Site) -> None:
    response = site.sign_in(user_id=" j.smith ", password=PASSWORD)
    assert (response.status_code, response.headers["location"]) == (303, "/search")
    session = site.session()
    assert session is not None
    assert (session.user_id, session.name, session.role) == ("j.smith", "J Smith", "dpo")
    assert site.works(session.token)
    assert PASSWORD not in session.token
    page = site.portal.get("/search").text
    assert "Signed in as <strong>J Smith</strong>" in page
    assert session.token not in page, "the token never reaches the browser"
    assert _sign_ins(site.hub) == ["allowed"]


@pytest.mark.parametrize(
    ("user_id", "password"),
    [
        pytest.param("j.smith", "synthetic-wrong-horse-42", id="wrong password"),
        pytest.param("nobody.here", PASSWORD, id="unknown user"),
    ],
)
def test_a_refused_sign_in_is_one_plain_sentence_keeping_the_user_id(site: Site, user_id: str, password: str) -> None:
    response = site.sign_in(user_id=user_id, password=password)
    assert response.status_code == 401
    assert REFUSED in response.text
    assert f'value="{user_id}"' in response.text
    assert password not in response.text
    assert site.session() is None


def test_a_locked_account_gets_the_same_sentence_even_with_the_right_password(site: Site) -> None:
    for _ in range(5):
        site.sign_in(user_id="j.smith", password="synthetic-wrong-horse-42")
    response = site.sign_in(user_id="j.smith", password=PASSWORD)
    assert response.status_code == 401
    assert REFUSED in response.text
    assert _sign_ins(site.hub) == ["denied"] * 6


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        pytest.param({"user_id": "j.smith"}, "Enter your password.", id="no password"),
        pytest.param({"password": PASSWORD}, "Enter your user id.", id="no user id"),
        pytest.param({}, "Enter your user id and password.", id="nothing"),
    ],
)
def test_a_missing_field_is_asked_for_without_calling_the_hub(site: Site, form: dict[str, str], problem: str) -> None:
    response = site.sign_in(**form)
    assert response.status_code == 400
    assert problem in response.text
    assert PASSWORD not in response.text
    assert _sign_ins(site.hub) == []


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        pytest.param(None, 503, "could not reach the AIM hub", id="hub unreachable"),
        pytest.param(429, 429, "too many sign-in attempts", id="rate limited"),
        pytest.param(500, 502, "could not sign you in just now", id="hub error"),
    ],
)
def test_hub_trouble_is_explained_on_the_page(tmp_path: Path, answer: int | None, status: int, words: str) -> None:
    def hub(request: httpx.Request) -> httpx.Response:
        if answer is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(answer, json={"error": "x", "detail": "x", "problems": []})

    settings = _portal_settings(tmp_path, [])
    http = httpx.Client(transport=httpx.MockTransport(hub), base_url="http://hub")
    with http, TestClient(create_portal_app(settings, http=http), raise_server_exceptions=False) as portal:
        response = portal.post("/signin", data={"user_id": "j.smith", "password": PASSWORD})
    assert response.status_code == status
    assert words in response.text
    assert PASSWORD not in response.text


def test_the_demo_picker_signs_in_with_the_demo_users_password(site: Site) -> None:
    response = site.sign_in(demo_user="demo.dpo")
    assert response.status_code == 303
    session = site.session()
    assert session is not None
    assert (session.user_id, session.role) == ("demo.dpo", "dpo")
    assert site.works(session.token)
    assert _sign_ins(site.hub) == ["allowed"]


def test_signing_out_revokes_the_token_at_the_hub(site: Site) -> None:
    site.sign_in(user_id="j.smith", password=PASSWORD)
    session = site.session()
    assert session is not None
    response = site.portal.post("/signout", data={"csrf": session.csrf}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/signin")
    assert not site.works(session.token)
    [entry] = site.hub.audit_log.search(AuditFilter(action="sign_out"))
    assert (entry.event.actor, entry.event.outcome.value) == ("j.smith", "allowed")


def test_signing_out_keeps_a_shared_demo_token(site: Site) -> None:
    site.sign_in(demo_user="token.dpo")
    session = site.session()
    assert session is not None
    site.portal.post("/signout", data={"csrf": session.csrf}, follow_redirects=False)
    assert site.works(session.token), "every pick of that demo user uses the same token"
    assert site.sign_in(demo_user="token.dpo").status_code == 303


def test_an_expired_sign_in_returns_to_the_sign_in_page(site: Site) -> None:
    site.sign_in(user_id="j.smith", password=PASSWORD)
    assert isinstance(site.hub.clock, FixedClock)
    site.hub.clock.advance(timedelta(minutes=30))
    response = site.portal.get("/alerts", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/signin?expired=1")
    assert "has expired" in site.portal.get("/signin?expired=1").text
