"""Scoring and clustering a set of records already on the hub: the pieces the resolver and the steward's split
share. Everything here works on one :class:`~aim.identity.store.Loaded` set of records, by row."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

from aim.identity import pairs, store
from linkage.cluster import Conflicts, cluster
from linkage.fellegi_sunter import TermFrequencies
from linkage.model import LinkageModel
from linkage.scoring import ScoredPairs, score_pairs

I64 = NDArray[np.int64]
KEEP_TOGETHER = 1e9  # the weight of an edge that holds an existing person's records together


def steward_decisions(conn: Connection, pk_a: I64, pk_b: I64) -> NDArray[np.int8]:
    """The steward's decision on each pair of records (by pk), as :mod:`aim.identity.pairs` codes.

    Matched as arrays: a large feed's first linking scores tens of millions of candidate pairs, and a Python tuple for
    each (as this once made) took gigabytes, for the few pairs a steward has decided."""
    out = np.zeros(len(pk_a), dtype=np.int8)
    if not len(out):
        return out
    low, high = np.minimum(pk_a, pk_b).astype(np.int64), np.maximum(pk_a, pk_b).astype(np.int64)
    decided = store.decided_pairs(conn, np.unique(low).tolist())
    if not decided:
        return out
    d_low, d_high = (np.array([d[n] for d in decided], dtype=np.int64) for n in (0, 1))
    codes = np.array([pairs.ACCEPTED if d[2] == "accepted" else pairs.REJECTED for d in decided], dtype=np.int8)
    span = int(max(high.max(), d_high.max())) + 1  # one number for each pair: low * span + high
    keys, d_keys = low * span + high, d_low * span + d_high
    order = np.argsort(d_keys)
    d_keys, codes = d_keys[order], codes[order]
    at = np.minimum(np.searchsorted(d_keys, keys), len(d_keys) - 1)
    hit = d_keys[at] == keys
    out[hit] = codes[at[hit]]
    return out


class Scorer:
    """Scores and judges pairs of records within one loaded set."""

    def __init__(
        self,
        conn: Connection,
        model: LinkageModel,
        nodes: store.Loaded,
        frequencies: Mapping[str, TermFrequencies],
    ) -> None:
        self.conn = conn
        self.model = model
        self.nodes = nodes
        self.frequencies = frequencies

    def judge(self, a: I64, b: I64) -> tuple[ScoredPairs, pairs.Verdicts]:
        batch = self.nodes.batch
        scored = score_pairs(self.model, batch, batch, a, b, frequencies=self.frequencies)
        decisions = steward_decisions(self.conn, self.nodes.pks[a], self.nodes.pks[b])
        return scored, pairs.judge(self.model, batch, batch, scored, decisions)

    def conflicts(self, person_of_node: I64) -> Conflicts:
        """A conflicts function for :func:`linkage.cluster.cluster`; records already in one person never conflict."""

        def check(a: I64, b: I64) -> pairs.Bools:
            same_person = (person_of_node[a] >= 0) & (person_of_node[a] == person_of_node[b])
            out = np.zeros(len(a), dtype=np.bool_)
            ask = ~same_person
            if ask.any():
                _, verdicts = self.judge(a[ask], b[ask])
                out[ask] = verdicts.conflict
            return out

        return check


def star_edges(person_of_node: I64) -> tuple[I64, I64]:
    """Edges joining each existing person's records (nodes with the same person >= 0) to its first record."""
    order = np.argsort(person_of_node, kind="stable")
    ordered = person_of_node[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    first = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    keep = (ordered >= 0) & ~starts
    return first[keep].astype(np.int64), order[keep].astype(np.int64)


def regroup(
    scorer: Scorer,
    person_of_node: I64,
    edge_a: I64,
    edge_b: I64,
    edge_weight: NDArray[np.float64],
) -> I64:
    """Cluster the nodes from link edges plus the edges holding existing persons together, with the guard."""
    sa, sb = star_edges(person_of_node)
    i = np.concatenate([sa, edge_a])
    j = np.concatenate([sb, edge_b])
    w = np.concatenate([np.full(len(sa), KEEP_TOGETHER), edge_weight])
    check = scorer.conflicts(person_of_node)
    return cluster(len(person_of_node), i, j, w, conflicts=check)
