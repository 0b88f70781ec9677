"""A time zone made for a test, in which the hub's night passes in seconds.

The nightly jobs fire at fixed local times (linking 01:00, rules 01:30, retention purge 02:30). This writes a TZif
file (RFC 8536) for a zone whose clocks read 01:00 at a chosen instant and then jump forward twice, like a change to
summer time, so that 01:30 and 02:30 come ``gap`` seconds apart. A child process given ``PYTHONTZPATH`` and
``AIM_TIMEZONE`` naming the zone runs its real scheduler with its real cron triggers through that night.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

ZONE = "AIM/Night"
TIMES = (time(1, 0), time(1, 30), time(2, 30))  # linking, rules, retention purge


def _tzif(transitions: list[int], offsets: list[int], footer: str) -> bytes:
    """A version 2 TZif file: transition ``i`` starts local time type ``i + 1``; type 0 holds before the first."""

    def block(wide: bool) -> bytes:
        head = b"TZif2" + bytes(15) + struct.pack(">6l", 0, 0, 0, len(transitions), len(offsets), 4)
        times = b"".join(struct.pack(">q" if wide else ">l", t) for t in transitions)
        types = bytes(range(1, len(transitions) + 1))
        infos = b"".join(struct.pack(">lBB", offset, 0, 0) for offset in offsets)
        return head + times + types + infos + b"AIM\0"

    return block(wide=False) + block(wide=True) + f"\n{footer}\n".encode("ascii")


def _posix(offset: int) -> str:
    """The POSIX TZ string of a fixed offset east of UTC (POSIX counts west, hence the sign)."""
    sign, size = ("-" if offset >= 0 else "+"), abs(offset)
    return f"<AIM>{sign}{size // 3600}:{size % 3600 // 60:02d}:{size % 60:02d}"


def write_night(folder: Path, *, first: datetime, gap: int) -> list[datetime]:
    """Write the zone under ``folder`` (use it as ``PYTHONTZPATH``): local 01:00 at ``first`` (whole seconds, UTC),
    01:30 ``gap`` seconds later and 02:30 ``gap`` seconds after that. Returns the three instants."""
    instant = int(first.timestamp())
    wall = datetime.fromtimestamp(instant, UTC).replace(tzinfo=None)
    days = (wall.date() + timedelta(days=d) for d in (-1, 0, 1))
    start = min((int((datetime.combine(d, TIMES[0]) - wall).total_seconds()) for d in days), key=abs)
    offsets = [start, start + 30 * 60 - gap, start + 90 * 60 - 2 * gap]
    fires = [instant, instant + gap, instant + 2 * gap]
    path = folder / ZONE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_tzif([fires[0] + gap // 2, fires[1] + gap // 2], offsets, _posix(offsets[-1])))
    return [datetime.fromtimestamp(t, UTC) for t in fires]
