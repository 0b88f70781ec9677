"""A rule of the event-recognition language: plain data, loaded from and dumped to YAML (see ``docs/rules.md``).

A rule counts the *distinct* partners (or partner types) that reported activity about one person in a trailing
window of ``window.days`` days ending on the run date, anchored on ``interaction_date``; at ``threshold`` or more it
raises an alert or a watch-list suggestion. Rules state facts with their explanation; they never score anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

STATUSES = ("draft", "shadow", "active", "retired")
ACTIONS = ("alert", "watchlist_suggestion")
DISTINCT_BY = ("partner", "partner_type")
SEVERITIES = ("low", "medium", "high")
ANCHORS = ("interaction_date",)


@dataclass(frozen=True)
class Window:
    """The trailing window: ``days`` calendar days ending on the run date (inclusive)."""

    days: int
    anchor: str = "interaction_date"

    def bounds(self, as_of: date) -> tuple[date, date]:
        """First and last day of the window as of ``as_of``: with 30 days, 29 days back to ``as_of``."""
        return as_of - timedelta(days=self.days - 1), as_of


@dataclass(frozen=True)
class Filter:
    """Which interactions count: any flag listed, or any flag of a listed category; both empty: every flag."""

    flags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def flag_set(self, vocabulary: dict[str, str]) -> frozenset[str] | None:
        """The flags that count (``vocabulary`` maps flag -> category); ``None`` when every flag counts."""
        if not self.flags and not self.categories:
            return None
        chosen = set(self.flags)
        chosen |= {flag for flag, category in vocabulary.items() if category in self.categories}
        return frozenset(chosen)


@dataclass(frozen=True)
class Suppression:
    """When not to raise: within ``cooldown_days`` of closing the last one; while another alert for the person is
    open; while the person is on the watch list."""

    cooldown_days: int = 0
    skip_if_open: bool = False
    skip_if_watched: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    version: int
    title: str
    status: str
    window: Window
    distinct_by: str
    threshold: int
    action: str
    severity: str
    queue: str
    description: str = ""
    filter: Filter = field(default_factory=Filter)
    suppression: Suppression = field(default_factory=Suppression)

    @property
    def mode(self) -> str | None:
        """Where its alerts go: ``live`` (active), ``shadow`` (shadow), or nowhere (draft, retired)."""
        return {"active": "live", "shadow": "shadow"}.get(self.status)

    def to_dict(self) -> dict[str, Any]:
        """The rule as the YAML file writes it (loading this back gives an equal rule)."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "window": {"days": self.window.days, "anchor": self.window.anchor},
            "distinct_by": self.distinct_by,
            "threshold": self.threshold,
            "filter": {"flags": list(self.filter.flags), "categories": list(self.filter.categories)},
            "action": self.action,
            "severity": self.severity,
            "queue": self.queue,
            "suppression": {
                "cooldown_days": self.suppression.cooldown_days,
                "skip_if_open": self.suppression.skip_if_open,
                "skip_if_watched": self.suppression.skip_if_watched,
            },
        }
