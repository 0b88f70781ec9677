"""Why a partner's request is refused::

AimError
└── PartnerError
    ├── AuthenticationError   no token, an unknown or revoked token, an unknown signing key, a bad signature
    └── NotPermittedError     a registered partner whose agreement is suspended or not in force, or a partner
                              acting for another partner
"""

from aim.errors import AimError


class PartnerError(AimError):
    """Base class for refusals of a partner's request."""


class AuthenticationError(PartnerError):
    """Raised when the request does not prove which registered partner sent it."""


class NotPermittedError(PartnerError):
    """Raised when a known partner may not do what it asks (agreement suspended, expired, or another's data)."""
