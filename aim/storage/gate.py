"""A first-come, first-served lock for the hub's write transactions on SQLite.

SQLite lets one writer in at a time, and a writer that finds the database locked sleeps and tries again (the busy
timeout). A long job that commits in parts (identity resolution on a large hub) takes the lock again a moment after
giving it up, before any sleeping writer wakes, so a search's audit entry could wait for the whole job. Within one
hub process every write transaction first takes a turn here, in the order asked: a writer waits for the writers
ahead of it, never for a job's later parts. Writers in other processes (the CLI) still meet SQLite's busy timeout.
"""

from __future__ import annotations

import threading
from collections import deque


class WriteGate:
    """A fair (FIFO), re-entrant lock: ``acquire`` hands the lock to waiters in the order they asked."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[tuple[int, threading.Event]] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for this thread's turn; False if it did not come."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._waiting:
                self._owner, self._depth = me, 1
                return True
            turn = threading.Event()
            self._waiting.append((me, turn))
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over between the timeout and here
                return True
            self._waiting.remove((me, turn))
            return False

    def release(self) -> None:
        """Give the lock to the writer that has waited longest (or free it)."""
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("the write gate is released by a thread that does not hold it")
            self._depth -= 1
            if self._depth:
                return
            if self._waiting:
                self._owner, turn = self._waiting.popleft()
                self._depth = 1
                turn.set()
            else:
                self._owner = None
