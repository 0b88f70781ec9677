"""Comparisons: for each candidate pair and each identifier, which agreement level the two records reach.

A comparison is an ordered list of levels. The first level is the *null* level (one side lacks the value, so the pair
carries no evidence either way); the last is the *else* level (nothing above held); in between, from the strongest
agreement down, each level is a conjunction of conditions over the encoded fields. A pair falls into the first level
whose conditions all hold, so levels read like the arms of a ``CASE`` expression. Every level has a label a data
steward's screen can show ("date of birth: day and month swapped").

Conditions (all symmetric in the two records):

``missing``  either side lacks ``field``.
``equal``    the tokens are equal and present.
``dice``     the Dice coefficient of the Bloom filters is at least ``min``.
``overlap``  the two token lists (or a token and a token list) share a token.

With ``other``, a condition compares across fields: ``left.field`` with ``right.other`` and ``left.other`` with
``right.field``. ``cross="either"`` asks for one of the two to hold (one record's date of birth equals the other's
with day and month swapped); ``cross="both"`` asks for both (first name against last name *and* last name against
first name: the names were recorded the wrong way round, rather than one name happening to equal the other's).
:func:`compare` evaluates a list of comparisons for arrays of pairs at once and returns the level index of every pair
in every comparison: the comparison vectors Fellegi-Sunter works on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from linkage.batch import RecordBatch
from linkage.errors import ModelError
from linkage.schema import FIELDS_BY_NAME

ConditionKind = Literal["missing", "equal", "dice", "overlap"]
CONDITION_KINDS: tuple[ConditionKind, ...] = ("missing", "equal", "dice", "overlap")
Cross = Literal["either", "both"]
CROSS_MODES: tuple[Cross, ...] = ("either", "both")
_ALLOWED_FIELD_KINDS = {"missing": {"bloom", "token", "tokens"}, "equal": {"token"}, "dice": {"bloom"}}
_ALLOWED_FIELD_KINDS["overlap"] = {"token", "tokens"}
_CHUNK = 200_000

Pairs = NDArray[np.int64]
Gamma = NDArray[np.int8]


@dataclass(frozen=True)
class Condition:
    """One test on a pair of records; see the module docstring for the kinds."""

    kind: ConditionKind
    field: str
    other: str | None = None
    min: float | None = None
    cross: Cross = "either"

    def problems(self) -> list[str]:
        """What is wrong with this condition (unknown kind, unknown field, a field of the wrong kind)."""
        out: list[str] = []
        if self.kind not in CONDITION_KINDS:
            return [f"condition kind {self.kind!r} is not one of {', '.join(CONDITION_KINDS)}"]
        for name in (self.field, self.other):
            if name is None:
                continue
            spec = FIELDS_BY_NAME.get(name)
            if spec is None:
                out.append(f"condition {self.kind} names field {name!r}, which linkage.schema does not define")
            elif spec.kind not in _ALLOWED_FIELD_KINDS[self.kind]:
                out.append(f"condition {self.kind} cannot use {spec.kind} field {name!r}")
        if self.kind == "dice" and (self.min is None or not 0.0 < self.min <= 1.0):
            out.append(f"dice condition on {self.field!r} needs min in (0, 1], got {self.min!r}")
        if self.kind != "dice" and self.min is not None:
            out.append(f"{self.kind} condition on {self.field!r} takes no min")
        if self.cross not in CROSS_MODES:
            out.append(f"condition on {self.field!r}: cross must be one of {', '.join(CROSS_MODES)}")
        if self.kind == "missing" and self.other is not None:
            out.append(f"missing condition on {self.field!r} takes no other field")
        return out

    def describe(self) -> str:
        """A short text form, e.g. ``dice(bf_first) >= 0.9``."""
        fields = self.field if self.other is None else f"{self.field}~{self.other} ({self.cross})"
        return f"{self.kind}({fields})" + (f" >= {self.min:g}" if self.min is not None else "")


@dataclass(frozen=True)
class Level:
    """One agreement level: a label, the conditions that must all hold, and options.

    Attributes:
        label: what a screen shows after the comparison's label, e.g. ``"day and month swapped"``.
        when: the conditions, all of which must hold; empty only on the else level.
        null: this is the null level (the pair has no evidence in this comparison).
        tf: a token field whose value's frequency adjusts this level's weight (term-frequency adjustment).
    """

    label: str
    when: tuple[Condition, ...] = ()
    null: bool = False
    tf: str | None = None


@dataclass(frozen=True)
class Comparison:
    """An identifier's ordered agreement levels: null first, else last."""

    name: str
    label: str
    levels: tuple[Level, ...] = field(default_factory=tuple)

    def problems(self) -> list[str]:
        """Every structural problem, prefixed with the comparison's name; empty when valid."""
        out: list[str] = []
        levels = self.levels
        if len(levels) < 3:
            out.append("needs at least a null level, one agreement level and an else level")
        if not levels or not levels[0].null or any(level.null for level in levels[1:]):
            out.append("the first level, and only the first, must be the null level")
        if levels and (levels[-1].when or levels[-1].null):
            out.append("the last level must be the else level: no conditions")
        for index, level in enumerate(levels):
            if 0 < index < len(levels) - 1 and not level.when:
                out.append(f"level {index} ({level.label!r}) has no conditions; only the last level may")
            if level.null and any(c.kind != "missing" for c in level.when):
                out.append("the null level may only use missing conditions")
            if level.tf is not None and FIELDS_BY_NAME.get(level.tf, None) is None:
                out.append(f"level {index} adjusts by unknown token field {level.tf!r}")
            out.extend(f"level {index}: {p}" for c in level.when for p in c.problems())
        return [f"comparison {self.name!r}: {p}" for p in out]

    def describe(self, level: int) -> str:
        """The screen label of one level, e.g. ``"date of birth: day and month swapped"``."""
        return f"{self.label}: {self.levels[level].label}"

    @property
    def fields(self) -> frozenset[str]:
        """Every encoded field this comparison reads."""
        names = {c.field for lv in self.levels for c in lv.when} | {c.other for lv in self.levels for c in lv.when}
        return frozenset(n for n in names if n is not None)


def check_comparisons(comparisons: Sequence[Comparison]) -> None:
    """Raise :class:`ModelError` listing every problem in ``comparisons`` (names must also be unique)."""
    problems = [p for c in comparisons for p in c.problems()]
    names = [c.name for c in comparisons]
    problems += [f"comparison name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})]
    if problems:
        raise ModelError("invalid comparisons:\n  " + "\n  ".join(problems))


class _PairView:
    """The pairs of one chunk, with each field test computed once however many levels use it."""

    def __init__(self, left: RecordBatch, right: RecordBatch, i: Pairs, j: Pairs, counts: _Counts) -> None:
        self.left, self.right, self.i, self.j, self.counts = left, right, i, j, counts
        self._tests: dict[tuple[str, str, str], NDArray[np.bool_]] = {}
        self._dice: dict[tuple[str, str], NDArray[np.float64]] = {}

    def holds(self, cond: Condition) -> NDArray[np.bool_]:
        if cond.kind == "missing":
            key = ("missing", cond.field, cond.field)
            if key not in self._tests:
                self._tests[key] = self._missing(cond.field)
            return self._tests[key]
        forward = self._test(cond, cond.field, cond.other or cond.field)
        if cond.other is None:
            return forward
        backward = self._test(cond, cond.other, cond.field)
        return forward & backward if cond.cross == "both" else forward | backward

    def _test(self, cond: Condition, name: str, other: str) -> NDArray[np.bool_]:
        """``cond`` on ``left.name`` against ``right.other``."""
        if cond.kind == "dice":
            passed: NDArray[np.bool_] = self.dice(name, other) >= (cond.min or 0.0) - 1e-9
            return passed
        key = (cond.kind, name, other)
        if key not in self._tests:
            self._tests[key] = self._equal(name, other) if cond.kind == "equal" else self._overlap(name, other)
        return self._tests[key]

    def dice(self, name: str, other: str) -> NDArray[np.float64]:
        key = (name, other)
        if key not in self._dice:
            a = self.left.blooms[name][self.i]
            b = self.right.blooms[other][self.j]
            common = np.bitwise_count(a & b).sum(axis=1, dtype=np.int32)
            total = self.counts.left(name)[self.i] + self.counts.right(other)[self.j]
            self._dice[key] = np.where(total > 0, 2.0 * common / np.maximum(total, 1), 0.0)
        return self._dice[key]

    def _missing(self, name: str) -> NDArray[np.bool_]:
        kind = FIELDS_BY_NAME[name].kind
        out: NDArray[np.bool_]
        if kind == "bloom":
            out = (self.counts.left(name)[self.i] == 0) | (self.counts.right(name)[self.j] == 0)
        elif kind == "token":
            out = (self.left.tokens[name][self.i] == 0) | (self.right.tokens[name][self.j] == 0)
        else:
            out = (self.left.token_lists[name][self.i, 0] == 0) | (self.right.token_lists[name][self.j, 0] == 0)
        return out

    def _equal(self, name: str, other: str) -> NDArray[np.bool_]:
        a = self.left.tokens[name][self.i]
        same: NDArray[np.bool_] = (a == self.right.tokens[other][self.j]) & (a != 0)
        return same

    def _list(self, batch: RecordBatch, name: str, rows: Pairs) -> NDArray[np.uint64]:
        if FIELDS_BY_NAME[name].kind == "token":
            return batch.tokens[name][rows][:, None]
        return batch.token_lists[name][rows]

    def _overlap(self, name: str, other: str) -> NDArray[np.bool_]:
        a = self._list(self.left, name, self.i)
        b = self._list(self.right, other, self.j)
        hits: NDArray[np.bool_] = ((a[:, :, None] == b[:, None, :]) & (a[:, :, None] != 0)).any(axis=(1, 2))
        return hits


class _Counts:
    """Set bits per record per Bloom field, computed on first use for each side."""

    def __init__(self, left: RecordBatch, right: RecordBatch) -> None:
        self._left, self._right = left, right
        self._cache: dict[tuple[bool, str], NDArray[np.int32]] = {}

    def _get(self, is_left: bool, name: str) -> NDArray[np.int32]:
        if (is_left, name) not in self._cache:
            batch = self._left if is_left else self._right
            self._cache[(is_left, name)] = np.bitwise_count(batch.blooms[name]).sum(axis=1, dtype=np.int32)
        return self._cache[(is_left, name)]

    def left(self, name: str) -> NDArray[np.int32]:
        return self._get(True, name)

    def right(self, name: str) -> NDArray[np.int32]:
        return self._get(False, name)


def _levels_of(view: _PairView, comparison: Comparison, n: int) -> Gamma:
    out = np.full(n, len(comparison.levels) - 1, dtype=np.int8)
    undecided = np.ones(n, dtype=np.bool_)
    for index, level in enumerate(comparison.levels[:-1]):
        hit = undecided.copy()
        for cond in level.when:
            hit &= view.holds(cond)
        out[hit] = index
        undecided &= ~hit
    return out


def compare(
    comparisons: Sequence[Comparison],
    left: RecordBatch,
    right: RecordBatch,
    i: NDArray[np.integer],
    j: NDArray[np.integer],
) -> Gamma:
    """The comparison vectors of the pairs ``(left[i[p]], right[j[p]])``.

    Args:
        comparisons: what to compare; see :func:`linkage.comparison_library.default_comparisons`.
        left: the records on the left of each pair (for deduplication, the same batch as ``right``).
        right: the records on the right of each pair.
        i: row in ``left`` of each pair.
        j: row in ``right`` of each pair.

    Returns:
        ``int8 [n_pairs, n_comparisons]``: the index of the level each pair reaches in each comparison
        (0 is the null level, ``len(levels) - 1`` the else level).
    """
    i64 = np.asarray(i, dtype=np.int64)
    j64 = np.asarray(j, dtype=np.int64)
    out = np.empty((len(i64), len(comparisons)), dtype=np.int8)
    counts = _Counts(left, right)
    for start in range(0, len(i64), _CHUNK):
        stop = min(start + _CHUNK, len(i64))
        view = _PairView(left, right, i64[start:stop], j64[start:stop], counts)
        for col, comparison in enumerate(comparisons):
            out[start:stop, col] = _levels_of(view, comparison, stop - start)
    return out


def dice(
    left: RecordBatch, right: RecordBatch, name: str, i: NDArray[np.integer], j: NDArray[np.integer]
) -> NDArray[np.float64]:
    """Dice coefficients of Bloom field ``name`` for the pairs ``(left[i], right[j])``; 0 where either is missing.

    Args:
        left: the left records.
        right: the right records.
        name: a Bloom field of the schema.
        i: row in ``left`` of each pair.
        j: row in ``right`` of each pair.
    """
    view = _PairView(left, right, np.asarray(i, np.int64), np.asarray(j, np.int64), _Counts(left, right))
    return view.dice(name, name)
