"""Clusters of records from accepted links: connected components, with a guard against chaining.

Connected components alone let one weak link chain two people together (A links to B, B to C, so A and C merge
although A and C were never alike). The guard is a cluster-level check: every pair of records inside a proposed
cluster is tested (the caller scores them with the model), and a cluster holding a pair that must not be together
is rebuilt from its links, strongest first, refusing any link that would put such a pair in one cluster. Links
inside clusters without a conflict are never touched, so the guard costs little when there is nothing to guard.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
Conflicts = Callable[[I64, I64], NDArray[np.bool_]]
DEFAULT_MAX_CHECKED_SIZE = 200


def connected_components(n: int, i: NDArray[np.integer], j: NDArray[np.integer]) -> I64:
    """Label each of ``n`` records with its component under the edges ``(i, j)``.

    Vectorised hook-and-compress: each edge hooks the larger root onto the smaller, then labels jump to their roots,
    until every edge joins records with one label.

    Args:
        n: the number of records.
        i: one end of each edge.
        j: the other end.

    Returns:
        ``int64 [n]``: the smallest record index in each record's component.
    """
    labels = np.arange(n, dtype=np.int64)
    a, b = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    while True:
        la, lb = labels[a], labels[b]
        differ = la != lb
        if not differ.any():
            return labels
        low, high = np.minimum(la[differ], lb[differ]), np.maximum(la[differ], lb[differ])
        np.minimum.at(labels, high, low)
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped


def within_cluster_pairs(
    labels: I64, *, min_size: int = 3, max_size: int = DEFAULT_MAX_CHECKED_SIZE
) -> tuple[I64, I64]:
    """Every pair of records that share a cluster of ``min_size`` to ``max_size`` records.

    Args:
        labels: cluster label per record.
        min_size: the smallest cluster to list (a cluster of two is its own link).
        max_size: the largest; larger clusters are left to review rather than expanded quadratically.

    Returns:
        ``(i, j)`` with ``i < j``.
    """
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sizes = np.diff(np.r_[starts, len(labels)])
    out_i, out_j = [], []
    for size in np.unique(sizes[(sizes >= min_size) & (sizes <= max_size)]):
        members = order[starts[sizes == size][:, None] + np.arange(size)]  # [clusters, size]
        a, b = np.triu_indices(int(size), k=1)
        out_i.append(np.minimum(members[:, a], members[:, b]).ravel())
        out_j.append(np.maximum(members[:, a], members[:, b]).ravel())
    if not out_i:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(out_i).astype(np.int64), np.concatenate(out_j).astype(np.int64)


def _find(parent: dict[int, int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _rebuild(nodes: I64, i: I64, j: I64, weight: F64, conflicts: set[tuple[int, int]]) -> dict[int, int]:
    """Greedy constrained union of one component's links, strongest first; returns node -> root."""
    parent = {int(x): int(x) for x in nodes}
    members = {int(x): [int(x)] for x in nodes}
    for edge in np.argsort(-weight, kind="stable"):
        ra, rb = _find(parent, int(i[edge])), _find(parent, int(j[edge]))
        if ra == rb:
            continue
        if any((min(x, y), max(x, y)) in conflicts for x in members[ra] for y in members[rb]):
            continue
        keep, drop = min(ra, rb), max(ra, rb)
        parent[drop] = keep
        members[keep].extend(members.pop(drop))
    return {x: _find(parent, x) for x in parent}


def cluster(
    n: int,
    i: NDArray[np.integer],
    j: NDArray[np.integer],
    weight: F64,
    *,
    conflicts: Conflicts | None = None,
    max_checked_size: int = DEFAULT_MAX_CHECKED_SIZE,
) -> I64:
    """Cluster ``n`` records from accepted links, guarding against chaining.

    Args:
        n: the number of records.
        i: one end of each accepted link.
        j: the other end.
        weight: each link's match weight (stronger links are kept first when a cluster is rebuilt).
        conflicts: given pairs ``(a, b)`` inside proposed clusters, says which must not share a cluster (for
            example: the model scores them below its lower threshold); ``None`` for plain connected components.
        max_checked_size: clusters larger than this are not checked pair by pair.

    Returns:
        ``int64 [n]``: the smallest record index in each record's cluster.
    """
    a, b = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    labels = connected_components(n, a, b)
    if conflicts is None:
        return labels
    pi, pj = within_cluster_pairs(labels, max_size=max_checked_size)
    bad = conflicts(pi, pj) if len(pi) else np.zeros(0, dtype=np.bool_)
    if not bad.any():
        return labels
    pairs = {(int(x), int(y)) for x, y in zip(pi[bad], pj[bad], strict=True)}
    for component in np.unique(labels[pi[bad]]):
        nodes = np.flatnonzero(labels == component)
        inside = labels[a] == component
        roots = _rebuild(nodes, a[inside], b[inside], weight[inside], pairs)
        for node, root in roots.items():
            labels[node] = root  # the root is the cluster's smallest member, as for the other clusters
    return labels
