"""Suite-wide settings: Hypothesis profiles and the rule that CI never skips the PostgreSQL tests."""

from __future__ import annotations

import importlib.util
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL tests without a server, and browser tests without Chromium and Playwright, except in CI, where
    either missing is a failure."""
    _skip_postgres(items)
    _skip_browser(items)


def _skip_postgres(items: list[pytest.Item]) -> None:
    if os.environ.get("AIM_TEST_POSTGRES_URL"):
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI must run the PostgreSQL tests: set AIM_TEST_POSTGRES_URL (see .ci/run)")
    skip = pytest.mark.skip(reason="needs AIM_TEST_POSTGRES_URL (bash .ci/run starts a server and sets it)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _skip_browser(items: list[pytest.Item]) -> None:
    if not any("browser" in item.keywords for item in items):
        return
    chromium = os.environ.get("AIM_TEST_CHROMIUM", "/usr/bin/chromium")
    missing = [] if os.access(chromium, os.X_OK) else [f"Chromium at {chromium} (apt-get install chromium)"]
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright for Python (pip install -e '.[dev]')")
    if not missing:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI must run the browser tests: missing " + " and ".join(missing) + " (see .ci/run)")
    skip = pytest.mark.skip(reason="needs " + " and ".join(missing))
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)
