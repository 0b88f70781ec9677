"""Linkage quality against ground truth: pairwise precision, recall and F1, cluster counts, false merges by kind.

Both tables hold one row per record: ``partner``, ``record_id`` and ``person_id`` (the true person in the truth
table, the linked person in the links table). Pairs are counted, never listed: for a contingency table of ``n_ab``
records in linked cluster ``a`` and true person ``b``,

* true positive pairs ``= sum_ab C(n_ab, 2)``,
* linked pairs ``= sum_a C(n_a, 2)`` and true pairs ``= sum_b C(n_b, 2)``,

so a million records evaluate as fast as they group. A record in the truth but absent from the links counts as a
cluster of its own (it was linked to nobody); a record in the links but not in the truth is left out and counted.

A false merge is a pair of records of two different people in one linked cluster. Given the relationships between
people (twins, parent and child, ...), false merges are broken down by kind, since those are the hard cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from linkage.errors import EvaluationError

KEY = ["partner", "record_id"]
UNRELATED = "unrelated"


@dataclass(frozen=True)
class PairwiseScores:
    """Counts of record pairs and the scores they give."""

    true_positives: int
    linked_pairs: int
    true_pairs: int

    @property
    def precision(self) -> float:
        """Share of linked pairs that are the same person (1.0 when nothing is linked)."""
        return self.true_positives / self.linked_pairs if self.linked_pairs else 1.0

    @property
    def recall(self) -> float:
        """Share of same-person pairs that are linked (1.0 when there are none)."""
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class ClusterCounts:
    """How the linked clusters compare with the true people.

    Attributes:
        records: records evaluated.
        true_people: distinct true people.
        linked_clusters: distinct linked clusters.
        exact: linked clusters holding exactly one true person's records, all of them.
        merged: linked clusters holding records of more than one person.
        split: true people whose records are spread over more than one linked cluster.
    """

    records: int
    true_people: int
    linked_clusters: int
    exact: int
    merged: int
    split: int


@dataclass(frozen=True)
class Evaluation:
    """Everything :func:`evaluate` measures."""

    pairwise: PairwiseScores
    clusters: ClusterCounts
    false_merges: dict[str, int] = field(default_factory=dict)
    missing_from_links: int = 0
    unknown_to_truth: int = 0


def _check(table: pd.DataFrame, name: str, columns: list[str]) -> None:
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise EvaluationError(f"the {name} table lacks column(s) {', '.join(absent)}: it needs {', '.join(columns)}")
    if name != "relationships" and table.duplicated(KEY).any():
        count = int(table.duplicated(KEY).sum())
        raise EvaluationError(f"the {name} table repeats {count} (partner, record_id) pair(s): each record once")


def _pairs(counts: pd.Series) -> int:
    values = counts.to_numpy(dtype=np.int64)
    return int((values * (values - 1) // 2).sum())


def _false_merges(cells: pd.DataFrame, relationships: pd.DataFrame | None) -> dict[str, int]:
    """Record pairs of different people inside one linked cluster, summed by the people's relationship."""
    merged = cells[cells.groupby("linked")["truth"].transform("size") > 1]
    if merged.empty:
        return {}
    both = merged.merge(merged, on="linked", suffixes=("_a", "_b"))
    both = both[both["truth_a"].astype(str) < both["truth_b"].astype(str)]
    both = both.assign(pairs=both["n_a"] * both["n_b"], kind=UNRELATED)
    if relationships is not None and not relationships.empty:
        rel = relationships.astype({"person_a": str, "person_b": str})
        lo = np.minimum(rel["person_a"], rel["person_b"])
        hi = np.maximum(rel["person_a"], rel["person_b"])
        rel = pd.DataFrame({"truth_a": lo, "truth_b": hi, "rel_kind": rel["kind"]}).drop_duplicates(
            ["truth_a", "truth_b"]
        )
        keyed = both.astype({"truth_a": str, "truth_b": str}).merge(rel, on=["truth_a", "truth_b"], how="left")
        both = keyed.assign(kind=keyed["rel_kind"].fillna(UNRELATED))
    return {str(k): int(v) for k, v in both.groupby("kind")["pairs"].sum().items()}


def evaluate(truth: pd.DataFrame, links: pd.DataFrame, relationships: pd.DataFrame | None = None) -> Evaluation:
    """Score linked clusters against the true people.

    Args:
        truth: ``partner, record_id, person_id`` per record (the true person).
        links: ``partner, record_id, person_id`` per record (the linked person, from the hub).
        relationships: optional ``person_a, person_b, kind`` (e.g. ``twin``, ``parent_child``) between true people.

    Returns:
        Pairwise scores, cluster counts and false merges by relationship kind (``unrelated`` for the rest).

    Raises:
        EvaluationError: a table lacks a column or lists a record twice.
    """
    _check(truth, "truth", [*KEY, "person_id"])
    _check(links, "links", [*KEY, "person_id"])
    if relationships is not None:
        _check(relationships, "relationships", ["person_a", "person_b", "kind"])
    joined = truth[[*KEY, "person_id"]].merge(
        links[[*KEY, "person_id"]], on=KEY, how="outer", suffixes=("_truth", "_linked"), indicator=True
    )
    unknown = int((joined["_merge"] == "right_only").sum())
    joined = joined[joined["_merge"] != "right_only"]
    missing = joined["person_id_linked"].isna()
    # A record nobody linked is a cluster of its own: give it a label no linked cluster can have.
    own = "unlinked:" + joined["partner"].astype(str) + "\x1f" + joined["record_id"].astype(str)
    linked = ("linked:" + joined["person_id_linked"].astype(str)).where(~missing, own)
    frame = pd.DataFrame({"linked": linked.to_numpy(), "truth": joined["person_id_truth"].astype(str).to_numpy()})

    cells = frame.groupby(["linked", "truth"], sort=False).size().rename("n").reset_index()
    per_linked = cells.groupby("linked")["n"].sum()
    per_truth = cells.groupby("truth")["n"].sum()
    people_per_cluster = cells.groupby("linked").size()
    clusters_per_person = cells.groupby("truth").size()
    exact = cells[cells["linked"].map(people_per_cluster).eq(1) & cells["truth"].map(clusters_per_person).eq(1)]
    return Evaluation(
        pairwise=PairwiseScores(_pairs(cells["n"]), _pairs(per_linked), _pairs(per_truth)),
        clusters=ClusterCounts(
            records=len(frame),
            true_people=len(per_truth),
            linked_clusters=len(per_linked),
            exact=len(exact),
            merged=int((people_per_cluster > 1).sum()),
            split=int((clusters_per_person > 1).sum()),
        ),
        false_merges=_false_merges(cells, relationships),
        missing_from_links=int(missing.sum()),
        unknown_to_truth=unknown,
    )


def clusters_to_links(partner: list[str], record_id: list[str], labels: np.ndarray) -> pd.DataFrame:
    """A links table from cluster labels (e.g. from :func:`linkage.cluster.cluster`), person ids ``C<label>``."""
    return pd.DataFrame({"partner": partner, "record_id": record_id, "person_id": [f"C{int(x)}" for x in labels]})
