"""Why an ingest request is refused (malformed input is :class:`aim.errors.InputError`)::

AimError
└── IngestError
    ├── FeedConflictError   a feed id or batch number already used for different content, or a batch for a
    │                       feed that is already committed
    ├── InFlightError       the same feed, batch or commit is being processed right now by another request
    └── CommitUnavailableError  the hub cannot apply a feed just now (it is stopping, or the process applying
                            feeds died twice); the commit carries on where it stopped when sent again
"""

from aim.errors import AimError


class IngestError(AimError):
    """Base class for refusals that are not about the shape of the input."""


class FeedConflictError(IngestError):
    """Raised when an idempotency key (feed id, batch number) comes back with different content."""


class InFlightError(IngestError):
    """Raised when a duplicate of a request still in progress arrives; the sender should retry shortly."""


class CommitUnavailableError(IngestError):
    """Raised when a commit cannot be applied just now; the sender should send the commit again shortly."""
