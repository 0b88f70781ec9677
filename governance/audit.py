"""The audit log: events, their canonical form, the hash chain, and the sink port with an in-memory sink.

Every search (zero-result and denied ones too), view and change becomes one :class:`AuditEvent`. Appending it makes
an :class:`AuditEntry` whose hash is SHA-256 over the previous entry's hash and the entry's canonical bytes (its
sequence number and event), so changing, removing, inserting or reordering any entry breaks the chain from there on.
Signed checkpoints (:mod:`governance.checkpoint`) pin the chain's head; :func:`governance.audit_verify.verify`
checks both. The format is described in ``docs/audit.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from governance.checkpoint import Checkpoint, CheckpointSigner
from governance.decision import AccessRequest, Decision
from governance.errors import AuditError

GENESIS_HASH = "0" * 64
"""The "previous hash" of the first entry."""

TARGET_KINDS = frozenset(
    {
        "person",
        "alert",
        "query",
        "watchlist",
        "link",
        "user",
        "feed",
        "grant",
        "policy",
        "rule",
        "sar",
        "purge",
        "report",
        "audit",
        "partner",
    }
)
"""What an event's target may name; the value after the colon is an opaque id, never a name or a date of birth."""

_TARGET = re.compile(r"^([a-z_]+):([A-Za-z0-9._\-]{1,128})$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class Outcome(StrEnum):
    """How a request ended."""

    ALLOWED = "allowed"
    DENIED = "denied"
    ZERO_RESULT = "zero_result"


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened at the hub, as the audit log keeps it.

    Attributes:
        occurred_at: when, timezone-aware (stored as UTC to the microsecond).
        actor: the user id, ``system:<job>`` for a scheduled job, or ``None`` when nobody was signed in.
        organisation: the actor's organisation (partner code), if any.
        roles: the roles the actor held.
        action: the action asked for (see :mod:`governance.action`), or a job's name such as ``retention_purge``.
        outcome: allowed, denied or zero-result.
        purpose: the declared purpose, if any.
        case_reference: the declared case reference, if any.
        target: ``kind:opaque-id`` — ``person:P123``, ``alert:A9``, ``query:<sha-256 of the encoded query>``;
            never a plaintext identifier (see :func:`query_target`).
        reasons: the decision's reasons, ``code: sentence``.
        break_glass_grant: the break-glass grant used, if any.
        request_id: the hub's request id, so requests and entries can be counted one for one.
        counts: numbers worth keeping, e.g. ``{"results": 3}`` or rows removed per table by a purge.
    """

    occurred_at: datetime
    actor: str | None
    action: str
    outcome: Outcome
    organisation: str | None = None
    roles: tuple[str, ...] = ()
    purpose: str | None = None
    case_reference: str | None = None
    target: str | None = None
    reasons: tuple[str, ...] = ()
    break_glass_grant: str | None = None
    request_id: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise AuditError("an audit event's time must be timezone-aware: pass datetime.now(UTC)")
        if not self.action:
            raise AuditError("an audit event must name its action")
        if self.target is not None:
            _check_target(self.target)
        if any(not isinstance(value, int) or isinstance(value, bool) or value < 0 for value in self.counts.values()):
            raise AuditError(f"audit counts must be whole numbers of at least 0, got {dict(self.counts)}")


def _check_target(target: str) -> None:
    match = _TARGET.match(target)
    if match is None or match.group(1) not in TARGET_KINDS:
        kinds = ", ".join(sorted(TARGET_KINDS))
        raise AuditError(
            f"audit target {target!r} is not `kind:opaque-id`; use one of the kinds {kinds} followed by an id "
            "(letters, digits, . _ -), never a name, date of birth or address"
        )
    if match.group(1) == "query" and not _HEX64.match(match.group(2)):
        raise AuditError("a query target must be `query:<sha-256 hex>`: build it with query_target(encoded_query)")


def query_target(encoded_query: Mapping[str, str]) -> str:
    """The audit target for a search: a fingerprint of the *encoded* query, never the plaintext.

    Args:
        encoded_query: the encoded search fields as the portal sent them (field name -> encoding).

    Returns:
        ``query:<sha-256 hex>``.
    """
    canonical = json.dumps(dict(encoded_query), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "query:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def audit_event(
    request: AccessRequest,
    decision: Decision,
    *,
    target: str | None = None,
    outcome: Outcome | None = None,
    request_id: str | None = None,
    counts: Mapping[str, int] | None = None,
) -> AuditEvent:
    """The audit event for a decided request; the hub writes it in the same transaction as the action.

    Args:
        request: the request decided.
        decision: the decision.
        target: what was read or changed (``kind:opaque-id``).
        outcome: defaults to allowed/denied from the decision; pass ``Outcome.ZERO_RESULT`` for an empty search.
        request_id: the hub's request id.
        counts: e.g. ``{"results": 0}``.

    Returns:
        The event to append.
    """
    subject = request.subject
    return AuditEvent(
        occurred_at=request.at,
        actor=subject.user_id,
        action=request.action,
        outcome=outcome or (Outcome.ALLOWED if decision.allowed else Outcome.DENIED),
        organisation=subject.organisation,
        roles=tuple(sorted(subject.roles)),
        purpose=request.purpose,
        case_reference=request.case_reference,
        target=target,
        reasons=tuple(f"{reason.code.value}: {reason.message}" for reason in decision.reasons),
        break_glass_grant=decision.break_glass_grant,
        request_id=request_id,
        counts=dict(counts or {}),
    )


def format_time(moment: datetime) -> str:
    """A time as the log stores it: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time`."""
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def event_to_record(event: AuditEvent) -> dict[str, Any]:
    """The event as JSON-ready values (for storage and for hashing)."""
    return {
        "occurred_at": format_time(event.occurred_at),
        "actor": event.actor,
        "organisation": event.organisation,
        "roles": list(event.roles),
        "action": event.action,
        "outcome": event.outcome.value,
        "purpose": event.purpose,
        "case_reference": event.case_reference,
        "target": event.target,
        "reasons": list(event.reasons),
        "break_glass_grant": event.break_glass_grant,
        "request_id": event.request_id,
        "counts": dict(sorted(event.counts.items())),
    }


def event_from_record(record: Mapping[str, Any]) -> AuditEvent:
    """An event from :func:`event_to_record`'s form (e.g. read back from the database)."""
    return AuditEvent(
        occurred_at=parse_time(record["occurred_at"]),
        actor=record["actor"],
        organisation=record["organisation"],
        roles=tuple(record["roles"]),
        action=record["action"],
        outcome=Outcome(record["outcome"]),
        purpose=record["purpose"],
        case_reference=record["case_reference"],
        target=record["target"],
        reasons=tuple(record["reasons"]),
        break_glass_grant=record["break_glass_grant"],
        request_id=record["request_id"],
        counts=dict(record["counts"]),
    )


def canonical_entry(sequence: int, event: AuditEvent) -> bytes:
    """The exact bytes hashed for an entry: sorted-key compact JSON of the sequence and the event, UTF-8."""
    document = {"sequence": sequence, "event": event_to_record(event)}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(prev_hash: str, sequence: int, event: AuditEvent) -> str:
    """SHA-256 (hex) over the previous hash, a newline, and the canonical entry."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical_entry(sequence, event)).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    """The last entry's sequence number and hash; ``ChainHead(0, GENESIS_HASH)`` for an empty log."""

    sequence: int
    entry_hash: str


EMPTY_HEAD = ChainHead(0, GENESIS_HASH)


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain: sequence numbers start at 1 and go up by one."""

    sequence: int
    prev_hash: str
    entry_hash: str
    event: AuditEvent

    @property
    def head(self) -> ChainHead:
        """This entry as a chain head."""
        return ChainHead(self.sequence, self.entry_hash)


def chain_next(head: ChainHead, event: AuditEvent) -> AuditEntry:
    """The entry that follows ``head``; a database sink calls this with the head it read under a lock.

    Args:
        head: the current head (``EMPTY_HEAD`` for an empty log).
        event: the event to append.

    Returns:
        The new entry.
    """
    sequence = head.sequence + 1
    return AuditEntry(sequence, head.entry_hash, entry_hash(head.entry_hash, sequence, event), event)


class AuditSink(Protocol):
    """Where audit events go; the hub's database sink writes in the same transaction as the action."""

    def append(self, event: AuditEvent) -> AuditEntry:
        """Append one event to the chain and return its entry."""
        ...


class InMemoryAuditSink:
    """An audit sink held in memory, for tests and for the library's own checks."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []
        self.checkpoints: list[Checkpoint] = []

    @property
    def head(self) -> ChainHead:
        """The chain's head."""
        return self.entries[-1].head if self.entries else EMPTY_HEAD

    def append(self, event: AuditEvent) -> AuditEntry:
        """Append one event to the chain and return its entry."""
        entry = chain_next(self.head, event)
        self.entries.append(entry)
        return entry

    def checkpoint(self, signer: CheckpointSigner, at: datetime) -> Checkpoint:
        """Sign the current head and keep the checkpoint."""
        head = self.head
        checkpoint = signer.sign(head.sequence, head.entry_hash, at)
        self.checkpoints.append(checkpoint)
        return checkpoint
