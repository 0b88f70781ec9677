"""What a search, a person view and a timeline return: public shapes only (no encoding, no weight, no score)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

STRONG = "strong"
POSSIBLE = "possible"
CONFIRMED = "confirmed"
FIRST_RECORD = "first record"


@dataclass(frozen=True)
class PartnerActivity:
    """One partner's activity about a person: how many interactions, when, the latest flag (masked) and whom to call."""

    partner: str
    partner_name: str
    interactions: int
    first_date: date
    last_date: date
    latest_flag: str | None  # None when the flag's category is not visible to the request
    lead_contact: str


@dataclass(frozen=True)
class PersonSummary:
    """A person as a screen shows them: the match band (for a search) and their activity summary."""

    person_id: int
    band: str | None  # "strong" or "possible" for a search; None for a person view
    interactions: int
    partners_count: int
    first_date: date
    last_date: date
    partners: tuple[PartnerActivity, ...]


@dataclass(frozen=True)
class SearchResult:
    """Persons ranked best first, and how many there were before ``limit``."""

    persons: tuple[PersonSummary, ...]
    total: int


@dataclass(frozen=True)
class Interaction:
    """One interaction on a person's timeline, with how its record joined the person (a band, never a weight)."""

    partner: str
    partner_name: str
    interaction_date: date
    flag: str | None
    lead_contact: str
    confidence: str


@dataclass(frozen=True)
class TimelinePage:
    """A page of a person's interactions, newest first."""

    person_id: int
    items: tuple[Interaction, ...]
    total: int
    limit: int
    offset: int
