"""Load on loopback (bench/bench_load.py): MASH searches and the alert list at a fixed rate, quiet and while a nightly
feed is ingested into the same hub, from Locust users (one per simulated officer) against the hub under uvicorn.

The test runs the benchmark's own command (``python -m bench.bench_load ... --no-write --json FILE``) in a child
process. The fast variant (CI) builds a 20,000-record SQLite hub like the search benchmark's, runs 10 s at 20
searches and 2 alert lists a second, then 10 s more while partner WMP pushes a 500-row feed (the window starts
when half its batches are stored, so it overlaps the upload and the commit). The slow variant runs the benchmark's
full 60 s phases at 100 searches and 10 alert lists a second, with a 20,000-row feed, on a 100,000-record hub. Each
prints the benchmark's result line (run with -s). They assert behaviour, never a time or a rate: no error (any answer
but 2xx, or none), each endpoint answered in each phase, every row of the feed accepted, every search in the
audit log, and (fast variant) requests arriving evenly over the first period rather than in bursts. The rate held
and the percentiles are the benchmark's figures (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEARCH, ALERTS = "POST /v1/search", "GET /v1/alerts"


def _load(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "result.json"
    command = [sys.executable, "-m", "bench.bench_load", *args, "--sqlite", str(tmp_path / "hub.db")]
    command += ["--workdir", str(tmp_path / "work"), "--json", str(out), "--no-write"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(next(line for line in done.stdout.splitlines() if line.startswith("load: ")))
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _check(result: dict[str, Any]) -> None:
    # Behaviour only: how many requests a second the hub held is the benchmark's figure, not a test's verdict.
    for phase in ("quiet", "ingest"):
        for name in (SEARCH, ALERTS):
            figures = result[phase][name]
            assert figures["errors"] == {}, f"{phase} {name}: errors {figures['errors']}"
            assert figures["achieved"] > 0, f"{phase} {name}: nothing answered: {figures}"
    assert result["ingest"]["feed"]["accepted"] == result["ingest"]["feed"]["rows"]
    assert result["answered_unaudited"] == 0, "every search answered has its audit entry"
    assert result["audited"] == result["searches"], "every search sent has its audit entry"


def test_load_quiet_and_during_ingest(tmp_path: Path) -> None:
    result = _load(
        tmp_path,
        *("--records", "20000", "--persons", "8000", "--seconds", "10", "--search-rate", "20", "--alert-rate", "2"),
        *("--queries", "100", "--feed-rows", "500", "--batch-rows", "100"),
    )
    _check(result)
    # The load arrives evenly: in its first period (2 s) each of the 44 users sends once, at its own time (user n
    # of k at n/k of the period), so no tenth of a second holds more than a few requests; Locust's own pacing sent
    # them 22 at a time.
    quiet = json.loads((tmp_path / "work" / "client" / "quiet.json").read_text())
    first = [start - quiet["t0"] for _, start, *_ in quiet["samples"] if start - quiet["t0"] < 1.8]
    per_slot = Counter(int(offset * 10) for offset in first)
    assert len(first) >= 30
    assert max(per_slot.values()) <= 6, sorted(per_slot.items())


@pytest.mark.slow
def test_load_full_phases(tmp_path: Path) -> None:
    result = _load(
        tmp_path, *("--records", "100000", "--persons", "40000", "--feed-rows", "20000", "--batch-rows", "2000")
    )
    _check(result)
