"""Identity resolution's errors (all :class:`aim.errors.AimError`, so the CLI and the API render them)::

AimError
└── IdentityBusyError      another identity run holds the lock; retry when it has finished
"""

from __future__ import annotations

from aim.errors import AimError


class IdentityBusyError(AimError):
    """Raised when an identity run (or a steward's change) is already in progress elsewhere."""
