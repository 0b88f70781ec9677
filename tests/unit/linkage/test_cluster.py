"""Clustering agrees with a reference implementation, and the chaining guard splits what must not be together."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as reference_components

from linkage.cluster import cluster, connected_components, within_cluster_pairs

graphs = st.integers(1, 40).flatmap(
    lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two labellings describe the same partition when each label of one maps to exactly one label of the other."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@given(graphs)
def test_components_agree_with_scipy(graph: tuple[int, list[tuple[int, int]]]) -> None:
    n, edges = graph
    i = np.array([e[0] for e in edges], dtype=np.int64)
    j = np.array([e[1] for e in edges], dtype=np.int64)
    ours = connected_components(n, i, j)
    matrix = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, theirs = reference_components(matrix, directed=False)
    assert same_partition(ours, theirs)
    # Each label is the smallest member of its component.
    for label in np.unique(ours):
        assert label == np.flatnonzero(ours == label).min()


def test_a_long_chain_is_one_component() -> None:
    n = 10_000
    order = np.random.default_rng(0).permutation(n)
    labels = connected_components(n, order[:-1], order[1:])
    assert (labels == 0).all()


@given(st.lists(st.integers(0, 6), min_size=1, max_size=30))
def test_within_cluster_pairs_lists_every_pair_of_clusters_of_three_or_more(labels_list: list[int]) -> None:
    labels = np.array(labels_list, dtype=np.int64)
    i, j = within_cluster_pairs(labels, min_size=3)
    got = set(zip(i.tolist(), j.tolist(), strict=True))
    sizes = {x: labels_list.count(x) for x in labels_list}
    expected = {
        (a, b)
        for a in range(len(labels))
        for b in range(a + 1, len(labels))
        if labels[a] == labels[b] and sizes[labels_list[a]] >= 3
    }
    assert got == expected


def test_without_a_conflict_the_guard_changes_nothing() -> None:
    labels = cluster(
        4, np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([10.0, 3.0, 9.0]), conflicts=lambda i, j: i < 0
    )
    assert labels.tolist() == [0, 0, 0, 0]


def test_the_guard_breaks_a_chain_at_its_weakest_link() -> None:
    # 0 - 1 strongly, 1 - 2 weakly, 2 - 3 strongly; 0 and 3 must not share a cluster.
    def conflicts(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return (i == 0) & (j == 3)

    labels = cluster(5, np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([20.0, 9.0, 15.0]), conflicts=conflicts)
    assert labels.tolist() == [0, 0, 2, 2, 4]


def test_the_guard_only_rebuilds_clusters_with_a_conflict() -> None:
    i, j = np.array([0, 1, 3, 4]), np.array([1, 2, 4, 5])
    weight = np.array([5.0, 1.0, 5.0, 1.0])
    labels = cluster(6, i, j, weight, conflicts=lambda a, b: (a == 0) & (b == 2))
    assert labels.tolist() == [0, 0, 2, 3, 3, 3]
