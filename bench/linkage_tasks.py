"""What the linkage quality benchmark (:mod:`bench.linkage_quality`) runs on and how a result is scored: a data set
with its true person ids, one system's result on it, and the pairwise scores of the pairs or clusters it made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from linkage.batch import RecordBatch
from linkage.blocking import BlockingRule
from linkage.evaluate import Evaluation, PairwiseScores, evaluate
from linkage.keyset import FieldKeys


@dataclass
class Result:
    """One system on one data set."""

    data: str
    system: str
    input: str
    scores: PairwiseScores
    seconds: float
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Task:
    """A data set: one or two sources of plaintext records, their true person ids, and how to encode them."""

    name: str
    sources: list[pd.DataFrame]
    truth: list[np.ndarray]
    encode: Callable[[pd.DataFrame, FieldKeys], RecordBatch]
    rules: tuple[BlockingRule, ...]
    relationships: pd.DataFrame | None = None
    keys: pd.DataFrame | None = None  # partner, record_id per record, where the data has them
    plaintext: pd.DataFrame | None = None  # the population's identifiers, normalised, for the plaintext systems
    note: str = ""
    guard: bool = False

    @property
    def link(self) -> bool:
        return len(self.sources) == 2


def cross_pair_scores(task: Task, i: np.ndarray, j: np.ndarray) -> PairwiseScores:
    """Pairwise scores for a link task from the cross-source pairs a system links."""
    left, right = task.truth
    true_pairs = int(pd.Series(left).map(pd.Series(right).value_counts()).fillna(0).sum())
    tp = int((left[i] == right[j]).sum())
    return PairwiseScores(tp, len(i), true_pairs)


def cluster_evaluation(task: Task, labels: np.ndarray) -> Evaluation:
    truth = np.concatenate(task.truth)
    if task.keys is None:
        frame = pd.DataFrame({"partner": "X", "record_id": np.arange(len(truth)).astype(str), "person_id": truth})
    else:
        frame = task.keys.assign(person_id=truth)
    return evaluate(frame, frame.assign(person_id=labels.astype(str)), task.relationships)


def cluster_scores(task: Task, labels: np.ndarray) -> PairwiseScores:
    return cluster_evaluation(task, labels).pairwise
