"""``aim hub rules``: validate reports every problem with its place and exits 2; list and run on a fresh database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from aim.bootstrap import bootstrap
from aim.cli import main
from aim.settings import Settings
from aim.storage.tables import persons

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


def test_watchlist_add_list_renew_remove(env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["hub", "init-db"], env=env).exit_code == 0
    hub = bootstrap(Settings(database_url=env["AIM_DATABASE_URL"], rules_dir=env["AIM_RULES_DIR"]))
    try:
        with hub.database.write() as conn:
            person = conn.execute(
                insert(persons).values(created_at=datetime(2026, 11, 1, tzinfo=UTC)).returning(persons.c.pk)
            ).scalar_one()
    finally:
        hub.close()
    future = (date.today() + timedelta(days=30)).isoformat()
    add = ["hub", "watchlist", "add", str(person), "--team", "mash", "--reason", "repeat contacts"]
    added = runner.invoke(main, [*add, "--review-date", future], env=env)
    assert added.exit_code == 0, added.output
    entry = added.output.split("\t", 1)[0]
    assert f"person {person}\tmash\tactive\treview {future}\trepeat contacts" in added.output
    again = runner.invoke(main, [*add, "--review-date", future], env=env)
    assert again.exit_code != 0
    assert "already on mash's watch list" in again.output
    past = runner.invoke(main, ["hub", "watchlist", "renew", entry, "--review-date", "2020-01-01"], env=env)
    assert past.exit_code != 0
    assert "is not in the future" in past.output
    later = (date.today() + timedelta(days=90)).isoformat()
    renewed = runner.invoke(main, ["hub", "watchlist", "renew", entry, "--review-date", later], env=env)
    assert f"review {later}" in renewed.output
    listing = runner.invoke(main, ["hub", "watchlist", "list", "--team", "mash"], env=env)
    assert "1 of 1 entries" in listing.output
    removed = runner.invoke(main, ["hub", "watchlist", "remove", entry, "--reason", "case closed"], env=env)
    assert "\tremoved\t" in removed.output
    assert "0 of 0 entries" in runner.invoke(main, ["hub", "watchlist", "list"], env=env).output
    assert "1 of 1 entries" in runner.invoke(main, ["hub", "watchlist", "list", "--status", "all"], env=env).output
