"""Two hubs started on one database with the nightly jobs due: each job runs once. The database afterwards is what
one run of each job makes of an identical copy: every record linked once, every alert raised once, one retention
purge in the audit log.

Two `aim hub serve` processes (their own ports, one database) run the real scheduler through a night compressed
into seconds (tests/faults/night.py): linking at local 01:00, the rules at 01:30, the purge at 02:30, each due in
both processes at the same instant.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select

from aim.bootstrap import bootstrap
from aim.clock import FixedClock
from aim.retention.purge import purge
from aim.settings import Settings
from aim.storage.governance_tables import audit_log
from tests.faults.conftest import Hubs
from tests.faults.jobs import aim_command
from tests.faults.night import ZONE, write_night
from tests.faults.snapshot import identity_state, rules_state

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "fixtures" / "policy" / "demo-policy.yaml"
PURGE = "retention_purge"
START_S = 8  # time for both hubs to start before the night begins
SETTLE_S = 2  # after the purge, time for a second one to show


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _purges(database_url: str) -> list[dict[str, int]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(audit_log.c.counts).where(audit_log.c.action == PURGE)).scalars().all()
    finally:
        engine.dispose()
    return [json.loads(row) for row in rows]


def _one_night(database_url: str, fires: list[datetime], zone_folder: Path) -> None:
    """What one hub's night does: link, then the rules, then the purge, each once (the reference)."""
    settings = Settings(database_url=database_url, policy_path=str(POLICY), timezone="UTC")
    hub = bootstrap(settings, clock=FixedClock(fires[0]))
    try:
        hub.identity.link()
        local_day = fires[1].astimezone(_zone(zone_folder)).date()
        hub.watchlist.expire()
        hub.rules.nightly(as_of=local_day)
        purge(database=hub.database, policy=hub.policy, clock=FixedClock(fires[2]))
    finally:
        hub.close()


def _zone(folder: Path) -> ZoneInfo:
    with (folder / ZONE).open("rb") as handle:
        return ZoneInfo.from_file(handle, key=ZONE)


def _serve_twice(database_url: str, tmp_path: Path, *, gap_s: int) -> tuple[list[datetime], list[str]]:
    """Two hubs through one night, ``gap_s`` seconds between its jobs; the night's instants and the hubs' output."""
    zones = tmp_path / "zones"
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=START_S)
    fires = write_night(zones, first=first, gap=gap_s)
    env = os.environ | {
        "AIM_DATABASE_URL": database_url,
        "AIM_TIMEZONE": ZONE,
        "PYTHONTZPATH": str(zones),
        "AIM_POLICY_PATH": str(POLICY),
        "AIM_AUDIT_KEY_PATH": str(tmp_path / "audit.key"),
    }
    logs = [tmp_path / f"serve-{n}.log" for n in (1, 2)]
    processes = []
    for log in logs:
        with log.open("wb") as out:
            command = aim_command("hub", "serve", "--port", str(_port()))
            processes.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT))
    try:
        deadline = fires[-1] + timedelta(seconds=SETTLE_S)
        while datetime.now(UTC) < deadline or len(_purges(database_url)) == 0:
            assert all(p.poll() is None for p in processes), "a hub stopped; see " + ", ".join(map(str, logs))
            assert datetime.now(UTC) < deadline + timedelta(seconds=60), "the night's purge never ran"
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
    return fires, [log.read_text(errors="replace") for log in logs]


def _two_hubs_one_night(backend: str, hubs: Hubs, tmp_path: Path, *, people: int, gap_s: int) -> None:
    population = hubs.population(people, as_of=datetime.now(UTC).date())
    unlinked = hubs.unlinked(backend, population)
    target = hubs.copy(backend, unlinked, "two-schedulers")
    fires, logs = _serve_twice(target, tmp_path, gap_s=gap_s)
    for log in logs:
        scheduled = re.search(r"nightly jobs: (.*)", log)
        assert scheduled, log
        for fire in fires:  # each hub had every job due at the night's instants
            due = fire.astimezone(_zone(tmp_path / "zones")).isoformat(sep=" ")
            assert due in scheduled[1], f"a hub started after the night began (raise START_S): {scheduled[0]}"
    reference = hubs.copy(backend, unlinked, "one-scheduler")
    _one_night(reference, fires, tmp_path / "zones")
    got, expected = identity_state(target), identity_state(reference)
    alerts, expected_alerts = rules_state(target), rules_state(reference)
    purges = _purges(target)
    raised = sum(n for (_alert, kind, _actor, _note), n in alerts.events.items() if kind == "raised")
    print(
        f"\nfaults: scheduler started twice ({backend}): linking ran once ({got.records:,} records linked once, "
        f"{len(got.partition):,} persons), rules once ({len(alerts.alerts)} alerts and suggestions raised once), "
        f"purge once ({len(purges)} audit entry); equal to one hub's night: "
        f"{(got, alerts) == (expected, expected_alerts)}"
    )
    assert got.records == population.records
    assert sum(got.history.values()) == got.records, "every record linked once"
    assert got == expected
    assert alerts.alerts, "the night raised alerts"
    assert raised == len(alerts.alerts), "every alert raised once"
    assert alerts == expected_alerts
    assert len(purges) == 1, f"one purge in the audit log, not {len(purges)}"
    assert purges == _purges(reference)


def test_two_hubs_run_each_nightly_job_once(backend: str, hubs: Hubs, tmp_path: Path) -> None:
    _two_hubs_one_night(backend, hubs, tmp_path, people=600, gap_s=3)


@pytest.mark.slow
def test_two_hubs_run_each_nightly_job_once_on_a_larger_hub(backend: str, hubs: Hubs, tmp_path: Path) -> None:
    _two_hubs_one_night(backend, hubs, tmp_path, people=5_000, gap_s=15)  # linking takes a few seconds here
