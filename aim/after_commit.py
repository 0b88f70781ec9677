"""A feed's commit (applying its batches), then linking and the rules, in a child process of the one answering
requests (:mod:`aim.child`).

All three are CPU-bound Python (parsing and planning rows, candidate comparison, clustering, rule windows). In the
child the commit's request thread waits for the answer with the GIL released, so the partner still gets its receipt
once its feed is applied, linked and the rules have run, as before.

The child builds the hub from the parent's settings. Started with the API, its start-up (imports, the linkage model:
about 2 s of CPU) is not paid by the first commit, nor by the searches answered meanwhile. A step that fails in the
child fails as it would in the parent (the feed stands; the next run links it, see :func:`aim.bootstrap.bootstrap`).
A child that dies twice in one step fails it with ``BrokenProcessPool``; applying a feed then fails with
:class:`~aim.ingest.errors.CommitUnavailableError` (the partner sends the commit again, and it carries on after the
rows already applied), as it does once the hub is shutting down.
"""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from aim.child import ChildClosedError, ChildProcess
from aim.ingest.errors import CommitUnavailableError
from aim.ingest.service import FeedCommitted
from aim.settings import Settings
from aim.storage.feeds import FeedRow

if TYPE_CHECKING:
    from aim.bootstrap import Hub

_hub: Hub | None = None  # the child's own hub, built by _build_hub


class AfterCommitProcess:
    """The child process that applies feeds being committed, links committed feeds and runs their rules; one step at a
    time, in the order asked for. Every step may run again in a new child: applying carries on after the rows
    applied; linking takes what is still unlinked; the rules re-check the persons."""

    def __init__(self, settings: Settings) -> None:
        self._child = ChildProcess(_build_hub, (settings,))

    def start(self) -> None:
        """Start the child now, without waiting for it to be ready (a first step waits for that)."""
        self._child.start()

    def apply(self, feed: FeedRow) -> int:
        """Apply the batches of a feed being committed (:meth:`aim.ingest.service.IngestService.apply_batches`);
        returns the child's process id."""
        try:
            return self._child.call(_apply, feed)
        except (BrokenProcessPool, ChildClosedError):
            raise CommitUnavailableError(
                "the hub could not apply the feed just now (it is stopping, or the process that applies feeds "
                "stopped): send the commit again shortly; it carries on after the rows already applied"
            ) from None

    def link(self, event: FeedCommitted) -> int:
        """Link what the feed changed (:meth:`aim.identity.service.IdentityService.after_commit`); returns the
        child's process id."""
        return self._child.call(_link, event)

    def run_rules(self, event: FeedCommitted) -> int:
        """Run the rules for the persons the feed touched (:meth:`aim.rules.service.RulesService.after_ingest`);
        returns the child's process id."""
        return self._child.call(_run_rules, event)

    def close(self) -> None:
        """Let a step under way finish, then stop the child; a step asked for afterwards fails (the next run links)."""
        self._child.close()


def _build_hub(settings: Settings) -> None:
    """In the child: build its hub."""
    global _hub  # noqa: PLW0603  (the child's one hub, kept between steps)
    from aim.bootstrap import bootstrap  # noqa: PLC0415  (bootstrap builds this class: imported in the child only)

    _hub = bootstrap(settings)


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
