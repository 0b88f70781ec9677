"""Why an ingest request is refused (malformed input is :class:`aim.errors.InputError`)::

AimError
└── IngestError
    ├── FeedConflictError   a feed id or batch number already used for different content, or a batch for a
    │                       feed that is already committed
    └── InFlightError       the same feed, batch or commit is being processed right now by another request
"""

from aim.errors import AimError


class IngestError(AimError):
    """Base class for refusals that are not about the shape of the input."""


class FeedConflictError(IngestError):
    """Raised when an idempotency key (feed id, batch number) comes back with different content."""


class InFlightError(IngestError):
    """Raised when a duplicate of a request still in progress arrives; the sender should retry shortly."""
