"""Blocking: which pairs of records are worth comparing, found by joining on keys, never by enumerating all pairs.

A blocking rule makes one key per record (or one per band, for locality-sensitive hashing) from keyed tokens; two
records become a candidate pair when they share a key. Several rules are combined by union, so a pair missed by one
rule (a typo in the surname) is found by another (the same date of birth). The cost grows with the sizes of the
blocks, not with the square of the data; a block whose pairs exceed ``max_block_pairs`` (a very common surname in a
very common year) is skipped and counted, so the loss is reported rather than hidden.

Rule shapes:

* ``BlockingRule("dob", on=("tk_dob",))``: records with the same date of birth.
* ``BlockingRule("dob_swapped", on=("tk_dob",), other=("tk_dob_swap",))``: one record's date of birth equals the
  other's with day and month swapped (a cross rule; applied in both directions).
* ``BlockingRule("last_lsh_year", on=("tk_dob_y",), bloom="bf_last")``: the same year of birth and the same MinHash
  band of the last-name Bloom filter. The bands use one-permutation hashing: the filter's 64-bit words are the bins
  (the encoder's keyed hashing already scatters q-grams over the bits at random), the position of the lowest set
  bit in a word is that bin's MinHash, and ``band_words`` consecutive bins form a band. Two filters share a band
  with probability about ``jaccard ** band_words``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from linkage.batch import BLOOM_WORDS, RecordBatch
from linkage.errors import ModelError
from linkage.schema import FIELDS_BY_NAME

I64 = NDArray[np.int64]
U64 = NDArray[np.uint64]
DEFAULT_MAX_BLOCK_PAIRS = 50_000
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class BlockingRule:
    """One way of finding candidate pairs; see the module docstring.

    Attributes:
        name: a short identifier, reported in statistics.
        on: token fields that must all be present and equal (left side, for a cross rule).
        other: for a cross rule, the right side's fields, compared position by position with ``on``.
        bloom: a Bloom field whose MinHash bands are added to the key.
        band_words: MinHash bins (64-bit words) per band; more words, fewer and closer pairs.
    """

    name: str
    on: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    bloom: str | None = None
    band_words: int = 4

    def problems(self) -> list[str]:
        """What is wrong with the rule; empty when valid."""
        out: list[str] = []
        for name in (*self.on, *self.other):
            spec = FIELDS_BY_NAME.get(name)
            if spec is None or spec.kind != "token":
                out.append(f"blocking rule {self.name!r}: {name!r} is not a token field of linkage.schema")
        if self.other and len(self.other) != len(self.on):
            out.append(f"blocking rule {self.name!r}: other must have as many fields as on")
        if self.bloom is not None:
            spec = FIELDS_BY_NAME.get(self.bloom)
            if spec is None or spec.kind != "bloom":
                out.append(f"blocking rule {self.name!r}: bloom {self.bloom!r} is not a Bloom field")
            if self.band_words < 1 or BLOOM_WORDS % self.band_words:
                out.append(f"blocking rule {self.name!r}: band_words must divide {BLOOM_WORDS}")
        if not self.on and self.bloom is None:
            out.append(f"blocking rule {self.name!r}: needs token fields, a Bloom field, or both")
        return out


@dataclass(frozen=True)
class RuleStats:
    """What one rule produced: pairs (before the union), and the pairs and blocks skipped as too large."""

    name: str
    pairs: int
    skipped_pairs: int
    skipped_blocks: int


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs ``(left[i[p]], right[j[p]])``, unique and sorted; for deduplication ``i < j``."""

    i: I64
    j: I64
    stats: tuple[RuleStats, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.i)


def _mix(h: U64, value: U64) -> U64:
    """Fold ``value`` into hash ``h`` (splitmix64 finaliser); wraps modulo 2**64 by design."""
    x = (h ^ value) * _MIX
    x ^= x >> np.uint64(31)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(29)
    return x


def minhash_bins(blooms: U64) -> NDArray[np.uint8]:
    """One-permutation MinHash of Bloom filters: the lowest set bit of each 64-bit word (64 for an empty word).

    Args:
        blooms: ``uint64 [n, BLOOM_WORDS]`` filters.

    Returns:
        ``uint8 [n, BLOOM_WORDS]``.
    """
    lowest = blooms & (~blooms + np.uint64(1))
    bins = np.bitwise_count(lowest - np.uint64(1)).astype(np.uint8)
    bins[blooms == 0] = 64
    return bins


def _key_matrix(
    batch: RecordBatch, rule: BlockingRule, fields: tuple[str, ...], rows: I64 | None = None
) -> tuple[U64, NDArray[np.bool_]]:
    """Each record's keys under ``rule`` (one column per band), and whether the record has keys at all."""
    tokens = {name: batch.tokens[name] if rows is None else batch.tokens[name][rows] for name in fields}
    n = len(batch) if rows is None else len(rows)
    base = np.full(n, np.uint64(len(fields) + 1), dtype=np.uint64)
    valid = np.ones(n, dtype=np.bool_)
    for name in fields:
        valid &= tokens[name] != 0
        base = _mix(base, tokens[name])
    if rule.bloom is None:
        return base[:, None], valid
    filters = batch.blooms[rule.bloom] if rows is None else batch.blooms[rule.bloom][rows]
    valid &= filters.any(axis=1)
    bins = minhash_bins(filters)
    bands = []
    for band, start in enumerate(range(0, BLOOM_WORDS, rule.band_words)):
        key = _mix(base, np.full(n, np.uint64(band), dtype=np.uint64))
        for col in range(start, start + rule.band_words):
            key = _mix(key, bins[:, col].astype(np.uint64))
        bands.append(key)
    return np.stack(bands, axis=1), valid


def _keys(batch: RecordBatch, rule: BlockingRule, fields: tuple[str, ...]) -> tuple[U64, I64]:
    """Every key each record has under ``rule`` (fields taken from ``fields``), with the record's row."""
    keys, valid = _key_matrix(batch, rule, fields)
    rows = np.flatnonzero(valid).astype(np.int64)
    kept = keys[valid]
    return kept.T.ravel(), np.tile(rows, kept.shape[1])


def blocked(rules: Sequence[BlockingRule], left: RecordBatch, right: RecordBatch, i: I64, j: I64) -> NDArray[np.bool_]:
    """Whether each pair ``(left[i], right[j])`` shares a key under any of ``rules`` (block sizes aside).

    Used on random pairs to estimate how many non-matches blocking lets through.
    """
    hit = np.zeros(len(i), dtype=np.bool_)
    for rule in rules:
        sides = [(rule.on, rule.other or rule.on)] + ([(rule.other, rule.on)] if rule.other else [])
        for left_fields, right_fields in sides:
            kl, vl = _key_matrix(left, rule, left_fields, i)
            kr, vr = _key_matrix(right, rule, right_fields, j)
            hit |= vl & vr & (kl == kr).any(axis=1)
    return hit


def _join(left: tuple[U64, I64], right: tuple[U64, I64], cap: int, within: bool) -> tuple[I64, I64, int, int]:
    """All ``(i, j)`` with equal keys, skipping keys whose block has more than ``cap`` pairs.

    ``within`` says both sides are the same records under the same key (deduplication), where a block of ``s``
    records holds ``s * (s - 1) / 2`` pairs rather than ``s * s``.
    """
    (kl, il), (kr, jr) = left, right
    order = np.argsort(kr, kind="stable")
    kr, jr = kr[order], jr[order]
    lo = np.searchsorted(kr, kl, side="left")
    count = np.searchsorted(kr, kl, side="right") - lo
    _, inverse, left_count = np.unique(kl, return_inverse=True, return_counts=True)
    if within:
        skip = left_count[inverse] * (count - 1) // 2 > cap
        skipped_pairs = int((count[skip] - 1).sum()) // 2
    else:
        skip = left_count[inverse] * count > cap
        skipped_pairs = int(count[skip].sum())
    skipped_blocks = len(np.unique(kl[skip]))
    lo, count, il = lo[~skip], count[~skip], il[~skip]
    total = int(count.sum())
    starts = np.cumsum(count) - count
    offset = np.arange(total, dtype=np.int64) - np.repeat(starts, count)
    j = jr[np.repeat(lo, count) + offset]
    return np.repeat(il, count), j, skipped_pairs, skipped_blocks


def _rule_pairs(
    rule: BlockingRule, left: RecordBatch, right: RecordBatch, dedupe: bool, cap: int
) -> tuple[I64, I64, RuleStats]:
    sides = [(rule.on, rule.other or rule.on)]
    if rule.other and not dedupe:  # deduplication sees every ordered pair in one direction already
        sides.append((rule.other, rule.on))
    i_parts, j_parts, skipped_pairs, skipped_blocks = [], [], 0, 0
    for left_fields, right_fields in sides:
        within = dedupe and left_fields == right_fields
        i, j, sp, sb = _join(_keys(left, rule, left_fields), _keys(right, rule, right_fields), cap, within)
        if dedupe:
            keep = i != j
            i, j = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep])
        i_parts.append(i)
        j_parts.append(j)
        skipped_pairs += sp
        skipped_blocks += sb
    i, j = np.concatenate(i_parts), np.concatenate(j_parts)
    return i, j, RuleStats(rule.name, len(i), skipped_pairs, skipped_blocks)


def check_rules(rules: Sequence[BlockingRule]) -> None:
    """Raise :class:`ModelError` listing every problem in ``rules``."""
    problems = [p for rule in rules for p in rule.problems()]
    if problems:
        raise ModelError("invalid blocking rules:\n  " + "\n  ".join(problems))


def block(
    rules: Sequence[BlockingRule],
    left: RecordBatch,
    right: RecordBatch | None = None,
    *,
    max_block_pairs: int = DEFAULT_MAX_BLOCK_PAIRS,
) -> Candidates:
    """Candidate pairs under the union of ``rules``.

    Args:
        rules: the blocking rules; see :func:`linkage.blocking.default_rules`.
        left: the records on the left (for the hub: tonight's feed).
        right: the records on the right (for the hub: everyone already known); ``None`` to deduplicate ``left``.
        max_block_pairs: skip a block that would yield more pairs than this (reported in the statistics).

    Returns:
        Unique pairs sorted by ``(i, j)``; when deduplicating, each pair once with ``i < j``.

    Raises:
        ModelError: a rule is invalid.
    """
    check_rules(rules)
    dedupe = right is None
    other = left if right is None else right
    width = np.int64(max(len(other), 1))
    codes, stats = [], []
    for rule in rules:
        i, j, rule_stats = _rule_pairs(rule, left, other, dedupe, max_block_pairs)
        codes.append(i * width + j)
        stats.append(rule_stats)
    unique = np.unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.int64)
    return Candidates(unique // width, unique % width, tuple(stats))


def pair_completeness(candidates: Candidates, true_i: I64, true_j: I64, *, dedupe: bool, width: int) -> float:
    """The share of true pairs ``(true_i, true_j)`` that are among the candidates (blocking recall).

    Args:
        candidates: the output of :func:`block`.
        true_i: left row of each true match.
        true_j: right row of each true match.
        dedupe: the candidates come from deduplication (pairs are compared without order).
        width: the number of records on the right (for deduplication, in the batch).
    """
    if len(true_i) == 0:
        return 1.0
    ti, tj = (np.minimum(true_i, true_j), np.maximum(true_i, true_j)) if dedupe else (true_i, true_j)
    found = np.isin(ti * width + tj, candidates.i * width + candidates.j)
    return float(found.mean())


def default_rules() -> tuple[BlockingRule, ...]:
    """The blocking rules AIM uses, limited to the fields :mod:`linkage.schema` defines today."""
    rules = (
        BlockingRule("nhs_number", on=("tk_nhs",)),
        BlockingRule("local_id", on=("tk_local",)),
        BlockingRule("dob", on=("tk_dob",)),
        BlockingRule("dob_swapped", on=("tk_dob",), other=("tk_dob_swap",)),
        BlockingRule("last_phonetic_year", on=("tk_last_phon", "tk_dob_y")),
        BlockingRule("first_last_phonetic", on=("tk_first_phon", "tk_last_phon")),
        BlockingRule("first_canonical_sector", on=("tk_first_canon", "tk_pc_sector")),
        BlockingRule("last_postcode", on=("tk_last", "tk_pc_unit")),
        BlockingRule("first_postcode", on=("tk_first", "tk_pc_unit")),
        BlockingRule("first_month_day", on=("tk_first_canon", "tk_dob_md")),
    )
    return tuple(rule for rule in rules if not rule.problems())
