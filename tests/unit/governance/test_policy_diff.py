"""``policy_diff``: the decisions (role x category x purpose x action) and settings that change between policies."""

from __future__ import annotations

from dataclasses import replace

import pytest

from governance.policy import Grant, Policy, RetentionPeriod, RetentionUnit, Role
from governance.policy_diff import policy_diff
from tests.unit.governance.factories import demo_policy


def _with_role(policy: Policy, role: Role) -> Policy:
    roles = tuple(role if r.id == role.id else r for r in policy.roles)
    return replace(policy, roles=roles if role.id in policy.role_ids else (*policy.roles, role))


def _practitioner_sees_police(policy: Policy) -> Policy:
    role = policy.role("safeguarding_practitioner")
    assert role is not None
    first = replace(role.grants[0], categories=(*role.grants[0].categories, "police"))
    return _with_role(policy, replace(role, grants=(first, *role.grants[1:])))


def _officer_loses_mash_screening(policy: Policy) -> Policy:
    role = policy.role("mash_officer")
    assert role is not None
    return _with_role(policy, replace(role, grants=(replace(role.grants[0], purposes=("section_47_enquiry",)),)))


def _new_role(policy: Policy) -> Policy:
    return _with_role(policy, Role("analyst", "Reads the transparency report", (Grant(("read_transparency",)),)))


CASES = [
    (
        "practitioner gains police flags",
        _practitioner_sees_police,
        6,
        "safeguarding_practitioner / police / early_help_triage: search denied → allowed",
    ),
    (
        "officer loses a purpose: the action and every category flip",
        _officer_loses_mash_screening,
        3 * 7,
        "mash_officer / (no category) / mash_screening: search allowed → denied",
    ),
    ("a new role", _new_role, 1, "analyst / (no category) / (no purpose): read_transparency denied → allowed"),
]


@pytest.mark.parametrize(("description", "edit", "count", "line"), CASES, ids=[case[0] for case in CASES])
def test_decision_changes(description: str, edit: object, count: int, line: str) -> None:
    old = demo_policy()
    diff = policy_diff(old, edit(old))  # type: ignore[operator]
    assert len(diff.decisions) == count, diff.render()
    assert line in diff.render()
    assert not diff.settings


def test_an_identical_policy_has_no_changes() -> None:
    diff = policy_diff(demo_policy(), demo_policy())
    assert not diff
    assert diff.render().startswith("no changes")


def test_settings_outside_roles_are_listed_by_path() -> None:
    old = demo_policy()
    new = replace(
        old,
        retention={**old.retention, "fire": RetentionPeriod(2, RetentionUnit.YEARS)},
        break_glass=replace(old.break_glass, roles=("safeguarding_lead", "dpo")),
    )
    diff = policy_diff(old, new)
    rendered = {change.render() for change in diff.settings}
    assert rendered == {
        "retention.fire: 12 months → 2 years",
        "break_glass.roles: [safeguarding_lead] → [safeguarding_lead, dpo]",
    }
    assert [change.render() for change in diff.decisions] == [
        "dpo / (no category) / (no purpose): break_glass denied → allowed"
    ]


def test_the_diff_is_symmetric_in_its_flips() -> None:
    old, new = demo_policy(), _practitioner_sees_police(demo_policy())
    forward = {(c.role, c.category, c.purpose, c.action, c.before, c.after) for c in policy_diff(old, new).decisions}
    backward = {(c.role, c.category, c.purpose, c.action, c.after, c.before) for c in policy_diff(new, old).decisions}
    assert forward == backward
