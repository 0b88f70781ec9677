"""Retention: which interactions have outlived the policy's period for their category, and the purge report's shape.

An interaction expires on ``interaction_date + period`` (calendar months for months and years; the 31st clamps to a
shorter month's end) and is purged on or after that day. The nightly purge asks :func:`purge_cutoffs` for one date
per category (every interaction dated on or before it has expired) to build its delete list in the database, then
removes everything derived from those interactions — see :data:`DERIVED_KINDS` — and records a :class:`PurgeReport`
in the audit log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from governance.audit import AuditEvent, Outcome
from governance.errors import RetentionError
from governance.policy import RetentionPeriod, RetentionUnit, add_months

PURGE_ACTION = "retention_purge"
"""The action name of the nightly purge in the audit log."""

PURGE_ACTOR = "system:retention_purge"
"""The actor the nightly purge is recorded as."""

DERIVED_KINDS = ("links", "alert_evidence", "alerts", "watchlist_entries", "review_items", "persons")
"""What the purge removes along with an expired interaction, so no trace of it is left: identity links that rest on
it, alert evidence that cites it (and alerts left with no evidence), watch-list entries and link-review items about
it, and persons left with no interaction at all."""


@dataclass(frozen=True)
class InteractionRef:
    """What retention needs to know about one stored interaction.

    Attributes:
        key: the hub's opaque id for the stored row (never a partner's plaintext data).
        category: the data category of its flag.
        interaction_date: the date the service had contact.
    """

    key: str
    category: str
    interaction_date: date


@dataclass(frozen=True)
class ExpiredInteraction:
    """An interaction past its retention period, and the day it expired."""

    key: str
    category: str
    interaction_date: date
    expired_on: date


def period_for(periods: Mapping[str, RetentionPeriod], category: str) -> RetentionPeriod:
    """The retention period of ``category``.

    Raises:
        RetentionError: the policy sets no period for it (the policy and the data disagree; nothing is purged).
    """
    try:
        return periods[category]
    except KeyError:
        known = ", ".join(periods) or "none"
        raise RetentionError(
            f"no retention period for category {category!r} (the policy has: {known}); "
            f"add `{category}: <n> years` under `retention` in the policy"
        ) from None


def expired_interactions(
    interactions: Iterable[InteractionRef], periods: Mapping[str, RetentionPeriod], as_of: date
) -> list[ExpiredInteraction]:
    """The interactions that have expired on ``as_of``.

    Args:
        interactions: the stored interactions to judge.
        periods: the policy's retention per category (``policy.retention``).
        as_of: the purge's date.

    Returns:
        The expired ones, in the order given.

    Raises:
        RetentionError: an interaction's category has no period.
    """
    expired = []
    for item in interactions:
        expires = period_for(periods, item.category).expires_on(item.interaction_date)
        if expires <= as_of:
            expired.append(ExpiredInteraction(item.key, item.category, item.interaction_date, expires))
    return expired


def last_expired_date(period: RetentionPeriod, as_of: date) -> date:
    """The latest interaction date that has expired on ``as_of``: every date on or before it has, none after."""
    if period.unit is RetentionUnit.DAYS:
        return as_of - timedelta(days=period.amount)
    months = period.amount * (12 if period.unit is RetentionUnit.YEARS else 1)
    candidate = add_months(as_of, -months)  # its expiry is on or before as_of; later days may still be expired
    while period.expires_on(candidate + timedelta(days=1)) <= as_of:
        candidate += timedelta(days=1)
    return candidate


def purge_cutoffs(periods: Mapping[str, RetentionPeriod], as_of: date) -> dict[str, date]:
    """Per category, the latest expired interaction date; the purge deletes rows dated on or before it.

    Args:
        periods: the policy's retention per category.
        as_of: the purge's date.

    Returns:
        category -> cutoff date (inclusive).
    """
    return {category: last_expired_date(period, as_of) for category, period in periods.items()}


@dataclass(frozen=True)
class PurgeReport:
    """What one purge removed; recorded in the audit log and counted in the transparency report.

    Attributes:
        as_of: the purge's date.
        policy_digest: the policy version whose periods applied (:func:`governance.policy_file.policy_digest`).
        cutoffs: category -> the latest interaction date removed.
        interactions: category -> interactions removed.
        derived: kind (see :data:`DERIVED_KINDS`) -> rows removed.
    """

    as_of: date
    policy_digest: str
    cutoffs: Mapping[str, date]
    interactions: Mapping[str, int] = field(default_factory=dict)
    derived: Mapping[str, int] = field(default_factory=dict)

    @property
    def total_interactions(self) -> int:
        """Interactions removed, all categories."""
        return sum(self.interactions.values())

    @classmethod
    def from_expired(
        cls,
        as_of: date,
        policy_digest: str,
        periods: Mapping[str, RetentionPeriod],
        expired: Iterable[ExpiredInteraction],
        derived: Mapping[str, int],
    ) -> PurgeReport:
        """The report for a purge that removed ``expired`` and the ``derived`` rows."""
        counts = Counter(item.category for item in expired)
        return cls(as_of, policy_digest, purge_cutoffs(periods, as_of), dict(counts), dict(derived))

    def audit_event(self, at: datetime) -> AuditEvent:
        """The purge's own audit event: counts per category and per derived kind, never the rows themselves."""
        counts = {f"interactions.{category}": count for category, count in self.interactions.items()}
        counts |= {f"derived.{kind}": count for kind, count in self.derived.items()}
        return AuditEvent(
            occurred_at=at,
            actor=PURGE_ACTOR,
            action=PURGE_ACTION,
            outcome=Outcome.ALLOWED,
            target=f"purge:{self.as_of.isoformat()}",
            reasons=(f"policy {self.policy_digest[:16]}: retention periods applied as of {self.as_of.isoformat()}",),
            counts=counts,
        )
