"""A feed's commit (applying its batches), then linking and the rules, in a child process of the one answering
requests.

All three are CPU-bound Python (parsing and planning rows, candidate comparison, clustering, rule windows). Run in the
process that answers searches, they hold its GIL for the length of the commit, and each search thread waits for it
again after every database call and every socket write. In a child process they have an interpreter of their own;
the commit's request thread waits for the child's answer with the GIL released, so the partner still gets its receipt
once its feed is applied, linked and the rules have run, as before.

The child is started when the API starts (:meth:`AfterCommitProcess.start`), or else on the first commit (spawned:
the parent has threads, whose locks fork would copy), builds the hub from the parent's settings, and stays for the
next commits. Started with the API, its start-up (imports, the linkage model: about 2 s of CPU) is not paid by the
first commit, nor by the searches answered meanwhile. A step that fails in the child fails as it would in
the parent (the feed stands; the next run links it, see :func:`aim.bootstrap.bootstrap`). A child found dead is
replaced and the step tried once more; if the new child dies too, the step fails with ``BrokenProcessPool`` (applying
a feed fails with :class:`~aim.ingest.errors.CommitUnavailableError`: the partner sends the commit again, and it
carries on after the rows already applied). An error raised by a step in the child (a storage failure) is raised
again in the parent as it was.

When the hub stops, the child finishes the step under way and exits (it ignores Ctrl-C, which the terminal sends to
both); when the hub is killed, the child exits too, within half a second, even mid-step (the database rolls its
transaction back). Its log lines go to the hub's standard error.
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
from typing import TYPE_CHECKING, TypeVar

from aim.ingest.errors import CommitUnavailableError
from aim.ingest.service import FeedCommitted
from aim.settings import Settings
from aim.storage.feeds import FeedRow

if TYPE_CHECKING:
    from aim.bootstrap import Hub

_PARENT_CHECK_S = 0.5
_hub: Hub | None = None  # the child's own hub, built by _start
_Arg = TypeVar("_Arg")


class _ClosedError(RuntimeError):
    """Raised for a step asked for once the hub is shutting down."""


class AfterCommitProcess:
    """The child process that applies feeds being committed, links committed feeds and runs their rules; one step at a
    time, in the order asked for."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def start(self) -> None:
        """Start the child now, without waiting for it to be ready (a first step waits for that)."""
        self._running().submit(os.getpid)

    def apply(self, feed: FeedRow) -> int:
        """Apply the batches of a feed being committed (:meth:`aim.ingest.service.IngestService.apply_batches`);
        returns the child's process id."""
        try:
            return self._call(_apply, feed)
        except (BrokenProcessPool, _ClosedError):
            raise CommitUnavailableError(
                "the hub could not apply the feed just now (it is stopping, or the process that applies feeds "
                "stopped): send the commit again shortly; it carries on after the rows already applied"
            ) from None

    def link(self, event: FeedCommitted) -> int:
        """Link what the feed changed (:meth:`aim.identity.service.IdentityService.after_commit`); returns the
        child's process id."""
        return self._call(_link, event)

    def run_rules(self, event: FeedCommitted) -> int:
        """Run the rules for the persons the feed touched (:meth:`aim.rules.service.RulesService.after_ingest`);
        returns the child's process id."""
        return self._call(_run_rules, event)

    def close(self) -> None:
        """Let a step under way finish, then stop the child; a step asked for afterwards fails (the next run links)."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _call(self, step: Callable[[_Arg], int], arg: _Arg) -> int:
        # A child found dead (killed between steps, or by this step) is replaced and the step tried once more in the
        # new one: every step may run again (applying carries on after the rows applied; linking takes what is still
        # unlinked; the rules re-check the persons).
        try:
            return self._once(step, arg)
        except BrokenProcessPool:
            return self._once(step, arg)

    def _once(self, step: Callable[[_Arg], int], arg: _Arg) -> int:
        pool = self._running()
        try:
            return pool.submit(step, arg).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise _ClosedError("the hub is shutting down: the next run links and runs the rules")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(self._settings, os.getpid()),
                )
            return self._pool


def _start(settings: Settings, parent: int) -> None:
    """In the child: build the hub, and exit as soon as the parent is gone."""
    global _hub  # noqa: PLW0603  (the child's one hub, kept between steps)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")  # to the parent's stderr
    from aim.bootstrap import bootstrap  # noqa: PLC0415  (bootstrap builds this class: imported in the child only)

    _hub = bootstrap(settings)
    threading.Thread(target=_exit_with, args=(parent,), name="aim-parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_S)
    os._exit(1)


def _child_hub() -> Hub:
    if _hub is None:
        raise RuntimeError("the after-commit child process was not started by AfterCommitProcess")
    return _hub


def _apply(feed: FeedRow) -> int:
    _child_hub().ingest.apply_batches(feed)
    return os.getpid()


def _link(event: FeedCommitted) -> int:
    _child_hub().identity.after_commit(event)
    return os.getpid()


def _run_rules(event: FeedCommitted) -> int:
    _child_hub().rules.after_ingest(event)
    return os.getpid()
