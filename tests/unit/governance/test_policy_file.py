"""Loading, validating and dumping the policy file: round-trips, and every problem reported at once with its place."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.errors import PolicyError
from governance.policy import AgreementStatus, RetentionPeriod, RetentionUnit
from governance.policy_file import dump_policy, load_policy, parse_policy, policy_digest
from tests.unit.governance.factories import DATA, DEMO_POLICY_PATH, demo_policy


def test_the_demo_policy_loads_with_the_expected_shape() -> None:
    policy = demo_policy()
    assert policy.categories == ("police", "health", "education", "social_care", "fire", "housing")
    assert {
        "mash_officer",
        "safeguarding_lead",
        "safeguarding_practitioner",
        "data_steward",
        "dpo",
        "partner_admin",
        "auditor",
    } <= set(policy.role_ids)
    assert [p.code for p in policy.partners] == [
        "WMP",
        "CITYHOSP_AE",
        "BCHC",
        "SCHOOLS",
        "CHILDRENS_SC",
        "ADULT_SC",
        "FIRE",
        "HOUSING",
    ]
    assert all(p.agreement.status is AgreementStatus.ACTIVE for p in policy.partners)
    assert policy.break_glass.roles == ("safeguarding_lead",)
    assert set(policy.retention) == set(policy.categories)


def test_dump_then_parse_gives_back_the_same_policy() -> None:
    policy = demo_policy()
    text = dump_policy(policy)
    assert parse_policy(text) == policy
    assert dump_policy(parse_policy(text)) == text


def test_the_digest_changes_when_the_policy_does() -> None:
    policy = demo_policy()
    changed = replace(policy, retention={**policy.retention, "fire": RetentionPeriod(2, RetentionUnit.YEARS)})
    assert policy_digest(policy) == policy_digest(parse_policy(dump_policy(policy)))
    assert policy_digest(policy) != policy_digest(changed)


@given(
    minutes=st.integers(min_value=1, max_value=240),
    amount=st.integers(min_value=1, max_value=120),
    unit=st.sampled_from(list(RetentionUnit)),
    until=st.one_of(st.none(), st.dates(min_value=date(2024, 4, 1), max_value=date(2040, 1, 1))),
    length=st.integers(min_value=20, max_value=500),
)
def test_round_trip_holds_for_varied_settings(
    minutes: int, amount: int, unit: RetentionUnit, until: date | None, length: int
) -> None:
    policy = demo_policy()
    partner = replace(policy.partners[0], agreement=replace(policy.partners[0].agreement, valid_until=until))
    varied = replace(
        policy,
        break_glass=replace(
            policy.break_glass, max_duration=timedelta(minutes=minutes), min_justification_length=length
        ),
        retention={**policy.retention, "police": RetentionPeriod(amount, unit)},
        partners=(partner, *policy.partners[1:]),
    )
    assert parse_policy(dump_policy(varied)) == varied


# Every problem in broken-many.yaml, by place: (path in the document, line in the file).
BROKEN_MANY = {
    ("partners.FIRE.name", 42),
    ("owner", 4),
    ("version", 2),
    ("purposes.audit.description", 8),
    ("roles.mash_officer.grants[0].actions[1]", 14),
    ("roles.mash_officer.grants[0].purposes[1]", 15),
    ("roles.mash_officer.grants[0].categories[1]", 16),
    ("roles.dpo.grants[0].actions[1]", 20),
    ("roles.dpo.grants[0].categories", 21),
    ("roles.steward.grants[0].purposes", 25),
    ("break_glass.roles[1]", 27),
    ("break_glass.max_duration", 28),
    ("break_glass.min_justification_length", 29),
    ("restricted_subjects.visible_to[1]", 32),
    ("retention.police", 34),
    ("retention.health", 33),
    ("partners.wmp", 36),
    ("partners.wmp.agreement.status", 39),
    ("partners.wmp.agreement.valid_until", 39),
    ("partners.FIRE.categories[0]", 43),
}


def test_every_problem_in_a_broken_file_is_reported_at_once_with_its_place() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(DATA / "broken-many.yaml")
    found = {(problem.path, problem.line) for problem in caught.value.problems}
    assert found == BROKEN_MANY
    message = str(caught.value)
    assert f"{len(BROKEN_MANY)} problems" in message
    assert "broken-many.yaml:14:27: roles.mash_officer.grants[0].actions[1]" in message


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("roles.mash_officer.grants[0].actions[1]", "'teleport'"),
        ("break_glass.max_duration", "at most 4 hours"),
        ("retention.health", "add `health: <n> years`"),
        ("partners.wmp.agreement.valid_until", "on or after 2024-04-01"),
    ],
    ids=["names the value", "names the rule", "names the fix", "fix names the bound"],
)
def test_each_problem_gives_value_rule_and_fix(path: str, needle: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(DATA / "broken-many.yaml")
    problem = next(p for p in caught.value.problems if p.path == path)
    assert needle in problem.render("f")
    assert problem.rule
    assert problem.fix


@pytest.mark.parametrize(
    ("name", "line", "needle"),
    [
        ("broken-syntax.yaml", 7, "not valid YAML"),
        ("broken-shape.yaml", 1, "must be a mapping"),
    ],
    ids=["a syntax error is placed at its line", "a list instead of a mapping"],
)
def test_unreadable_files_report_one_placed_problem(name: str, line: int, needle: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(DATA / name)
    (problem,) = caught.value.problems
    assert problem.line == line
    assert needle in problem.rule


def test_an_empty_file_is_a_problem_not_a_crash() -> None:
    with pytest.raises(PolicyError, match="the file is empty"):
        parse_policy("# nothing here\n")


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (
            (
                "  - actions: [push_feed]\n        own_organisation_only: true",
                "  - actions: [push_feed]\n        own_organisation_only: maybe",
            ),
            "roles.partner_system.grants[0].own_organisation_only",
        ),
        (
            (
                "      - actions: [read_transparency, approve_rules, manage_users]",
                "      - actions: [read_transparency, approve_rules, manage_users]\n        purposes: [audit]",
            ),
            "roles.dpo.grants[2].purposes",
        ),
        (
            (
                "valid_from: 2024-04-01, valid_until: 2027-03-31}\n  CITYHOSP_AE",
                "valid_from: 2024-13-01, valid_until: 2027-03-31}\n  CITYHOSP_AE",
            ),
            "partners.WMP.agreement.valid_from",
        ),
        (("  max_duration: 4 hours", "  max_duration: 0 minutes"), "break_glass.max_duration"),
    ],
    ids=[
        "own_organisation_only must be a boolean",
        "purpose-free actions cannot share a grant with purposes",
        "an impossible date",
        "a zero break-glass duration",
    ],
)
def test_single_mistakes_in_the_demo_policy_are_each_caught(edit: tuple[str, str], path: str) -> None:
    text = DEMO_POLICY_PATH.read_text(encoding="utf-8")
    assert edit[0] in text
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.replace(edit[0], edit[1], 1))
    assert path in {problem.path for problem in caught.value.problems}, caught.value
