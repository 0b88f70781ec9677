"""Horizontal bar charts drawn as inline SVG by a template: the geometry is worked out here, the picture there.

A chart is drawn from a report table's rows exactly as the hub returned them. A suppressed count (``<5``) is never
given a length that would suggest a value: it is a short outlined stub, labelled ``<5``, and the description says so.
There are no totals, so nothing suppressed can be recovered from the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 460
"""The chart's drawing width: drawn at this size beside its table, scaled down on a narrow screen."""

LABEL_HEIGHT = 22
BAR_HEIGHT = 20
GAP = 12
COUNT_ROOM = 64
"""Room kept right of the longest bar for its count."""

STUB = 14
"""The drawn length of a suppressed count: a fixed mark, not to scale."""


@dataclass(frozen=True)
class Bar:
    """One row: its label above, the bar below at ``bar_y``, and the count shown after it."""

    label: str
    shown: str
    label_y: int
    bar_y: int
    length: float
    suppressed: bool

    @property
    def count_x(self) -> float:
        return self.length + 8


@dataclass(frozen=True)
class BarChart:
    """A titled, described chart of bars, ``width`` by ``height`` in its own units."""

    chart_id: str
    title: str
    desc: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    bar_height: int


def bar_chart(*, chart_id: str, title: str, what: str, rows: list[tuple[str, str]]) -> BarChart | None:
    """A chart with one bar per ``(label, shown count)``; ``None`` when there is nothing to draw.

    ``what`` says what one bar is (``"one bar per purpose and role"``) for the description.
    """
    if not rows:
        return None
    counts = [int(shown) for _label, shown in rows if shown.isdigit()]
    largest = max(counts, default=0)
    scale = (WIDTH - COUNT_ROOM) / largest if largest else 0.0
    bars = []
    y = 0
    for label, shown in rows:
        suppressed = not shown.isdigit()
        length = float(STUB) if suppressed else max(int(shown) * scale, 2.0)
        bars.append(Bar(label, shown, y + LABEL_HEIGHT - 5, y + LABEL_HEIGHT, length, suppressed))
        y += LABEL_HEIGHT + BAR_HEIGHT + GAP
    suppressed_note = (
        " Counts from 1 to 4 are shown as <5 and drawn as a short outlined mark, not to scale."
        if any(bar.suppressed for bar in bars)
        else ""
    )
    desc = f"Horizontal bars, {what}; longer means more.{suppressed_note} The same counts are in the table."
    return BarChart(chart_id, title, desc, tuple(bars), WIDTH, max(y - GAP, BAR_HEIGHT), BAR_HEIGHT)
