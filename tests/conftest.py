"""Suite-wide settings: Hypothesis profiles and the rule that CI never skips the PostgreSQL tests."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL tests without a server, except in CI, where a missing server is a failure."""
    if os.environ.get("AIM_TEST_POSTGRES_URL"):
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI must run the PostgreSQL tests: set AIM_TEST_POSTGRES_URL (see .ci/run)")
    skip = pytest.mark.skip(reason="needs AIM_TEST_POSTGRES_URL (bash .ci/run starts a server and sets it)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
