"""The linkage model is data: it round-trips through JSON and YAML, and a bad file reports every problem at once."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.blocking import BlockingRule, default_rules
from linkage.comparison_library import default_comparisons
from linkage.errors import ModelError
from linkage.model import ComparisonModel, Decision, LinkageModel, Thresholds
from linkage.training import starting_m


def make_model(prior: float = 1e-4, upper: float = 8.0, lower: float = 0.0) -> LinkageModel:
    comparisons = default_comparisons()
    m = starting_m([len(c.levels) for c in comparisons])
    u = [mk[::-1].copy() for mk in m]
    for uk in u:
        uk[0] = 1.0
        uk[1:] /= uk[1:].sum()
    return LinkageModel(
        version="2026.11-test",
        comparisons=tuple(
            ComparisonModel(c, tuple(map(float, mk)), tuple(map(float, uk)))
            for c, mk, uk in zip(comparisons, m, u, strict=True)
        ),
        prior=prior,
        thresholds=Thresholds(upper=upper, lower=lower),
        blocking=(*default_rules(), BlockingRule("lsh", on=("tk_dob_y",), bloom="bf_last", band_words=4)),
        trained_on={"records": 1234, "mode": "dedupe", "data": "unit test"},
    )


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_the_model_round_trips(form: str) -> None:
    model = make_model()
    text = model.to_json() if form == "json" else model.to_yaml()
    again = LinkageModel.from_json(text) if form == "json" else LinkageModel.from_yaml(text)
    assert again == model
    assert (again.to_json() if form == "json" else again.to_yaml()) == text


@given(
    st.floats(1e-12, 0.5, allow_subnormal=False),
    st.floats(-50, 50, allow_nan=False),
    st.floats(0, 50, allow_nan=False),
)
def test_any_prior_and_thresholds_round_trip(prior: float, lower: float, gap: float) -> None:
    model = make_model(prior=prior, lower=lower, upper=lower + gap)
    assert LinkageModel.from_json(model.to_json()) == model


def test_the_file_says_what_it_is_and_shows_labels_m_and_u() -> None:
    data = json.loads(make_model().to_json())
    assert data["format"] == "aim-linkage-model"
    dob = next(c for c in data["comparisons"] if c["name"] == "date_of_birth")
    assert dob["levels"][0] == {
        "label": "missing on one side",
        "null": True,
        "when": [{"kind": "missing", "field": "tk_dob"}],
    }
    assert dob["levels"][2]["label"] == "day and month swapped"
    assert {"m", "u"} <= set(dob["levels"][2])


def test_a_bad_file_reports_every_problem_together() -> None:
    data: dict[str, Any] = json.loads(make_model().to_json())
    data["prior"] = "high"
    data["thresholds"] = {"upper": 1}
    data["colour"] = "blue"
    data["comparisons"][0]["levels"][1]["m"] = None
    data["comparisons"][1]["levels"][1]["when"][0]["field"] = "tk_shoe"
    data["blocking"][0]["on"] = ["bf_first"]
    with pytest.raises(ModelError) as caught:
        LinkageModel.from_dict(data)
    message = str(caught.value)
    for expected in (
        "prior: must be a number",
        "thresholds.lower",
        "colour: unknown key",
        "levels[1].m",
        "tk_shoe",
        "blocking[0]",
    ):
        assert expected in message


@pytest.mark.parametrize(
    ("description", "change", "problem"),
    [
        ("m does not sum to one", lambda d: d["comparisons"][3]["levels"][1].update(m=0.99), "must sum to 1"),
        ("thresholds reversed", lambda d: d["thresholds"].update(lower=20), "lower must not exceed upper"),
        ("prior out of range", lambda d: d.update(prior=1.5), "prior must lie"),
        ("wrong format", lambda d: d.update(format="splink"), "format"),
    ],
)
def test_invalid_models_are_refused(description: str, change: Any, problem: str) -> None:
    data = json.loads(make_model().to_json())
    change(data)
    with pytest.raises(ModelError, match=problem):
        LinkageModel.from_dict(data)


@pytest.mark.parametrize(("text", "problem"), [("{", "not valid JSON"), ("[1, 2]", "mapping at the top")])
def test_unreadable_text_is_refused(text: str, problem: str) -> None:
    with pytest.raises(ModelError, match=problem):
        LinkageModel.from_json(text)


def test_decisions_follow_the_thresholds() -> None:
    model = make_model(upper=8.0, lower=0.0)
    decisions = model.decide(np.array([-1.0, 0.0, 7.9, 8.0, 30.0]))
    assert decisions.tolist() == [Decision.NON_LINK, Decision.REVIEW, Decision.REVIEW, Decision.LINK, Decision.LINK]


def test_explain_gives_each_comparisons_label_and_weight() -> None:
    model = make_model()
    gamma_row = [1] * len(model.comparisons)
    explained = model.explain(gamma_row)
    assert explained[0][0] == "first name: exact"
    assert explained[0][1] == pytest.approx(float(model.bayes_factors()[0][1]))


def test_joint_term_frequency_groups_round_trip() -> None:
    model = replace(make_model(), joint_tf=(("first_name", "last_name"),))
    assert LinkageModel.from_yaml(model.to_yaml()) == model
    assert "joint_tf" not in make_model().to_dict()  # files without joint groups read as before


@pytest.mark.parametrize(
    ("description", "groups", "problem"),
    [
        ("one comparison is not a group", (("first_name",),), "two or more different comparisons"),
        ("a comparison without an adjusted level", (("first_name", "gender"),), "'gender' has no term-frequency"),
    ],
)
def test_invalid_joint_groups_are_refused(description: str, groups: tuple[tuple[str, ...], ...], problem: str) -> None:
    with pytest.raises(ModelError, match=problem):
        replace(make_model(), joint_tf=groups)
