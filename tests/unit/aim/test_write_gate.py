"""The write gate: SQLite writers of one hub process take turns in the order they asked."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as StorageTimeoutError

from aim.storage.database import Database
from aim.storage.engine import make_engine
from aim.storage.gate import WriteGate


def _queue_up(gate: WriteGate, names: list[str], done: list[str], hold: float = 0.0) -> list[threading.Thread]:
    """Start one thread per name, each asking for the gate only once the one before it is waiting."""
    threads = []
    for name in names:

        def work(name: str = name) -> None:
            assert gate.acquire(10)
            done.append(name)
            time.sleep(hold)
            gate.release()

        thread = threading.Thread(target=work)
        thread.start()
        threads.append(thread)
        queued = len(threads)
        _wait_until(lambda queued=queued: len(gate._waiting) == queued)
    return threads


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiters_are_served_in_the_order_they_asked() -> None:
    gate, done = WriteGate(), []
    assert gate.acquire(1)
    threads = _queue_up(gate, [f"w{n}" for n in range(6)], done)
    gate.release()
    for thread in threads:
        thread.join()
    assert done == [f"w{n}" for n in range(6)]


def test_a_holder_that_asks_again_at_once_goes_behind_the_waiters() -> None:
    # What the gate is for: a job committing in parts does not take the lock back before those already waiting.
    gate, done = WriteGate(), []
    assert gate.acquire(1)
    threads = _queue_up(gate, ["search"], done)
    gate.release()
    assert gate.acquire(5)
    done.append("job, next part")
    gate.release()
    threads[0].join()
    assert done == ["search", "job, next part"]


def test_the_gate_is_reentrant_for_its_holder() -> None:
    gate = WriteGate()
    assert gate.acquire(1)
    assert gate.acquire(1)
    gate.release()
    assert not _other_thread_gets(gate, timeout=0.05)
    gate.release()
    assert _other_thread_gets(gate, timeout=1)


def test_a_waiter_that_times_out_leaves_the_queue_and_does_not_block_those_behind() -> None:
    gate, got = WriteGate(), []
    assert gate.acquire(1)
    impatient = threading.Thread(target=lambda: got.append(gate.acquire(0.05)))
    impatient.start()
    impatient.join()
    assert got == [False]
    assert not gate._waiting
    gate.release()
    assert _other_thread_gets(gate, timeout=1)


def test_only_the_holder_may_release() -> None:
    gate = WriteGate()
    assert gate.acquire(1)
    raised = _raised_in_thread(gate.release)
    assert isinstance(raised, RuntimeError)
    assert "does not hold it" in str(raised)
    gate.release()


def _raised_in_thread(call: Callable[[], object]) -> BaseException | None:
    """What ``call`` raised when run in a thread of its own (None if it returned)."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except Exception as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return raised[0] if raised else None


def _other_thread_gets(gate: WriteGate, *, timeout: float) -> bool:
    got: list[bool] = []

    def take() -> None:
        ok = gate.acquire(timeout)
        got.append(ok)
        if ok:
            gate.release()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join()
    return got[0]


def test_sqlite_writes_wait_their_turn_and_a_long_wait_is_a_storage_timeout(tmp_path: Path) -> None:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'hub.db'}", busy_timeout_ms=100), write_wait_s=0.2)
    try:
        with database.write() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER)"))
        order: list[int] = []

        def write(n: int) -> None:
            with database.write() as conn:
                conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                order.append(n)

        holder = database.write()
        conn = holder.__enter__()
        # Waiting for the gate longer than write_wait_s is refused as storage being busy (the hub answers 503).
        refused = _raised_in_thread(lambda: write(-1))
        assert isinstance(refused, StorageTimeoutError)
        assert "no turn to write within 0.2 s" in str(refused)
        database.write_wait_s = 10
        threads = []
        for n in range(4):
            thread = threading.Thread(target=write, args=(n,))
            thread.start()
            _wait_until(lambda k=n + 1: len(database._gate._waiting) == k)
            threads.append(thread)
        conn.execute(text("INSERT INTO t VALUES (99)"))
        holder.__exit__(None, None, None)
        for thread in threads:
            thread.join()
        assert order == [0, 1, 2, 3]
        with database.read() as conn:
            assert conn.execute(text("SELECT n FROM t ORDER BY rowid")).scalars().all() == [99, 0, 1, 2, 3]
    finally:
        database.dispose()


def test_postgresql_writes_take_no_turn() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert Database(engine)._gate is None
