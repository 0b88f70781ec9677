"""First-come, first-served turns for the hub's write transactions on SQLite, within a process and across processes.

SQLite lets one writer in at a time, and a writer that finds the database locked sleeps and tries again (the busy
timeout: sleeps of 1 ms growing to 100 ms). A long job that commits in parts (identity resolution on a large hub)
takes the lock again a moment after giving it up, before any sleeping writer wakes, so a search's audit entry could
wait for the whole job; and a thread asleep in the busy handler keeps every writer of its process waiting behind it.

* Within one process every write transaction first takes a turn at a :class:`WriteGate`, in the order asked: a
  writer waits for the writers ahead of it, never for a job's later parts.
* Across processes (several ``aim hub serve`` workers, the after-commit child process, the CLI) the gate's holder
  then takes a :class:`FileTurn`: advisory locks (``flock``) on files beside the database, which the kernel hands on
  the moment they are released, instead of SQLite's sleep-and-retry. A process that gets the turn lets in the writers
  of its own that were already waiting when it got it (a *round*), then gives the turn back; one that wants it again
  queues behind the process already waiting. So a process answering searches, whose audit entries are short writes,
  gets them all in between two parts of a job in another process, instead of one entry a part; and another process
  waits for at most one round.

Neither replaces SQLite's own lock, which still guarantees one writer at a time: the turns only decide who asks next,
so a process that does not take them (an older CLI) is still served, after SQLite's busy timeout.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections import deque
from pathlib import Path


class FileTurn:
    """Turns across processes: exclusive ``flock`` locks on two files beside the database, with a timeout.

    The *turn* file's lock is the turn itself. Before waiting for it a process takes the *queue* file's lock, and
    gives it back once it has the turn: a process that has just given the turn back and wants it again must first
    get through the queue, where the process already waiting for the turn holds the lock, so it cannot take the
    turn back before that one (the kernel alone would let whichever process asks first after a release win).

    One thread of the process asks at a time (the :class:`WriteGate`'s holder). ``flock`` has no timeout, so a turn
    that is not free at once is waited for by a helper thread while the asking thread waits at most ``timeout`` for
    it. A helper whose asker gave up gives the turn back when it gets it, unless the next asker has come to wait for
    it in the meantime. The kernel drops the locks of a process that dies, so a killed worker never leaves them.
    """

    def __init__(self, turn: Path, queue: Path) -> None:
        self._paths = (turn, queue)
        self._turn = self._queue = -1  # opened on first use, and again after close(), as the database's pool is
        self._opened = 0  # how many times the files were opened: a helper of an earlier opening leaves them be
        self._state = threading.Lock()
        self._pending: threading.Event | None = None  # set by the helper thread once it holds the turn
        self._wanted = False  # an asker waits for the pending helper's turn

    def acquire(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the turn; False if other processes kept it that long."""
        with self._state:
            self._open()
            if self._pending is None:
                queued = _try_flock(self._queue)
                if queued and _try_flock(self._turn):
                    fcntl.flock(self._queue, fcntl.LOCK_UN)
                    return True
                self._pending = threading.Event()
                helper = threading.Thread(
                    target=self._wait,
                    args=(self._pending, queued, self._opened, self._turn, self._queue),
                    name="aim-write-turn",
                    daemon=True,
                )
                helper.start()
            self._wanted = True
            pending = self._pending
        if pending.wait(timeout):
            return True
        with self._state:
            if pending.is_set():  # handed over between the timeout and here
                return True
            self._wanted = False
            return False

    def _open(self) -> None:
        if self._turn < 0:  # (under self._state)
            self._turn, self._queue = (os.open(path, os.O_RDWR | os.O_CREAT, 0o600) for path in self._paths)
            self._opened += 1

    def try_acquire(self) -> bool:
        """Take the turn only if no other process holds it or waits for it (and no helper of ours is waiting)."""
        with self._state:
            self._open()
            if self._pending is not None or not _try_flock(self._queue):
                return False
            taken = _try_flock(self._turn)
            fcntl.flock(self._queue, fcntl.LOCK_UN)
            return taken

    def _wait(self, pending: threading.Event, queued: bool, opened: int, turn: int, queue: int) -> None:
        try:
            if not queued:
                fcntl.flock(queue, fcntl.LOCK_EX)
            fcntl.flock(turn, fcntl.LOCK_EX)
            fcntl.flock(queue, fcntl.LOCK_UN)
        except OSError:  # the files were closed meanwhile (the hub shut down)
            return
        with self._state:
            if self._opened != opened or self._turn < 0:  # closed (and perhaps opened again) meanwhile
                return
            self._pending = None
            if self._wanted:
                self._wanted = False
                pending.set()
                return
            fcntl.flock(turn, fcntl.LOCK_UN)  # the asker gave up and nobody took its place

    def release(self) -> None:
        if self._turn >= 0:  # else closed meanwhile, which dropped the lock
            fcntl.flock(self._turn, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the files (dropping the lock, if held); the next ``acquire`` opens them again."""
        with self._state:
            for fd in (self._turn, self._queue):
                if fd >= 0:
                    os.close(fd)  # drops its lock too, if held
            self._turn = self._queue = -1
            self._pending, self._wanted = None, False


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class WriteGate:
    """A fair (FIFO), re-entrant lock: ``acquire`` hands the lock to waiters in the order they asked.

    With ``across``, the outermost ``acquire`` also takes that :class:`FileTurn` (within the same timeout). The last
    ``release`` hands it on with the lock to the next waiter if that one was already waiting when the turn was taken
    (the round), and otherwise gives it back before the next waiter is let in.
    """

    def __init__(self, across: FileTurn | None = None) -> None:
        self._across = across
        self._mutex = threading.Lock()
        self._waiting: deque[tuple[int, threading.Event]] = deque()
        self._owner: int | None = None
        self._depth = 0
        self._across_held = False  # the holder has the cross-process turn (taken, or handed on in a round)
        self._round = 0  # waiters still to be let in on the turn held: those waiting when it was taken

    def acquire(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for this thread's turn; False if it did not come."""
        deadline = time.monotonic() + timeout
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            free = self._owner is None and not self._waiting
            if free:
                self._owner, self._depth = me, 1
            else:
                turn = threading.Event()
                self._waiting.append((me, turn))
        if free or turn.wait(timeout):
            return self._take_across(deadline)
        with self._mutex:
            handed = turn.is_set()  # handed over between the timeout and here
            if not handed:
                self._waiting.remove((me, turn))
                self._round = min(self._round, len(self._waiting))
        return handed and self._take_across(deadline)

    def try_acquire(self) -> bool:
        """Take the lock only if nobody holds it or waits for it, in this process or (``across``) another."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is not None or self._waiting:
                return False
            self._owner, self._depth = me, 1
        taken = False
        try:
            taken = self._across is None or self._across.try_acquire()
        finally:  # not taken (or the lock files failed): the next writer of this process must not wait for us
            with self._mutex:
                if not taken:
                    self._hand_over()
                elif self._across is not None:
                    self._across_held, self._round = True, 0
        return taken

    def _take_across(self, deadline: float) -> bool:
        with self._mutex:
            if self._across is None or self._across_held:  # no turns across processes, or handed on in a round
                return True
        taken = False
        try:
            taken = self._across.acquire(max(0.0, deadline - time.monotonic()))
        finally:  # not taken (or the lock file failed): the next writer of this process must not wait for us
            with self._mutex:
                if taken:
                    self._across_held, self._round = True, len(self._waiting)
                else:
                    self._hand_over()
        return taken

    def release(self) -> None:
        """Give the lock to the writer that has waited longest (or free it)."""
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("the write gate is released by a thread that does not hold it")
            self._depth -= 1
            if self._depth:
                return
            if self._across_held and self._round and self._waiting:
                self._round -= 1  # the next waiter was waiting when the turn was taken: it goes in on the same turn
            elif self._across_held:
                self._across_held, self._round = False, 0
                assert self._across is not None
                self._across.release()
            self._hand_over()

    def _hand_over(self) -> None:
        if self._waiting:
            self._owner, turn = self._waiting.popleft()
            self._depth = 1
            turn.set()
        else:
            self._owner, self._depth = None, 0

    def close(self) -> None:
        with self._mutex:
            self._across_held, self._round = False, 0  # closing drops the turn: a writer let in next takes it again
        if self._across is not None:
            self._across.close()
