"""The rule language: shipped rules load, every field is documented, problems are located and reported together,
a rule round-trips through its dict form, and the per-person decision is independent of input order."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from aim.rules.decision import decide
from aim.rules.errors import RuleFileError
from aim.rules.loader import FIELDS, load_rules, parse_rule
from aim.rules.query import Hit
from aim.rules.store import AlertState

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = (ROOT / "fixtures" / "rules" / "three-partners-30-days.yaml").read_text()


def test_the_shipped_rules_are_the_two_of_the_concept() -> None:
    rules = {r.id: r for r in load_rules(ROOT / "fixtures" / "rules")}
    alert, suggestion = rules["three-partners-30-days"], rules["two-partners-30-days"]
    assert (alert.threshold, alert.window.days, alert.action, alert.status) == (3, 30, "alert", "active")
    assert (suggestion.threshold, suggestion.window.days, suggestion.action) == (2, 30, "watchlist_suggestion")


def test_every_field_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", (ROOT / "docs" / "rules.md").read_text(), re.MULTILINE))
    assert set(FIELDS) - documented == set()


def test_every_command_is_documented() -> None:
    from aim.cli.hub_rules import rules

    text = (ROOT / "docs" / "rules.md").read_text()
    assert [name for name in rules.commands if f"aim hub rules {name}" not in text] == []
    from aim.cli.hub_rules import watchlist

    assert [name for name in watchlist.commands if f"aim hub watchlist {name}" not in text] == []


def test_round_trip() -> None:
    rule = parse_rule(DEFAULT)
    assert parse_rule(yaml.safe_dump(rule.to_dict())) == rule


PROBLEMS = [
    pytest.param("version: 0", "version", "1:1", id="version below 1"),
    pytest.param("status: live", "status", "1:1", id="status not in the list"),
    pytest.param("threshold: many", "threshold", "1:1", id="threshold not a number"),
    pytest.param("window: {days: 400}", "window.days", "1:10", id="window too long"),
    pytest.param("distinct_by: agency", "distinct_by", "1:1", id="distinct_by unknown"),
    pytest.param("filter: {flags: [POLICE_DV, NOPE]}", "filter.flags[1]", "1:29", id="unknown flag"),
    pytest.param("filter: {categories: [weather]}", "filter.categories[0]", "1:23", id="unknown category"),
    pytest.param("suppression: {skip_if_open: maybe}", "suppression.skip_if_open", "1:15", id="not a boolean"),
    pytest.param("colour: red", "colour", "1:1", id="unknown field"),
]


@pytest.mark.parametrize(("line", "path", "place"), PROBLEMS)
def test_problems_are_located(line: str, path: str, place: str) -> None:
    key = line.split(":", maxsplit=1)[0]
    kept = "\n".join(row for row in DEFAULT.splitlines() if not row.startswith(key) and not row.startswith("  "))
    text = line + "\n" + kept.replace("window:", "window: {days: 30}") if key != "window" else line + "\n" + kept
    with pytest.raises(RuleFileError) as caught:
        parse_rule(text, source="r.yaml")
    paths = [p.path for p in caught.value.problems]
    assert path in paths, str(caught.value)
    problem = caught.value.problems[paths.index(path)]
    assert f"{problem.line}:{problem.column}" == place
    assert "Fix:" in str(caught.value)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(RuleFileError) as caught:
        parse_rule("id: Bad Id\nversion: x\nstatus: live\n", source="r.yaml")
    assert len(caught.value.problems) >= 8
    assert str(caught.value).startswith("r.yaml: ")


PARTNERS = ["WMP", "BCHC", "FIRE", "SCHOOLS", "HOUSING"]
hits_strategy = st.lists(
    st.tuples(st.sampled_from(PARTNERS), st.integers(min_value=0, max_value=29)), min_size=1, max_size=12
)


@given(hits_strategy, st.randoms())
def test_decision_does_not_depend_on_input_order(rows: list[tuple[str, int]], rnd: object) -> None:
    rule = parse_rule(DEFAULT)
    today = date(2026, 11, 23)
    hits = [Hit(1, i + 1, p, None, "F", today - timedelta(days=d)) for i, (p, d) in enumerate(rows)]
    shuffled = list(hits)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    existing = AlertState(1, 1, "closed", today - timedelta(days=40), today - timedelta(days=5), {"WMP"}, None, {1})
    for prior in ([], [existing]):
        first, second = decide(rule, today, hits, prior), decide(rule, today, shuffled, prior)
        assert (first.kind, first.new_keys, first.reopen, first.keys) == (
            second.kind,
            second.new_keys,
            second.reopen,
            second.keys,
        )
        assert {h.record_pk for h in first.hits} == {h.record_pk for h in second.hits}
