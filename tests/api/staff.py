"""Shared helpers for staff-API tests: a hub with the demo policy and an audit signing key, staff users with tokens,
and headers for a request with a purpose and case reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aim.audit.signing import create_signing_key
from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.settings import Settings
from tests.factories import NOW

DEMO_POLICY = Path(__file__).resolve().parents[2] / "fixtures" / "policy" / "demo-policy.yaml"


def build_staff_hub(database_url: str, tmp_path: Path) -> Hub:
    """A migrated hub under the demo policy with a fresh audit signing key and a fixed clock."""
    key = tmp_path / "audit.key"
    create_signing_key(key)
    settings = Settings(database_url=database_url, policy_path=str(DEMO_POLICY), audit_key_path=str(key))
    return bootstrap(settings, clock=FixedClock(NOW), migrate_schema=True)


@pytest.fixture
def staff_hub(database_url: str, tmp_path: Path) -> Iterator[Hub]:
    """A migrated hub under the demo policy with a fresh audit signing key and a fixed clock."""
    built = build_staff_hub(database_url, tmp_path)
    try:
        yield built
    finally:
        built.close()


def staff(hub: Hub, user_id: str, role: str, *, organisation: str | None = None, suspended: bool = False) -> str:
    """Add a staff user and return a bearer token for them."""
    hub.access.users.add(user_id=user_id, display_name=f"Test {role}", role=role, organisation=organisation)
    token = hub.access.users.new_token(user_id).token
    if suspended:
        hub.access.users.set_status(user_id, "suspended")
    return token


def headers(token: str | None, purpose: str | None = None, case: str | None = None) -> dict[str, str]:
    out = {}
    if token is not None:
        out["Authorization"] = f"Bearer {token}"
    if purpose is not None:
        out["X-AIM-Purpose"] = purpose
    if case is not None:
        out["X-AIM-Case-Ref"] = case
    return out
