"""What changes between two policies: every role-category-purpose-action decision that flips, and every other
setting that differs (break-glass, restricted subjects, retention, partners, purposes).

The decisions are computed by the same grant matching that :func:`governance.decision.decide` uses, so the diff
can never disagree with the engine. ``aim hub policy diff OLD NEW`` prints :meth:`PolicyDiff.render`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from governance.action import BREAK_GLASS, DEFAULT_ACTIONS, ActionRegistry, ActionSpec
from governance.decision import AccessRequest, Reason, Resource, Subject, match_grant
from governance.policy import Policy
from governance.policy_file import policy_to_data

_OWN = "__own__"  # own-organisation grants are compared as if the resource were the user's own organisation
_AT = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DecisionChange:
    """One decision that differs: ``role`` doing ``action`` for ``purpose``, seeing ``category``.

    ``purpose`` is ``None`` for actions that take none; ``category`` is ``None`` for the action itself (partner and
    date) or for actions that show no flags.
    """

    role: str
    category: str | None
    purpose: str | None
    action: str
    before: bool
    after: bool

    def render(self) -> str:
        """``mash_officer / police / early_help_triage: search allowed → denied``."""
        category = self.category or "(no category)"
        purpose = self.purpose or "(no purpose)"
        verdicts = ("denied", "allowed")
        return f"{self.role} / {category} / {purpose}: {self.action} {verdicts[self.before]} → {verdicts[self.after]}"


@dataclass(frozen=True)
class SettingChange:
    """Any other setting that differs, by its path in the file; ``None`` means absent."""

    path: str
    before: object
    after: object

    def render(self) -> str:
        """``retention.fire: 12 months → 2 years``."""
        return f"{self.path}: {_shown(self.before)} → {_shown(self.after)}"


@dataclass(frozen=True)
class PolicyDiff:
    """The changes between two policies."""

    decisions: tuple[DecisionChange, ...]
    settings: tuple[SettingChange, ...]

    def __bool__(self) -> bool:
        return bool(self.decisions or self.settings)

    def render(self) -> str:
        """The changes as lines for a person; says so when there are none."""
        if not self:
            return "no changes: every decision and setting is the same"
        lines = [f"{len(self.decisions)} decision(s) change:"] if self.decisions else []
        lines += ["  " + change.render() for change in self.decisions]
        if self.settings:
            lines.append(f"{len(self.settings)} other setting(s) change:")
            lines += ["  " + change.render() for change in self.settings]
        return "\n".join(lines)


def policy_diff(old: Policy, new: Policy, actions: ActionRegistry = DEFAULT_ACTIONS) -> PolicyDiff:
    """Every decision and setting that differs between ``old`` and ``new``.

    Args:
        old: the policy in force.
        new: the proposed policy.
        actions: the action registry.

    Returns:
        The decision changes ordered by role, category, purpose and action, and the other setting changes.
    """
    decisions = tuple(
        DecisionChange(role, category, purpose, spec.name, before, after)
        for role, category, purpose, spec in _cells(old, new, actions)
        if (before := role_allows(old, role, spec, purpose, category))
        != (after := role_allows(new, role, spec, purpose, category))
    )
    return PolicyDiff(decisions, tuple(_setting_changes(old, new)))


def role_allows(policy: Policy, role: str, spec: ActionSpec, purpose: str | None, category: str | None) -> bool:
    """Whether a user holding only ``role`` may do ``spec`` for ``purpose`` seeing ``category``, by grants alone.

    Args:
        policy: the policy.
        role: the one role held.
        spec: the action.
        purpose: the purpose, or ``None``.
        category: the category, or ``None`` for the action itself.

    Returns:
        Whether a grant (or, for ``break_glass``, the break-glass roles) allows it.
    """
    if policy.role(role) is None:
        return False
    if spec.name == BREAK_GLASS:
        return role in policy.break_glass.roles
    subject = Subject(user_id="policy-diff", roles=frozenset({role}), organisation=_OWN)
    request = AccessRequest(subject, spec.name, _AT, purpose, "diff", category, Resource(organisation=_OWN))
    return isinstance(match_grant(policy, request, spec, (role,)), Reason)


def _cells(
    old: Policy, new: Policy, actions: ActionRegistry
) -> Iterator[tuple[str, str | None, str | None, ActionSpec]]:
    roles = _union(old.role_ids, new.role_ids)
    categories: list[str | None] = [None, *_union(old.categories, new.categories)]
    purposes: list[str | None] = list(_union(old.purpose_ids, new.purpose_ids))
    for role in roles:
        for category in categories:
            for purpose in [None, *purposes]:
                for spec in actions.values():
                    if (purpose is None) == spec.needs_purpose:
                        continue
                    if category is not None and not spec.shows_categories:
                        continue
                    yield role, category, purpose, spec


def _setting_changes(old: Policy, new: Policy) -> Iterator[SettingChange]:
    before, after = _flatten(policy_to_data(old)), _flatten(policy_to_data(new))
    for path in _union(tuple(before), tuple(after)):
        if path.startswith("roles."):
            continue  # roles are compared decision by decision above
        if before.get(path) != after.get(path):
            yield SettingChange(path, before.get(path), after.get(path))


def _flatten(data: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(data, dict):
        return {prefix: data}
    flat: dict[str, object] = {}
    for key, value in data.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return first + tuple(item for item in second if item not in first)


def _shown(value: object) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)
