"""The clock port: what time it is, so services never read the system clock themselves.

:class:`SystemClock` is the real one, chosen in :mod:`aim.bootstrap`; :class:`FixedClock` is its fake for tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told; :meth:`advance` moves it on."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware time")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def local_today(clock: Clock, zone: ZoneInfo) -> date:
    """Today's date where the partnership is (a UK partner's "today" starts at local midnight, not UTC's)."""
    return clock.now().astimezone(zone).date()
