"""Decisions and their reasons, case by case: purposes, case references, restricted subjects, break-glass,
own-organisation grants, agreements, masking, and the decider port with its fake."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest

from governance.decider import PolicyEngine, StaticDecider, mask_flag, visible_categories
from governance.decision import AccessRequest, ReasonCode, decide
from governance.policy import AgreementStatus
from tests.unit.governance.factories import AT, demo_policy, grant_for, request, subject

ALL = frozenset({"police", "health", "education", "social_care", "fire", "housing"})


@dataclass(frozen=True)
class Case:
    description: str
    request: AccessRequest
    allowed: bool
    codes: tuple[ReasonCode, ...]


officer = subject("mash_officer")
practitioner = subject("safeguarding_practitioner")
lead = subject("safeguarding_lead")
lead_with_grant = subject("safeguarding_lead", grants=(grant_for("P-1"),))

CASES = [
    Case("a MASH officer searches for MASH screening", request(officer), True, (ReasonCode.GRANTED,)),
    Case("no purpose declared", request(officer, purpose=None), False, (ReasonCode.PURPOSE_REQUIRED,)),
    Case("a purpose off the list", request(officer, purpose="curiosity"), False, (ReasonCode.UNKNOWN_PURPOSE,)),
    Case(
        "an empty case reference", request(officer, case_reference="  "), False, (ReasonCode.CASE_REFERENCE_REQUIRED,)
    ),
    Case(
        "both missing: both reasons",
        request(officer, purpose=None, case_reference=None),
        False,
        (ReasonCode.PURPOSE_REQUIRED, ReasonCode.CASE_REFERENCE_REQUIRED),
    ),
    Case(
        "a purpose the role does not hold",
        request(officer, purpose="early_help_triage"),
        False,
        (ReasonCode.PURPOSE_NOT_GRANTED,),
    ),
    Case(
        "a practitioner may search for early help",
        request(practitioner, purpose="early_help_triage"),
        True,
        (ReasonCode.GRANTED,),
    ),
    Case(
        "but may not see police flags",
        request(practitioner, purpose="early_help_triage", category="police"),
        False,
        (ReasonCode.CATEGORY_NOT_GRANTED,),
    ),
    Case(
        "an action the role lacks",
        request(officer, "read_audit", purpose="audit"),
        False,
        (ReasonCode.ACTION_NOT_GRANTED,),
    ),
    Case("an unregistered action", request(officer, "drop_tables"), False, (ReasonCode.UNKNOWN_ACTION,)),
    Case("a suspended account", request(subject("mash_officer", suspended=True)), False, (ReasonCode.SUSPENDED,)),
    Case("nobody signed in", request(subject(user_id=None)), False, (ReasonCode.NOT_SIGNED_IN, ReasonCode.NO_ROLE)),
    Case("a role the policy does not define", request(subject("superuser")), False, (ReasonCode.NO_ROLE,)),
    Case(
        "a restricted subject, hidden from an officer",
        request(officer, restricted=True),
        False,
        (ReasonCode.RESTRICTED_SUBJECT,),
    ),
    Case(
        "a restricted subject, visible to a lead",
        request(lead, restricted=True),
        True,
        (ReasonCode.GRANTED, ReasonCode.RESTRICTED_VISIBLE),
    ),
    Case(
        "break-glass opens a purpose the lead lacks, for the granted person",
        request(lead_with_grant, purpose="data_quality"),
        True,
        (ReasonCode.BREAK_GLASS,),
    ),
    Case(
        "break-glass does not open another person",
        request(lead_with_grant, purpose="data_quality", person_id="P-2"),
        False,
        (ReasonCode.PURPOSE_NOT_GRANTED,),
    ),
    Case(
        "break-glass expires",
        request(lead_with_grant, purpose="data_quality", at=AT + timedelta(hours=3)),
        False,
        (ReasonCode.PURPOSE_NOT_GRANTED,),
    ),
    Case(
        "break-glass serves only its own user",
        request(subject("safeguarding_lead", user_id="u-2", grants=(grant_for("P-1"),)), purpose="data_quality"),
        False,
        (ReasonCode.PURPOSE_NOT_GRANTED,),
    ),
    Case(
        "break-glass is for person data, not other actions",
        request(lead_with_grant, "read_audit", purpose="audit"),
        False,
        (ReasonCode.ACTION_NOT_GRANTED,),
    ),
    Case(
        "break-glass still needs a case reference",
        request(lead_with_grant, purpose="data_quality", case_reference=""),
        False,
        (ReasonCode.CASE_REFERENCE_REQUIRED,),
    ),
    Case("a lead may open break-glass", request(lead, "break_glass", purpose=None), True, (ReasonCode.GRANTED,)),
    Case("an officer may not", request(officer, "break_glass", purpose=None), False, (ReasonCode.ACTION_NOT_GRANTED,)),
    Case(
        "a partner system pushes its own feed",
        request(subject("partner_system", organisation="WMP"), "push_feed", purpose=None, resource_organisation="WMP"),
        True,
        (ReasonCode.GRANTED,),
    ),
    Case(
        "but not another partner's",
        request(subject("partner_system", organisation="WMP"), "push_feed", purpose=None, resource_organisation="FIRE"),
        False,
        (ReasonCode.OTHER_ORGANISATION,),
    ),
    Case(
        "an organisation that is not a registered partner cannot push",
        request(
            subject("partner_system", organisation="ACME"), "push_feed", purpose=None, resource_organisation="ACME"
        ),
        False,
        (ReasonCode.AGREEMENT_NOT_IN_FORCE,),
    ),
    Case(
        "no agreement before it starts",
        request(
            subject("partner_system", organisation="WMP"),
            "push_feed",
            purpose=None,
            resource_organisation="WMP",
            at=AT.replace(year=2024, month=3),
        ),
        False,
        (ReasonCode.AGREEMENT_NOT_IN_FORCE,),
    ),
    Case(
        "a DPO exports a SAR",
        request(subject("dpo"), "export_sar", purpose="subject_access", case_reference="SAR-2025-3"),
        True,
        (ReasonCode.GRANTED,),
    ),
    Case(
        "a purpose given to a purpose-free action is ignored",
        request(subject("auditor"), "read_transparency", purpose="gossip"),
        True,
        (ReasonCode.GRANTED,),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.description for case in CASES])
def test_decisions_and_their_reasons(case: Case) -> None:
    decision = decide(demo_policy(), case.request)
    assert decision.allowed is case.allowed, decision.explain()
    assert tuple(reason.code for reason in decision.reasons) == case.codes, decision.explain()


def test_an_allowed_decision_names_the_grant_in_the_file() -> None:
    decision = decide(demo_policy(), request(practitioner, purpose="watchlist_review", category="health"))
    assert decision.role == "safeguarding_practitioner"
    assert decision.reasons[0].rule == "roles.safeguarding_practitioner.grants[0]"
    assert "seeing health flags" in decision.explain()


def test_a_break_glass_decision_carries_the_grant_for_the_review_queue() -> None:
    grant = grant_for("P-1")
    decision = decide(demo_policy(), request(subject("safeguarding_lead", grants=(grant,)), purpose="audit"))
    assert decision.allowed
    assert decision.break_glass_grant == grant.grant_id
    assert decision.role == "safeguarding_lead"


def test_a_suspended_agreement_stops_feeds() -> None:
    policy = demo_policy()
    wmp = policy.partners[0]
    suspended = replace(wmp, agreement=replace(wmp.agreement, status=AgreementStatus.SUSPENDED))
    changed = replace(policy, partners=(suspended, *policy.partners[1:]))
    req = request(subject("partner_system", organisation="WMP"), "push_feed", purpose=None, resource_organisation="WMP")
    assert decide(policy, req).allowed
    assert not decide(changed, req).allowed
    assert wmp.agreement.in_force(date(2027, 3, 31))
    assert not wmp.agreement.in_force(date(2027, 4, 1))


@pytest.mark.parametrize(
    ("who", "purpose", "visible"),
    [
        (officer, "mash_screening", ALL),
        (practitioner, "early_help_triage", ALL - {"police"}),
        (officer, "early_help_triage", frozenset()),
        (lead_with_grant, "data_quality", ALL),
        (subject("dpo"), "mash_screening", frozenset()),
    ],
    ids=[
        "officer sees every category",
        "practitioner never sees police",
        "a purpose not held shows nothing",
        "break-glass shows its categories",
        "a role that cannot search sees nothing",
    ],
)
def test_visible_categories_follow_the_decisions(who: object, purpose: str, visible: frozenset[str]) -> None:
    req = request(who, purpose=purpose)  # type: ignore[arg-type]
    assert visible_categories(demo_policy(), req) == visible
    assert PolicyEngine(demo_policy()).visible_categories(req) == visible


def test_mask_hides_flags_of_invisible_categories() -> None:
    visible = visible_categories(demo_policy(), request(practitioner, purpose="early_help_triage"))
    assert mask_flag("POLICE_DV", "police", visible) is None
    assert mask_flag("AE_INJURY", "health", visible) == "AE_INJURY"


def test_actions_that_show_no_flags_have_no_visible_categories() -> None:
    assert visible_categories(demo_policy(), request(subject("dpo"), "read_audit", purpose="audit")) == frozenset()


def test_the_static_decider_answers_the_same_every_time_and_records_requests() -> None:
    fake = StaticDecider(allowed=False)
    decision = fake.decide(request(officer))
    assert not decision.allowed
    assert decision.reasons
    assert fake.visible_categories(request(officer)) == frozenset()
    assert len(fake.requests) == 1
    assert StaticDecider(allowed=True, categories=ALL).visible_categories(request(officer)) == ALL


def test_a_naive_request_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        request(officer, at=AT.replace(tzinfo=None))
