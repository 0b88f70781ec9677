"""Browser tests: a small demo partnership (hub and portal under uvicorn on free ports) driven in a real Chromium.

The data is built exactly as ``aim demo`` builds it: fixtures as of today, the partnership key set, the eight demo
partners, each feed pushed through the hub's API by the agent's client, links, rules, one staff user per role.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from aim.demo import DemoLayout, load_feeds, prepare, staff_sign_ins
from aim.demo.servers import HUB_APP, PORTAL_APP, free_port, start

CHROMIUM = os.environ.get("AIM_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PEOPLE = 300


@dataclass(frozen=True)
class DemoSite:
    portal: str
    hub: str
    layout: DemoLayout
    today: date
    known: dict[str, str]  # a person with recent police activity, as the fixtures hold them


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    root = tmp_path_factory.mktemp("demo")
    layout = DemoLayout(root)
    today = date.today()
    prepare(layout, people=PEOPLE, seed=1, as_of=today, echo=lambda _line: None)
    hub_port = free_port()
    hub = start(
        "hub", HUB_APP, env=layout.hub_env(hub_port=hub_port), host="127.0.0.1", port=hub_port,
        health="/v1/health", log=root / "hub.log",
    )  # fmt: skip
    servers = [hub]
    try:
        load_feeds(layout, hub_url=hub.url, as_of=today, echo=lambda _line: None)
        staff_sign_ins(layout)
        portal_port = free_port()
        portal = start(
            "portal", PORTAL_APP, env=layout.portal_env(hub_url=hub.url, port=portal_port), host="127.0.0.1",
            port=portal_port, health="/healthz", log=root / "portal.log",
        )  # fmt: skip
        servers.append(portal)
        known = police_subject(layout)
        yield DemoSite(portal=portal.url, hub=hub.url, layout=layout, today=today, known=known)
    finally:
        for server in reversed(servers):
            server.stop()


def police_subject(layout: DemoLayout) -> dict[str, str]:
    """A person as the police recorded them (names and date of birth present), so the search finds the police record."""
    with (layout.fixtures / "raw" / "WMP.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["first_name"] and r["last_name"] and r["date_of_birth"]]
    row = max(rows, key=lambda r: (r["interaction_date"][-4:], r["interaction_date"]))
    return {k: row[k].strip() for k in ("first_name", "last_name", "date_of_birth")}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def shot(page: object, name: str, *, full_page: bool = True) -> None:
    """Save the page (or, for a long list, what the window shows) to docs/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)  # type: ignore[attr-defined]
