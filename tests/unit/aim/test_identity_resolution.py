"""Identity resolution's pure parts on hand-made encoded records: stored bytes decode as feed encodings do, pairs
are judged by their evidence (deterministic, steward, model, vetoes), and the default model loads."""

from __future__ import annotations

import base64
from dataclasses import replace

import numpy as np
import pytest

from aim.errors import ConfigError
from aim.identity import pairs
from aim.identity.candidates import anchors
from aim.identity.model_file import load_model
from linkage.batch import RecordBatch
from linkage.blocking import BlockingRule
from linkage.scoring import score_pairs
from linkage.stored import batch_from_stored
from tests import identity_factories as idf

MODEL = load_model("")


def _stored(enc: dict[str, object]) -> tuple[dict[str, bytes], list[tuple[str, bytes]]]:
    blooms = {k: base64.b64decode(str(v)) for k, v in enc.items() if k.startswith("bf_")}
    tokens = []
    for k, v in enc.items():
        for item in v if isinstance(v, list) else [v]:
            if k.startswith("tk_"):
                tokens.append((k, base64.urlsafe_b64decode(str(item) + "==")))
    return blooms, tokens


def test_a_batch_from_stored_bytes_equals_the_batch_from_the_feed_encodings() -> None:
    encs = [idf.encode(idf.ALICE), idf.encode(replace(idf.BOB, local_id="L1", nhs_number="943 476 5919"))]
    from_feed = RecordBatch.from_encoded(encs)
    blooms: dict[str, list[bytes | None]] = {"bf_first": [], "bf_last": [], "bf_address": []}
    tokens = []
    for row, enc in enumerate(encs):
        b, t = _stored(enc)
        for name, column in blooms.items():
            column.append(b.get(name))
        tokens += [(row, name, raw) for name, raw in t]
    stored = batch_from_stored(len(encs), blooms, tokens)
    for name, expected in from_feed.as_arrays().items():
        got = stored.as_arrays()[name]
        if name == "tk_last_parts":
            expected, got = np.sort(expected, axis=1), np.sort(got, axis=1)  # noqa: PLW2901
        assert np.array_equal(expected, got), name


def _judge(left: list[idf.RawIdentity], right: list[idf.RawIdentity], decision: int = pairs.NO_DECISION):
    a = RecordBatch.from_encoded([idf.encode(x) for x in left])
    b = RecordBatch.from_encoded([idf.encode(x) for x in right])
    i = np.arange(len(left), dtype=np.int64)
    scored = score_pairs(MODEL, a, b, i, i)
    return pairs.judge(MODEL, a, b, scored, np.full(len(left), decision, dtype=np.int8))


@pytest.mark.parametrize(
    ("description", "left", "right", "method", "conflict"),
    [
        ("a typo and an abbreviation link", idf.ALICE, idf.ALICE_TYPO, pairs.PROBABILISTIC, False),
        ("twins never link on the model", idf.TWIN_A, idf.TWIN_B, "", True),
        ("parent and child of one name never link", idf.PARENT, idf.CHILD, "", True),
        ("strangers do not link", idf.ALICE, idf.BOB, "", True),
        (
            "the household guard: a birth date agreeing on the year alone never links on the model",
            idf.ALICE,
            replace(idf.ALICE, date_of_birth="2012-11-07"),
            "",
            True,
        ),
        (
            "the household guard yields to the same NHS number",
            replace(idf.ALICE, nhs_number="943 476 5919"),
            replace(idf.ALICE, date_of_birth="2012-11-07", nhs_number="943 476 5919"),
            pairs.DETERMINISTIC_NHS,
            False,
        ),
        (
            "the same local id links whatever else differs",
            replace(idf.ALICE, local_id="X1"),
            replace(idf.BOB, local_id="X1"),
            pairs.DETERMINISTIC_LOCAL,
            False,
        ),
        (
            "the same NHS number links",
            replace(idf.ALICE, nhs_number="943 476 5919"),
            replace(idf.ALICE_TYPO, date_of_birth="2012-03-24", nhs_number="943 476 5919"),
            pairs.DETERMINISTIC_NHS,
            False,
        ),
    ],
)
def test_pairs_are_judged_by_their_evidence(
    description: str, left: idf.RawIdentity, right: idf.RawIdentity, method: str, conflict: bool
) -> None:
    verdicts = _judge([left], [right])
    assert verdicts.method[0] == method, description
    assert bool(verdicts.conflict[0]) == conflict, description


def test_twins_go_to_review_not_to_a_link() -> None:
    verdicts = _judge([idf.TWIN_A], [idf.TWIN_B])
    assert not verdicts.link[0]


def test_a_steward_s_decision_overrides_the_model() -> None:
    assert _judge([idf.TWIN_A], [idf.TWIN_B], pairs.ACCEPTED).method[0] == pairs.STEWARD
    rejected = _judge([idf.ALICE], [idf.ALICE_TYPO], pairs.REJECTED)
    assert not rejected.link[0]
    assert rejected.conflict[0]
    assert not rejected.review[0]


def test_candidates_are_looked_up_by_the_most_selective_field_of_each_rule() -> None:
    rules = (
        BlockingRule("last_year", on=("tk_dob_y", "tk_last_phon")),
        BlockingRule("swap", on=("tk_dob",), other=("tk_dob_swap",)),
    )
    assert anchors(rules) == [("tk_dob", "tk_dob_swap"), ("tk_dob_swap", "tk_dob"), ("tk_last_phon", "tk_last_phon")]
    assert anchors((BlockingRule("lsh", bloom="bf_last"),)) is None


def test_level_labels_and_bands_carry_no_numbers_from_the_encodings() -> None:
    a = RecordBatch.from_encoded([idf.encode(idf.TWIN_A)])
    b = RecordBatch.from_encoded([idf.encode(idf.TWIN_B)])
    scored = score_pairs(MODEL, a, b, np.array([0]), np.array([0]))
    labels = pairs.level_labels(MODEL, scored.gamma[0])
    assert ["first name", "different"] in labels
    assert pairs.band(float(scored.weight[0]), MODEL) in {"high", "medium", "low"}


def test_a_missing_model_file_is_a_configuration_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="aim hub train"):
        load_model(tmp_path / "none.yaml")
    assert MODEL.version.startswith("default")
