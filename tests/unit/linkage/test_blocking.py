"""Blocking: the join finds exactly the pairs that share a key, without enumerating all pairs, and reports skips."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.batch import batch_from_values
from linkage.blocking import (
    BlockingRule,
    block,
    blocked,
    check_rules,
    default_rules,
    minhash_bins,
    pair_completeness,
)
from linkage.errors import ModelError

RULES = (
    BlockingRule("dob", on=("tk_dob",)),
    BlockingRule("dob_swapped", on=("tk_dob",), other=("tk_dob_swap",)),
    BlockingRule("names", on=("tk_first_phon", "tk_last_phon")),
    BlockingRule("last_lsh", on=("tk_dob_y",), bloom="bf_last", band_words=8),
)
records = st.fixed_dictionaries(
    {},
    optional={
        "tk_dob": st.integers(1, 4),
        "tk_dob_swap": st.integers(1, 4),
        "tk_dob_y": st.integers(1, 2),
        "tk_first_phon": st.integers(1, 3),
        "tk_last_phon": st.integers(1, 3),
        "bf_last": st.sets(st.integers(0, 1023), min_size=1, max_size=40),
    },
)


def brute_force(left: list[dict[str, Any]], right: list[dict[str, Any]] | None) -> set[tuple[int, int]]:
    a = batch_from_values(left)
    b = a if right is None else batch_from_values(right)
    i, j = np.meshgrid(np.arange(len(a)), np.arange(len(b)), indexing="ij")
    i, j = i.ravel(), j.ravel()
    hit = blocked(RULES, a, b, i, j)
    pairs = set(zip(i[hit].tolist(), j[hit].tolist(), strict=True))
    return pairs if right is not None else {(x, y) for x, y in pairs if x < y}


@given(st.lists(records, min_size=1, max_size=12), st.lists(records, min_size=1, max_size=12))
def test_linking_finds_exactly_the_pairs_that_share_a_key(
    left: list[dict[str, Any]], right: list[dict[str, Any]]
) -> None:
    found = block(RULES, batch_from_values(left), batch_from_values(right), max_block_pairs=10_000)
    assert set(zip(found.i.tolist(), found.j.tolist(), strict=True)) == brute_force(left, right)


@given(st.lists(records, min_size=1, max_size=15))
def test_deduplication_finds_each_pair_once_with_i_below_j(batch: list[dict[str, Any]]) -> None:
    found = block(RULES, batch_from_values(batch), max_block_pairs=10_000)
    pairs = list(zip(found.i.tolist(), found.j.tolist(), strict=True))
    assert len(pairs) == len(set(pairs))
    assert all(i < j for i, j in pairs)
    assert set(pairs) == brute_force(batch, None)


def test_a_block_over_the_limit_is_skipped_and_counted() -> None:
    crowd = [{"tk_dob": 1}] * 30 + [{"tk_dob": 2}] * 3
    found = block([BlockingRule("dob", on=("tk_dob",))], batch_from_values(crowd), max_block_pairs=100)
    assert len(found) == 3  # the three records born on day 2
    (stats,) = found.stats
    assert stats.skipped_blocks == 1
    assert stats.skipped_pairs == 30 * 29 // 2


def test_when_linking_a_block_counts_left_times_right_pairs() -> None:
    left = batch_from_values([{"tk_dob": 1}] * 10)
    right = batch_from_values([{"tk_dob": 1}] * 11)
    rule = BlockingRule("dob", on=("tk_dob",))
    assert len(block([rule], left, right, max_block_pairs=110)) == 110
    skipped = block([rule], left, right, max_block_pairs=109)
    assert len(skipped) == 0
    assert skipped.stats[0].skipped_pairs == 110


def test_a_cross_rule_pairs_a_date_with_its_day_month_swap_both_ways() -> None:
    left = batch_from_values([{"tk_dob": 1, "tk_dob_swap": 2}])
    right = batch_from_values([{"tk_dob": 2, "tk_dob_swap": 1}, {"tk_dob": 3}])
    found = block([BlockingRule("swap", on=("tk_dob",), other=("tk_dob_swap",))], left, right)
    assert list(zip(found.i.tolist(), found.j.tolist(), strict=True)) == [(0, 0)]


def test_minhash_bins_are_the_lowest_set_bit_of_each_word() -> None:
    batch = batch_from_values([{"bf_last": {3, 9, 64 + 5, 1023}}])
    bins = minhash_bins(batch.blooms["bf_last"])[0]
    assert bins[0] == 3
    assert bins[1] == 5
    assert bins[15] == 63
    assert bins[2] == 64  # an empty word


def test_identical_filters_always_share_an_lsh_band() -> None:
    rule = BlockingRule("lsh", bloom="bf_last", band_words=4)
    batch = batch_from_values([{"bf_last": {1, 100, 500}}, {"bf_last": {1, 100, 500}}, {"bf_last": {2, 101, 501}}])
    found = block([rule], batch)
    assert (0, 1) in set(zip(found.i.tolist(), found.j.tolist(), strict=True))


def test_pair_completeness_is_the_share_of_true_pairs_found() -> None:
    batch = batch_from_values([{"tk_dob": 1}, {"tk_dob": 1}, {"tk_dob": 2}, {"tk_dob": 3}])
    found = block([BlockingRule("dob", on=("tk_dob",))], batch)
    value = pair_completeness(found, np.array([1, 2]), np.array([0, 3]), dedupe=True, width=4)
    assert value == 0.5


@pytest.mark.parametrize(
    ("description", "rule", "problem"),
    [
        ("unknown field", BlockingRule("r", on=("tk_shoe",)), "tk_shoe"),
        ("a Bloom field as a token", BlockingRule("r", on=("bf_last",)), "not a token field"),
        (
            "cross rule of unequal length",
            BlockingRule("r", on=("tk_dob",), other=("tk_dob_swap", "tk_dob_y")),
            "as many",
        ),
        ("bands that do not divide", BlockingRule("r", bloom="bf_last", band_words=3), "band_words"),
        ("nothing to block on", BlockingRule("r"), "needs token fields"),
    ],
)
def test_invalid_rules_are_reported(description: str, rule: BlockingRule, problem: str) -> None:
    with pytest.raises(ModelError, match=problem):
        check_rules([rule])


def test_the_default_rules_are_valid() -> None:
    rules = default_rules()
    check_rules(rules)
    assert {"dob", "dob_swapped"} <= {r.name for r in rules}
