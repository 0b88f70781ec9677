"""``aim hub serve`` runs the nightly jobs in its own process (linking, rules, purge), unless --no-scheduler."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner

import aim.cli.hub as hub_cli
from aim.cli import main
from aim.rules.schedule import nightly_scheduler


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "AIM_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "AIM_AUDIT_KEY_PATH": str(tmp_path / "audit.key"),
    }


def _serve(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[list[Any], dict[str, Any]]:
    made: list[BackgroundScheduler] = []
    seen: dict[str, Any] = {}

    def spy(hub: Any) -> BackgroundScheduler:
        made.append(nightly_scheduler(hub))
        return made[-1]

    def fake_run(*_args: object, **_kwargs: object) -> None:  # what uvicorn would serve meanwhile
        seen["running"] = [s.running for s in made]
        seen["jobs"] = sorted(job.id for s in made for job in s.get_jobs())
        seen["one_at_a_time"] = all(job.max_instances == 1 and job.coalesce for s in made for job in s.get_jobs())
        seen["zones"] = {str(job.trigger.timezone) for s in made for job in s.get_jobs()}

    monkeypatch.setattr(hub_cli, "nightly_scheduler", spy)
    monkeypatch.setattr(hub_cli.uvicorn, "run", fake_run)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["hub", "serve", *args], env=env)
    assert result.exit_code == 0, result.output
    return made, seen


def test_serve_runs_the_nightly_jobs_while_it_serves(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    made, seen = _serve(env, monkeypatch)
    assert seen["running"] == [True]
    assert seen["jobs"] == ["aim-identity-nightly", "aim-rules-nightly", "retention_purge"]
    assert seen["one_at_a_time"]
    assert seen["zones"] == {"Europe/London"}  # the hub's AIM_TIMEZONE for every job, whatever the machine's zone
    assert [s.running for s in made] == [False]  # stopped with the server


def test_no_scheduler_runs_none(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    made, seen = _serve(env, monkeypatch, "--no-scheduler")
    assert made == []
    assert seen["running"] == []
    assert seen["jobs"] == []
