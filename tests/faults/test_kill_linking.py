"""The linking job killed inside its write transaction, again and again, then run to completion: the persons (as sets
of records), links, link history and review queue are exactly what one clean run makes of an identical copy.

`aim hub link` runs as a child process on a hub whose feeds are committed and not yet linked. It is killed at random
moments after its write transaction is seen to begin; on PostgreSQL also at exact points: waiting to write its cursor
(the run's last write before the commit), and in the larger run its first person, its first link and its review
pairs too. The clean run is the same service call, in-process, on a copy made before any kill.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.faults.conftest import Hubs
from tests.faults.jobs import Job, Kill, TransactionWatch, kill_at_table, kill_inside
from tests.faults.snapshot import identity_state

ORDER = ("persons", "links", "review_pairs", "identity_cursor")  # the order the run first writes to them


def _kill_and_finish(
    backend: str, hubs: Hubs, tmp_path: Path, *, people: int, delays: int, tables: tuple[str, ...], seed: int
) -> None:
    population = hubs.population(people)
    unlinked = hubs.unlinked(backend, population)
    clean, seconds = hubs.linked(backend, population)
    expected = identity_state(clean)
    target = hubs.copy(backend, unlinked, "link-killed")
    job = Job(("hub", "link"), target, tmp_path / "link.log")
    watch = TransactionWatch(target)
    rng = random.Random(seed)
    kills: list[Kill] = []
    try:
        for n in range(delays):
            after = rng.uniform(0.05, 0.35) * seconds
            kills.append(kill_inside(job, watch, after_s=after, point=f"{after:.2f}s into the transaction ({n + 1})"))
            assert identity_state(target).partition == frozenset(), f"{kills[-1]}: a killed run left links behind"
        for table in tables if backend == "postgresql" else ():
            kills.append(kill_at_table(job, watch, table=table))
            assert identity_state(target).partition == frozenset(), f"{kills[-1]}: a killed run left links behind"
    finally:
        watch.close()
    output = job.run()
    got = identity_state(target)
    print(
        f"\nfaults: kill during linking ({backend}): {len(kills)} kills "
        f"({sum(k.alive for k in kills)} inside the run's transaction), "
        f"partition equal to clean run: {got.partition == expected.partition}; {got.records:,} records, "
        f"{len(got.partition):,} persons, {len(got.reviews):,} review pairs; clean run {seconds:.1f}s"
    )
    assert all(k.alive for k in kills), f"every kill landed before the run ended: {kills}"
    assert "changes 0;" not in output, "the re-run linked what the killed runs left"
    assert got.records == population.records
    assert got.partition == expected.partition
    assert got.links == expected.links
    assert got.history == expected.history
    assert got.reviews == expected.reviews
    assert got.events == expected.events
    assert got.cursor == expected.cursor


def test_linking_killed_then_rerun_equals_a_clean_run(backend: str, hubs: Hubs, tmp_path: Path) -> None:
    tables = ("identity_cursor",)  # the run's last write: everything else is done, the commit is next
    _kill_and_finish(backend, hubs, tmp_path, people=1_500, delays=2 - (backend == "postgresql"), tables=tables, seed=1)


@pytest.mark.slow
def test_linking_killed_many_times_on_a_larger_hub(backend: str, hubs: Hubs, tmp_path: Path) -> None:
    _kill_and_finish(backend, hubs, tmp_path, people=10_000, delays=6, tables=ORDER, seed=2)
