"""Deny-by-default decisions on hub requests, each with its reasons.

:func:`decide` answers one question — may this subject perform this action, for this purpose, on this resource,
seeing this category — from the DPO's :class:`~governance.policy.Policy` alone. Nothing is allowed unless a grant
allows it; every decision says which rule allowed it, or every reason it was refused, so the audit log and the
screen can both show why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from governance.action import BREAK_GLASS, DEFAULT_ACTIONS, ActionRegistry, ActionSpec
from governance.break_glass import BreakGlassGrant
from governance.policy import Policy


class AccountStatus(StrEnum):
    """Whether a user account may act at all."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class Subject:
    """Who asks.

    Attributes:
        user_id: the signed-in user, or ``None`` when nobody is signed in.
        roles: the roles the user holds; roles the policy does not define are ignored.
        organisation: the partner code of the user's organisation (``None`` for hub staff without one).
        status: a suspended account is refused everything.
        break_glass: the user's break-glass grants; only active ones for the requested person count.
    """

    user_id: str | None
    roles: frozenset[str] = frozenset()
    organisation: str | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    break_glass: tuple[BreakGlassGrant, ...] = ()


@dataclass(frozen=True)
class Resource:
    """What the request touches, as far as the policy cares.

    Attributes:
        person_id: the person read (for person-scoped actions and break-glass).
        restricted: the person is a restricted subject (e.g. a protected address).
        organisation: the organisation the resource belongs to (a feed's partner, a managed user's organisation).
    """

    person_id: str | None = None
    restricted: bool = False
    organisation: str | None = None


@dataclass(frozen=True)
class AccessRequest:
    """One question for the policy.

    Attributes:
        subject: who asks.
        action: an action name from the registry.
        at: when, timezone-aware (break-glass expiry and agreement dates are judged at this time).
        purpose: the declared purpose, for actions that need one.
        case_reference: the case the request is for, for actions that need one.
        category: a data category, when asking whether its flags may be shown.
        resource: what the request touches.
    """

    subject: Subject
    action: str
    at: datetime
    purpose: str | None = None
    case_reference: str | None = None
    category: str | None = None
    resource: Resource = field(default_factory=Resource)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("AccessRequest.at must be timezone-aware, e.g. datetime.now(UTC)")


class ReasonCode(StrEnum):
    """Why a decision went the way it did; stable codes for audit rows and reports."""

    GRANTED = "granted"
    BREAK_GLASS = "break_glass"
    RESTRICTED_VISIBLE = "restricted_visible"
    NOT_SIGNED_IN = "not_signed_in"
    SUSPENDED = "suspended"
    NO_ROLE = "no_role"
    UNKNOWN_ACTION = "unknown_action"
    PURPOSE_REQUIRED = "purpose_required"
    UNKNOWN_PURPOSE = "unknown_purpose"
    CASE_REFERENCE_REQUIRED = "case_reference_required"
    UNKNOWN_CATEGORY = "unknown_category"
    ACTION_NOT_GRANTED = "action_not_granted"
    PURPOSE_NOT_GRANTED = "purpose_not_granted"
    CATEGORY_NOT_GRANTED = "category_not_granted"
    OTHER_ORGANISATION = "other_organisation"
    RESTRICTED_SUBJECT = "restricted_subject"
    AGREEMENT_NOT_IN_FORCE = "agreement_not_in_force"


@dataclass(frozen=True)
class Reason:
    """One reason: a stable code, a sentence for a person, and the policy rule it rests on (a path in the file)."""

    code: ReasonCode
    message: str
    rule: str | None = None


@dataclass(frozen=True)
class Decision:
    """The answer: allowed or not, and why.

    Attributes:
        allowed: whether the request may go ahead.
        reasons: for an allowed request, the rule(s) that allowed it; for a denied one, every reason it was refused.
        role: the role whose grant allowed the request, if any.
        break_glass_grant: the id of the break-glass grant that allowed it; the hub queues it for the DPO's review.
    """

    allowed: bool
    reasons: tuple[Reason, ...]
    role: str | None = None
    break_glass_grant: str | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes, for an audit row."""
        return tuple(reason.code.value for reason in self.reasons)

    def explain(self) -> str:
        """The reasons as one sentence for a person."""
        verdict = "allowed" if self.allowed else "denied"
        return f"{verdict}: " + "; ".join(reason.message for reason in self.reasons)


def decide(policy: Policy, request: AccessRequest, actions: ActionRegistry = DEFAULT_ACTIONS) -> Decision:
    """Decide one request, deny by default.

    Args:
        policy: the DPO's policy in force.
        request: the question.
        actions: the action registry.

    Returns:
        The decision with its reasons; never raises for a refused request.
    """
    spec = actions.get(request.action)
    refusals = _request_refusals(policy, request, spec)
    if refusals or spec is None:
        return Decision(False, tuple(refusals))
    roles = _known_roles(policy, request.subject)
    if spec.name == BREAK_GLASS:
        return _decide_break_glass_action(policy, roles)
    matched = match_grant(policy, request, spec, roles)
    conditions = _condition_refusals(policy, request, spec, roles)
    if isinstance(matched, Reason) and not conditions:
        return Decision(True, (matched, *_restricted_notes(policy, request, roles)), role=_role_of(matched))
    override = _break_glass_override(policy, request, spec, roles)
    if override is not None and not any(r.code is ReasonCode.AGREEMENT_NOT_IN_FORCE for r in conditions):
        return override
    refused = [] if isinstance(matched, Reason) else matched
    return Decision(False, (*refused, *conditions))


def match_grant(
    policy: Policy, request: AccessRequest, spec: ActionSpec, roles: tuple[str, ...]
) -> Reason | list[Reason]:
    """The first grant (in file order) that allows the request, as a reason; else why none did.

    Args:
        policy: the policy.
        request: the request; its subject, purpose, category and resource organisation are matched.
        spec: the requested action.
        roles: the subject's roles that the policy defines.

    Returns:
        A ``GRANTED`` reason naming the grant, or the refusals of the furthest any grant got.
    """
    furthest = 0
    for role in policy.roles:
        if role.id not in roles:
            continue
        for index, grant in enumerate(role.grants):
            rule = f"roles.{role.id}.grants[{index}]"
            stage = _grant_stage(grant.actions, grant.purposes, grant.categories, request, spec)
            if stage == 3 and not (grant.own_organisation_only and not _same_organisation(request)):
                return Reason(ReasonCode.GRANTED, _granted_message(role.id, request, spec), rule)
            furthest = max(furthest, stage)
    codes = (
        ReasonCode.ACTION_NOT_GRANTED,
        ReasonCode.PURPOSE_NOT_GRANTED,
        ReasonCode.CATEGORY_NOT_GRANTED,
        ReasonCode.OTHER_ORGANISATION,
    )
    return [_refusal(codes[furthest], request, spec, roles)]


def _grant_stage(
    actions: tuple[str, ...],
    purposes: tuple[str, ...],
    categories: tuple[str, ...],
    request: AccessRequest,
    spec: ActionSpec,
) -> int:
    """How far a grant matches: 0 not this action, 1 not this purpose, 2 not this category, 3 all but organisation."""
    if spec.name not in actions:
        return 0
    if spec.needs_purpose and request.purpose not in purposes:
        return 1
    if spec.shows_categories and request.category is not None and request.category not in categories:
        return 2
    return 3


def _request_refusals(policy: Policy, request: AccessRequest, spec: ActionSpec | None) -> list[Reason]:
    subject, refusals = request.subject, []
    if subject.user_id is None:
        refusals.append(Reason(ReasonCode.NOT_SIGNED_IN, "nobody is signed in"))
    if subject.status is AccountStatus.SUSPENDED:
        refusals.append(Reason(ReasonCode.SUSPENDED, f"the account {subject.user_id} is suspended"))
    if not _known_roles(policy, subject):
        held = ", ".join(sorted(subject.roles)) or "none"
        refusals.append(Reason(ReasonCode.NO_ROLE, f"the user holds no role the policy defines (holds: {held})"))
    if spec is None:
        refusals.append(Reason(ReasonCode.UNKNOWN_ACTION, f"{request.action!r} is not a registered action"))
        return refusals
    if spec.needs_purpose and request.purpose is None:
        refusals.append(Reason(ReasonCode.PURPOSE_REQUIRED, f"{spec.name} needs a declared purpose"))
    elif spec.needs_purpose and request.purpose not in policy.purpose_ids:
        refusals.append(
            Reason(ReasonCode.UNKNOWN_PURPOSE, f"{request.purpose!r} is not on the list of purposes", "purposes")
        )
    if spec.needs_case_reference and not (request.case_reference or "").strip():
        refusals.append(Reason(ReasonCode.CASE_REFERENCE_REQUIRED, f"{spec.name} needs a case reference"))
    if spec.shows_categories and request.category is not None and request.category not in policy.categories:
        refusals.append(
            Reason(ReasonCode.UNKNOWN_CATEGORY, f"{request.category!r} is not a data category", "categories")
        )
    return refusals


def _condition_refusals(
    policy: Policy, request: AccessRequest, spec: ActionSpec, roles: tuple[str, ...]
) -> list[Reason]:
    refusals = []
    visible_to = policy.restricted_subjects.visible_to
    if request.resource.restricted and not set(roles) & set(visible_to):
        refusals.append(
            Reason(
                ReasonCode.RESTRICTED_SUBJECT,
                "the person is a restricted subject, visible only to: " + (", ".join(visible_to) or "nobody"),
                "restricted_subjects.visible_to",
            )
        )
    if spec.needs_agreement:
        organisation = request.subject.organisation
        partner = policy.partner(organisation) if organisation else None
        if partner is None or not partner.agreement.in_force(request.at.date()):
            refusals.append(
                Reason(
                    ReasonCode.AGREEMENT_NOT_IN_FORCE,
                    f"{organisation or 'the organisation'} has no "
                    f"data-sharing agreement in force on {request.at.date()}",
                    f"partners.{organisation}.agreement" if partner else "partners",
                )
            )
    return refusals


def _restricted_notes(policy: Policy, request: AccessRequest, roles: tuple[str, ...]) -> tuple[Reason, ...]:
    if not request.resource.restricted:
        return ()
    role = next(role for role in policy.restricted_subjects.visible_to if role in roles)
    return (
        Reason(
            ReasonCode.RESTRICTED_VISIBLE,
            f"restricted subject visible to role {role}",
            "restricted_subjects.visible_to",
        ),
    )


def _break_glass_override(
    policy: Policy, request: AccessRequest, spec: ActionSpec, roles: tuple[str, ...]
) -> Decision | None:
    rules, person = policy.break_glass, request.resource.person_id
    if not spec.person_scoped or person is None or not set(roles) & set(rules.roles):
        return None
    if spec.shows_categories and request.category is not None and request.category not in rules.categories:
        return None
    for grant in request.subject.break_glass:
        if (
            grant.user_id == request.subject.user_id
            and grant.person_id == person
            and grant.active_at(request.at)
            and grant.expires_at - grant.granted_at <= rules.max_duration
        ):
            message = f"break-glass grant {grant.grant_id} for this person, until {grant.expires_at.isoformat()}"
            reason = Reason(ReasonCode.BREAK_GLASS, message, "break_glass")
            role = next(role for role in rules.roles if role in roles)
            return Decision(True, (reason,), role=role, break_glass_grant=grant.grant_id)
    return None


def _decide_break_glass_action(policy: Policy, roles: tuple[str, ...]) -> Decision:
    allowed = [role for role in policy.break_glass.roles if role in roles]
    if allowed:
        reason = Reason(ReasonCode.GRANTED, f"role {allowed[0]} may break glass", "break_glass.roles")
        return Decision(True, (reason,), role=allowed[0])
    message = "only these roles may break glass: " + (", ".join(policy.break_glass.roles) or "none")
    return Decision(False, (Reason(ReasonCode.ACTION_NOT_GRANTED, message, "break_glass.roles"),))


def _known_roles(policy: Policy, subject: Subject) -> tuple[str, ...]:
    return tuple(role for role in policy.role_ids if role in subject.roles)


def _same_organisation(request: AccessRequest) -> bool:
    own = request.subject.organisation
    return own is not None and request.resource.organisation == own


def _role_of(reason: Reason) -> str | None:
    return reason.rule.split(".")[1] if reason.rule and reason.rule.startswith("roles.") else None


def _granted_message(role: str, request: AccessRequest, spec: ActionSpec) -> str:
    message = f"role {role} may {spec.name}"
    if spec.needs_purpose:
        message += f" for {request.purpose}"
    if spec.shows_categories and request.category is not None:
        message += f", seeing {request.category} flags"
    return message


def _refusal(code: ReasonCode, request: AccessRequest, spec: ActionSpec, roles: tuple[str, ...]) -> Reason:
    held = ", ".join(roles)
    messages = {
        ReasonCode.ACTION_NOT_GRANTED: f"no role held ({held}) may {spec.name}",
        ReasonCode.PURPOSE_NOT_GRANTED: f"no role held ({held}) may {spec.name} for {request.purpose}",
        ReasonCode.CATEGORY_NOT_GRANTED: f"no role held ({held}) may see {request.category} flags "
        f"when {spec.name} is for {request.purpose}",
        ReasonCode.OTHER_ORGANISATION: f"{spec.name} is allowed only on the user's own organisation "
        f"({request.subject.organisation}), not {request.resource.organisation}",
    }
    return Reason(code, messages[code], "roles")
