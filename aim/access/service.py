"""Decide a staff request through the policy and write its audit entry: denied ones at once, allowed ones when the
route has finished (with its result count), so every request leaves exactly one entry."""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass, field

from aim.access.break_glass import BreakGlassStore
from aim.access.errors import AccessDeniedError, NotSignedInError
from aim.access.users import StaffUser, UserRegistry
from aim.clock import Clock
from governance import (
    DEFAULT_ACTIONS,
    AccessRequest,
    AccountStatus,
    AuditEntry,
    AuditSink,
    Decision,
    Outcome,
    PolicyDecider,
    Reason,
    ReasonCode,
    Resource,
    Subject,
    audit_event,
    mask_flag,
)

_OPAQUE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


@dataclass
class Access:
    """An allowed staff request: who, in which role, for what purpose and case, and what they may see.

    Routes read it and call :meth:`record` to add the outcome to the request's audit entry.
    """

    user: StaffUser
    action: str
    purpose: str | None
    case_reference: str | None
    person_id: str | None
    visible_categories: frozenset[str]
    decision: Decision
    request_id: str
    request: AccessRequest
    target: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return self.user.user_id

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def team(self) -> str | None:
        return self.user.team

    @property
    def organisation(self) -> str | None:
        return self.user.organisation

    def record(self, *, results: int | None = None, target: str | None = None, **counts: int) -> None:
        """Add the outcome to this request's audit entry: ``results=0`` marks a zero-result search.

        Args:
            results: how many results were returned (a search, a list).
            target: what was read or changed, ``kind:opaque-id`` (e.g. ``person:123``, or
                :func:`governance.query_target` of the encoded query); never a name or a date of birth.
            counts: other whole numbers worth keeping, e.g. ``alerts=3``.
        """
        if results is not None:
            self.counts["results"] = results
        if target is not None:
            self.target = target
        self.counts.update(counts)

    def mask(self, flag: str | None, category: str) -> str | None:
        """The flag if its category is visible to this request, else ``None`` (partner and date still shown)."""
        return mask_flag(flag, category, self.visible_categories)


class NoPolicyDecider:
    """Denies everything: used when no policy file is configured, so a hub without a policy fails closed."""

    def __init__(self, why: str) -> None:
        self.why = why

    def decide(self, request: AccessRequest) -> Decision:
        return Decision(False, (Reason(ReasonCode.NO_ROLE, self.why, "AIM_POLICY_PATH"),))

    def visible_categories(self, request: AccessRequest) -> frozenset[str]:
        return frozenset()


class AccessControl:
    """The one place a staff request is authenticated, decided and audited."""

    def __init__(
        self,
        *,
        users: UserRegistry,
        break_glass: BreakGlassStore,
        decider: PolicyDecider,
        audit: AuditSink,
        clock: Clock,
    ) -> None:
        self.users = users
        self.break_glass = break_glass
        self.decider = decider
        self.audit = audit
        self.clock = clock

    def authorise(
        self,
        *,
        token: str | None,
        action: str,
        purpose: str | None,
        case_reference: str | None,
        person_id: str | None = None,
        request_id: str | None = None,
    ) -> Access:
        """Decide one request; a refusal is audited, then raised (:class:`NotSignedInError` when nobody is signed in,
        else :class:`AccessDeniedError`), with every reason."""
        user = self.users.authenticate(token)
        request = AccessRequest(
            subject=self._subject(user),
            action=action,
            at=self.clock.now(),
            purpose=_blank_to_none(purpose, 64),
            case_reference=_blank_to_none(case_reference),
            resource=Resource(person_id=person_id, restricted=self.break_glass.is_restricted(person_id)),
        )
        decision = self.decider.decide(request)
        request_id = request_id or uuid.uuid4().hex
        if user is None or not decision.allowed:
            self.audit.append(audit_event(request, decision, request_id=request_id, target=_person(person_id)))
            if user is None:
                raise NotSignedInError("sign in: send 'Authorization: Bearer <staff token>'", decision)
            raise AccessDeniedError(f"{action} refused: {decision.explain()}", decision)
        visible = self.decider.visible_categories(request) if DEFAULT_ACTIONS.get(action) else frozenset()
        return Access(
            user=user,
            action=action,
            purpose=request.purpose,
            case_reference=request.case_reference,
            person_id=person_id,
            visible_categories=visible,
            decision=decision,
            request_id=request_id,
            request=request,
            target=_person(person_id),
        )

    def complete(self, access: Access, *, failure: str | None = None) -> AuditEntry:
        """Write the audit entry of an allowed request, with what the route recorded (or why it failed)."""
        zero = access.counts.get("results") == 0
        event = audit_event(
            access.request,
            access.decision,
            target=access.target,
            outcome=Outcome.ZERO_RESULT if zero else None,
            request_id=access.request_id,
            counts=access.counts,
        )
        if failure is not None:
            event = dataclasses.replace(event, reasons=(*event.reasons, f"failed: {failure}"))
        entry = self.audit.append(event)
        grant = access.decision.break_glass_grant
        if grant is not None:
            self.break_glass.record_use(grant_id=grant, action=access.action, audit_sequence=entry.sequence)
        return entry

    def _subject(self, user: StaffUser | None) -> Subject:
        if user is None:
            return Subject(user_id=None)
        return Subject(
            user_id=user.user_id,
            roles=frozenset({user.role}),
            organisation=user.organisation,
            status=AccountStatus.ACTIVE if user.active else AccountStatus.SUSPENDED,
            break_glass=self.break_glass.active_for(user.user_id),
        )


def _blank_to_none(value: str | None, limit: int = 128) -> str | None:
    """Headers as the policy sees them: blank is absent; over-long values are cut to what the log stores."""
    return (value.strip()[:limit] or None) if value is not None else None


def _person(person_id: str | None) -> str | None:
    return f"person:{person_id}" if person_id and _OPAQUE.match(person_id) else None
