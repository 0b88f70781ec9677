"""The write gate: SQLite writers of one hub process take turns in the order they asked."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as StorageTimeoutError

from aim.storage.database import Database
from aim.storage.engine import make_engine
from aim.storage.gate import FileTurn, WriteGate


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


# Across processes: a second process takes the same turn files (as a second `aim hub serve` worker would).
_OTHER_PROCESS = """
import sys, time
from pathlib import Path
from aim.storage.gate import FileTurn

turn = FileTurn(Path(sys.argv[1]), Path(sys.argv[2]))
for line in sys.stdin:
    command, _, arg = line.split()[0], None, line.split()[1:]
    if command == "take":
        print("took" if turn.acquire(float(arg[0])) else "refused", flush=True)
    elif command == "give":
        turn.release()
        print("gave", flush=True)
    elif command == "parts":  # a job committing in parts: take, note the part, hold, give back, at once again
        with open(arg[0], "a") as log:
            for part in range(int(arg[1])):
                assert turn.acquire(10)
                log.write(f"{part}\\n")
                log.flush()
                time.sleep(0.02)
                turn.release()
        print("done", flush=True)
"""


class _OtherProcess:
    def __init__(self, tmp_path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _OTHER_PROCESS, *_turn_files(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parents[3],
        )

    def ask(self, command: str) -> str:
        self.send(command)
        return self.answer()

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def answer(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def close(self) -> None:
        with self.process:  # closes the pipes and waits
            assert self.process.stdin is not None
            self.process.stdin.close()


def _turn_files(tmp_path: Path) -> tuple[str, str]:
    return str(tmp_path / "hub.db-write.lock"), str(tmp_path / "hub.db-write.queue")


def _file_turn(tmp_path: Path) -> FileTurn:
    turn, queue = _turn_files(tmp_path)
    return FileTurn(Path(turn), Path(queue))


@pytest.fixture
def other_and_turn(tmp_path: Path) -> Iterator[tuple[_OtherProcess, FileTurn]]:
    """Another process and this one's turn, on the same two files."""
    other, turn = _OtherProcess(tmp_path), _file_turn(tmp_path)
    try:
        yield other, turn
    finally:
        other.close()
        turn.close()


def test_a_turn_held_by_another_process_is_waited_for_until_given_back(
    other_and_turn: tuple[_OtherProcess, FileTurn],
) -> None:
    other, turn = other_and_turn
    assert other.ask("take 1") == "took"
    assert not turn.acquire(0.1)
    assert other.ask("give") == "gave"
    assert turn.acquire(5)
    assert other.ask("take 0.1") == "refused"
    turn.release()
    assert other.ask("take 5") == "took"


def test_trying_for_the_turn_takes_it_only_when_no_process_holds_or_awaits_it(
    other_and_turn: tuple[_OtherProcess, FileTurn],
) -> None:
    other, turn = other_and_turn
    gate = WriteGate(turn)
    assert gate.try_acquire()
    assert other.ask("take 0.1") == "refused"
    gate.release()
    assert other.ask("take 1") == "took"
    began = time.monotonic()
    assert not gate.try_acquire()
    assert time.monotonic() - began < 1, "a try does not wait"
    assert other.ask("give") == "gave"
    assert _other_thread_tries(gate), "the failed try left the gate free"


def test_trying_for_the_gate_fails_while_a_writer_of_this_process_holds_or_awaits_it() -> None:
    gate = WriteGate()
    assert gate.acquire(1)
    assert not _other_thread_tries(gate)
    assert gate.try_acquire(), "re-entrant for its holder"
    gate.release()
    gate.release()
    assert _other_thread_tries(gate)


def _other_thread_tries(gate: WriteGate) -> bool:
    """Whether another thread's try takes the gate (and gives it back); False if the try failed."""
    taken: list[bool] = []

    def attempt() -> None:
        taken.append(gate.try_acquire())
        if taken[0]:
            gate.release()

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(5)
    return taken == [True]


def test_an_asker_that_gave_up_leaves_the_turn_free_once_its_helper_gets_it(
    other_and_turn: tuple[_OtherProcess, FileTurn],
) -> None:
    other, turn = other_and_turn
    assert other.ask("take 1") == "took"
    assert not turn.acquire(0.05)  # its helper thread still waits for the turn
    assert other.ask("give") == "gave"
    assert other.ask("take 5") == "took"  # the helper got it, found nobody waiting, and gave it back
    assert other.ask("give") == "gave"


def test_a_second_asker_takes_over_the_wait_of_one_that_gave_up(other_and_turn: tuple[_OtherProcess, FileTurn]) -> None:
    other, turn = other_and_turn
    assert other.ask("take 1") == "took"
    assert not turn.acquire(0.05)
    other.send("give")
    assert turn.acquire(5)
    assert other.answer() == "gave"
    assert other.ask("take 0.1") == "refused"
    turn.release()


def test_a_job_in_parts_in_another_process_lets_a_waiting_writer_in_after_its_current_part(
    other_and_turn: tuple[_OtherProcess, FileTurn], tmp_path: Path
) -> None:
    # Without the queue, the job often takes the turn back a moment after a part, before this process wakes up.
    (other, turn), log = other_and_turn, tmp_path / "parts.log"
    other.send(f"parts {log} 100")
    waits = []
    for _ in range(5):
        before = len(log.read_text().split()) if log.exists() else 0
        _wait_until(lambda before=before: log.exists() and len(log.read_text().split()) > before + 1)
        before = len(log.read_text().split())
        assert turn.acquire(10)
        waits.append(len(log.read_text().split()) - before)
        turn.release()
    assert other.answer() == "done"
    assert max(waits) <= 1, f"parts the job ran while this process waited for the turn: {waits}"
    assert len(log.read_text().split()) == 100


def _writers(gate: WriteGate, names: list[str], done: list[str], timeout: float) -> list[threading.Thread]:
    """One thread per name, each queued at the gate before the next starts; each notes whether it got the gate."""
    threads = []
    before = (gate._owner is not None) + len(gate._waiting)
    for name in names:

        def work(name: str = name) -> None:
            got = gate.acquire(timeout)
            done.append(name if got else f"{name} refused")
            if got:
                time.sleep(0.01)
                gate.release()

        thread = threading.Thread(target=work)
        thread.start()
        threads.append(thread)
        # holding the gate (and asking for the other process's turn) or waiting for it
        expected = before + len(threads)
        _wait_until(lambda n=expected: (gate._owner is not None) + len(gate._waiting) == n)
    return threads


def test_a_process_given_the_turn_lets_in_all_its_writers_already_waiting_before_giving_it_back(
    other_and_turn: tuple[_OtherProcess, FileTurn],
) -> None:
    # A search's audit entry waits for one part of a job in another process, not one part per entry ahead of it.
    other, turn = other_and_turn
    gate, done = WriteGate(turn), []
    assert other.ask("take 1") == "took"
    threads = _writers(gate, ["w0", "w1", "w2"], done, timeout=2)
    other.send("give")
    assert other.answer() == "gave"
    other.send("take 5")  # queued behind this process, which the kernel has handed the turn
    for thread in threads:
        thread.join()
    assert done == ["w0", "w1", "w2"], "every writer waiting when the turn came went in on it"
    assert other.answer() == "took"
    assert other.ask("give") == "gave"


def test_a_writer_that_comes_after_the_turn_was_taken_waits_for_the_process_already_waiting(
    other_and_turn: tuple[_OtherProcess, FileTurn],
) -> None:
    # A round is the writers waiting when the turn came: a process with writers arriving all the time does not keep
    # the turn from another for ever.
    other, turn = other_and_turn
    gate, done = WriteGate(turn), []
    assert gate.acquire(1)
    other.send("take 5")
    _wait_until(lambda: not _try_flock_free(turn))  # the other process holds the queue file, waiting for the turn
    threads = _writers(gate, ["late"], done, timeout=5)
    gate.release()
    assert other.answer() == "took"
    time.sleep(0.1)
    assert done == [], "the late writer waits while the other process has the turn"
    assert other.ask("give") == "gave"
    threads[0].join()
    assert done == ["late"]


def _try_flock_free(turn: FileTurn) -> bool:
    """Whether the queue file is free (no process waits for the turn)."""

    probe = os.open(turn._paths[1], os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(probe)
    return True


def test_sqlite_databases_take_turns_across_processes_on_files_beside_them(tmp_path: Path) -> None:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'hub.db'}"), write_wait_s=0.2)
    other = _OtherProcess(tmp_path)
    try:
        assert other.ask("take 1") == "took"
        refused = _raised_in_thread(lambda: database.write().__enter__())
        assert isinstance(refused, StorageTimeoutError)
        assert other.ask("give") == "gave"
        with database.write() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER)"))
        assert other.ask("take 0.5") == "took"  # the write gave the turn back
        assert other.ask("give") == "gave"
    finally:
        other.close()
        database.dispose()


def test_a_cross_process_turn_that_fails_leaves_the_gate_to_the_next_writer() -> None:
    class Broken(FileTurn):
        def __init__(self) -> None:  # no files
            pass

        def acquire(self, timeout: float) -> bool:
            raise OSError("the lock file is gone")

    gate = WriteGate(Broken())
    with pytest.raises(OSError, match="lock file is gone"):
        gate.acquire(1)
    gate._across = None  # the next writer takes no cross-process turn
    assert _other_thread_gets(gate, timeout=1)


def test_a_database_used_again_after_dispose_takes_its_turns_again(tmp_path: Path) -> None:
    # As SQLAlchemy's engine after dispose(), the hub's database stays usable (an app's shutdown disposes it).
    database = Database(make_engine(f"sqlite:///{tmp_path / 'hub.db'}"), write_wait_s=0.2)
    other = _OtherProcess(tmp_path)
    try:
        with database.write() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER)"))
        database.dispose()
        with database.write() as conn:  # the turn's files are opened again
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert other.ask("take 1") == "took"  # the write gave the turn back
        refused = _raised_in_thread(lambda: database.write().__enter__())
        assert isinstance(refused, StorageTimeoutError), "the write waits for the other process's turn"
        assert other.ask("give") == "gave"
    finally:
        other.close()
        database.dispose()
