"""Fellegi-Sunter in small pure functions: u from random pairs, m by EM, log2 Bayes factors, match weights.

Notation, per comparison ``k`` and level ``l`` (level 0 is the null level and carries no evidence):

* ``m[k][l] = P(level l | the records are the same person)``,
* ``u[k][l] = P(level l | they are not)``,
* ``bf[k][l] = log2(m[k][l] / u[k][l])``, the level's Bayes factor in bits; 0 on the null level,
* ``weight = log2(prior / (1 - prior)) + sum_k bf[k][gamma_k]`` for a pair with comparison vector ``gamma``,
* ``probability = 2**weight / (1 + 2**weight)``.

``u`` is estimated from random pairs, which are almost all non-matches; ``m`` and the prior by expectation
maximisation over the comparison vectors of blocked pairs, with ``u`` held fixed (or estimated alongside). EM works on
the distinct comparison vectors with their counts, so its cost does not grow with the number of pairs.

A term-frequency adjustment sharpens an exact-agreement level by how common the agreed value is: agreeing on a rare
surname is stronger evidence than agreeing on a common one. The adjustment for value ``v`` is
``log2(u_level / f_v)``, where ``f_v`` is the share of records holding ``v``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from linkage.errors import ModelError

F64 = NDArray[np.float64]
Gamma = NDArray[np.int8]
PROBABILITY_FLOOR = 1e-6


def random_pairs(n_left: int, n_right: int | None, size: int, seed: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``size`` random pairs (with replacement) of distinct records, for estimating ``u``.

    Args:
        n_left: records on the left.
        n_right: records on the right; ``None`` to pair records of the left with each other.
        size: how many pairs to draw.
        seed: the random seed, so training can be repeated exactly.
    """
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n_left, size=size, dtype=np.int64)
    if n_right is not None:
        return i, rng.integers(0, n_right, size=size, dtype=np.int64)
    j = rng.integers(0, n_left - 1, size=size, dtype=np.int64)
    j += j >= i  # skip the record itself
    return i, j


def level_proportions(gamma: Gamma, n_levels: Sequence[int], weights: F64 | None = None) -> list[F64]:
    """Per comparison, the (weighted) share of pairs at each level, the null level excluded (its entry is 1).

    Args:
        gamma: comparison vectors, ``[n_pairs, n_comparisons]``.
        n_levels: the number of levels of each comparison.
        weights: a weight per pair (e.g. the posterior match probability); ``None`` for 1 each.

    Returns:
        One array per comparison of length ``n_levels[k]``; entries are floored at ``PROBABILITY_FLOOR`` and
        renormalised, so that no level's log Bayes factor is infinite.
    """
    out = []
    for k, n in enumerate(n_levels):
        counts = np.bincount(gamma[:, k], weights=weights, minlength=n).astype(np.float64)
        share = np.ones(n, dtype=np.float64)
        observed = counts[1:].sum()
        if observed > 0:
            share[1:] = np.maximum(counts[1:] / observed, PROBABILITY_FLOOR)
            share[1:] /= share[1:].sum()
        else:
            share[1:] = 1.0 / (n - 1)
        out.append(share)
    return out


def estimate_u(gamma_random: Gamma, n_levels: Sequence[int]) -> list[F64]:
    """``u`` per comparison and level from the comparison vectors of random pairs.

    Args:
        gamma_random: comparison vectors of random pairs (see :func:`random_pairs`).
        n_levels: the number of levels of each comparison.
    """
    return level_proportions(gamma_random, n_levels)


def bayes_factors(m: Sequence[F64], u: Sequence[F64]) -> list[F64]:
    """``log2(m / u)`` per comparison and level, 0 on the null level."""
    out = []
    for mk, uk in zip(m, u, strict=True):
        bf = np.log2(np.maximum(mk, PROBABILITY_FLOOR) / np.maximum(uk, PROBABILITY_FLOOR))
        bf[0] = 0.0
        out.append(bf)
    return out


def log2_odds(probability: float) -> float:
    """``log2(p / (1 - p))``, the prior's contribution to every match weight."""
    if not 0.0 < probability < 1.0:
        raise ModelError(f"a prior must lie strictly between 0 and 1, got {probability!r}")
    return float(np.log2(probability / (1.0 - probability)))


def match_weights(gamma: Gamma, bf: Sequence[F64], prior: float) -> F64:
    """The match weight (log2 posterior odds) of each pair.

    Args:
        gamma: comparison vectors, ``[n_pairs, n_comparisons]``.
        bf: Bayes factors from :func:`bayes_factors`.
        prior: probability that a pair is a match before any comparison.
    """
    weight = np.full(len(gamma), log2_odds(prior), dtype=np.float64)
    for k, bfk in enumerate(bf):
        weight += bfk[gamma[:, k]]
    return weight


def match_probability(weight: F64) -> F64:
    """The posterior probability of a match from the match weight."""
    result: F64 = 1.0 / (1.0 + np.exp2(-np.clip(weight, -60.0, 60.0)))
    return result


@dataclass(frozen=True)
class EMResult:
    """What expectation maximisation estimated, and whether it converged."""

    m: list[F64]
    u: list[F64]
    prior: float
    iterations: int
    converged: bool


def distinct_vectors(gamma: Gamma, n_levels: Sequence[int]) -> tuple[Gamma, F64]:
    """The distinct comparison vectors of ``gamma`` and how many pairs have each."""
    radix = np.cumprod([1, *n_levels[:-1]], dtype=np.int64)
    codes = gamma.astype(np.int64) @ radix
    unique, counts = np.unique(codes, return_counts=True)
    patterns = np.empty((len(unique), len(n_levels)), dtype=np.int8)
    for k, n in enumerate(n_levels):
        patterns[:, k] = (unique // radix[k]) % n
    return patterns, counts.astype(np.float64)


def _posterior(patterns: Gamma, m: Sequence[F64], u: Sequence[F64], prior: float, active: Sequence[bool]) -> F64:
    bf = [b if on else np.zeros_like(b) for b, on in zip(bayes_factors(m, u), active, strict=True)]
    return match_probability(match_weights(patterns, bf, prior))


def expectation_maximisation(
    gamma: Gamma,
    n_levels: Sequence[int],
    *,
    m: Sequence[F64],
    u: Sequence[F64],
    prior: float,
    active: Sequence[bool] | None = None,
    fix_m: bool = False,
    fix_u: bool = True,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
) -> EMResult:
    """Estimate ``m`` (and the prior, and ``u`` unless fixed) from unlabelled comparison vectors.

    When the pairs come from a blocking rule, the comparisons that read the rule's fields agree by construction
    and say nothing about matches: pass ``active`` to leave them out (their ``m`` and ``u`` are returned as given).

    Args:
        gamma: comparison vectors of blocked pairs, ``[n_pairs, n_comparisons]``.
        n_levels: the number of levels of each comparison.
        m: starting ``m``, one array per comparison (kept when ``fix_m``).
        u: starting ``u`` (kept when ``fix_u``).
        prior: starting share of matches among the pairs.
        active: which comparisons take part; all if ``None``.
        fix_m: keep ``m`` as given, estimating only the prior (and ``u`` unless fixed).
        fix_u: keep ``u`` as given (estimated from random pairs) rather than re-estimating it.
        max_iterations: give up after this many rounds.
        tolerance: stop when no ``m``, ``u`` or prior moves by more than this.

    Returns:
        The estimates; ``prior`` is the share of matches among the pairs of ``gamma``.
    """
    on = [True] * len(n_levels) if active is None else list(active)
    patterns, counts = distinct_vectors(gamma, n_levels)
    m_now, u_now = [np.array(a, dtype=np.float64) for a in m], [np.array(a, dtype=np.float64) for a in u]
    for iteration in range(1, max_iterations + 1):
        match_mass = counts * _posterior(patterns, m_now, u_now, prior, on)
        new_prior = float(np.clip(match_mass.sum() / counts.sum(), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR))
        new_m = m_now if fix_m else _keep_inactive(level_proportions(patterns, n_levels, match_mass), m_now, on)
        new_u = (
            u_now if fix_u else _keep_inactive(level_proportions(patterns, n_levels, counts - match_mass), u_now, on)
        )
        moved = max(
            abs(new_prior - prior),
            *(float(np.abs(a - b).max()) for a, b in zip(new_m, m_now, strict=True)),
            *(float(np.abs(a - b).max()) for a, b in zip(new_u, u_now, strict=True)),
        )
        m_now, u_now, prior = new_m, new_u, new_prior
        if moved < tolerance:
            return EMResult(m_now, u_now, prior, iteration, True)
    return EMResult(m_now, u_now, prior, max_iterations, False)


def _keep_inactive(estimated: list[F64], given: list[F64], active: Sequence[bool]) -> list[F64]:
    return [new if on else old for new, old, on in zip(estimated, given, active, strict=True)]


@dataclass(frozen=True)
class TermFrequencies:
    """How common each token value is among a set of records (for term-frequency adjustment).

    Attributes:
        values: the distinct present token values, sorted.
        shares: the share of records (with the field present) holding each value.
        floor: the share of a value held by one record, used for values not counted.
    """

    values: NDArray[np.uint64]
    shares: F64
    floor: float

    @classmethod
    def of(cls, tokens: NDArray[np.uint64]) -> TermFrequencies:
        """Count the token values of one field (0, meaning missing, is left out)."""
        present = tokens[tokens != 0]
        values, counts = np.unique(present, return_counts=True)
        total = max(len(present), 1)
        return cls(values, counts / total, 1.0 / total)

    @classmethod
    def of_people(cls, tokens: NDArray[np.uint64], telling: Sequence[NDArray[np.uint64]]) -> TermFrequencies:
        """Count each value once per person holding it, as far as the records tell people apart.

        Records of one person repeat a value as often as the person is recorded, so counting records makes a
        well-recorded person's name look common. Here a value counts as many people as it has distinct ``telling``
        tokens in *every* telling field (the fewest over the fields): with the year and the day and month of birth,
        two namesakes born on different dates count two, while one person whose year of birth was once mistyped
        (same day and month) counts one. A value seen with no telling token counts one.

        Args:
            tokens: the values to count (0, meaning missing, is left out).
            telling: tokens that tell people apart, one array per field, per record (0 where missing).
        """
        present = tokens != 0
        values = np.unique(tokens[present])
        people = np.full(len(values), np.iinfo(np.int64).max, dtype=np.int64)
        for column in telling:
            known = present & (column != 0)
            pairs = np.unique(np.stack([tokens[known], column[known]], axis=1), axis=0)
            held, counts = np.unique(pairs[:, 0], return_counts=True)
            seen = np.zeros(len(values), dtype=np.int64)
            seen[np.searchsorted(values, held)] = counts
            people = np.minimum(people, seen)
        people = np.maximum(people, 1)
        total = max(int(people.sum()), 1)
        return cls(values, people / total, 1.0 / total)

    def share(self, tokens: NDArray[np.uint64], floor: float) -> F64:
        """The share of each token's value; a value not seen gets ``floor``."""
        if len(self.values) == 0:
            return np.full(len(tokens), floor)
        pos = np.minimum(np.searchsorted(self.values, tokens), len(self.values) - 1)
        found = self.values[pos] == tokens
        return np.where(found, np.maximum(self.shares[pos], floor), floor)


def tf_adjustment(level_u: float, shares: F64, max_bits: float = 4.0) -> F64:
    """The term-frequency adjustment ``log2(u_level / f_v)`` in bits, clipped to ``±max_bits``.

    Args:
        level_u: the level's ``u`` (the average chance two different people agree at this level).
        shares: ``f_v``, the share of records holding each pair's agreed value.
        max_bits: the largest adjustment either way, so one very rare or very common value cannot dominate.
    """
    result: F64 = np.clip(np.log2(level_u / shares), -max_bits, max_bits)
    return result
