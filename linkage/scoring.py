"""Find, compare and score candidate pairs with a trained model: what the hub's identity resolution calls.

For a nightly feed against the records already known::

    frequencies = term_frequencies(model, known)          # once per run, over the hub's records
    candidates = find_candidates(model, feed, known)      # new against known
    scored = score_candidates(model, feed, known, candidates, frequencies=frequencies)
    decisions = model.decide(scored.weight)

and ``find_candidates(model, feed)`` (no right side) for the pairs within the feed itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from linkage.batch import RecordBatch
from linkage.blocking import Candidates, block
from linkage.comparison import compare
from linkage.fellegi_sunter import F64, Gamma, TermFrequencies, tf_adjustment
from linkage.model import LinkageModel


@dataclass(frozen=True)
class ScoredPairs:
    """Candidate pairs with their comparison vectors and match weights (log2 posterior odds).

    Attributes:
        i: row of each pair's left record.
        j: row of each pair's right record.
        gamma: level per comparison, ``int8 [n_pairs, n_comparisons]``.
        weight: match weight, term-frequency adjustments included.
    """

    i: NDArray[np.int64]
    j: NDArray[np.int64]
    gamma: Gamma
    weight: F64

    def __len__(self) -> int:
        return len(self.i)


def tf_fields(model: LinkageModel) -> set[str]:
    """The token fields the model's term-frequency adjustments read."""
    return {level.tf for c in model.comparisons for level in c.comparison.levels if level.tf is not None}


def term_frequencies(model: LinkageModel, records: RecordBatch) -> dict[str, TermFrequencies]:
    """How common each value of the adjusted fields is among ``records`` (the hub's population).

    Args:
        model: the model whose levels name the fields to count.
        records: the population to count over; for the hub, every record it holds plus the new feed.
    """
    return {name: TermFrequencies.of(records.tokens[name]) for name in sorted(tf_fields(model))}


def find_candidates(model: LinkageModel, left: RecordBatch, right: RecordBatch | None = None) -> Candidates:
    """Candidate pairs under the model's blocking rules.

    Args:
        model: the trained model.
        left: the new records.
        right: the known records; ``None`` to pair the new records with each other.
    """
    return block(model.blocking, left, right, max_block_pairs=model.max_block_pairs)


def _tf_adjust(
    model: LinkageModel,
    gamma: Gamma,
    left: RecordBatch,
    i: NDArray[np.int64],
    frequencies: Mapping[str, TermFrequencies],
) -> F64:
    adjust = np.zeros(len(gamma), dtype=np.float64)
    for k, cm in enumerate(model.comparisons):
        for index, level in enumerate(cm.comparison.levels):
            table = frequencies.get(level.tf) if level.tf is not None else None
            if table is None or level.tf is None:
                continue
            rows = np.flatnonzero(gamma[:, k] == index)
            shares = table.share(left.tokens[level.tf][i[rows]], table.floor)
            adjust[rows] = tf_adjustment(cm.u[index], shares, model.tf_max_bits)
    return adjust


def score_pairs(
    model: LinkageModel,
    left: RecordBatch,
    right: RecordBatch,
    i: NDArray[np.integer],
    j: NDArray[np.integer],
    *,
    frequencies: Mapping[str, TermFrequencies] | None = None,
) -> ScoredPairs:
    """Compare the pairs ``(left[i], right[j])`` and compute their match weights.

    Args:
        model: the trained model.
        left: the left records.
        right: the right records (the same batch as ``left`` for pairs within one batch).
        i: row in ``left`` of each pair.
        j: row in ``right`` of each pair.
        frequencies: token frequencies from :func:`term_frequencies`; ``None`` scores without adjustment.
    """
    i64, j64 = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    gamma = compare([c.comparison for c in model.comparisons], left, right, i64, j64)
    weight = model.match_weights(gamma)
    if frequencies:
        weight += _tf_adjust(model, gamma, left, i64, frequencies)
    return ScoredPairs(i64, j64, gamma, weight)


HOUSEHOLD_GUARD = {"first_name": ("different",), "date_of_birth": ("different", "same year")}
GUARD_EXEMPT = {"nhs_number": ("same",)}


def _at(model: LinkageModel, gamma: Gamma, wanted: Mapping[str, tuple[str, ...]]) -> NDArray[np.bool_]:
    hit = np.zeros(len(gamma), dtype=np.bool_)
    for k, cm in enumerate(model.comparisons):
        labels = wanted.get(cm.comparison.name, ())
        for index, level in enumerate(cm.comparison.levels):
            if level.label in labels:
                hit |= gamma[:, k] == index
    return hit


def household_guard(model: LinkageModel, gamma: Gamma) -> NDArray[np.bool_]:
    """Pairs the model must not link on its own: an identifier that tells members of one household apart disagrees.

    Twins share a surname, a date of birth and an address but not a first name; a parent and a child named after
    them share everything but the date of birth. Probabilistic weights treat the fields as independent, so a shared
    surname and address (which go together in a household) can outweigh a different first name or date of birth. A
    pair whose first name is *different*, or whose date of birth is *different* or agrees on the year alone, goes to
    review at most, unless deterministic evidence (the same NHS number) says it is one person.

    Args:
        model: the model whose comparisons ``gamma`` holds levels of (by comparison name and level label).
        gamma: comparison vectors of the pairs.
    """
    return _at(model, gamma, HOUSEHOLD_GUARD) & ~_at(model, gamma, GUARD_EXEMPT)


def guarded_weights(model: LinkageModel, scored: ScoredPairs) -> F64:
    """The pairs' weights with :func:`household_guard` applied: a guarded pair is held just below ``upper``."""
    cap = np.minimum(scored.weight, np.nextafter(model.thresholds.upper, -np.inf))
    return np.where(household_guard(model, scored.gamma), cap, scored.weight)


def score_candidates(
    model: LinkageModel,
    left: RecordBatch,
    right: RecordBatch | None,
    candidates: Candidates,
    *,
    frequencies: Mapping[str, TermFrequencies] | None = None,
) -> ScoredPairs:
    """:func:`score_pairs` for the output of :func:`find_candidates` (``right`` is ``None`` within one batch)."""
    other = left if right is None else right
    return score_pairs(model, left, other, candidates.i, candidates.j, frequencies=frequencies)
