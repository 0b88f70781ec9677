"""Fellegi-Sunter maths against known answers: EM recovers the m, u and prior that generated the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import recordlinkage

from linkage.errors import ModelError
from linkage.fellegi_sunter import (
    TermFrequencies,
    bayes_factors,
    distinct_vectors,
    estimate_u,
    expectation_maximisation,
    level_proportions,
    log2_odds,
    match_probability,
    match_weights,
    random_pairs,
    tf_adjustment,
)

# Three comparisons with a null level (index 0) and 3, 4 and 2 agreement levels; m and u over the non-null levels.
TRUE_M = [np.array([1, 0.85, 0.10, 0.05]), np.array([1, 0.70, 0.15, 0.10, 0.05]), np.array([1, 0.9, 0.1])]
TRUE_U = [np.array([1, 0.01, 0.09, 0.90]), np.array([1, 0.02, 0.05, 0.13, 0.80]), np.array([1, 0.3, 0.7])]
N_LEVELS = [len(m) for m in TRUE_M]


def simulate(n: int, prior: float, null_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Comparison vectors drawn from the model itself: each pair a match with probability ``prior``."""
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < prior
    gamma = np.empty((n, len(TRUE_M)), dtype=np.int8)
    for k, (m, u) in enumerate(zip(TRUE_M, TRUE_U, strict=True)):
        levels = np.arange(1, len(m))
        gamma[:, k] = np.where(is_match, rng.choice(levels, size=n, p=m[1:]), rng.choice(levels, size=n, p=u[1:]))
        gamma[rng.random(n) < null_share, k] = 0
    return gamma, is_match


def neutral_start() -> tuple[list[np.ndarray], list[np.ndarray]]:
    m = [np.r_[1.0, np.linspace(2, 1, n - 1) / np.linspace(2, 1, n - 1).sum()] for n in N_LEVELS]
    u = [np.r_[1.0, np.linspace(1, 2, n - 1) / np.linspace(1, 2, n - 1).sum()] for n in N_LEVELS]
    return m, u


@pytest.mark.parametrize(
    ("description", "prior", "fix_u"),
    [
        ("many matches, u estimated too", 0.3, False),
        ("few matches, u estimated too", 0.05, False),
        ("u fixed at its true value", 0.05, True),
    ],
)
def test_em_recovers_known_m_u_and_prior(description: str, prior: float, fix_u: bool) -> None:
    gamma, _ = simulate(200_000, prior, null_share=0.1, seed=1)
    m_start, u_start = neutral_start()
    result = expectation_maximisation(
        gamma, N_LEVELS, m=m_start, u=TRUE_U if fix_u else u_start, prior=0.5, fix_u=fix_u
    )
    assert result.converged, description
    assert result.prior == pytest.approx(prior, abs=0.01)
    for m, true in zip(result.m, TRUE_M, strict=True):
        np.testing.assert_allclose(m[1:], true[1:], atol=0.02)
    for u, true in zip(result.u, TRUE_U, strict=True):
        np.testing.assert_allclose(u[1:], true[1:], atol=0.02)


def test_em_leaves_inactive_comparisons_as_given() -> None:
    gamma, _ = simulate(50_000, 0.2, null_share=0.0, seed=2)
    m_start, _ = neutral_start()
    result = expectation_maximisation(gamma, N_LEVELS, m=m_start, u=TRUE_U, prior=0.5, active=[True, True, False])
    np.testing.assert_array_equal(result.m[2], m_start[2])
    np.testing.assert_allclose(result.m[0][1:], TRUE_M[0][1:], atol=0.03)


def test_em_agrees_with_recordlinkage_ecm_on_binary_vectors() -> None:
    rng = np.random.default_rng(3)
    n, prior, m, u = 20_000, 0.2, [0.95, 0.9, 0.8], [0.05, 0.1, 0.2]
    is_match = rng.random(n) < prior
    agree = np.stack(
        [np.where(is_match, rng.random(n) < mk, rng.random(n) < uk) for mk, uk in zip(m, u, strict=True)], 1
    )
    ecm = recordlinkage.ECMClassifier()
    ecm.fit(pd.DataFrame(agree.astype(int), columns=["a", "b", "c"]))

    gamma = np.where(agree, 1, 2).astype(np.int8)  # level 1 agree, level 2 disagree; no nulls
    start = [np.array([1.0, 0.6, 0.4])] * 3
    ours = expectation_maximisation(
        gamma, [3, 3, 3], m=start, u=[np.array([1.0, 0.4, 0.6])] * 3, prior=0.5, fix_u=False
    )
    assert ours.prior == pytest.approx(ecm.p, abs=0.005)
    for k, name in enumerate("abc"):
        assert ours.m[k][1] == pytest.approx(ecm.m_probs[name][1], abs=0.005)
        assert ours.u[k][1] == pytest.approx(ecm.u_probs[name][1], abs=0.005)


def test_u_from_random_pairs_is_the_level_share_ignoring_nulls() -> None:
    gamma = np.array([[0], [1], [2], [2], [3]], dtype=np.int8)
    (u,) = estimate_u(gamma, [4])
    np.testing.assert_allclose(u, [1, 0.25, 0.5, 0.25])


def test_an_unseen_level_is_floored_so_its_weight_is_finite() -> None:
    (share,) = level_proportions(np.array([[1], [1]], dtype=np.int8), [3])
    assert share[2] > 0
    assert np.isfinite(bayes_factors([share], [np.array([1, 0.5, 0.5])])[0]).all()


def test_match_weight_is_prior_log_odds_plus_the_bayes_factors() -> None:
    m = [np.array([1, 0.9, 0.1]), np.array([1, 0.8, 0.2])]
    u = [np.array([1, 0.1, 0.9]), np.array([1, 0.2, 0.8])]
    bf = bayes_factors(m, u)
    assert bf[0][0] == 0.0
    gamma = np.array([[1, 1], [2, 0], [0, 0]], dtype=np.int8)
    weights = match_weights(gamma, bf, prior=0.2)
    expected = np.log2(0.25) + np.array([np.log2(9) + np.log2(4), np.log2(1 / 9), 0.0])
    np.testing.assert_allclose(weights, expected)
    np.testing.assert_allclose(match_probability(np.array([0.0, np.log2(3)])), [0.5, 0.75])


def test_a_prior_outside_zero_and_one_is_refused() -> None:
    with pytest.raises(ModelError, match="prior"):
        log2_odds(1.0)


def test_random_pairs_never_pair_a_record_with_itself() -> None:
    i, j = random_pairs(5, None, 10_000, seed=0)
    assert (i != j).all()
    assert set(np.unique(j)) == set(range(5))


def test_distinct_vectors_count_every_pair_once() -> None:
    gamma = np.array([[1, 2], [1, 2], [0, 1]], dtype=np.int8)
    patterns, counts = distinct_vectors(gamma, [3, 3])
    assert {tuple(p): c for p, c in zip(patterns.tolist(), counts.tolist(), strict=True)} == {(1, 2): 2, (0, 1): 1}


def test_term_frequency_adjustment_rewards_rare_values_and_penalises_common_ones() -> None:
    tokens = np.array([5] * 50 + [6] * 2 + [0] * 10, dtype=np.uint64)
    table = TermFrequencies.of(tokens)
    shares = table.share(np.array([5, 6, 7], dtype=np.uint64), table.floor)
    np.testing.assert_allclose(shares, [50 / 52, 2 / 52, 1 / 52])
    adjust = tf_adjustment(0.1, shares, max_bits=10.0)
    assert adjust[0] < 0 < adjust[1] < adjust[2]
    assert adjust[1] == pytest.approx(np.log2(0.1 / (2 / 52)))
    assert tf_adjustment(0.1, np.array([1e-9]), max_bits=4.0)[0] == 4.0
