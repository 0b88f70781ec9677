"""Signing in to the portal in a real Chromium with a user id and password: a wrong password is one plain sentence
on the page with the user id kept and the password field empty; the right one signs in; signing out returns to the
sign-in page. The demo users' passwords are the ones ``aim demo`` set and wrote for the picker. Screenshot:
docs/screenshots/signin.png."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import DemoSite, shot

pytestmark = pytest.mark.browser

Page = Any


def test_sign_in_with_user_id_and_password_then_sign_out(page: Page, site: DemoSite) -> None:
    users = json.loads(site.layout.users_file.read_text(encoding="utf-8"))
    auditor = next(u for u in users if u["user_id"] == "auditor")
    page.goto(site.portal + "/signin")
    page.fill("#user_id", "auditor")
    page.fill("#password", "synthetic-wrong-horse-42")
    page.click("#password-signin")
    page.wait_for_selector(".error-summary")
    assert "The user id or password is not right" in page.inner_text(".error-summary")
    assert page.input_value("#user_id") == "auditor"
    assert page.input_value("#password") == ""
    assert "synthetic-wrong-horse-42" not in page.content()
    shot(page, "signin")

    page.fill("#password", auditor["password"])
    page.click("#password-signin")
    page.wait_for_selector("text=Signed in as")
    assert "Helen Price" in page.inner_text("header")
    page.click("text=Sign out")
    page.wait_for_selector("#password-signin")
    assert page.url.endswith("/signin")
