"""The review band's lower threshold, chosen from the model alone: as deep as the band's expected yield allows."""

from __future__ import annotations

import numpy as np
import pytest

from aim.identity.thresholds import BAND_YIELD, FLOOR, review_floor
from linkage.fellegi_sunter import log2_odds, match_probability


@pytest.mark.parametrize(
    ("description", "weights", "upper", "expected"),
    [
        ("nothing below the link threshold: the 1 % floor", [5.0, 6.0], 0.0, round(log2_odds(FLOOR), 2)),
        ("strong pairs just below upper: all in the band", [-0.1, -0.2, -0.3], 0.0, -0.3),
        ("a long tail of strangers is left out", [-0.5, -1.0] + [-6.0] * 50, 0.0, -1.0),
        ("the floor caps a band of near-matches", [-0.1] * 5 + [-8.0] * 5, 0.0, -0.1),
    ],
)
def test_the_review_floor(description: str, weights: list[float], upper: float, expected: float) -> None:
    assert review_floor(np.array(weights), upper) == pytest.approx(expected), description


def test_the_band_s_expected_yield_is_at_least_the_target() -> None:
    rng = np.random.default_rng(0)
    weights = rng.normal(-9.0, 3.0, 5_000)
    lower = review_floor(weights, 0.0)
    band = weights[(weights >= lower) & (weights < 0.0)]
    assert match_probability(band).mean() >= BAND_YIELD - 1e-9
    deeper = weights[(weights >= lower - 0.5) & (weights < 0.0)]
    assert match_probability(deeper).mean() < BAND_YIELD
