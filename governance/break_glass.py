"""Break-glass: a named role overrides the policy for one person, for a short time, with a written justification.

A grant is opened by :func:`open_break_glass`, which checks the policy's rules and refuses anything outside them. A
grant is one user, one person, one case; it expires on its own. Every request it allows carries the grant's id in
its :class:`~governance.decision.Decision`, so the hub puts each use in the DPO's review queue.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from governance.errors import BreakGlassError
from governance.policy import Policy


@dataclass(frozen=True)
class BreakGlassGrant:
    """One break-glass grant: this user may see this person, for this case, until ``expires_at``.

    Attributes:
        grant_id: a stable id derived from the other fields; audit entries and the review queue name it.
        user_id: the only user the grant serves.
        person_id: the only person the grant opens.
        case_reference: the case it was opened for.
        justification: the written reason, at least the policy's minimum length.
        granted_at: when it starts (timezone-aware).
        expires_at: when it stops (timezone-aware); never more than the policy's ``max_duration`` after start.
    """

    grant_id: str
    user_id: str
    person_id: str
    case_reference: str
    justification: str
    granted_at: datetime
    expires_at: datetime

    def active_at(self, at: datetime) -> bool:
        """Whether the grant is in force at ``at`` (start inclusive, expiry exclusive)."""
        return self.granted_at <= at < self.expires_at


def open_break_glass(
    policy: Policy,
    *,
    user_id: str,
    roles: frozenset[str],
    person_id: str,
    case_reference: str,
    justification: str,
    at: datetime,
    duration: timedelta | None = None,
) -> BreakGlassGrant:
    """Open a break-glass grant, or refuse with every reason at once.

    Args:
        policy: the policy in force.
        user_id: who asks; the grant serves only this user.
        roles: the roles the user holds; one must be in ``break_glass.roles``.
        person_id: the one person the grant opens (the hub's persistent person id).
        case_reference: the case it is for; must not be empty.
        justification: the written reason; at least ``break_glass.min_justification_length`` characters.
        at: now, timezone-aware; the grant starts then.
        duration: how long; defaults to, and may not exceed, ``break_glass.max_duration``.

    Returns:
        The grant, for the hub to store and attach to the user's later requests.

    Raises:
        BreakGlassError: the request breaks one or more rules; the message lists them all.
    """
    rules = policy.break_glass
    duration = rules.max_duration if duration is None else duration
    problems = []
    if not roles & set(rules.roles):
        allowed = ", ".join(rules.roles) or "none"
        problems.append(f"roles {sorted(roles)} may not break glass; only: {allowed}")
    if not person_id.strip():
        problems.append("a grant opens exactly one person: give the person id")
    if not case_reference.strip():
        problems.append("a case reference is required: give the case this is for")
    if len(justification.strip()) < rules.min_justification_length:
        problems.append(
            f"the justification has {len(justification.strip())} characters; at least "
            f"{rules.min_justification_length} are required: say why the normal policy is not enough"
        )
    if not timedelta(0) < duration <= rules.max_duration:
        problems.append(f"duration {duration} is not allowed: choose more than 0 and at most {rules.max_duration}")
    if at.tzinfo is None:
        problems.append("the time must be timezone-aware: pass datetime.now(UTC)")
    if problems:
        raise BreakGlassError("break-glass refused: " + "; ".join(problems))
    grant_id = _grant_id(user_id, person_id, case_reference, at)
    return BreakGlassGrant(grant_id, user_id, person_id, case_reference, justification.strip(), at, at + duration)


def _grant_id(user_id: str, person_id: str, case_reference: str, at: datetime) -> str:
    material = "\x1f".join((user_id, person_id, case_reference, at.isoformat()))
    return "bg-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:20]
