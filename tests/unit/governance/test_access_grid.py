"""The access grid: every subject x action x purpose x category x restricted x organisation against the demo policy.

The expected outcome of each cell is computed here from the YAML file read with ``yaml.safe_load`` and the rules as
docs/policy.md states them, with the actions' properties copied from the docs table — not from the engine's model
or the action registry — and the engine must agree on 100 % of cells.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
import yaml

from governance.action import DEFAULT_ACTIONS
from governance.decision import AccessRequest, Subject, decide
from tests.unit.governance.factories import AT, DEMO_POLICY_PATH, demo_policy, grant_for, request, subject

# The actions table of docs/policy.md: needs purpose, needs case reference, shows categories, person-scoped,
# needs agreement.
ACTIONS = {
    "search": (True, True, True, True, False),
    "view_person": (True, True, True, True, False),
    "view_timeline": (True, True, True, True, False),
    "list_alerts": (True, False, True, False, False),
    "update_alert": (True, False, False, False, False),
    "manage_watchlist": (True, False, False, False, False),
    "review_links": (True, False, False, False, False),
    "read_audit": (True, False, False, False, False),
    "review_break_glass": (True, False, False, False, False),
    "export_sar": (True, True, False, False, False),
    "read_transparency": (False, False, False, False, False),
    "break_glass": (False, True, False, False, False),
    "push_feed": (False, False, False, False, True),
    "manage_users": (False, False, False, False, False),
    "approve_rules": (False, False, False, False, False),
}

RAW: dict[str, Any] = yaml.safe_load(DEMO_POLICY_PATH.read_text(encoding="utf-8"))
OWN, OTHER = "WMP", "CHILDRENS_SC"


def _subjects() -> dict[str, Subject]:
    kinds = {role: subject(role, user_id=f"u-{role}", organisation=OWN) for role in RAW["roles"]}
    kinds["(no role)"] = subject(user_id="u-none", organisation=OWN)
    kinds["(suspended mash_officer)"] = subject("mash_officer", user_id="u-susp", organisation=OWN, suspended=True)
    kinds["(not signed in)"] = subject(user_id=None, organisation=None)
    kinds["(lead with break-glass)"] = subject(
        "safeguarding_lead", user_id="u-bg", organisation=OWN, grants=(grant_for("P-1", user_id="u-bg"),)
    )
    kinds["(officer with someone's grant)"] = subject(
        "mash_officer", user_id="u-bg", organisation=OWN, grants=(grant_for("P-1", user_id="u-bg"),)
    )
    return kinds


def _grants_allow(roles: set[str], action: str, purpose: str | None, category: str | None, same_org: bool) -> bool:
    needs_purpose, _, shows_categories, _, _ = ACTIONS[action]
    for role in roles:
        for grant in RAW["roles"][role]["grants"]:
            if action not in grant["actions"]:
                continue
            if needs_purpose and purpose not in grant.get("purposes", []):
                continue
            if shows_categories and category is not None and category not in grant.get("categories", []):
                continue
            if grant.get("own_organisation_only", False) and not same_org:
                continue
            return True
    return False


def expected(who: Subject, req: AccessRequest) -> bool:
    """The outcome the policy file says, by the rules in docs/policy.md."""
    needs_purpose, needs_case, shows_categories, person_scoped, needs_agreement = ACTIONS[req.action]
    roles = set(who.roles) & set(RAW["roles"])
    if who.user_id is None or who.status.value == "suspended" or not roles:
        return False
    if needs_purpose and req.purpose not in RAW["purposes"]:
        return False
    if needs_case and not (req.case_reference or "").strip():
        return False
    if shows_categories and req.category is not None and req.category not in RAW["categories"]:
        return False
    if req.action == "break_glass":
        return bool(roles & set(RAW["break_glass"]["roles"]))
    same_org = who.organisation is not None and req.resource.organisation == who.organisation
    allowed = _grants_allow(roles, req.action, req.purpose, req.category, same_org)
    if req.resource.restricted and not roles & set(RAW["restricted_subjects"]["visible_to"]):
        allowed = False
    if needs_agreement:
        agreement = RAW["partners"].get(who.organisation, {}).get("agreement")
        in_force = (
            agreement is not None
            and agreement["status"] == "active"
            and agreement["valid_from"] <= req.at.date() <= (agreement["valid_until"] or date.max)
        )
        return allowed and in_force
    if not allowed and person_scoped and roles & set(RAW["break_glass"]["roles"]):
        covered = any(
            g.user_id == who.user_id and g.person_id == req.resource.person_id and g.active_at(req.at)
            for g in who.break_glass
        )
        in_categories = req.category is None or not shows_categories or req.category in RAW["break_glass"]["categories"]
        return covered and in_categories
    return allowed


def _grid() -> list[tuple[str, Subject, AccessRequest]]:
    purposes = [None, *RAW["purposes"], "gossip"]
    categories = [None, *RAW["categories"], "astrology"]
    cells = []
    for (kind, who), action, purpose, category, restricted, org in itertools.product(
        _subjects().items(), ACTIONS, purposes, categories, (False, True), (OWN, OTHER)
    ):
        req = request(who, action, purpose=purpose, category=category, restricted=restricted, resource_organisation=org)
        cells.append((kind, who, req))
    return cells


GRID = _grid()


def test_the_docs_action_table_matches_the_registry() -> None:
    assert set(ACTIONS) == set(DEFAULT_ACTIONS)


def test_the_grid_agrees_with_the_policy_file_in_every_cell() -> None:
    policy = demo_policy()
    disagreements = [
        (kind, req.action, req.purpose, req.category, req.resource.restricted, req.resource.organisation)
        for kind, who, req in GRID
        if decide(policy, req).allowed != expected(who, req)
    ]
    assert len(GRID) == 13 * 15 * 9 * 8 * 2 * 2  # 56,160 cells
    assert disagreements == [], f"{len(disagreements)} of {len(GRID)} cells disagree, e.g. {disagreements[:5]}"


def test_the_grid_exercises_both_outcomes_for_every_action() -> None:
    policy = demo_policy()
    outcomes: dict[str, set[bool]] = {}
    for _, _, req in GRID:
        outcomes.setdefault(req.action, set()).add(decide(policy, req).allowed)
    assert all(seen == {True, False} for seen in outcomes.values()), outcomes


@pytest.mark.parametrize("kind", ["(no role)", "(suspended mash_officer)", "(not signed in)"])
def test_no_role_suspended_and_anonymous_are_denied_everything_with_a_reason(kind: str) -> None:
    policy = demo_policy()
    for _, _, req in (cell for cell in GRID if cell[0] == kind):
        decision = decide(policy, req)
        assert not decision.allowed
        assert decision.reasons, "a denial must say why"


def test_every_decision_carries_a_reason_and_allowed_ones_name_their_rule() -> None:
    policy = demo_policy()
    for _, _, req in GRID[::7]:
        decision = decide(policy, req)
        assert decision.reasons
        if decision.allowed:
            assert decision.reasons[0].rule, decision


def test_the_grid_is_decided_at_a_time_when_the_demo_agreements_are_in_force() -> None:
    assert date(2024, 4, 1) <= AT.date() <= date(2027, 3, 31)
