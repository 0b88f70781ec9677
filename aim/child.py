"""A worker process of the one answering requests, for CPU-bound steps that would otherwise hold its GIL.

In the process that answers searches, a step of pure Python (parsing a batch, applying it, linking) holds the GIL,
and each search thread waits for it again after every database call and every socket write. In a child process the
step has an interpreter of its own; the calling thread waits for the answer with the GIL released.

A :class:`ChildProcess` is started by :meth:`~ChildProcess.start` (the API starts its children when it starts), or
else by its first call (spawned: the parent has threads, whose locks fork would copy), and stays for the next calls,
one at a time. A child found dead is replaced and the call tried once more; if the new child dies too, the call fails
with ``BrokenProcessPool``. An error raised by the step in the child is raised again in the parent as it was.

When the parent stops, a child finishes the step under way and exits (it ignores Ctrl-C, which the terminal sends to
both); when the parent is killed, the child exits too, within half a second, even mid-step (the database rolls its
transaction back). Its log lines go to the parent's standard error.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

_PARENT_CHECK_S = 0.5
NICENESS = 5
"""Added to a child's nice value: when the cores are busy, the requests the parent answers (a search by a MASH officer)
get about three times a child's share of CPU (a nightly feed's linking waits a little longer instead)."""
_Result = TypeVar("_Result")


class ChildClosedError(RuntimeError):
    """Raised for a call made once the child was closed (the hub is shutting down)."""


class ChildProcess:
    """One child process that runs the calls given to it, in the order given; see the module's documentation."""

    def __init__(self, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()) -> None:
        """``initializer(*initargs)`` runs first in each child started (it must be importable by name, as must
        every function called in the child)."""
        self._initializer = initializer
        self._initargs = initargs
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def start(self) -> None:
        """Start the child now, without waiting for it to be ready (a first call waits for that)."""
        self._running().submit(os.getpid)

    def call(self, step: Callable[..., _Result], *args: Any) -> _Result:
        """``step(*args)`` in the child; in a new child, once, if the child is found dead (so ``step`` must be safe
        to run again)."""
        try:
            return self._once(step, args)
        except BrokenProcessPool:
            return self._once(step, args)

    def close(self) -> None:
        """Let a call under way finish, then stop the child; a call made afterwards raises :class:`ChildClosedError`."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _once(self, step: Callable[..., _Result], args: tuple[Any, ...]) -> _Result:
        pool = self._running()
        try:
            return pool.submit(step, *args).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise ChildClosedError("the hub is shutting down")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(os.getpid(), self._initializer, self._initargs),
                )
            return self._pool


def _start(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """In the child: yield the CPU to the parent, exit as soon as the parent is gone, then run the initializer."""
    os.nice(NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")  # to the parent's stderr
    threading.Thread(target=_exit_with, args=(parent,), name="aim-parent-watch", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_S)
    os._exit(1)
