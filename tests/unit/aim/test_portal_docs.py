"""docs/portal.md documents every portal setting and every screen the portal serves."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from api.portal.settings import PortalSettings, env_name

DOC = (Path(__file__).resolve().parents[3] / "docs" / "portal.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [env_name(f.name) for f in fields(PortalSettings)])
def test_every_setting_is_documented(name: str) -> None:
    assert f"`{name}`" in DOC, f"{name} is not in docs/portal.md's settings table"


SCREENS = [
    "/signin",
    "/search",
    "/persons/{id}",
    "/alerts",
    "/watchlist",
    "/audit",
    "/break-glass",
    "/transparency",
    "/review",
]


@pytest.mark.parametrize("path", SCREENS)
def test_every_screen_is_documented(path: str) -> None:
    assert f"`{path}`" in DOC
