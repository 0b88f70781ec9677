"""The governance library's exceptions::

GovernanceError
├── PolicyError           a policy file is invalid; the message lists every problem found, each with its place
├── UnknownActionError    an action name is not in the action registry
├── BreakGlassError       a break-glass request breaks the policy's break-glass rules
├── AuditError            an audit event or entry breaks the audit log's rules (e.g. a plaintext target)
│   └── AuditIntegrityError   verifying the chain found tampering; the message says where
└── RetentionError        an interaction's category has no retention period in the policy

A refused access request is not an exception: :func:`governance.decision.decide` returns a denied
:class:`~governance.decision.Decision` with its reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from governance.problem import Problem


class GovernanceError(Exception):
    """Base class for every error raised on purpose by :mod:`governance`."""


class PolicyError(GovernanceError):
    """Raised when a policy document breaks a rule; the message lists every problem with its place in the file."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class UnknownActionError(GovernanceError, KeyError):
    """Raised when code asks the action registry for an action it does not hold; the message lists the known ones.

    It is also a :class:`KeyError`, so the registry behaves as a mapping (``in``, ``get``).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BreakGlassError(GovernanceError):
    """Raised when a break-glass grant is asked for outside the rules (role, justification, duration, person)."""


class AuditError(GovernanceError):
    """Raised when an audit event or entry breaks the log's rules, e.g. a naive time or a plaintext target."""


class AuditIntegrityError(AuditError):
    """Raised by :meth:`governance.audit.VerifyReport.raise_for_problems` when the chain shows tampering."""


class RetentionError(GovernanceError):
    """Raised when an interaction names a category for which the policy sets no retention period."""
