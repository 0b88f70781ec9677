"""docs/benchmarks.md is made of sections, each written by one benchmark between its own markers."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, text: str, start: str, end: str) -> None:
    """Put ``text`` (which carries the markers) where the section between ``start`` and ``end`` stands in ``path``,
    or append it; the other sections are kept."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        current = before + text + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(current, encoding="utf-8")
