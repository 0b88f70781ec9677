"""``aim hub rules``: validate reports every problem with its place and exits 2; list and run on a fresh database."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aim.cli import main

RULES = Path(__file__).resolve().parents[3] / "fixtures" / "rules"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"AIM_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}", "AIM_RULES_DIR": str(RULES)}


def test_validate_lists_every_problem_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: one\nthreshold: 0\n")
    result = CliRunner().invoke(main, ["hub", "rules", "validate", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml:2:1: version: version must be a whole number (got 'one')" in result.output
    assert "threshold" in result.output
    assert "title is required" in result.output


def test_validate_the_shipped_rules() -> None:
    result = CliRunner().invoke(main, ["hub", "rules", "validate", *map(str, sorted(RULES.glob("*.yaml")))])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 2


def test_list_and_run_twice(env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["hub", "init-db"], env=env).exit_code == 0
    listing = runner.invoke(main, ["hub", "rules", "list"], env=env)
    assert "three-partners-30-days\tv1\tactive\t>= 3 distinct partner in 30 days\talert" in listing.output
    for _ in range(2):
        run = runner.invoke(main, ["hub", "rules", "run", "--as-of", "2026-11-23"], env=env)
        assert run.exit_code == 0, run.output
        assert "raised 0" in run.output
    backtest = runner.invoke(
        main,
        ["hub", "rules", "backtest", "two-partners-30-days", "--from", "2026-11-01", "--to", "2026-11-02"],
        env=env,
    )
    assert "would have raised 0" in backtest.output
