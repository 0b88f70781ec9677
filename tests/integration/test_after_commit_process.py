"""A commit's applying of the batches, the linking and the rules run in a child process, and arriving batches are
checked in another, as the API served by ``aim hub serve`` runs them: the feed is applied and linked once its commit
returns, a child that dies is replaced, a commit that cannot be applied is refused to be sent again (and carries on
when it is), the children start with the API, and a child exits with its parent."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aim.bootstrap import Hub, bootstrap
from aim.child import NICENESS
from aim.ingest import checking, commit
from aim.ingest.errors import CommitUnavailableError
from aim.ingest.service import FeedCommitted
from aim.settings import Settings
from aim.storage.tables import feeds as feeds_table
from aim.storage.tables import records
from api.hub.app import create_app
from tests import identity_factories as idf
from tests.asgi import TestClient
from tests.integration.test_identity import person_of


def _hub(url: str, events: list[FeedCommitted]) -> Hub:
    return bootstrap(
        Settings(database_url=url), migrate_schema=True, after_commit_in_child=True, on_committed=events.append
    )


def _not_here(monkeypatch: pytest.MonkeyPatch, module: object, name: str, what: str) -> None:
    """Make ``module.name`` fail if called in this process (a spawned child imports its own)."""

    def not_here(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"{what} in the process answering requests")

    monkeypatch.setattr(module, name, not_here)


def _child_of(hub: Hub, event: FeedCommitted) -> int:
    """The child's process id, as the child answers it (the rules of a feed, run again: they change nothing)."""
    assert hub.after_commit is not None
    return hub.after_commit.run_rules(event)


def test_a_commit_returns_with_its_feed_linked_by_a_child_process(database_url: str, tmp_path: Path) -> None:
    events: list[FeedCommitted] = []
    hub = _hub(database_url, events)
    try:
        feeds = idf.Feeds(hub, tmp_path)
        feeds.ingest([idf.upsert("W1", idf.ALICE), idf.upsert("W2", idf.BOB)])
        feeds.ingest([idf.upsert("A1", idf.ALICE_TYPO, "CITYHOSP_AE")], partner="CITYHOSP_AE")
        assert person_of(hub, "CITYHOSP_AE", "A1") == person_of(hub, "WMP", "W1") != person_of(hub, "WMP", "W2")
        child = _child_of(hub, events[-1])
        assert child != os.getpid()
        assert _child_of(hub, events[0]) == child, "one child serves every commit"
    finally:
        hub.close()


def test_the_batches_are_applied_in_the_child_not_in_the_process_answering_requests(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _not_here(monkeypatch, commit, "apply_batches", "a batch was applied")
    events: list[FeedCommitted] = []
    hub = _hub(database_url, events)
    try:
        idf.Feeds(hub, tmp_path).ingest([idf.upsert("W1", idf.ALICE), idf.upsert("W2", idf.BOB)])
        assert events[-1].receipt.inserted == 2
        with hub.database.read() as conn:
            assert conn.scalar(select(func.count()).select_from(records)) == 2
    finally:
        hub.close()


def test_a_commit_that_cannot_be_applied_is_refused_and_carries_on_when_sent_again(
    sqlite_url: str, tmp_path: Path
) -> None:
    events: list[FeedCommitted] = []
    hub = _hub(sqlite_url, events)
    feeds = idf.Feeds(hub, tmp_path)
    try:
        feeds.ingest([idf.upsert("W1", idf.ALICE)])
        assert hub.after_commit is not None
        hub.after_commit.close()  # as when the hub is stopping
        with pytest.raises(CommitUnavailableError, match="send the commit again"):
            feeds.ingest([idf.upsert("W2", idf.BOB)])
    finally:
        hub.close()
    again = _hub(sqlite_url, events)
    try:
        with again.database.read() as conn:
            assert conn.scalar(select(feeds_table.c.status).where(feeds_table.c.feed_id == "WMP-2")) == "applying"
        partner = again.partners.get("WMP")
        receipt = again.ingest.commit_feed(partner=partner, feed_id="WMP-2")
        assert (receipt.status, receipt.inserted) == ("committed", 1)
        assert person_of(again, "WMP", "W2") != person_of(again, "WMP", "W1")
    finally:
        again.close()


def test_a_child_that_died_is_replaced_and_the_next_commit_links(sqlite_url: str, tmp_path: Path) -> None:
    events: list[FeedCommitted] = []
    hub = _hub(sqlite_url, events)
    try:
        feeds = idf.Feeds(hub, tmp_path)
        feeds.ingest([idf.upsert("W1", idf.ALICE)])
        first = _child_of(hub, events[-1])
        os.kill(first, signal.SIGKILL)
        feeds.ingest([idf.upsert("A1", idf.ALICE_TYPO, "CITYHOSP_AE")], partner="CITYHOSP_AE")
        assert person_of(hub, "CITYHOSP_AE", "A1") == person_of(hub, "WMP", "W1")
        assert _child_of(hub, events[-1]) not in (first, os.getpid())
    finally:
        hub.close()


def _new_children(known: set[int], *, within: float) -> set[int]:
    deadline = time.monotonic() + within
    while True:
        new = {child.pid for child in multiprocessing.active_children()} - known
        if new or time.monotonic() > deadline:
            return {pid for pid in new if pid is not None}
        time.sleep(0.05)


def test_the_api_starts_its_children_when_it_starts_not_at_the_first_batch_or_commit(sqlite_url: str) -> None:
    # Their start-up (imports, the model) would otherwise be paid by the first batch or commit and the searches
    # answered meanwhile.
    known = {child.pid for child in multiprocessing.active_children()}
    hub = _hub(sqlite_url, [])
    assert not _new_children(known, within=0), "bootstrap alone starts no child"
    with TestClient(create_app(hub=hub)):
        deadline = time.monotonic() + 30
        while len(started := _new_children(known, within=0)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(started) == 2, "the after-commit child and the batch checker"
        # Both yield the CPU to the process answering requests when the cores are busy.
        wanted = min(os.getpriority(os.PRIO_PROCESS, 0) + NICENESS, 19)  # nice values stop at 19
        while {os.getpriority(os.PRIO_PROCESS, pid) for pid in started} != {wanted} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in started} == {wanted}
    assert all(_gone(pid) for pid in started), "the children stop with the API"


def test_batches_are_checked_in_a_child_and_here_when_it_cannot(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _not_here(monkeypatch, checking, "check_batch", "a batch was checked")
    hub = _hub(sqlite_url, [])
    try:
        feeds = idf.Feeds(hub, tmp_path)
        feeds.ingest([idf.upsert("W1", idf.ALICE), idf.upsert("W2", idf.BOB)])
        assert person_of(hub, "WMP", "W1") != person_of(hub, "WMP", "W2")
        assert hub.batch_checker is not None
        hub.batch_checker.close()  # as when the hub is stopping: the batch is checked here
        monkeypatch.undo()
        feeds.ingest([idf.upsert("W3", idf.ALICE_TYPO)])
        assert person_of(hub, "WMP", "W3") == person_of(hub, "WMP", "W1")
    finally:
        hub.close()


PARENT = """
import os, pickle, sys
from pathlib import Path
from aim.after_commit import AfterCommitProcess
from aim.settings import Settings
child = AfterCommitProcess(Settings(database_url=sys.argv[1]))
print(child.run_rules(pickle.loads(Path(sys.argv[2]).read_bytes())), flush=True)
os._exit(0)  # no shutdown: as if the hub were killed
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie has exited; only its parent (now init) has yet to reap it


def test_the_child_exits_when_its_parent_is_killed(sqlite_url: str, tmp_path: Path) -> None:
    events: list[FeedCommitted] = []
    hub = _hub(sqlite_url, events)
    try:
        idf.Feeds(hub, tmp_path).ingest([idf.upsert("W1", idf.ALICE)])
    finally:
        hub.close()
    (tmp_path / "event").write_bytes(pickle.dumps(events[-1]))
    root = Path(__file__).resolve().parents[2]
    printed = tmp_path / "child.pid"
    with printed.open("w") as out:  # a file, not a pipe: the child holds the parent's output open until it exits
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, sqlite_url, str(tmp_path / "event")], cwd=root, stdout=out
        )
        assert parent.wait(timeout=60) == 0
    began = time.monotonic()  # the parent has exited
    child = int(printed.read_text().strip())
    while not _gone(child) and time.monotonic() < began + 10:
        time.sleep(0.05)
    gone = time.monotonic() - began
    assert _gone(child), f"the child {child} outlived its parent by 10 s"
    print(f"after-commit child: gone {gone:.2f} s after its parent was killed")
