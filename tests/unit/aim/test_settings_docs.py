"""docs/storage.md documents every hub setting; docs/ingest-api.md every schedule field and every feed endpoint."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from aim.agent.schedule import ScheduleConfig
from aim.settings import Settings, env_name
from api.hub.routes import router

DOCS = Path(__file__).resolve().parents[3] / "docs"
STORAGE = (DOCS / "storage.md").read_text(encoding="utf-8")
INGEST_API = (DOCS / "ingest-api.md").read_text(encoding="utf-8")


def _section(doc: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of any level."""
    start = doc.index(heading + "\n")
    following = re.search(r"^#", doc[start + len(heading) :], flags=re.MULTILINE)
    return doc[start : start + len(heading) + following.start()] if following else doc[start:]


SCHEDULE_FILE = _section(INGEST_API, "### The schedule file")

SETTINGS = [env_name(spec.name) for spec in fields(Settings)]
# Variables storage.md may name that are not hub settings: the portal's own (docs/portal.md).
NOT_HUB_SETTINGS = re.compile(r"^AIM_PORTAL_")

FEED_ENDPOINTS = sorted(
    (method, route.path)
    for route in router.routes
    if isinstance(route, APIRoute) and route.path.startswith("/v1/feeds")
    for method in route.methods or ()
)


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_is_documented(name: str) -> None:
    assert f"`{name}`" in STORAGE, f"{name} is not in docs/storage.md's settings table"


def test_storage_names_no_setting_the_hub_does_not_have() -> None:
    named = set(re.findall(r"`(AIM_[A-Z0-9_]+)`", STORAGE))
    stale = sorted(name for name in named - set(SETTINGS) if not NOT_HUB_SETTINGS.match(name))
    assert not stale, f"docs/storage.md names settings that aim.settings.Settings does not have: {stale}"


@pytest.mark.parametrize("name", [spec.name for spec in fields(ScheduleConfig)])
def test_every_schedule_field_is_documented(name: str) -> None:
    assert f"| `{name}` |" in SCHEDULE_FILE, f"{name} is not in the table of docs/ingest-api.md's 'The schedule file'"


def test_the_feed_endpoints_are_found() -> None:
    assert {path for _method, path in FEED_ENDPOINTS} >= {"/v1/feeds", "/v1/feeds/{feed_id}/commit"}


@pytest.mark.parametrize(("method", "path"), FEED_ENDPOINTS)
def test_every_feed_endpoint_is_documented(method: str, path: str) -> None:
    assert f"`{method} {path}`" in INGEST_API, f"{method} {path} has no section in docs/ingest-api.md"
