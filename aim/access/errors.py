"""Why a staff request is refused::

AimError
└── AccessError               carries the decision's reasons as ``problems`` for the response
    ├── NotSignedInError      no bearer token, or one that is unknown, expired or revoked (401)
    │   └── SignInRefusedError   a sign-in with a password refused, whatever the reason (401, one message for all)
    └── AccessDeniedError     a signed-in user the policy refuses: suspended, no role, wrong purpose, ... (403)

Each is raised only after the refusal has been written to the audit log.
"""

from __future__ import annotations

from aim.errors import AimError
from governance import Decision


class AccessError(AimError):
    """Base class for refused staff requests; ``problems`` lists each reason as ``{code, detail, rule}``."""

    def __init__(self, message: str, decision: Decision | None = None) -> None:
        super().__init__(message)
        self.decision = decision
        self.problems: list[dict[str, str | None]] = [
            {"code": reason.code.value, "detail": reason.message, "rule": reason.rule}
            for reason in (decision.reasons if decision else ())
        ]


class NotSignedInError(AccessError):
    """Raised when a staff request carries no valid bearer token (none, unknown, expired or revoked)."""


class SignInRefusedError(NotSignedInError):
    """Raised when a sign-in with a user id and password is refused: unknown user, wrong password, locked, suspended
    or no password set all raise it with the same message, so the answer does not tell which accounts exist; the
    audit entry written first says which it was."""


class AccessDeniedError(AccessError):
    """Raised when the policy refuses a signed-in user's request; the reasons say which rule and what to change."""
