"""Evaluation counts pairs without listing them, and agrees with listing them on every table."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.errors import EvaluationError
from linkage.evaluate import evaluate


def table(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["partner", "record_id", "person_id"])


def brute_force(truth: dict[str, str], linked: dict[str, str]) -> tuple[int, int, int]:
    records = sorted(truth)
    tp = linked_pairs = true_pairs = 0
    for a, b in itertools.combinations(records, 2):
        same_truth = truth[a] == truth[b]
        same_link = a in linked and b in linked and linked[a] == linked[b]
        tp += same_truth and same_link
        linked_pairs += same_link
        true_pairs += same_truth
    return tp, linked_pairs, true_pairs


@given(st.lists(st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(0, 5))), min_size=1, max_size=25))
def test_pair_counts_agree_with_listing_every_pair(rows: list[tuple[int, int | None]]) -> None:
    truth = {f"r{k}": f"p{t}" for k, (t, _) in enumerate(rows)}
    linked = {f"r{k}": f"c{c}" for k, (_, c) in enumerate(rows) if c is not None}
    result = evaluate(
        table([("P", r, p) for r, p in truth.items()]),
        table([("P", r, c) for r, c in linked.items()]),
    )
    assert (result.pairwise.true_positives, result.pairwise.linked_pairs, result.pairwise.true_pairs) == brute_force(
        truth, linked
    )
    assert result.missing_from_links == len(truth) - len(linked)


def test_scores_and_cluster_counts_on_a_worked_example() -> None:
    truth = table([("A", "1", "ann"), ("B", "1", "ann"), ("C", "1", "ann"), ("A", "2", "bob"), ("B", "2", "bob")])
    links = table([("A", "1", "x"), ("B", "1", "x"), ("C", "1", "y"), ("A", "2", "y"), ("B", "2", "z")])
    result = evaluate(truth, links)
    # Linked pairs: (A1, B1) right, (C1, A2) wrong. True pairs: three for ann, one for bob.
    assert result.pairwise.true_positives == 1
    assert result.pairwise.precision == pytest.approx(0.5)
    assert result.pairwise.recall == pytest.approx(0.25)
    assert result.pairwise.f1 == pytest.approx(2 * 0.5 * 0.25 / 0.75)
    counts = result.clusters
    assert (counts.records, counts.true_people, counts.linked_clusters) == (5, 2, 3)
    assert (counts.exact, counts.merged, counts.split) == (0, 1, 2)


def test_false_merges_are_broken_down_by_relationship() -> None:
    truth = table(
        [("A", "1", "t1"), ("A", "2", "t2"), ("B", "1", "t1"), ("A", "3", "mum"), ("A", "4", "kid"), ("A", "5", "z")]
    )
    links = table(
        [("A", "1", "x"), ("A", "2", "x"), ("B", "1", "x"), ("A", "3", "y"), ("A", "4", "y"), ("A", "5", "y")]
    )
    relationships = pd.DataFrame(
        {"person_a": ["t2", "mum"], "person_b": ["t1", "kid"], "kind": ["twin", "parent_child"]}
    )
    result = evaluate(truth, links, relationships)
    assert result.false_merges == {"twin": 2, "parent_child": 1, "unrelated": 2}


def test_records_unknown_to_the_truth_are_counted_and_left_out() -> None:
    result = evaluate(table([("A", "1", "p")]), table([("A", "1", "x"), ("A", "9", "x")]))
    assert result.unknown_to_truth == 1
    assert result.pairwise.linked_pairs == 0


@pytest.mark.parametrize(
    ("description", "truth", "problem"),
    [
        ("no person_id", pd.DataFrame({"partner": ["A"], "record_id": ["1"]}), "lacks column"),
        ("a record twice", table([("A", "1", "p"), ("A", "1", "q")]), "repeats 1"),
    ],
)
def test_malformed_tables_are_refused(description: str, truth: pd.DataFrame, problem: str) -> None:
    with pytest.raises(EvaluationError, match=problem):
        evaluate(truth, table([("A", "1", "x")]))
