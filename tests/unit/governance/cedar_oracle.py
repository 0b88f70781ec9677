"""The demo policy compiled to Cedar, as an independent oracle for the engine and for the engine measurement.

Each grant becomes one ``permit`` per action (annotated with the grant's place in the file); each refusal rule
(suspended, no purpose, no case reference, unknown category, restricted subject, agreement) becomes a ``forbid``.
Two facts are computed in Python and passed in the context, because Cedar has no clock of ours: whether an
active break-glass grant covers the person, and whether the subject's agreement is in force. See docs/policy.md.
"""

from __future__ import annotations

import json
from typing import Any

from governance.action import BREAK_GLASS, DEFAULT_ACTIONS, ActionRegistry
from governance.decision import AccessRequest
from governance.policy import Grant, Policy


def _strings(values: Any) -> str:
    return json.dumps(sorted(values))


def _actions(names: Any) -> str:
    return "[" + ", ".join(f'Action::"{name}"' for name in sorted(names)) + "]"


def compile_policy(policy: Policy, actions: ActionRegistry = DEFAULT_ACTIONS) -> str:
    """The policy as Cedar policy text."""
    parts = [
        _grant_permit(policy, role.id, index, grant, actions)
        for role in policy.roles
        for index, grant in enumerate(role.grants)
    ]
    parts += [
        f'@id("break_glass.roles")\npermit(principal in Role::"{role}", action == Action::"{BREAK_GLASS}", resource);'
        for role in policy.break_glass.roles
    ]
    parts += _forbids(policy, actions)
    parts += _break_glass_permits(policy, actions)
    return "\n\n".join(part for part in parts if part)


def _grant_permit(policy: Policy, role: str, index: int, grant: Grant, actions: ActionRegistry) -> str:
    rules = []
    for name in grant.actions:
        spec = actions[name]
        conditions = ["true"]
        if spec.needs_purpose:
            conditions.append(f"context.has_purpose && {_strings(grant.purposes)}.contains(context.purpose)")
        if spec.shows_categories:
            conditions.append(f"(!context.has_category || {_strings(grant.categories)}.contains(context.category))")
        if grant.own_organisation_only:
            conditions.append('context.subject_org != "" && context.subject_org == context.resource_org')
        rules.append(
            f'@id("roles.{role}.grants[{index}]")\npermit(principal in Role::"{role}", '
            f'action == Action::"{name}", resource)\nwhen {{ {" && ".join(conditions)} }};'
        )
    return "\n\n".join(rules)


def _forbids(policy: Policy, actions: ActionRegistry) -> list[str]:
    purpose_actions = [name for name, spec in actions.items() if spec.needs_purpose]
    case_actions = [name for name, spec in actions.items() if spec.needs_case_reference]
    category_actions = [name for name, spec in actions.items() if spec.shows_categories]
    agreement_actions = [name for name, spec in actions.items() if spec.needs_agreement]
    visible = " || ".join(f'principal in Role::"{role}"' for role in policy.restricted_subjects.visible_to) or "false"
    bg_categories = _strings(policy.break_glass.categories)
    bg_roles = " || ".join(f'principal in Role::"{role}"' for role in policy.break_glass.roles) or "false"
    return [
        '@id("not_signed_in")\nforbid(principal, action, resource) when { !context.signed_in };',
        '@id("suspended")\nforbid(principal, action, resource) when { principal.status == "suspended" };',
        f'@id("purpose")\nforbid(principal, action in {_actions(purpose_actions)}, resource)\n'
        f"unless {{ context.has_purpose && {_strings(policy.purpose_ids)}.contains(context.purpose) }};",
        f'@id("case_reference")\nforbid(principal, action in {_actions(case_actions)}, resource)\n'
        'when { context.case_reference == "" };',
        f'@id("category")\nforbid(principal, action in {_actions(category_actions)}, resource)\n'
        f"when {{ context.has_category && !{_strings(policy.categories)}.contains(context.category) }};",
        f'@id("restricted_subjects")\nforbid(principal, action, resource) when {{ resource.restricted }}\n'
        f"unless {{ {visible} || (({bg_roles}) && context.break_glass && "
        f"(!context.has_category || {bg_categories}.contains(context.category))) }};",
        f'@id("agreement")\nforbid(principal, action in {_actions(agreement_actions)}, resource)\n'
        "unless { context.agreement_in_force };",
    ]


def _break_glass_permits(policy: Policy, actions: ActionRegistry) -> list[str]:
    scoped = [name for name, spec in actions.items() if spec.person_scoped]
    categories = _strings(policy.break_glass.categories)
    return [
        f'@id("break_glass")\npermit(principal in Role::"{role}", action in {_actions(scoped)}, resource)\n'
        f"when {{ context.break_glass && (!context.has_category || {categories}.contains(context.category)) }};"
        for role in policy.break_glass.roles
    ]


def cedar_entities(policy: Policy, request: AccessRequest) -> list[dict[str, Any]]:
    """The principal (with its roles as parents), the roles, and the resource."""
    subject = request.subject
    roles = [{"uid": {"type": "Role", "id": role}, "attrs": {}, "parents": []} for role in policy.role_ids]
    user = {
        "uid": {"type": "User", "id": subject.user_id or "anonymous"},
        "attrs": {"status": subject.status.value},
        "parents": [{"type": "Role", "id": role} for role in sorted(subject.roles) if role in policy.role_ids],
    }
    resource = {
        "uid": {"type": "Resource", "id": "r"},
        "attrs": {"restricted": request.resource.restricted},
        "parents": [],
    }
    return [*roles, user, resource]


def cedar_request(policy: Policy, request: AccessRequest) -> dict[str, Any]:
    """The Cedar request, with the two facts computed in Python (break-glass cover, agreement in force)."""
    subject = request.subject
    partner = policy.partner(subject.organisation) if subject.organisation else None
    bg_rules = policy.break_glass
    break_glass = request.resource.person_id is not None and any(
        grant.user_id == subject.user_id
        and grant.person_id == request.resource.person_id
        and grant.active_at(request.at)
        and grant.expires_at - grant.granted_at <= bg_rules.max_duration
        for grant in subject.break_glass
    )
    context = {
        "signed_in": subject.user_id is not None,
        "has_purpose": request.purpose is not None,
        "purpose": request.purpose or "",
        "case_reference": (request.case_reference or "").strip(),
        "has_category": request.category is not None,
        "category": request.category or "",
        "subject_org": subject.organisation or "",
        "resource_org": request.resource.organisation or "",
        "break_glass": break_glass,
        "agreement_in_force": partner is not None and partner.agreement.in_force(request.at.date()),
    }
    return {
        "principal": {"type": "User", "id": subject.user_id or "anonymous"},
        "action": {"type": "Action", "id": request.action},
        "resource": {"type": "Resource", "id": "r"},
        "context": context,
    }
