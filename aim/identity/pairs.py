"""What to do with each scored candidate pair: link (and by which method), queue for review, or leave apart, and
which pairs must never share a person (the chaining guard's conflicts). Pure: arrays in, arrays out.

Evidence, strongest first:

    a steward's decision        accepted pairs link ("steward"); rejected pairs never share a person
    the same local id           from the same partner (the token is scoped to the partner): "deterministic_local_id"
    the same NHS number         "deterministic_nhs"
    the model's match weight    at or above the upper threshold: "probabilistic"; between the thresholds: review

A probabilistic link is vetoed (sent to review instead) when both records have a date of birth and they disagree,
or both have a first name and it differs: twins share a surname, a birthday and an address but not a first name,
and a parent and a child named after them share names and an address but not a birthday. The hub also applies the
household guard of :func:`linkage.scoring.household_guard` (real populations live in households): a date of birth
agreeing on the year alone is vetoed too, unless the NHS number agrees. A vetoed pair is also a conflict: the
chaining guard will not put it into one person through other links.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from linkage.batch import RecordBatch
from linkage.fellegi_sunter import match_probability
from linkage.model import LinkageModel
from linkage.scoring import ScoredPairs, household_guard

DETERMINISTIC_LOCAL = "deterministic_local_id"
DETERMINISTIC_NHS = "deterministic_nhs"
PROBABILISTIC = "probabilistic"
STEWARD = "steward"
SINGLETON = "singleton"
METHOD_RANK = {STEWARD: 4, DETERMINISTIC_LOCAL: 3, DETERMINISTIC_NHS: 2, PROBABILISTIC: 1}
VETO_COMPARISONS = ("date_of_birth", "first_name")

NO_DECISION, ACCEPTED, REJECTED = 0, 1, 2
Bools = NDArray[np.bool_]


@dataclass(frozen=True)
class Verdicts:
    """Per pair: whether it links and how, whether it goes to review, whether it must never share a person."""

    link: Bools
    method: NDArray[np.object_]
    review: Bools
    conflict: Bools


def _same_token(left: RecordBatch, right: RecordBatch, name: str, i: NDArray[np.int64], j: NDArray[np.int64]) -> Bools:
    a, b = left.tokens[name][i], right.tokens[name][j]
    same: Bools = (a != 0) & (a == b)
    return same


def vetoed(model: LinkageModel, scored: ScoredPairs) -> Bools:
    """Pairs whose date of birth or first name disagree outright (both present, the "different" level), and pairs
    the household guard holds (a date of birth agreeing on the year alone, without the same NHS number)."""
    out = np.zeros(len(scored), dtype=np.bool_)
    for k, cm in enumerate(model.comparisons):
        if cm.comparison.name in VETO_COMPARISONS:
            out |= scored.gamma[:, k] == len(cm.comparison.levels) - 1
    guarded: Bools = out | household_guard(model, scored.gamma)
    return guarded


def judge(
    model: LinkageModel,
    left: RecordBatch,
    right: RecordBatch,
    scored: ScoredPairs,
    decisions: NDArray[np.int8],
) -> Verdicts:
    """Decide every scored pair ``(left[i], right[j])``.

    Args:
        model: the model that scored the pairs (its thresholds decide).
        left: the left records.
        right: the right records.
        scored: the pairs, their comparison vectors and weights.
        decisions: the steward's decision per pair (:data:`NO_DECISION`, :data:`ACCEPTED`, :data:`REJECTED`).
    """
    n = len(scored)
    local = _same_token(left, right, "tk_local", scored.i, scored.j)
    nhs = _same_token(left, right, "tk_nhs", scored.i, scored.j)
    accepted, rejected = decisions == ACCEPTED, decisions == REJECTED
    veto = vetoed(model, scored)
    high = scored.weight >= model.thresholds.upper
    middle = (scored.weight >= model.thresholds.lower) & ~high
    method = np.full(n, "", dtype=object)
    method[high & ~veto] = PROBABILISTIC
    method[nhs] = DETERMINISTIC_NHS
    method[local] = DETERMINISTIC_LOCAL
    method[accepted] = STEWARD
    method[rejected] = ""
    link = method != ""
    strong = accepted | ((local | nhs) & ~rejected)
    review = ~link & ~rejected & (middle | (high & veto))
    conflict = ~strong & (rejected | veto | (scored.weight < model.thresholds.lower))
    return Verdicts(link=link, method=method, review=review, conflict=conflict)


def confidence(weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """The posterior match probability of each weight (stored with a link; screens show a band of it)."""
    return match_probability(weights)


def band(weight: float | None, model: LinkageModel) -> str:
    """A confidence band for a screen, never the number itself."""
    if weight is None:
        return "not scored"
    if weight >= model.thresholds.upper:
        return "high"
    probability = float(match_probability(np.array([weight]))[0])
    return "medium" if probability >= 0.5 else "low"


def level_labels(model: LinkageModel, gamma_row: NDArray[np.int8]) -> list[list[str]]:
    """``[comparison label, level label]`` for each comparison of one pair: what the steward sees."""
    return [
        [cm.comparison.label, cm.comparison.levels[int(level)].label]
        for cm, level in zip(model.comparisons, gamma_row, strict=True)
    ]
