"""The rules run killed inside its write transaction, again and again, then run to completion: the alerts (person as a
set of records, rule, window), their evidence and events are exactly what one clean run raises on an identical copy,
and a second run raises nothing.

`aim hub rules run --as-of DATE` runs as a child process on a linked hub whose persons qualify for the default rules
and hold no alerts yet (the synthetic population as of its run date). It is killed at random moments after its write
transaction is seen to begin; on PostgreSQL at an exact point too: waiting to write the raised alerts' events, and in
the larger run also waiting to record the rule versions (its first write), to raise alerts, and to write evidence.
The clean run is the same service call, in-process, on a copy of the same linked hub.
"""

from __future__ import annotations

import random
import time
from datetime import date
from pathlib import Path

import pytest

from aim.bootstrap import bootstrap
from aim.settings import Settings
from tests.faults.conftest import Hubs
from tests.faults.jobs import Job, Kill, TransactionWatch, kill_at_table, kill_inside
from tests.faults.snapshot import RulesState, rules_state

ORDER = ("rule_versions", "alerts", "alert_events", "alert_evidence")  # the order a first run writes to them


def _run_in_process(database_url: str, as_of_text: str) -> tuple[float, int]:
    """One run of the rules as ``aim hub rules run`` does it; the seconds it took and the alerts it raised."""
    hub = bootstrap(Settings(database_url=database_url, timezone="UTC"))
    try:
        rules = hub.rules.rules()
        started = time.monotonic()
        reports = hub.rules.run(as_of=date.fromisoformat(as_of_text), rules=rules)
        return time.monotonic() - started, sum(r.raised for r in reports)
    finally:
        hub.close()


def _nothing_raised(state: RulesState) -> bool:
    return not state.alerts and not state.evidence and not state.events


def _kill_and_finish(
    backend: str, hubs: Hubs, tmp_path: Path, *, people: int, delays: int, tables: tuple[str, ...], seed: int
) -> None:
    population = hubs.population(people)
    as_of = population.as_of.isoformat()
    linked, _ = hubs.linked(backend, population)
    clean = hubs.copy(backend, linked, "rules-clean")
    seconds, raised = _run_in_process(clean, as_of)
    expected = rules_state(clean)
    target = hubs.copy(backend, linked, "rules-killed")
    job = Job(("hub", "rules", "run", "--as-of", as_of), target, tmp_path / "rules.log")
    watch = TransactionWatch(target)
    rng = random.Random(seed)
    kills: list[Kill] = []
    try:
        for n in range(delays):
            after = rng.uniform(0.05, 0.35) * seconds
            kills.append(kill_inside(job, watch, after_s=after, point=f"{after:.3f}s into the transaction ({n + 1})"))
            assert _nothing_raised(rules_state(target)), f"{kills[-1]}: a killed run left alerts behind"
        for table in tables if backend == "postgresql" else ():
            kills.append(kill_at_table(job, watch, table=table))
            assert _nothing_raised(rules_state(target)), f"{kills[-1]}: a killed run left alerts behind"
    finally:
        watch.close()
    job.run()
    got = rules_state(target)
    _, raised_again = _run_in_process(target, as_of)
    again = rules_state(target)
    print(
        f"\nfaults: kill during the rule run ({backend}): {len(kills)} kills "
        f"({sum(k.alive for k in kills)} inside the run's transaction), alerts equal to clean run: "
        f"{got.alerts == expected.alerts}; {len(got.alerts)} alerts and suggestions with {len(got.evidence)} "
        f"interactions of evidence; second run raised {raised_again}; clean run {seconds:.2f}s"
    )
    assert raised > 0, "the population has persons who qualify"
    assert len(expected.alerts) == raised
    assert all(k.alive for k in kills), f"every kill landed before the run ended: {kills}"
    assert got.alerts == expected.alerts
    assert got.evidence == expected.evidence
    assert got.events == expected.events
    assert got.notifications == expected.notifications
    assert raised_again == 0
    assert again == got


def test_rule_run_killed_then_rerun_equals_a_clean_run(backend: str, hubs: Hubs, tmp_path: Path) -> None:
    tables = ("alert_events",)
    _kill_and_finish(backend, hubs, tmp_path, people=1_500, delays=2 - (backend == "postgresql"), tables=tables, seed=3)


@pytest.mark.slow
def test_rule_run_killed_many_times_on_a_larger_hub(backend: str, hubs: Hubs, tmp_path: Path) -> None:
    _kill_and_finish(backend, hubs, tmp_path, people=10_000, delays=6, tables=ORDER, seed=4)
