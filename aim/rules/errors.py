"""Event recognition's exceptions::

AimError (aim.errors)
├── InputError
│   ├── RuleFileError      a rule file breaks the rule language; carries every problem found, located
│   └── LifecycleError     an alert or watch-list change that lacks what it needs (e.g. close without outcome)
│       └── LifecycleConflictError  the change does not fit the current state (e.g. closing a closed alert)
└── NotFoundError
    └── UnknownRuleError   a rule id that no rule file declares
"""

from __future__ import annotations

from aim.errors import InputError, NotFoundError
from governance.problem import Problem


class RuleFileError(InputError):
    """Raised when a rule file is invalid; the message lists every problem with its line, value, rule and fix."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class LifecycleError(InputError):
    """Raised when an alert or watch-list change is not allowed from the current state or lacks what it needs."""


class UnknownRuleError(NotFoundError):
    """Raised when a rule id is asked for that no loaded rule file declares."""


class LifecycleConflictError(LifecycleError):
    """Raised when a change conflicts with the alert's or entry's current state (closing a closed alert, renewing a
    removed entry, adding a person already on the team's list): the request is sound, the state has moved on."""
