"""Find, compare and score candidate pairs with a trained model: what the hub's identity resolution calls.

For a nightly feed against the records already known::

    frequencies = term_frequencies(model, known)          # once per run, over the hub's records
    candidates = find_candidates(model, feed, known)      # new against known
    scored = score_candidates(model, feed, known, candidates, frequencies=frequencies)
    decisions = model.decide(scored.weight)

and ``find_candidates(model, feed)`` (no right side) for the pairs within the feed itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """The token fields the model's term-frequency adjustments read (one frequency table each)."""
    return {level.tf for c in model.comparisons for level in c.comparison.levels if level.tf is not None}


def _tf_level(model: LinkageModel, name: str) -> tuple[int, int, str]:
    """The position, adjusted level and token field of the comparison called ``name``."""
    for k, cm in enumerate(model.comparisons):
        if cm.comparison.name == name:
            for index, level in enumerate(cm.comparison.levels):
                if level.tf is not None:
                    return k, index, level.tf
    raise KeyError(name)  # LinkageModel refuses a joint_tf group naming such a comparison


def joint_tf_fields(model: LinkageModel) -> dict[str, tuple[str, ...]]:
    """The joint frequency tables the model's ``joint_tf`` groups read: table name -> the token fields combined.

    The hub counts each table as ``TermFrequencies.of(combine_tokens([tokens[f] for f in fields]))`` over its
    records (or by grouping on the fields' tokens together), under the table's name.
    """
    out = {}
    for group in model.joint_tf:
        fields = tuple(_tf_level(model, name)[2] for name in group)
        out["+".join(fields)] = fields
    return out


JOINT_TF_MIN_PEOPLE = 2
JOINT_TF_TELLING = ("tk_dob_y", "tk_dob_md")
_MIX = np.uint64(0x9E3779B97F4A7C15)
_PRESENT = np.uint64(1 << 63)


def combine_tokens(columns: Sequence[NDArray[np.uint64]]) -> NDArray[np.uint64]:
    """One token per record for a combination of token fields (0 where any of them is missing).

    Order matters (first name "Shah", last name "Sunil" is another combination). The result is as opaque as the
    tokens it is made of: it is a function of keyed tokens only.
    """
    combined = np.zeros(len(columns[0]), dtype=np.uint64)
    present = np.ones(len(columns[0]), dtype=np.bool_)
    for column in columns:
        combined = (combined ^ column) * _MIX
        combined ^= combined >> np.uint64(29)
        present &= column != 0
    return np.where(present, combined | _PRESENT, np.uint64(0))


def term_frequencies(model: LinkageModel, records: RecordBatch) -> dict[str, TermFrequencies]:
    """How common each value of the adjusted fields (and of their joint combinations) is among ``records``.

    Args:
        model: the model whose levels name the fields to count.
        records: the population to count over; for the hub, every record it holds plus the new feed.
    """
    out = {name: TermFrequencies.of(records.tokens[name]) for name in sorted(tf_fields(model))}
    for name, fields in joint_tf_fields(model).items():
        combined = combine_tokens([records.tokens[f] for f in fields])
        out[name] = TermFrequencies.of_people(combined, [records.tokens[f] for f in JOINT_TF_TELLING])
    return out


def find_candidates(model: LinkageModel, left: RecordBatch, right: RecordBatch | None = None) -> Candidates:
    """Candidate pairs under the model's blocking rules.

    Args:
        model: the trained model.
        left: the new records.
        right: the known records; ``None`` to pair the new records with each other.
    """
    return block(model.blocking, left, right, max_block_pairs=model.max_block_pairs)


def _told_apart(left: RecordBatch, right: RecordBatch, i: NDArray[np.int64], j: NDArray[np.int64]) -> NDArray[np.int64]:
    """1 where the pair's own two records would count as two people in the joint table, else 0."""
    apart = np.ones(len(i), dtype=np.bool_)
    for name in JOINT_TF_TELLING:
        a, b = left.tokens[name][i], right.tokens[name][j]
        apart &= (a != 0) & (b != 0) & (a != b)
    return apart.astype(np.int64)


def _tf_adjust(
    model: LinkageModel,
    gamma: Gamma,
    pairs: tuple[RecordBatch, RecordBatch, NDArray[np.int64], NDArray[np.int64]],
    frequencies: Mapping[str, TermFrequencies],
) -> F64:
    """Term-frequency adjustments: per comparison, then replaced by the joint one where a ``joint_tf`` group agrees.

    A joint table missing from ``frequencies`` leaves the per-comparison adjustments as they are.
    """
    left, right, i, j = pairs
    adjust = np.zeros(gamma.shape, dtype=np.float64)
    for k, cm in enumerate(model.comparisons):
        for index, level in enumerate(cm.comparison.levels):
            table = frequencies.get(level.tf) if level.tf is not None else None
            if table is None or level.tf is None:
                continue
            rows = np.flatnonzero(gamma[:, k] == index)
            shares = table.share(left.tokens[level.tf][i[rows]], table.floor)
            adjust[rows, k] = tf_adjustment(cm.u[index], shares, model.tf_max_bits)
    for group, (name, fields) in zip(model.joint_tf, joint_tf_fields(model).items(), strict=True):
        table = frequencies.get(name)
        if table is None:
            continue
        places = [_tf_level(model, c) for c in group]
        rows = np.flatnonzero(np.logical_and.reduce([gamma[:, k] == index for k, index, _ in places]))
        tokens = combine_tokens([left.tokens[f][i[rows]] for f in fields])
        shares = table.share(tokens, table.floor)
        shared = shares / table.floor - _told_apart(left, right, i[rows], j[rows]) >= JOINT_TF_MIN_PEOPLE
        rows, tokens, shares = rows[shared], tokens[shared], shares[shared]
        u = float(np.prod([model.comparisons[k].u[index] for k, index, _ in places]))
        columns = np.array([k for k, _, _ in places], dtype=np.int64)
        adjust[np.ix_(rows, columns)] = 0.0
        adjust[rows, columns[0]] = tf_adjustment(u, shares, model.tf_max_bits * len(group))
    total: F64 = adjust.sum(axis=1)
    return total


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
        weight += _tf_adjust(model, gamma, (left, right, i64, j64), frequencies)
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
