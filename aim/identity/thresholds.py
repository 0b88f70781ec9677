"""The hub's decision thresholds, chosen from the model alone (no labels): where a link starts, and how deep the data
steward's review band goes.

``upper`` maximises the F1 the model expects of itself (:func:`linkage.training.choose_thresholds`).

``lower`` bounds the review band by what a steward can decide. Below ``upper``, the model's posterior says how likely
each pair is to be one person. Going down from ``upper``, the band is made as deep as it can be while the pairs in it
are, on the model's own reckoning, at least :data:`BAND_YIELD` matches on average (one in three: deeper, the band
fills with pairs that are nearly all strangers and the steward's time goes on them), and never below a posterior of
:data:`FLOOR` (1 %). Pairs the household guard holds (twins, a parent and child of one name) sit just below ``upper``
and are in the band whenever their weight reaches ``lower``: they are exactly the questions a steward should answer.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from linkage.batch import RecordBatch
from linkage.fellegi_sunter import log2_odds, match_probability
from linkage.model import LinkageModel, Thresholds
from linkage.scoring import find_candidates, score_candidates, term_frequencies
from linkage.training import choose_thresholds

BAND_YIELD = 1 / 3
FLOOR = 0.01


def review_floor(weights: NDArray[np.float64], upper: float) -> float:
    """The lowest weight of the review band (see the module docstring), rounded to 0.01.

    Args:
        weights: match weights of the candidate pairs.
        upper: the link threshold.
    """
    floor = float(log2_odds(FLOOR))
    below = np.sort(weights[(weights < upper) & (weights >= floor)])[::-1]
    if len(below) == 0:
        return round(min(floor, upper), 2)
    running = np.cumsum(match_probability(below)) / np.arange(1, len(below) + 1)
    deep = np.flatnonzero(running >= BAND_YIELD)
    if len(deep) == 0:
        return round(float(below[0]), 2)
    return round(float(below[int(deep[-1])]), 2)


def choose(weights: NDArray[np.float64], model: LinkageModel) -> Thresholds:
    """``upper`` and ``lower`` for ``model`` from the weights of its candidate pairs (no labels)."""
    upper = choose_thresholds(weights).upper
    return Thresholds(upper=upper, lower=min(review_floor(weights, upper), upper))


def describe(weights: NDArray[np.float64], model: LinkageModel) -> str:
    """A line on the thresholds: how many candidate pairs link, and how many fall in the review band."""
    t = model.thresholds
    linked = int((weights >= t.upper).sum())
    band = int(((weights >= t.lower) & (weights < t.upper)).sum())
    old = int(((weights >= log2_odds(FLOOR)) & (weights < t.upper)).sum())
    return (
        f"link at {t.upper:+.2f} ({linked} pairs), review from {t.lower:+.2f} ({band} pairs before the household "
        f"guard; {old} with a 1 % floor)"
    )


def candidate_weights(model: LinkageModel, batch: RecordBatch) -> NDArray[np.float64]:
    """The match weight of every blocked pair within ``batch``, as the hub scores it (term frequencies over it)."""
    candidates = find_candidates(model, batch, None)
    scored = score_candidates(model, batch, None, candidates, frequencies=term_frequencies(model, batch))
    return np.asarray(scored.weight, dtype=np.float64)


def with_thresholds(model: LinkageModel, batch: RecordBatch) -> tuple[LinkageModel, NDArray[np.float64]]:
    """``model`` with thresholds chosen by :func:`choose` on its candidate pairs in ``batch`` (and those weights)."""
    weights = candidate_weights(model, batch)
    trained_on = {**model.trained_on, "thresholds": "aim.identity.thresholds.choose (no labels)"}
    return replace(model, thresholds=choose(weights, model), trained_on=trained_on), weights
