"""One problem found in a file, with its place, and a collector that gathers them all before raising.

Loading a policy never stops at the first mistake: every problem is collected (value, rule, fix, and where in the
file) and reported together in one :class:`~governance.errors.PolicyError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from governance.errors import PolicyError


@dataclass(frozen=True)
class Problem:
    """One broken rule in a file.

    Attributes:
        path: where in the document, e.g. ``roles.mash_officer.grants[0].purposes[1]``.
        line: 1-based line in the file, when known.
        column: 1-based column in the file, when known.
        value: the offending value as written (``repr``), or ``None`` when something is missing.
        rule: the rule that was broken.
        fix: how to put it right.
    """

    path: str
    line: int | None
    column: int | None
    value: str | None
    rule: str
    fix: str

    def render(self, source: str) -> str:
        """One line for a person: ``file:line:col: path: value — rule; fix``."""
        place = source
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        got = f" (got {self.value})" if self.value is not None else ""
        return f"{place}: {self.path or '(document)'}: {self.rule}{got}. Fix: {self.fix}"


@dataclass
class ProblemLog:
    """Collects problems while a document is read, then raises them together.

    Attributes:
        source: the file name (or ``<string>``) shown in front of each problem.
        locations: document path -> (line, column), filled by the YAML reader.
    """

    source: str
    locations: dict[str, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, rule: str, fix: str, value: object = None, *, missing: bool = False) -> None:
        """Record one problem at ``path``; a missing value is placed at its parent."""
        line, column = self._place(path)
        shown = None if missing else _shorten(value.isoformat() if isinstance(value, date) else repr(value))
        self.problems.append(Problem(path=path, line=line, column=column, value=shown, rule=rule, fix=fix))

    def _place(self, path: str) -> tuple[int | None, int | None]:
        probe = path
        while probe:
            if probe in self.locations:
                return self.locations[probe]
            probe = _parent(probe)
        return self.locations.get("", (None, None))

    def raise_if_any(self) -> None:
        """Raise one :class:`PolicyError` listing every problem, if there are any."""
        if not self.problems:
            return
        count = len(self.problems)
        lines = [f"{self.source}: {count} problem{'s' if count != 1 else ''} in the policy:"]
        lines += ["  " + problem.render(self.source) for problem in self.problems]
        raise PolicyError("\n".join(lines), tuple(self.problems))


def _parent(path: str) -> str:
    """``a.b[2]`` -> ``a.b``; ``a.b`` -> ``a``; ``a`` -> ``""``."""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
