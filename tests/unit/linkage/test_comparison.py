"""Comparisons: each pair lands in the level its conditions describe, symmetrically, in one pass over arrays."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.batch import batch_from_values
from linkage.comparison import Comparison, Condition, Level, check_comparisons, compare, dice
from linkage.comparison_library import NAME_DICE, date_of_birth, default_comparisons, first_name, last_name
from linkage.errors import ModelError


def grams(text: str, k: int = 10) -> set[int]:
    """Bit positions of a toy Bloom filter of ``text``'s bigrams: enough to exercise Dice thresholds."""
    padded = f"_{text}_"
    out: set[int] = set()
    for a, b in itertools.pairwise(padded):
        digest = hashlib.sha256((a + b).encode()).digest()
        out.update(int.from_bytes(digest[2 * i : 2 * i + 2], "big") % 1024 for i in range(k))
    return out


def level_label(comparison: Comparison, left: dict[str, Any], right: dict[str, Any]) -> str:
    batch = batch_from_values([left, right])
    gamma = compare([comparison], batch, batch, np.array([0]), np.array([1]))
    return comparison.levels[int(gamma[0, 0])].label


DOB = {"tk_dob": 11, "tk_dob_swap": 12, "tk_dob_md": 13, "tk_dob_ym": 14, "tk_dob_y": 15}


@pytest.mark.parametrize(
    ("description", "left", "right", "expected"),
    [
        ("same date", DOB, DOB, "exact"),
        ("one side has no date", DOB, {}, "missing on one side"),
        (
            "day and month swapped",
            DOB,
            {"tk_dob": 12, "tk_dob_swap": 11, "tk_dob_ym": 99, "tk_dob_y": 15},
            "day and month swapped",
        ),
        (
            "year typo",
            DOB,
            {"tk_dob": 21, "tk_dob_md": 13, "tk_dob_ym": 24, "tk_dob_y": 25},
            "same day and month, different year",
        ),
        ("day typo", DOB, {"tk_dob": 21, "tk_dob_md": 23, "tk_dob_ym": 14, "tk_dob_y": 15}, "same year and month"),
        ("month typo", DOB, {"tk_dob": 21, "tk_dob_md": 23, "tk_dob_ym": 24, "tk_dob_y": 15}, "same year"),
        ("parent and child", DOB, {"tk_dob": 21, "tk_dob_md": 23, "tk_dob_ym": 24, "tk_dob_y": 25}, "different"),
    ],
)
def test_date_of_birth_levels(description: str, left: dict[str, Any], right: dict[str, Any], expected: str) -> None:
    assert level_label(date_of_birth(), left, right) == expected, description


def name(text: str, token: int, canon: int | None = None, phon: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"bf_first": grams(text), "tk_first": token, "tk_first_canon": canon or token}
    if phon:
        out["tk_first_phon"] = phon
    return out


@pytest.mark.parametrize(
    ("description", "left", "right", "expected"),
    [
        ("same name", name("michael", 1), name("michael", 1), "exact"),
        ("nickname", name("mike", 2, canon=1), name("michael", 1), "same name or a known nickname"),
        ("two letters swapped", name("christopher", 3), name("christophre", 4), f"similar (Dice >= {NAME_DICE[1]})"),
        ("sounds alike only", name("jon", 5, phon=7), name("john", 6, phon=7), "sounds alike"),
        ("different names", name("alice", 8), name("zoe", 9), "different"),
        (
            "names swapped",
            {**name("smith", 10), "bf_last": grams("alice")},
            {**name("alice", 11), "bf_last": grams("smith")},
            "matches the other's last name",
        ),
        ("no first name", {}, name("zoe", 9), "missing on one side"),
    ],
)
def test_first_name_levels(description: str, left: dict[str, Any], right: dict[str, Any], expected: str) -> None:
    assert level_label(first_name(), left, right) == expected, description


def test_a_swap_needs_both_names_crossed_over_for_the_last_name_level() -> None:
    smith_alice = {"bf_first": grams("smith"), "bf_last": grams("alice")}
    alice_smith = {"bf_first": grams("alice"), "bf_last": grams("smith")}
    alice_jones = {"bf_first": grams("alice"), "bf_last": grams("jones")}
    assert level_label(last_name(), smith_alice, alice_smith) == "first and last names swapped"
    assert level_label(last_name(), smith_alice, alice_jones) == "different"
    assert level_label(first_name(), smith_alice, alice_jones) == "matches the other's last name"


def test_dice_is_twice_the_common_bits_over_the_total() -> None:
    batch = batch_from_values([{"bf_last": {1, 2, 3, 4}}, {"bf_last": {3, 4, 5, 6, 7, 8}}, {}])
    values = dice(batch, batch, "bf_last", np.array([0, 0, 0]), np.array([1, 0, 2]))
    np.testing.assert_allclose(values, [2 * 2 / 10, 1.0, 0.0])


def test_the_default_comparisons_are_valid_and_labelled() -> None:
    comparisons = default_comparisons()
    check_comparisons(comparisons)
    assert {c.name for c in comparisons} >= {"first_name", "last_name", "date_of_birth", "address"}
    assert date_of_birth().describe(2) == "date of birth: day and month swapped"


@pytest.mark.parametrize(
    ("description", "levels", "problem"),
    [
        ("no null level", (Level("a", (Condition("equal", "tk_dob"),)), Level("b"), Level("c")), "first level"),
        (
            "else level has conditions",
            (
                Level("n", (Condition("missing", "tk_dob"),), null=True),
                Level("a", (Condition("equal", "tk_dob"),)),
                Level("b", (Condition("equal", "tk_dob_y"),)),
            ),
            "last level",
        ),
        (
            "unknown field",
            (
                Level("n", (Condition("missing", "tk_shoe"),), null=True),
                Level("a", (Condition("equal", "tk_shoe"),)),
                Level("b"),
            ),
            "tk_shoe",
        ),
        (
            "dice on a token",
            (
                Level("n", (Condition("missing", "tk_dob"),), null=True),
                Level("a", (Condition("dice", "tk_dob", min=0.9),)),
                Level("b"),
            ),
            "cannot use token",
        ),
        (
            "dice without threshold",
            (
                Level("n", (Condition("missing", "bf_first"),), null=True),
                Level("a", (Condition("dice", "bf_first"),)),
                Level("b"),
            ),
            "needs min",
        ),
    ],
)
def test_invalid_comparisons_are_reported(description: str, levels: tuple[Level, ...], problem: str) -> None:
    with pytest.raises(ModelError, match=problem):
        check_comparisons([Comparison("c", "c", levels)])


def test_every_problem_is_reported_at_once() -> None:
    bad = Comparison("c", "c", (Level("a"), Level("b", (Condition("equal", "tk_shoe"),)), Level("c")))
    with pytest.raises(ModelError) as caught:
        check_comparisons([bad, bad])
    message = str(caught.value)
    assert "first level" in message
    assert "tk_shoe" in message
    assert "used twice" in message


FIELDS_FOR_RECORDS = {
    "tk_first": st.integers(1, 3),
    "tk_first_canon": st.integers(1, 2),
    "tk_first_phon": st.integers(1, 2),
    "tk_last": st.integers(1, 3),
    "tk_last_phon": st.integers(1, 2),
    "tk_dob": st.integers(1, 3),
    "tk_dob_swap": st.integers(1, 3),
    "tk_dob_md": st.integers(1, 2),
    "tk_dob_ym": st.integers(1, 2),
    "tk_dob_y": st.integers(1, 2),
    "tk_gender": st.integers(1, 2),
    "tk_pc_unit": st.integers(1, 2),
    "tk_pc_sector": st.integers(1, 2),
    "tk_nhs": st.integers(1, 2),
    "tk_last_parts": st.lists(st.integers(1, 4), max_size=3),
    "bf_first": st.sets(st.integers(0, 40), max_size=30),
    "bf_last": st.sets(st.integers(0, 40), max_size=30),
    "bf_address": st.sets(st.integers(0, 40), max_size=30),
}
records = st.fixed_dictionaries({}, optional=FIELDS_FOR_RECORDS)


@given(st.lists(records, min_size=2, max_size=8), st.data())
def test_comparison_is_symmetric(batch_records: list[dict[str, Any]], data: st.DataObject) -> None:
    batch = batch_from_values(batch_records)
    n = len(batch_records)
    i = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=10)))
    j = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=len(i), max_size=len(i))))
    comparisons = default_comparisons()
    np.testing.assert_array_equal(compare(comparisons, batch, batch, i, j), compare(comparisons, batch, batch, j, i))


@given(st.lists(records, min_size=1, max_size=6))
def test_a_record_compared_with_itself_is_never_below_exact_unless_missing(batch_records: list[dict[str, Any]]) -> None:
    batch = batch_from_values(batch_records)
    rows = np.arange(len(batch_records))
    gamma = compare([date_of_birth()], batch, batch, rows, rows)
    has_dob = batch.tokens["tk_dob"] != 0
    np.testing.assert_array_equal(gamma[:, 0], np.where(has_dob, 1, 0))
