"""The governance docs keep up with the code: every action, policy field, governance command and setting is
documented."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from aim.access.sign_in import AUDIT_ACTIONS
from aim.cli import main
from aim.cli.hub_governance import GOVERNANCE_COMMANDS
from aim.settings import Settings, env_name
from governance import DEFAULT_ACTIONS
from governance.policy_file import _TOP_LEVEL

DOCS = Path(__file__).resolve().parents[3] / "docs"
POLICY, AUDIT = (DOCS / "policy.md").read_text(encoding="utf-8"), (DOCS / "audit.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("action", list(DEFAULT_ACTIONS))
def test_every_action_is_in_the_actions_table(action: str) -> None:
    assert f"| `{action}` |" in POLICY


@pytest.mark.parametrize("field", list(_TOP_LEVEL))
def test_every_policy_field_is_documented(field: str) -> None:
    assert f"| `{field}` |" in POLICY


@pytest.mark.parametrize("command", GOVERNANCE_COMMANDS)
def test_every_governance_command_is_documented(command: str) -> None:
    assert f"`aim hub {command}`" in AUDIT
    hub = main.commands["hub"]
    assert command in hub.commands  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "name",
    [
        "policy_path",
        "audit_key_path",
        "staff_token_hours",
        "sign_in_token_minutes",
        "sign_in_max_failures",
        "sign_in_lockout_minutes",
    ],
)
def test_governance_settings_are_documented(name: str) -> None:
    assert name in {spec.name for spec in fields(Settings)}
    assert f"`{env_name(name)}`" in POLICY


@pytest.mark.parametrize("action", AUDIT_ACTIONS)
def test_every_sign_in_audit_action_is_documented(action: str) -> None:
    assert f"`{action}`" in AUDIT
    assert f"`{action}`" in POLICY
