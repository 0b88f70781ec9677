"""Training without labels: thresholds the model chooses for itself, and a model trained end to end on encodings."""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pytest

from linkage.batch import RecordBatch
from linkage.encoder import RawIdentity, RecordEncoder
from linkage.fellegi_sunter import log2_odds
from linkage.keyset import FieldKeys
from linkage.model import LinkageModel
from linkage.scoring import ScoredPairs, find_candidates, guarded_weights, household_guard, score_candidates
from linkage.training import REVIEW_FLOOR_PROBABILITY, choose_thresholds, train
from tests.unit.linkage.test_model import make_model

FLOOR = round(log2_odds(REVIEW_FLOOR_PROBABILITY), 2)
NINE_TO_ONE = float(np.log2(9.0))


@pytest.mark.parametrize(
    ("description", "weights", "upper"),
    [
        ("clear separation: link every clearly positive pair", [10.0, 9.0, 8.0, -9.0, -10.0], 8.0),
        ("two coin flips: linking both expects F1 2/3, one expects 1/2", [0.0, 0.0], 0.0),
        ("a 90% and a 10% pair: linking the first alone expects F1 0.9", [NINE_TO_ONE, -NINE_TO_ONE], NINE_TO_ONE),
        ("order of the input does not matter", [-10.0, 8.0, -9.0, 10.0, 9.0], 8.0),
    ],
)
def test_upper_threshold_maximises_expected_f1(description: str, weights: list[float], upper: float) -> None:
    thresholds = choose_thresholds(np.array(weights))
    assert thresholds.upper == pytest.approx(round(upper, 2)), description
    assert thresholds.lower == pytest.approx(min(FLOOR, thresholds.upper)), description


def test_lower_threshold_never_exceeds_the_upper() -> None:
    thresholds = choose_thresholds(np.array([-20.0, -21.0]))
    assert thresholds.lower <= thresholds.upper


def test_no_candidates_give_usable_thresholds() -> None:
    thresholds = choose_thresholds(np.empty(0))
    assert thresholds.lower <= thresholds.upper


def _typo(rng: random.Random, text: str) -> str:
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1 :]


def _population(people: int, seed: int) -> tuple[list[RawIdentity], np.ndarray]:
    rng = random.Random(seed)
    firsts = ["Amelia", "Oliver", "Isla", "George", "Ava", "Harry", "Mia", "Jack", "Freya", "Noah", "Ella", "Leo"]
    lasts = ["Ashdale", "Barford", "Calder", "Denton", "Fairley", "Garwood", "Hartley", "Kingsley", "Marlow"]
    records, owners = [], []
    for person in range(people):
        first, last = rng.choice(firsts), rng.choice(lasts) + rng.choice(["", "son", "ton", "well"])
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(25_000))
        street = f"{rng.randrange(1, 200)} {rng.choice(['Elm', 'Oak', 'Mill', 'Church'])} Road"
        postcode = f"B{rng.randrange(1, 30)} {rng.randrange(10)}AB"
        for copy in range(rng.choice([1, 2, 2, 3])):
            f, s = first, last
            if copy and rng.random() < 0.3:
                f, s = (_typo(rng, f), s) if rng.random() < 0.5 else (f, _typo(rng, s))
            records.append(RawIdentity(f, s, born.isoformat(), rng.choice("MF"), street, postcode))
            owners.append(person)
    return records, np.array(owners)


def test_a_model_trained_without_labels_separates_the_people_it_was_trained_on() -> None:
    records, owners = _population(400, seed=3)
    encoder = RecordEncoder(FieldKeys("k-test", bytes(32)), partner="TEST", today=date(2026, 1, 1))
    batch = RecordBatch.from_encoded([e for e in encoder.encode_many(records) if isinstance(e, dict)])
    model = train(batch, version="t", u_pairs=50_000, seed=1).model
    assert model.thresholds.lower <= model.thresholds.upper
    candidates = find_candidates(model, batch)
    scored = score_candidates(model, batch, None, candidates)
    linked = scored.weight >= model.thresholds.upper
    same = owners[scored.i] == owners[scored.j]
    true_pairs = sum(c * (c - 1) // 2 for c in np.bincount(owners))
    assert (same & linked).sum() / max(linked.sum(), 1) >= 0.98  # precision
    assert (same & linked).sum() / true_pairs >= 0.95  # recall


def _level(model: LinkageModel, comparison: str, label: str) -> tuple[int, int]:
    for k, cm in enumerate(model.comparisons):
        if cm.comparison.name == comparison:
            labels = [level.label for level in cm.comparison.levels]
            return k, labels.index(label)
    raise AssertionError(comparison)


@pytest.mark.parametrize(
    ("description", "levels", "guarded"),
    [
        ("twins: first name different", {"first_name": "different", "date_of_birth": "exact"}, True),
        ("parent and child of one name: dates differ", {"first_name": "exact", "date_of_birth": "different"}, True),
        ("same year of birth only", {"first_name": "exact", "date_of_birth": "same year"}, True),
        ("the same NHS number overrides", {"first_name": "different", "nhs_number": "same"}, False),
        ("names and date agree", {"first_name": "exact", "date_of_birth": "exact"}, False),
        (
            "day and month swapped is a typo, not a person",
            {"first_name": "exact", "date_of_birth": "day and month swapped"},
            False,
        ),
    ],
)
def test_household_guard_holds_pairs_that_household_identifiers_tell_apart(
    description: str, levels: dict[str, str], guarded: bool
) -> None:
    model = make_model(upper=5.0)
    gamma = np.zeros((1, len(model.comparisons)), dtype=np.int8)
    for comparison, label in levels.items():
        k, index = _level(model, comparison, label)
        gamma[0, k] = index
    assert bool(household_guard(model, gamma)[0]) is guarded, description
    scored = ScoredPairs(np.zeros(1, np.int64), np.zeros(1, np.int64), gamma, np.array([30.0]))
    assert bool(guarded_weights(model, scored)[0] < model.thresholds.upper) is guarded, description
