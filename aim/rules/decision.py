"""What one evaluation means for one person: raise a new alert, add to the current one, or nothing (pure logic).

An alert covers an *episode*: the window it was raised for, stretched as later runs add interactions to it. A run
whose window overlaps an existing alert of the same rule belongs to that alert, so the same alert is never raised
twice for a person and window; new interactions are added to it, and a partner not seen before re-opens it if it
was closed (or withdrawn).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from aim.rules.model import Rule
from aim.rules.query import Hit
from aim.rules.store import AlertState


@dataclass(frozen=True)
class Decision:
    kind: str  # raise | extend | none | suppressed
    hits: tuple[Hit, ...] = ()
    new_keys: tuple[str, ...] = ()
    alert: AlertState | None = None
    reopen: bool = False
    reason: str = ""
    keys: tuple[str, ...] = field(default_factory=tuple)


def decide(
    rule: Rule,
    as_of: date,
    hits: Sequence[Hit],
    existing: Sequence[AlertState],
    *,
    has_open_alert: bool = False,
    watched: bool = False,
) -> Decision:
    """The decision for one person who qualifies for ``rule`` as of ``as_of`` with ``hits``."""
    start, end = rule.window.bounds(as_of)
    keys = tuple(sorted({hit.key(rule.distinct_by) for hit in hits}))
    episode = next((a for a in existing if a.window_start <= end and a.window_end >= start), None)
    if episode is not None:
        fresh = tuple(hit for hit in hits if hit.record_pk not in episode.evidence)
        if not fresh:
            return Decision("none", alert=episode, keys=keys)
        new_keys = tuple(sorted({hit.key(rule.distinct_by) for hit in fresh} - episode.seen))
        reopen = episode.status == "withdrawn" or (episode.status == "closed" and bool(new_keys))
        return Decision("extend", hits=fresh, new_keys=new_keys, alert=episode, reopen=reopen, keys=keys)
    if rule.suppression.skip_if_watched and watched:
        return Decision("suppressed", reason="the person is on the watch list", keys=keys)
    if rule.suppression.skip_if_open and has_open_alert:
        return Decision("suppressed", reason="the person already has an open alert", keys=keys)
    cooldown = timedelta(days=rule.suppression.cooldown_days)
    closed = [a.closed_at.date() for a in existing if a.closed_at is not None and a.status == "closed"]
    if cooldown and closed and as_of < max(closed) + cooldown:
        return Decision("suppressed", reason=f"within {rule.suppression.cooldown_days} days of closing", keys=keys)
    return Decision("raise", hits=tuple(hits), new_keys=keys, keys=keys)
