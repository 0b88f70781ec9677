"""Scoring: the joint term-frequency adjustment on first and last name together."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from linkage.batch import batch_from_values
from linkage.fellegi_sunter import TermFrequencies
from linkage.model import LinkageModel
from linkage.scoring import combine_tokens, joint_tf_fields, score_pairs, term_frequencies
from tests.unit.linkage.test_model import make_model

FULL_NAME = ("first_name", "last_name")


def _person(first: int, last: int, born: tuple[int, int] | None = None) -> dict[str, Any]:
    """A record with first and last name tokens (and filters, so the names count as present) and a birth date."""
    record: dict[str, Any] = {
        "bf_first": {first % 1000, 1001},
        "bf_last": {last % 1000, 1002},
        "tk_first": first,
        "tk_last": last,
    }
    if born is not None:
        record["tk_dob_y"], record["tk_dob_md"] = born
        record["tk_dob"] = born[0] * 10_000 + born[1]
    return record


def _model(joint: bool = True) -> LinkageModel:
    # Unclipped adjustments: the test model's u for exact names is far below any real one.
    return replace(make_model(), joint_tf=(FULL_NAME,) if joint else (), tf_max_bits=30.0)


# Two hundred other people, each with names of their own, so that the names under test are not everyone's.
OTHERS = [_person(10_000 + n, 20_000 + n, (1950 + n % 60, 100 + n)) for n in range(200)]


def _weights(model: LinkageModel, records: list[dict[str, Any]], pair: tuple[int, int]) -> tuple[float, float]:
    """The pair's weight with every frequency table, and with the per-name tables alone."""
    batch = batch_from_values(records + OTHERS)
    frequencies = term_frequencies(model, batch)
    per_name = {name: table for name, table in frequencies.items() if name not in joint_tf_fields(model)}
    i, j = np.array([pair[0]]), np.array([pair[1]])
    joint = score_pairs(model, batch, batch, i, j, frequencies=frequencies).weight[0]
    alone = score_pairs(model, batch, batch, i, j, frequencies=per_name).weight[0]
    return float(joint), float(alone)


def test_combined_tokens_depend_on_order_and_need_every_part() -> None:
    first = np.array([11, 22, 11, 0], dtype=np.uint64)
    last = np.array([22, 11, 22, 22], dtype=np.uint64)
    combined = combine_tokens([first, last])
    assert combined[0] == combined[2]
    assert combined[0] != combined[1]
    assert combined[3] == 0
    assert (combined[:3] >= np.uint64(1 << 63)).all()


def test_people_are_counted_once_however_often_they_are_recorded() -> None:
    tokens = np.array([5, 5, 5, 6, 6, 7, 0], dtype=np.uint64)
    years = np.array([1990, 1991, 1990, 1980, 2001, 0, 1970], dtype=np.uint64)
    month_days = np.array([101, 101, 101, 203, 1111, 0, 101], dtype=np.uint64)
    table = TermFrequencies.of_people(tokens, [years, month_days])
    counts = table.share(np.array([5, 6, 7], dtype=np.uint64), table.floor) / table.floor
    # 5: one person, a year mistyped once; 6: two people born on different dates; 7: no date, one person.
    np.testing.assert_allclose(counts, [1, 2, 1])


@pytest.mark.parametrize(
    ("description", "records", "pair", "lowered"),
    [
        (
            "a full name three people hold: agreeing on it counts for less",
            [_person(7, 8, (1990, 101)), _person(7, 8), _person(7, 8, (1975, 612)), _person(7, 8, (2001, 930))],
            (0, 1),
            True,
        ),
        (
            "a full name one person holds, recorded three times: the per-name adjustments stand",
            [_person(7, 8, (1990, 101)), _person(7, 8), _person(7, 8, (1990, 101)), _person(3, 4, (1975, 612))],
            (0, 1),
            False,
        ),
        (
            "the pair's own two birth dates are the only sign of a second person: the per-name adjustments stand",
            [_person(7, 8, (1990, 101)), _person(7, 8, (1975, 612)), _person(3, 4, (2001, 930))],
            (0, 1),
            False,
        ),
        (
            "the pair's own dates differ and a third person holds the name too",
            [_person(7, 8, (1990, 101)), _person(7, 8, (1975, 612)), _person(7, 8, (2001, 930))],
            (0, 1),
            True,
        ),
    ],
)
def test_a_full_name_other_people_hold_counts_for_less(
    description: str, records: list[dict[str, Any]], pair: tuple[int, int], lowered: bool
) -> None:
    joint, alone = _weights(_model(), records, pair)
    if lowered:
        assert joint < alone - 1.0, description
    else:
        assert joint == pytest.approx(alone), description


def test_without_joint_groups_the_weights_are_the_per_name_ones() -> None:
    records = [_person(7, 8, (1990, 101)), _person(7, 8), _person(7, 8, (1975, 612)), _person(7, 8, (2001, 930))]
    joint, alone = _weights(_model(joint=False), records, (0, 1))
    assert joint == pytest.approx(alone)
    assert joint_tf_fields(_model(joint=False)) == {}
    assert joint_tf_fields(_model()) == {"tk_first+tk_last": ("tk_first", "tk_last")}
