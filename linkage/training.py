"""Estimate a linkage model from unlabelled encoded records: ``u`` from random pairs, ``m`` and the prior by EM.

No labels are used: the data says how often people who are the same agree at each level (``m``, from the mixture
EM finds among blocked pairs) and how often people who are not agree by chance (``u``, from random pairs, nearly all
of which are different people). What :func:`train` returns is a :class:`linkage.model.LinkageModel`, a plain file
the hub scores with; ``aim hub train`` calls it over the hub's records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from linkage.batch import RecordBatch
from linkage.blocking import DEFAULT_MAX_BLOCK_PAIRS, BlockingRule, block, default_rules
from linkage.comparison import Comparison, check_comparisons, compare
from linkage.comparison_library import default_comparisons, joint_tf_for
from linkage.errors import ModelError
from linkage.fellegi_sunter import (
    F64,
    EMResult,
    Gamma,
    bayes_factors,
    distinct_vectors,
    estimate_u,
    expectation_maximisation,
    log2_odds,
    match_probability,
    match_weights,
    random_pairs,
)
from linkage.model import ComparisonModel, LinkageModel, Thresholds

REVIEW_FLOOR_PROBABILITY = 0.01
DEFAULT_THRESHOLDS = Thresholds(upper=8.0, lower=0.0)  # fixed thresholds, for callers that pass them
DEFAULT_U_PAIRS = 2_000_000
_FAMILY_ALIASES = {"pc": "address"}


def default_training_rules() -> tuple[BlockingRule, ...]:
    """The blocking rules whose pairs EM estimates ``m`` from: one on the date of birth, one on the names."""
    return (
        BlockingRule("dob", on=("tk_dob",)),
        BlockingRule("names", on=("tk_first_phon", "tk_last_phon")),
    )


def field_family(name: str) -> str:
    """The identifier an encoded field derives from: ``tk_dob_ym`` -> ``dob``, ``tk_pc_sector`` -> ``address``."""
    stem = name.split("_", 1)[-1].split("_", 1)[0]
    return _FAMILY_ALIASES.get(stem, stem)


def _rule_families(rule: BlockingRule) -> set[str]:
    names = [*rule.on, *rule.other] + ([rule.bloom] if rule.bloom else [])
    return {field_family(n) for n in names}


@dataclass(frozen=True)
class Training:
    """A trained model and how it was reached: one EM result per training rule."""

    model: LinkageModel
    sessions: dict[str, EMResult]
    candidate_pairs: int
    random_pairs: int


def estimate_m(
    comparisons: Sequence[Comparison],
    left: RecordBatch,
    right: RecordBatch | None,
    *,
    training_rules: Sequence[BlockingRule],
    u: Sequence[F64],
    max_block_pairs: int,
) -> tuple[list[F64], dict[str, EMResult]]:
    """``m`` by EM, one session per training rule, averaged over the sessions where a comparison took part.

    In the session for a rule, the comparisons on the rule's identifiers are left out (the pairs agree on them by
    construction); the others are estimated. Every comparison must take part in at least one session.

    Raises:
        ModelError: a comparison is left out of every session; add a training rule on other identifiers.
    """
    n_levels = [len(c.levels) for c in comparisons]
    other = left if right is None else right
    sums = [np.zeros(n) for n in n_levels]
    seen = np.zeros(len(comparisons))
    sessions: dict[str, EMResult] = {}
    for rule in training_rules:
        families = _rule_families(rule)
        active = [not families & {field_family(f) for f in c.fields} for c in comparisons]
        pairs = block([rule], left, right, max_block_pairs=max_block_pairs)
        gamma = compare(comparisons, left, other, pairs.i, pairs.j)
        em = expectation_maximisation(gamma, n_levels, m=starting_m(n_levels), u=u, prior=0.5, active=active)
        sessions[rule.name] = em
        for k, on in enumerate(active):
            if on:
                sums[k] += em.m[k]
                seen[k] += 1
    missing = [c.name for c, count in zip(comparisons, seen, strict=True) if count == 0]
    if missing:
        raise ModelError(f"no training rule leaves {', '.join(missing)} free to estimate: add a rule on other fields")
    return [total / count for total, count in zip(sums, seen, strict=True)], sessions


def starting_m(n_levels: Sequence[int]) -> list[F64]:
    """A neutral start for EM: most of ``m`` on the strongest agreement, falling by 4x per level."""
    out = []
    for n in n_levels:
        share = np.ones(n, dtype=np.float64)
        share[1:] = 0.25 ** np.arange(n - 1)
        share[1:] /= share[1:].sum()
        out.append(share)
    return out


def estimate_prior(gamma_candidates: Gamma, bf: list[F64], total: float) -> float:
    """The probability that two random records match: the expected matches among the candidates, over all pairs.

    EM for the prior alone over all pairs, with ``m`` and ``u`` fixed: a pair blocking left out counts as a
    non-match, and each candidate by its posterior probability, which depends on the prior; iterate to the fixed
    point. (Working over all pairs rather than the candidates alone matters: among candidates a non-match that
    agrees on its blocking key looks likely, and would pull the estimate up.)

    Args:
        gamma_candidates: comparison vectors of the candidate pairs.
        bf: Bayes factors per comparison and level.
        total: all pairs.
    """
    patterns, counts = distinct_vectors(gamma_candidates, [len(b) for b in bf])
    ratio = match_weights(patterns, bf, 0.5)  # log2 likelihood ratios (prior odds 1)
    prior = min(max(float(counts.sum()) / total, 1.0 / total), 0.5)
    for _ in range(200):
        new = min(max(float((counts * match_probability(ratio + log2_odds(prior))).sum()) / total, 1.0 / total), 0.5)
        if abs(new - prior) <= 1e-9 * prior:
            return new
        prior = new
    return prior


def choose_thresholds(weights: F64) -> Thresholds:
    """Decision thresholds from the model alone, without labels.

    ``upper`` maximises the F1 the model expects of itself: with ``p_i`` the posterior of candidate ``i``, linking
    every pair of weight at least ``t`` gives ``2 * sum(p_i over linked) / (linked + sum(p_i))``. ``lower`` is the
    weight of a 1 % posterior: below it a pair is not worth a data steward's time. Both can be set by hand in the
    model file after measuring against ground truth (``bench/linkage_quality.py``).

    Args:
        weights: match weights of the candidate pairs.
    """
    if len(weights) == 0:
        return Thresholds(upper=0.0, lower=log2_odds(REVIEW_FLOOR_PROBABILITY))
    ordered = np.sort(weights)[::-1]
    posterior = match_probability(ordered)
    expected_f1 = 2 * np.cumsum(posterior) / (np.arange(1, len(ordered) + 1) + posterior.sum())
    upper = round(float(ordered[int(np.argmax(expected_f1))]), 2)
    lower = round(min(log2_odds(REVIEW_FLOOR_PROBABILITY), upper), 2)
    return Thresholds(upper=upper, lower=lower)


def _all_pairs(n_left: int, n_right: int | None) -> float:
    return float(n_left) * n_right if n_right is not None else n_left * (n_left - 1) / 2.0


def train(
    left: RecordBatch,
    right: RecordBatch | None = None,
    *,
    version: str,
    comparisons: Sequence[Comparison] | None = None,
    rules: Sequence[BlockingRule] | None = None,
    training_rules: Sequence[BlockingRule] | None = None,
    thresholds: Thresholds | None = None,
    max_block_pairs: int = DEFAULT_MAX_BLOCK_PAIRS,
    u_pairs: int = DEFAULT_U_PAIRS,
    seed: int = 0,
    metadata: Mapping[str, Any] | None = None,
    joint_tf: Sequence[Sequence[str]] | None = None,
) -> Training:
    """Estimate ``m``, ``u`` and the prior for ``comparisons`` from the records themselves.

    Args:
        left: the records (for linking two sources, the first source).
        right: the second source when linking; ``None`` to deduplicate ``left``.
        version: the version the model will carry.
        comparisons: what to compare; the defaults of :mod:`linkage.comparison_library` if ``None``.
        rules: the blocking rules the model will block with (and whose pairs give the prior).
        training_rules: the rules whose pairs EM estimates ``m`` from; see :func:`default_training_rules`.
        thresholds: the decision thresholds to record in the model; ``None`` to choose them from the data
            (see :func:`choose_thresholds`).
        max_block_pairs: skip blocks larger than this.
        u_pairs: how many random pairs to draw for ``u``.
        seed: random seed for the pairs, so training repeats exactly.
        metadata: more facts to record under ``trained_on`` (the data set's name, say).
        joint_tf: groups of comparisons adjusted by the frequency of their values together; ``None`` for the
            defaults the comparisons allow (first and last name, see :func:`linkage.comparison_library.joint_tf_for`).

    Returns:
        The model and the EM results (iterations, convergence) behind it.

    Raises:
        ModelError: the comparisons or rules are invalid, or some comparison cannot be estimated.
    """
    comparisons = tuple(default_comparisons() if comparisons is None else comparisons)
    rules = tuple(default_rules() if rules is None else rules)
    check_comparisons(comparisons)
    other = left if right is None else right
    n_levels = [len(c.levels) for c in comparisons]

    ri, rj = random_pairs(len(left), None if right is None else len(right), u_pairs, seed)
    gamma_random = compare(comparisons, left, other, ri, rj)
    u = estimate_u(gamma_random, n_levels)

    training_rules = tuple(default_training_rules() if training_rules is None else training_rules)
    m, sessions = estimate_m(
        comparisons, left, right, training_rules=training_rules, u=u, max_block_pairs=max_block_pairs
    )
    candidates = block(rules, left, right, max_block_pairs=max_block_pairs)
    total = _all_pairs(len(left), None if right is None else len(right))
    gamma = compare(comparisons, left, other, candidates.i, candidates.j)
    bf = bayes_factors(m, u)
    prior = estimate_prior(gamma, bf, total)
    matches = prior * total
    if thresholds is None:
        thresholds = choose_thresholds(match_weights(gamma, bf, prior))
    trained_on = {
        "records": len(left) + (0 if right is None else len(right)),
        "mode": "dedupe" if right is None else "link",
        "candidate_pairs": len(candidates),
        "random_pairs": u_pairs,
        "training_rules": [r.name for r in training_rules],
        "em_converged": all(e.converged for e in sessions.values()),
        "matches_among_candidates": round(matches, 1),
        "seed": seed,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **dict(metadata or {}),
    }
    model = LinkageModel(
        version=version,
        comparisons=tuple(
            ComparisonModel(c, tuple(map(float, mk)), tuple(map(float, uk)))
            for c, mk, uk in zip(comparisons, m, u, strict=True)
        ),
        prior=prior,
        thresholds=thresholds,
        blocking=rules,
        max_block_pairs=max_block_pairs,
        joint_tf=joint_tf_for(comparisons) if joint_tf is None else tuple(tuple(g) for g in joint_tf),
        trained_on=trained_on,
    )
    return Training(model=model, sessions=sessions, candidate_pairs=len(candidates), random_pairs=u_pairs)
