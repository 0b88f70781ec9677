"""Load the DPO's policy from YAML, reporting every problem at once, and dump it back.

``load_policy`` never stops at the first mistake: each problem names the place in the file, the value, the rule it
breaks and the fix, and all of them arrive together in one :class:`~governance.errors.PolicyError`. ``dump_policy``
writes the same document back, so ``parse_policy(dump_policy(p)) == p``. The format is described in
``docs/policy.md``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from governance.action import DEFAULT_ACTIONS, ActionRegistry
from governance.policy import Partner, Policy, Role
from governance.policy_reader import PolicyReader
from governance.problem import ProblemLog
from governance.yaml_source import read_yaml

_TOP_LEVEL = (
    "version",
    "partnership",
    "purposes",
    "categories",
    "roles",
    "break_glass",
    "restricted_subjects",
    "retention",
    "partners",
)


def load_policy(path: str | Path, *, actions: ActionRegistry = DEFAULT_ACTIONS) -> Policy:
    """Read and validate a policy file.

    Args:
        path: the YAML file.
        actions: the action registry grants are checked against.

    Returns:
        The validated policy.

    Raises:
        PolicyError: the file breaks one or more rules; every problem is listed with its line.
        OSError: the file cannot be read.
    """
    path = Path(path)
    return parse_policy(path.read_text(encoding="utf-8"), source=str(path), actions=actions)


def parse_policy(text: str, *, source: str = "<policy>", actions: ActionRegistry = DEFAULT_ACTIONS) -> Policy:
    """Validate a policy given as YAML text; see :func:`load_policy`.

    Args:
        text: the YAML document.
        source: the name shown in front of each problem.
        actions: the action registry grants are checked against.

    Returns:
        The validated policy.

    Raises:
        PolicyError: the document breaks one or more rules.
    """
    log = ProblemLog(source)
    data = read_yaml(text, log)
    if data is None:
        if not log.problems:
            log.add("", "the file is empty", "write the policy document (see docs/policy.md)", missing=True)
        log.raise_if_any()
    policy = PolicyReader(log, actions).policy(data, _TOP_LEVEL)
    log.raise_if_any()
    assert policy is not None  # the reader returns None only after recording a problem
    return policy


def dump_policy(policy: Policy) -> str:
    """The policy as YAML text in the documented layout; ``parse_policy`` reads it back to an equal policy.

    Args:
        policy: the policy to write.

    Returns:
        The YAML document.
    """
    return yaml.safe_dump(
        policy_to_data(policy), sort_keys=False, default_flow_style=None, allow_unicode=True, width=120
    )


def policy_digest(policy: Policy) -> str:
    """A SHA-256 of the dumped policy, so an audit entry or report can name the policy version that decided."""
    return hashlib.sha256(dump_policy(policy).encode("utf-8")).hexdigest()


def policy_to_data(policy: Policy) -> dict[str, Any]:
    """The policy as plain YAML-ready values, in file order."""
    return {
        "version": policy.version,
        "partnership": policy.partnership,
        "purposes": {purpose.id: {"description": purpose.description} for purpose in policy.purposes},
        "categories": list(policy.categories),
        "roles": {role.id: _role_data(role) for role in policy.roles},
        "break_glass": {
            "roles": list(policy.break_glass.roles),
            "max_duration": _duration_text(int(policy.break_glass.max_duration.total_seconds()) // 60),
            "min_justification_length": policy.break_glass.min_justification_length,
            "categories": list(policy.break_glass.categories),
        },
        "restricted_subjects": {"visible_to": list(policy.restricted_subjects.visible_to)},
        "retention": {category: str(period) for category, period in policy.retention.items()},
        "partners": {partner.code: _partner_data(partner) for partner in policy.partners},
    }


def _role_data(role: Role) -> dict[str, Any]:
    grants = []
    for grant in role.grants:
        item: dict[str, Any] = {"actions": list(grant.actions)}
        if grant.purposes:
            item["purposes"] = list(grant.purposes)
        if grant.categories:
            item["categories"] = list(grant.categories)
        if grant.own_organisation_only:
            item["own_organisation_only"] = True
        grants.append(item)
    return {"description": role.description, "grants": grants}


def _partner_data(partner: Partner) -> dict[str, Any]:
    agreement = partner.agreement
    return {
        "name": partner.name,
        "categories": list(partner.categories),
        "agreement": {
            "reference": agreement.reference,
            "status": agreement.status.value,
            "valid_from": agreement.valid_from,
            "valid_until": agreement.valid_until,
        },
    }


def _duration_text(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
