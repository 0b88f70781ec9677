"""The trained linkage model as data: comparisons and levels, m and u per level, prior, thresholds, blocking, version.

A model is a plain file (JSON or YAML) that round-trips exactly, so the one the hub scores with can be read, diffed,
reviewed and versioned like any other configuration. Loading collects every problem in the file and reports them
together. Scoring adds the prior's log odds and one Bayes factor per comparison (plus any term-frequency
adjustment); deciding compares the match weight with the two thresholds::

    weight >= upper           link
    lower <= weight < upper   review (the data steward's queue)
    weight < lower            non-link
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from linkage.blocking import DEFAULT_MAX_BLOCK_PAIRS, BlockingRule, check_rules
from linkage.comparison import Comparison, Condition, Level, check_comparisons
from linkage.errors import ModelError
from linkage.fellegi_sunter import F64, Gamma, bayes_factors, log2_odds, match_weights
from linkage.schema import ENCODING_PROFILE

MODEL_FORMAT = "aim-linkage-model"
MODEL_FORMAT_VERSION = 1


class Decision(IntEnum):
    """The outcome for a candidate pair."""

    NON_LINK = 0
    REVIEW = 1
    LINK = 2


@dataclass(frozen=True)
class ComparisonModel:
    """One comparison with its estimated ``m`` and ``u`` per level (entry 0, the null level, is ignored)."""

    comparison: Comparison
    m: tuple[float, ...]
    u: tuple[float, ...]

    def problems(self) -> list[str]:
        """What is wrong with the parameters (lengths, ranges, sums)."""
        n = len(self.comparison.levels)
        out = []
        for name, values in (("m", self.m), ("u", self.u)):
            if len(values) != n:
                out.append(f"{name} has {len(values)} values for {n} levels")
            elif not all(0.0 < v <= 1.0 for v in values[1:]):
                out.append(f"{name} values must lie in (0, 1]")
            elif abs(sum(values[1:]) - 1.0) > 1e-6:
                out.append(f"{name} over the non-null levels must sum to 1 (it sums to {sum(values[1:]):.6f})")
        return [f"comparison {self.comparison.name!r}: {p}" for p in out]

    def bayes_factors(self) -> F64:
        """``log2(m / u)`` per level (0 on the null level)."""
        return bayes_factors([np.array(self.m)], [np.array(self.u)])[0]


@dataclass(frozen=True)
class Thresholds:
    """Match-weight thresholds: at or above ``upper`` a link, below ``lower`` a non-link, between a review."""

    upper: float
    lower: float


@dataclass(frozen=True)
class LinkageModel:
    """Everything needed to block, compare, score and decide, as one value.

    Attributes:
        version: the model's own version, recorded with every link it makes.
        comparisons: the comparisons with their ``m`` and ``u``.
        prior: the probability that two records drawn at random are the same person.
        thresholds: the decision thresholds on the match weight.
        blocking: the blocking rules.
        max_block_pairs: the size above which a block is skipped.
        tf_max_bits: the largest term-frequency adjustment either way, in bits (per comparison; a joint
            adjustment over several comparisons is clipped to this times their number).
        joint_tf: groups of comparisons whose term-frequency adjustments are made on the combination of their
            values when all of them agree at their adjusted level (for example first and last name: "Sunil Shah" is
            far commoner than the shares of "Sunil" and of "Shah" multiplied suggest).
        encoding: the encoding profile the model was trained on (see :mod:`linkage.schema`).
        trained_on: what the model was estimated from (record and pair counts, seed, EM iterations, date, ...).
    """

    version: str
    comparisons: tuple[ComparisonModel, ...]
    prior: float
    thresholds: Thresholds
    blocking: tuple[BlockingRule, ...]
    max_block_pairs: int = DEFAULT_MAX_BLOCK_PAIRS
    tf_max_bits: float = 4.0
    joint_tf: tuple[tuple[str, ...], ...] = ()
    encoding: str = ENCODING_PROFILE
    trained_on: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_comparisons([c.comparison for c in self.comparisons])
        check_rules(self.blocking)
        problems = [p for c in self.comparisons for p in c.problems()]
        if not 0.0 < self.prior < 1.0:
            problems.append(f"prior must lie strictly between 0 and 1, got {self.prior!r}")
        if self.thresholds.lower > self.thresholds.upper:
            problems.append("thresholds: lower must not exceed upper")
        problems += self._joint_tf_problems()
        if problems:
            raise ModelError("invalid linkage model:\n  " + "\n  ".join(problems))

    def _joint_tf_problems(self) -> list[str]:
        adjusted = {c.comparison.name for c in self.comparisons if any(lv.tf for lv in c.comparison.levels)}
        out = []
        for index, group in enumerate(self.joint_tf):
            if len(group) < 2 or len(set(group)) != len(group):
                out.append(f"joint_tf[{index}]: name two or more different comparisons, got {list(group)}")
            out += [
                f"joint_tf[{index}]: comparison {name!r} has no term-frequency adjusted level; name one that has"
                for name in group
                if name not in adjusted
            ]
        return out

    @property
    def n_levels(self) -> list[int]:
        """The number of levels of each comparison, in order."""
        return [len(c.comparison.levels) for c in self.comparisons]

    def bayes_factors(self) -> list[F64]:
        """``log2(m / u)`` per comparison and level."""
        return [c.bayes_factors() for c in self.comparisons]

    def match_weights(self, gamma: Gamma) -> F64:
        """The match weight of each pair from its comparison vector (without term-frequency adjustment)."""
        return match_weights(gamma, self.bayes_factors(), self.prior)

    def decide(self, weights: F64) -> NDArray[np.int8]:
        """The :class:`Decision` for each match weight, as ``int8``."""
        out = np.full(len(weights), Decision.REVIEW, dtype=np.int8)
        out[weights >= self.thresholds.upper] = Decision.LINK
        out[weights < self.thresholds.lower] = Decision.NON_LINK
        return out

    def explain(self, gamma_row: Sequence[int]) -> list[tuple[str, float]]:
        """Each comparison's level label and Bayes factor for one pair, for the data steward's review screen."""
        return [
            (c.comparison.describe(int(level)), float(bf[int(level)]))
            for c, bf, level in zip(self.comparisons, self.bayes_factors(), gamma_row, strict=True)
        ]

    def prior_log2_odds(self) -> float:
        """The prior's contribution to every match weight."""
        return log2_odds(self.prior)

    def to_dict(self) -> dict[str, Any]:
        """The model as plain data (what the JSON and YAML files hold)."""
        return {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "version": self.version,
            "encoding": self.encoding,
            "prior": self.prior,
            "thresholds": {"upper": self.thresholds.upper, "lower": self.thresholds.lower},
            "tf_max_bits": self.tf_max_bits,
            **({"joint_tf": [list(group) for group in self.joint_tf]} if self.joint_tf else {}),
            "max_block_pairs": self.max_block_pairs,
            "comparisons": [_comparison_to_dict(c) for c in self.comparisons],
            "blocking": [_rule_to_dict(r) for r in self.blocking],
            "trained_on": dict(self.trained_on),
        }

    def to_json(self) -> str:
        """The model as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def to_yaml(self) -> str:
        """The model as YAML text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinkageModel:
        """Read a model from plain data, reporting every problem at once.

        Raises:
            ModelError: the data is not a valid model; the message lists each problem and where it is.
        """
        return _ModelReader(data).read()

    @classmethod
    def from_json(cls, text: str) -> LinkageModel:
        """Read a model from JSON text; see :meth:`from_dict`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"the model file is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        return cls.from_dict(data)

    @classmethod
    def from_yaml(cls, text: str) -> LinkageModel:
        """Read a model from YAML (or JSON, which is YAML) text; see :meth:`from_dict`."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ModelError(f"the model file is not valid YAML: {exc}") from exc
        return cls.from_dict(data)


def _condition_to_dict(cond: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": cond.kind, "field": cond.field}
    if cond.other is not None:
        out["other"] = cond.other
    if cond.min is not None:
        out["min"] = cond.min
    if cond.other is not None:
        out["cross"] = cond.cross
    return out


def _comparison_to_dict(cm: ComparisonModel) -> dict[str, Any]:
    levels = []
    for level, m, u in zip(cm.comparison.levels, cm.m, cm.u, strict=True):
        item: dict[str, Any] = {"label": level.label}
        if level.null:
            item["null"] = True
        if level.when:
            item["when"] = [_condition_to_dict(c) for c in level.when]
        if level.tf is not None:
            item["tf"] = level.tf
        if not level.null:
            item["m"], item["u"] = m, u
        levels.append(item)
    return {"name": cm.comparison.name, "label": cm.comparison.label, "levels": levels}


def _rule_to_dict(rule: BlockingRule) -> dict[str, Any]:
    out: dict[str, Any] = {"name": rule.name, "on": list(rule.on)}
    if rule.other:
        out["other"] = list(rule.other)
    if rule.bloom is not None:
        out["bloom"], out["band_words"] = rule.bloom, rule.band_words
    return out


_TOP_KEYS = {
    "format",
    "format_version",
    "version",
    "encoding",
    "prior",
    "thresholds",
    "tf_max_bits",
    "joint_tf",
    "max_block_pairs",
    "comparisons",
    "blocking",
    "trained_on",
}


class _ModelReader:
    """Reads a model from plain data, collecting every problem with its place in the file."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.problems: list[str] = []

    def _need(self, where: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, kind):
            self.problems.append(f"{where}: must be {what}")
            return None
        return value

    def read(self) -> LinkageModel:
        data = self.data
        if not isinstance(data, Mapping):
            raise ModelError("the model file must hold a mapping at the top (see docs/linkage.md)")
        if data.get("format") != MODEL_FORMAT:
            self.problems.append(f"format: must be {MODEL_FORMAT!r}")
        if data.get("format_version") != MODEL_FORMAT_VERSION:
            self.problems.append(f"format_version: this hub reads version {MODEL_FORMAT_VERSION}")
        self.problems += [f"{key}: unknown key; remove it" for key in sorted(set(data) - _TOP_KEYS, key=str)]
        version = self._need("version", data.get("version"), str, "a text")
        prior = self._need("prior", data.get("prior"), (int, float), "a number")
        thresholds = self._thresholds(data.get("thresholds"))
        comparisons = self._list("comparisons", data.get("comparisons"), self._comparison)
        blocking = self._list("blocking", data.get("blocking"), self._rule)
        tf_max_bits = self._need("tf_max_bits", data.get("tf_max_bits", 4.0), (int, float), "a number")
        max_pairs = self._need(
            "max_block_pairs", data.get("max_block_pairs", DEFAULT_MAX_BLOCK_PAIRS), int, "an integer"
        )
        encoding = self._need("encoding", data.get("encoding", ENCODING_PROFILE), str, "a text")
        joint_tf = self._joint_tf(data.get("joint_tf", []))
        trained_on = self._need("trained_on", data.get("trained_on", {}), Mapping, "a mapping")
        if self.problems:
            raise ModelError("invalid linkage model file:\n  " + "\n  ".join(self.problems))
        return LinkageModel(
            version=version,
            comparisons=tuple(comparisons),
            prior=float(prior),
            thresholds=thresholds,
            blocking=tuple(blocking),
            max_block_pairs=max_pairs,
            tf_max_bits=float(tf_max_bits),
            joint_tf=joint_tf,
            encoding=encoding,
            trained_on=dict(trained_on),
        )

    def _list(self, where: str, value: Any, read_one: Any) -> list[Any]:
        if not isinstance(value, list) or not value:
            self.problems.append(f"{where}: must be a non-empty list")
            return []
        return [read_one(f"{where}[{index}]", item) for index, item in enumerate(value)]

    def _joint_tf(self, value: Any) -> tuple[tuple[str, ...], ...]:
        groups = value if isinstance(value, list) else None
        if groups is None or not all(isinstance(g, list) and all(isinstance(n, str) for n in g) for g in groups):
            self.problems.append("joint_tf: must be a list of lists of comparison names")
            return ()
        return tuple(tuple(group) for group in groups)

    def _thresholds(self, value: Any) -> Thresholds:
        if not isinstance(value, Mapping):
            self.problems.append("thresholds: must be a mapping with upper and lower")
            return Thresholds(0.0, 0.0)
        upper = self._need("thresholds.upper", value.get("upper"), (int, float), "a number")
        lower = self._need("thresholds.lower", value.get("lower"), (int, float), "a number")
        return Thresholds(float(upper or 0.0), float(lower or 0.0))

    def _condition(self, where: str, value: Any) -> Condition:
        if not isinstance(value, Mapping):
            self.problems.append(f"{where}: must be a mapping with kind and field")
            return Condition("missing", "")
        kind = self._need(f"{where}.kind", value.get("kind"), str, "a condition kind")
        name = self._need(f"{where}.field", value.get("field"), str, "a field name")
        other = value.get("other")
        at_least = value.get("min")
        cross = value.get("cross", "either")
        return Condition(kind or "missing", name or "", other, None if at_least is None else float(at_least), cross)

    def _level(self, where: str, value: Any) -> tuple[Level, float, float]:
        if not isinstance(value, Mapping):
            self.problems.append(f"{where}: must be a mapping with a label")
            return Level(""), 1.0, 1.0
        label = self._need(f"{where}.label", value.get("label"), str, "a text")
        null = bool(value.get("null", False))
        when = value.get("when", [])
        conds = tuple(
            self._condition(f"{where}.when[{k}]", c) for k, c in enumerate(when if isinstance(when, list) else [])
        )
        m = u = 1.0
        if not null:
            m = self._need(f"{where}.m", value.get("m"), (int, float), "a probability") or 1.0
            u = self._need(f"{where}.u", value.get("u"), (int, float), "a probability") or 1.0
        return Level(label or "", conds, null, value.get("tf")), float(m), float(u)

    def _comparison(self, where: str, value: Any) -> ComparisonModel:
        if not isinstance(value, Mapping):
            self.problems.append(f"{where}: must be a mapping with name, label and levels")
            return ComparisonModel(Comparison("", ""), (), ())
        levels = self._list(f"{where}.levels", value.get("levels"), self._level)
        name, label = str(value.get("name", "")), str(value.get("label", ""))
        comparison = Comparison(name, label, tuple(lv for lv, _, _ in levels))
        self.problems += comparison.problems()
        return ComparisonModel(comparison, tuple(m for _, m, _ in levels), tuple(u for _, _, u in levels))

    def _rule(self, where: str, value: Any) -> BlockingRule:
        if not isinstance(value, Mapping):
            self.problems.append(f"{where}: must be a mapping with name and on")
            return BlockingRule("")
        rule = BlockingRule(
            name=str(value.get("name", "")),
            on=tuple(value.get("on", ())),
            other=tuple(value.get("other", ())),
            bloom=value.get("bloom"),
            band_words=int(value.get("band_words", 4)),
        )
        self.problems += [f"{where}: {p}" for p in rule.problems()]
        return rule
