"""The policy decider port the hub depends on, the real engine, a static fake beside it, and masking.

The hub asks a :class:`PolicyDecider` on every endpoint; the composition root gives it a :class:`PolicyEngine` over
the DPO's loaded policy, and tests may give it a :class:`StaticDecider`. Masking turns a decision into what a screen
may show: partner and date are always shown to a subject allowed to search; a flag only when its category is visible.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from governance.action import DEFAULT_ACTIONS, ActionRegistry
from governance.decision import AccessRequest, Decision, Reason, ReasonCode, decide
from governance.policy import Policy


class PolicyDecider(Protocol):
    """Decides hub requests; see :func:`governance.decision.decide`."""

    def decide(self, request: AccessRequest) -> Decision:
        """Allow or deny one request, with reasons."""
        ...

    def visible_categories(self, request: AccessRequest) -> frozenset[str]:
        """The categories whose flags the request may show (empty when it may show none)."""
        ...


class PolicyEngine:
    """The real decider: the DPO's policy, evaluated deny-by-default by :func:`governance.decision.decide`."""

    def __init__(self, policy: Policy, actions: ActionRegistry = DEFAULT_ACTIONS) -> None:
        self.policy = policy
        self.actions = actions

    def decide(self, request: AccessRequest) -> Decision:
        """Allow or deny one request, with reasons."""
        return decide(self.policy, request, self.actions)

    def visible_categories(self, request: AccessRequest) -> frozenset[str]:
        """The categories whose flags the request may show; see :func:`visible_categories`."""
        return visible_categories(self.policy, request, self.actions)


class StaticDecider:
    """A fake for tests: the same answer to every request, with a reason that says so."""

    def __init__(self, *, allowed: bool, categories: frozenset[str] = frozenset()) -> None:
        self.allowed = allowed
        self.categories = categories
        self.requests: list[AccessRequest] = []

    def decide(self, request: AccessRequest) -> Decision:
        """Record the request and give the fixed answer."""
        self.requests.append(request)
        code = ReasonCode.GRANTED if self.allowed else ReasonCode.ACTION_NOT_GRANTED
        return Decision(self.allowed, (Reason(code, "static decider (tests only)"),))

    def visible_categories(self, request: AccessRequest) -> frozenset[str]:
        """The fixed categories when allowing, none when denying."""
        return self.categories if self.allowed else frozenset()


def visible_categories(
    policy: Policy, request: AccessRequest, actions: ActionRegistry = DEFAULT_ACTIONS
) -> frozenset[str]:
    """The categories whose flags may be shown for this request (its own ``category`` is ignored).

    A category is visible exactly when :func:`decide` allows the same request asking for that category, so masking
    can never disagree with the decision (break-glass and restricted subjects included).

    Args:
        policy: the policy in force.
        request: the search or view being answered.
        actions: the action registry.

    Returns:
        The visible categories; empty when the request itself is denied or the action shows no flags.
    """
    spec = actions.get(request.action)
    if spec is None or not spec.shows_categories:
        return frozenset()
    return frozenset(
        category
        for category in policy.categories
        if decide(policy, replace(request, category=category), actions).allowed
    )


def mask_flag(flag: str | None, category: str, visible: frozenset[str]) -> str | None:
    """The flag if its category is visible, else ``None`` (the screen shows partner and date without it).

    Args:
        flag: the interaction's flag code.
        category: the flag's data category.
        visible: from :func:`visible_categories`.

    Returns:
        ``flag`` or ``None``.
    """
    return flag if category in visible else None
