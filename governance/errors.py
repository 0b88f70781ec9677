"""The governance library's exceptions::

GovernanceError
└── PolicyError   a policy file is invalid; the message lists every problem found
"""


class GovernanceError(Exception):
    """Base class for every error raised on purpose by :mod:`governance`."""


class PolicyError(GovernanceError):
    """Raised when a policy document breaks a rule; the message lists every problem with its place in the file."""
