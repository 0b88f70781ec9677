"""The audit log in the database: appends never fork under concurrency, the chain verifies after any sequence of
appends (Hypothesis), the database refuses UPDATE and DELETE, and random tamperings — edit, delete, reorder, insert,
truncate — are each detected by verify, every time."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, text, update
from sqlalchemy.exc import DBAPIError

from aim.audit.log import AuditFilter
from aim.audit.store import DatabaseAuditSink, entry_to_row, lock_chain
from aim.bootstrap import Hub
from aim.storage.governance_tables import audit_log
from governance import AuditEntry, AuditEvent, Outcome, chain_next
from governance.audit import ChainHead
from tests.api.staff import build_staff_hub
from tests.factories import NOW

KINDS = ("edit", "delete", "reorder", "insert", "truncate")
TRIALS = 12


@pytest.fixture
def log_hub(database_url: str, tmp_path: Path) -> Iterator[Hub]:
    built = build_staff_hub(database_url, tmp_path)
    try:
        yield built
    finally:
        built.close()


def event(rng: random.Random, n: int) -> AuditEvent:
    return AuditEvent(
        occurred_at=NOW + timedelta(seconds=n, microseconds=rng.randrange(10**6)),
        actor=rng.choice(["u-1", "u-2", None]),
        action=rng.choice(["search", "view_person", "read_audit"]),
        outcome=rng.choice(list(Outcome)),
        roles=(rng.choice(["mash_officer", "dpo"]),),
        purpose=rng.choice(["mash_screening", None]),
        case_reference=rng.choice(["CASE-1", "C/2026/9", None]),
        target=rng.choice([f"person:{rng.randrange(100)}", None]),
        reasons=("granted: role may search",),
        request_id=f"r{n}",
        counts={"results": rng.randrange(5)},
    )


def unprotect(hub: Hub) -> None:
    """What a tamperer with the schema owner's rights would do first."""
    with hub.database.write() as conn:
        for table in ("audit_log", "audit_checkpoints"):
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))


def _run_all(threads: list[threading.Thread]) -> None:
    """Start every thread, then wait for all of them."""
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_the_database_refuses_update_and_delete(log_hub: Hub) -> None:
    DatabaseAuditSink(log_hub.database).append(event(random.Random(1), 1))
    for statement in (update(audit_log).values(actor="someone-else"), delete(audit_log)):
        with pytest.raises(DBAPIError), log_hub.database.write() as conn:
            conn.execute(statement)
    assert log_hub.audit_log.verify().ok


def test_concurrent_appends_never_fork_the_chain(log_hub: Hub) -> None:
    sink, errors = DatabaseAuditSink(log_hub.database), []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for n in range(25):
                sink.append(event(rng, n))
        except Exception as exc:  # reported below
            errors.append(exc)

    _run_all([threading.Thread(target=worker, args=(seed,)) for seed in range(8)])
    assert not errors
    report = log_hub.audit_log.verify()
    assert report.ok, report.render()
    assert report.entries_checked == 200


def _held_chain(hub: Hub) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """A thread holding a write transaction with the chain's lock until ``release`` is set."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with hub.database.write() as conn:
            lock_chain(conn)
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    return holding, release, holder


def _counting_writes(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    writes: list[int] = []
    real = hub.database.write

    def counted() -> object:
        writes.append(1)
        return real()

    monkeypatch.setattr(hub.database, "write", counted)
    return writes


def test_appends_that_meet_are_committed_together_each_caller_getting_its_own_entry(
    log_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = DatabaseAuditSink(log_hub.database)
    _, release, holder = _held_chain(log_hub)
    writes = _counting_writes(log_hub, monkeypatch)
    events = [event(random.Random(n), n) for n in range(12)]
    got: dict[int, AuditEntry] = {}
    threads = [threading.Thread(target=lambda n=n: got.update({n: sink.append(events[n])})) for n in range(12)]
    threads[0].start()
    deadline = time.monotonic() + 10
    while not writes:  # the first append is in its transaction, waiting for the chain's lock
        assert time.monotonic() < deadline
        time.sleep(0.005)
    for thread in threads[1:]:
        thread.start()
    while len(sink._queue) < 11:  # the others queued behind it
        assert time.monotonic() < deadline
        time.sleep(0.005)
    release.set()
    holder.join()
    for thread in threads:
        thread.join()
    # The first append's transaction, then one for the eleven that queued meanwhile (one each before).
    assert len(writes) == 2
    assert sorted(entry.sequence for entry in got.values()) == list(range(1, 13))
    assert all(got[n].event == events[n] for n in range(12)), "each caller gets its own entry back"
    report = log_hub.audit_log.verify()
    assert report.ok, report.render()
    assert report.entries_checked == 12


def test_a_group_that_cannot_be_written_fails_every_caller_in_it_and_stores_none(
    log_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = DatabaseAuditSink(log_hub.database)
    failure = RuntimeError("storage failed")
    real = log_hub.database.write

    def failing() -> object:
        raise failure

    monkeypatch.setattr(log_hub.database, "write", failing)
    raised: list[BaseException] = []

    def append(n: int) -> None:
        try:
            sink.append(event(random.Random(n), n))
        except RuntimeError as exc:
            raised.append(exc)

    _run_all([threading.Thread(target=append, args=(n,)) for n in range(6)])
    assert raised == [failure] * 6
    monkeypatch.setattr(log_hub.database, "write", real)
    assert sink.append(event(random.Random(7), 7)).sequence == 1, "nothing of the failed groups was stored"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seeds=st.lists(st.integers(0, 10**6), min_size=0, max_size=12), checkpoint=st.booleans())
def test_the_chain_verifies_after_any_sequence_of_appends(log_hub: Hub, seeds: list[int], checkpoint: bool) -> None:
    sink = DatabaseAuditSink(log_hub.database)
    for seed in seeds:
        sink.append(event(random.Random(seed), seed))
    if checkpoint:
        log_hub.audit_log.checkpoint()
    report = log_hub.audit_log.verify()
    assert report.ok, report.render()


def _fill(hub: Hub, rng: random.Random) -> int:
    with hub.database.write() as conn:
        conn.execute(delete(audit_log))
        conn.execute(text("DELETE FROM audit_checkpoints"))
    sink = DatabaseAuditSink(hub.database)
    size = rng.randint(3, 25)
    for n in range(size):
        sink.append(event(rng, n))
    hub.audit_log.checkpoint()
    return size


def _tamper(hub: Hub, kind: str, rng: random.Random, size: int) -> None:
    entries = hub.audit_log.search(AuditFilter(limit=1000))
    by_seq = {e.sequence: e for e in entries}
    t = audit_log.c
    with hub.database.write() as conn:
        if kind == "edit":
            k = rng.randint(1, size)
            column, value = rng.choice(
                [("actor", "u-9"), ("purpose", "section_47_enquiry"), ("counts", '{"results": 99}'),
                 ("outcome", "allowed" if by_seq[k].event.outcome is not Outcome.ALLOWED else "denied"),
                 ("occurred_at", "2020-01-01T00:00:00.000000Z"), ("target", "person:999")]
            )  # fmt: skip
            if getattr(by_seq[k].event, column, None) == value:
                value = value + "0" if column != "counts" else '{"results": 98}'
            conn.execute(update(audit_log).where(t.sequence == k).values({column: value}))
        elif kind == "delete":
            conn.execute(delete(audit_log).where(t.sequence == rng.randint(1, size)))
        elif kind == "reorder":
            a, b = rng.sample(range(1, size + 1), 2)
            row_a, row_b = entry_to_row(by_seq[a]), entry_to_row(by_seq[b])
            conn.execute(delete(audit_log).where(t.sequence.in_([a, b])))
            conn.execute(insert(audit_log).values({**row_b, "sequence": a}))
            conn.execute(insert(audit_log).values({**row_a, "sequence": b}))
        elif kind == "insert":
            k = rng.randint(1, size)
            for seq in range(size, k - 1, -1):  # make room, then a forged entry that links to its predecessor
                row = entry_to_row(by_seq[seq])
                conn.execute(delete(audit_log).where(t.sequence == seq))
                conn.execute(insert(audit_log).values({**row, "sequence": seq + 1}))
            before = by_seq[k - 1].head if k > 1 else ChainHead(0, "0" * 64)
            forged = chain_next(before, event(rng, 10_000))
            conn.execute(insert(audit_log).values(entry_to_row(forged)))
        else:
            keep = rng.randint(0, size - 1)
            conn.execute(delete(audit_log).where(t.sequence > keep))


@pytest.mark.parametrize("kind", KINDS)
def test_random_tampering_is_always_detected(log_hub: Hub, kind: str) -> None:
    unprotect(log_hub)
    rng = random.Random(f"tamper-{kind}")
    missed = []
    for trial in range(TRIALS):
        size = _fill(log_hub, rng)
        assert log_hub.audit_log.verify().ok
        _tamper(log_hub, kind, rng, size)
        report = log_hub.audit_log.verify()
        if report.ok:
            missed.append(trial)
    assert not missed, f"{kind}: {len(missed)} of {TRIALS} tamperings not detected"
