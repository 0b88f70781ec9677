"""Opening a break-glass grant: only named roles, a real justification, one person, a short time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from governance.break_glass import open_break_glass
from governance.errors import BreakGlassError
from tests.unit.governance.factories import AT, JUSTIFICATION, demo_policy

GOOD = {
    "user_id": "u-1",
    "roles": frozenset({"safeguarding_lead"}),
    "person_id": "P-1",
    "case_reference": "S47-2025-0007",
    "justification": JUSTIFICATION,
    "at": AT,
}


def test_a_lead_opens_a_grant_that_defaults_to_the_policy_maximum() -> None:
    grant = open_break_glass(demo_policy(), **GOOD)  # type: ignore[arg-type]
    assert grant.expires_at - grant.granted_at == timedelta(hours=4)
    assert grant.active_at(AT)
    assert not grant.active_at(AT + timedelta(hours=4))
    assert grant.grant_id.startswith("bg-")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"roles": frozenset({"mash_officer"})}, "may not break glass"),
        ({"justification": "urgent"}, "at least 40 are required"),
        ({"person_id": " "}, "exactly one person"),
        ({"case_reference": ""}, "case reference is required"),
        ({"duration": timedelta(hours=5)}, "at most 4:00:00"),
        ({"duration": timedelta(0)}, "more than 0"),
        ({"at": AT.replace(tzinfo=None)}, "timezone-aware"),
    ],
    ids=[
        "a role not named for break-glass",
        "a justification too short",
        "no person",
        "no case reference",
        "longer than the policy allows",
        "no time at all",
        "a naive time",
    ],
)
def test_requests_outside_the_rules_are_refused_with_the_reason(change: dict[str, object], needle: str) -> None:
    with pytest.raises(BreakGlassError, match=needle):
        open_break_glass(demo_policy(), **{**GOOD, **change})  # type: ignore[arg-type]


def test_every_broken_rule_is_listed_at_once() -> None:
    with pytest.raises(BreakGlassError) as caught:
        open_break_glass(demo_policy(), **{**GOOD, "roles": frozenset(), "justification": "x", "case_reference": ""})  # type: ignore[arg-type]
    assert str(caught.value).count(";") >= 2
