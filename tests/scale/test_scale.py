"""The scale benchmark's pipeline at a small size: a hub built with the real CLI from generated people, a nightly
feed linked in and a full rule run, on SQLite and PostgreSQL (bench/bench_scale.py; docs/reliability.md).

The fast variant runs every ``aim`` command in-process (a command's start costs seconds, and the pipeline is some
fifty commands), then one ``aim hub link`` as a child process, as the benchmark runs every command, to read its max
RSS. It checks behaviour only: every row accepted or rejected with the counts adding up, the nightly feed linked
(nothing left for ``aim hub link``), the rule run complete, persons no more than records. The slow variant runs the
benchmark itself (``python -m bench.bench_scale``) on 20,000 people.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from aim.cli import main
from bench.bench_scale import (
    NIGHTLY_SHARE,
    Prepared,
    Step,
    Subprocess,
    database,
    hub_env,
    measure,
    prepare,
    today,
)
from bench.e2e_population import PARTNERS
from tests.databases import fresh_postgres

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 2_000
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


class InProcess:
    """Runs each ``aim`` command in this process through click's test runner (no max RSS)."""

    def __call__(self, *args: str, env: dict[str, str]) -> Step:
        return self.many([args], env)[0]

    def many(self, commands: Sequence[Sequence[str]], env: dict[str, str], jobs: int = 1) -> list[Step]:
        steps = []
        for args in commands:
            started = time.perf_counter()
            result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
            assert result.exit_code == 0, f"aim {' '.join(args)} failed ({result.exit_code}):\n{result.output}"
            steps.append(Step(tuple(args), result.stdout, time.perf_counter() - started, None))
        return steps


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    work = tmp_path_factory.mktemp("scale")
    return prepare(work, people=PEOPLE, seed=1, as_of=today(), runner=InProcess(), jobs=1)


@pytest.fixture(params=BACKENDS)
def hub_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        with database("sqlite", tmp_path) as url:
            yield "sqlite", url
    else:
        with fresh_postgres() as url:
            yield "postgresql", url


def _raw_rows(folder: Path) -> int:
    return sum(len((folder / f"{p}.csv").read_text(encoding="utf-8").splitlines()) - 1 for p in PARTNERS)


def test_held_out_rows_are_the_extracts_lines_split_in_two(prepared: Prepared) -> None:
    raw = prepared.population / "raw"
    assert prepared.nightly_rows == PEOPLE // NIGHTLY_SHARE
    assert _raw_rows(prepared.folder / "nightly") == prepared.nightly_rows
    for partner in PARTNERS:
        whole = (raw / f"{partner}.csv").read_text(encoding="utf-8").splitlines()
        initial = (prepared.folder / "initial" / f"{partner}.csv").read_text(encoding="utf-8").splitlines()
        nightly = (prepared.folder / "nightly" / f"{partner}.csv").read_text(encoding="utf-8").splitlines()
        assert initial[0] == nightly[0] == whole[0], "the agent's header, unchanged"
        assert sorted(initial[1:] + nightly[1:]) == sorted(whole[1:]), "every line once, byte for byte"
    for night in ("initial", "nightly"):
        counts = [prepared.encoded[f"{night}/{p}"] for p in PARTNERS]
        assert sum(c["read"] for c in counts) == _raw_rows(prepared.folder / night)


@pytest.mark.parametrize("hub_database", BACKENDS, indirect=True)
def test_a_hub_built_with_the_cli_links_the_nightly_feed_and_runs_the_rules(
    prepared: Prepared, hub_database: tuple[str, str], tmp_path: Path
) -> None:
    backend, url = hub_database
    result = measure(prepared, backend=backend, database_url=url, folder=tmp_path, runner=InProcess())
    link = Subprocess()("hub", "link", env=hub_env(url, tmp_path))  # as the benchmark runs every command
    result["link_rss_mb"] = round(link.max_rss_mb or 0)
    print("\n" + json.dumps(result))

    initial, nightly = result["initial"], result["nightly"]
    for night, load in (("initial", initial), ("nightly", nightly)):
        encoded = sum(prepared.encoded[f"{night}/{p}"]["accepted"] for p in PARTNERS)
        assert load["rows"] == encoded, "every encoded row reached the hub"
        assert load["accepted"] + load["rejected"] == load["rows"]
        assert load["inserted"] == load["accepted"], "every record new"
    assert nightly["rows"] > 0
    assert result["records"] == initial["accepted"] + nightly["accepted"]
    assert result["linked_records"] == result["records"], "every record linked by the ingest hook"
    assert result["left_for_link"] == 0
    assert result["link_after"].startswith("changes 0;")
    assert "changes 0;" in link.output
    assert (link.max_rss_mb or 0) > 0
    assert [line.split(" v")[0] for line in result["rules"]] == ["three-partners-30-days", "two-partners-30-days"]
    assert 0 < result["persons"] <= result["records"]
    assert result["database_mb"] >= 0
    assert result["precision"] is not None
    assert result["recall"] is not None


@pytest.mark.slow
def test_the_scale_benchmark_on_20000_people(tmp_path: Path) -> None:
    backends = "sqlite,postgresql" if os.environ.get("AIM_TEST_POSTGRES_URL") else "sqlite"
    command = [sys.executable, "-m", "bench.bench_scale", "--people", "20000", "--backends", backends]
    command += ["--no-write", "--work", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=3600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    print("\n" + "\n".join(json.dumps(r) for r in results))
    encoded = json.loads((tmp_path / "people-20000-seed-1" / "feeds.json").read_text(encoding="utf-8"))["encoded"]
    nightly_rejected = sum(counts["rejected"] for name, counts in encoded.items() if name.startswith("nightly/"))
    assert [r["backend"] for r in results] == backends.split(",")
    for r in results:
        for load in (r["initial"], r["nightly"]):
            assert load["accepted"] + load["rejected"] == load["rows"]
        assert r["nightly"]["rows"] == 2_000 - nightly_rejected
        assert r["left_for_link"] == 0
        assert r["records"] == r["linked_records"] >= r["persons"] > 0
        assert r["rules_s"] > 0
        assert r["initial"]["peak_rss_mb"] > 0
