"""Random I/O errors under a SQLite hub while a partner pushes: every batch the hub acknowledged is kept exactly
once, no batch is ever partly stored, a batch is applied exactly as far as its recorded progress says (a commit
applies a batch a few rows a transaction, keeping how far it got), and after a restart without faults the feeds
finish with every row once. Storage failures are answered 503 with Retry-After, never 500.

The hub's API server (uvicorn, as `aim hub serve` runs it) runs under libfiu's `fiu-run -x` (Debian's fiu-utils and
libfiu0). Once it answers, the test makes a share of SQLite's calls to the disk fail at random (``fiu-ctrl``): its
writes and syncs (``pwrite``, ``fsync``, ``fdatasync``: what SQLite's pager and WAL call), each failing with an errno
the call may return (EIO, ENOSPC, ...). The partner pushes with the agent's client and a short deadline, so some
pushes give up under the faults. The hub is then killed, the database checked, and the hub started again without
faults for the agent to finish every feed.

PostgreSQL is not run this way: its disk is the server's, so libfiu in the hub can only fail the hub's socket calls,
and a send failed on a healthy socket leaves libpq waiting for the answer to a query the server never received
(libpq keeps reading after a write failure, to report the server's own error), so the hub hangs until the partner
gives up: a property of the injected fault, not of a broken connection, which fails both ways at once.

libfiu's preload library wraps malloc too, and can deadlock a process in which one thread loads a shared library
while another starts (seen with pyarrow's allocator thread, which the whole CLI imports through pandas): so the hub
is started as the API app alone with one BLAS thread, and a start that hangs is retried.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from aim.agent.push import HubClient, PushError, RetryPolicy, push_feed
from aim.bootstrap import bootstrap
from aim.ingest.batches import count_rows, split_feed, split_rows
from aim.settings import Settings
from aim.storage.tables import batch_progress, feed_batches, record_changes, records
from aim.storage.tables import feeds as feeds_table
from tests import factories as f
from tests.faults.conftest import Hubs

PRELOAD = Path("/usr/lib/fiu/fiu_posix_preload.so")
APP = "api.hub.app:app_from_env"  # what ``aim hub serve`` serves, without the rest of the CLI's imports
POINTS = ("posix/io/rw/pwrite", "posix/io/sync/fsync", "posix/io/sync/fdatasync")


@dataclass(frozen=True)
class Load:
    """What the partner pushes: ``feeds`` feeds of ``rows`` rows, in batches of ``batch_rows``, each request retried
    for up to ``deadline_s`` seconds under faults of ``probability`` per call."""

    feeds: int
    rows: int
    batch_rows: int
    deadline_s: float
    probability: float


# Fast: a batch in five or so fails at least once, and most commits get through. Large: a commit applies ten times
# as many rows, so its calls fail less often for it to get through at all.
FAST = Load(feeds=3, rows=600, batch_rows=100, deadline_s=2, probability=0.002)
LARGE = Load(feeds=8, rows=2_500, batch_rows=250, deadline_s=10, probability=0.0005)


def _libfiu() -> None:
    missing = [name for name in ("fiu-run", "fiu-ctrl") if shutil.which(name) is None]
    missing += [] if PRELOAD.exists() else [str(PRELOAD)]
    if missing:
        why = f"needs libfiu ({', '.join(missing)} missing): apt-get install fiu-utils libfiu0 (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Hub:
    """The hub's API server (uvicorn) in a child process, under fiu-run when asked (faults off until :meth:`faults`
    turns them on)."""

    database_url: str
    folder: Path
    port: int = field(default_factory=_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, fiu: bool) -> None:
        for _attempt in range(3):  # a start under libfiu may deadlock (see the module docstring): start again
            if self._started(fiu=fiu):
                return
            self.kill()
        raise AssertionError(f"the hub did not start; see {self.folder / 'hub.log'}")

    def _started(self, *, fiu: bool) -> bool:
        env = os.environ | {
            "AIM_DATABASE_URL": self.database_url,
            "AIM_TIMEZONE": "UTC",
            "AIM_RATE_LIMIT": "",
            "OPENBLAS_NUM_THREADS": "1",
        }
        command = [sys.executable, "-m", "uvicorn", "--factory", APP, "--port", str(self.port)]
        command += ["--log-level", "warning"]
        if fiu:
            command = ["fiu-run", "-x", "-f", str(self.folder / "fiu"), *command]
        with (self.folder / "hub.log").open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, f"the hub stopped; see {self.folder / 'hub.log'}"
            time.sleep(0.1)
        return False

    def faults(self, points: tuple[str, ...], probability: float) -> None:
        """Fail each call at ``points`` with ``probability`` (with an errno the call may return, at random), in the
        hub's process and in its two workers: the after-commit child (which applies each commit) and the batch
        checker (:mod:`aim.child`; both started with the API)."""
        assert self.process is not None
        pids = [self.process.pid, *self._workers()]
        for point in points:
            command = f"enable_random name={point},probability={probability}"
            subprocess.run(["fiu-ctrl", "-f", str(self.folder / "fiu"), "-c", command, *map(str, pids)], check=True)

    def _workers(self) -> list[int]:
        assert self.process is not None
        deadline = time.monotonic() + 30
        while True:
            workers = []
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                for pid in (task / "children").read_text().split():
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                        workers.append(int(pid))
            if len(workers) == 2:
                return workers
            assert time.monotonic() < deadline, f"the hub has {len(workers)} worker processes, not 2"
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@dataclass(frozen=True)
class Feed:
    path: Path
    feed_id: str
    batches: tuple[bytes, ...]
    record_ids: tuple[tuple[str, ...], ...]  # per batch


def _feeds(folder: Path, load: Load) -> list[Feed]:
    """Each feed, and the batches the agent will cut it into, with the record ids each batch carries."""
    made = []
    size = load.batch_rows
    for n in range(load.feeds):
        path, rows = folder / f"WMP-{n}.feed", f.rows(load.rows, seed=100 + n, prefix=f"F{n}-")
        f.feed(path, rows, feed_id=f"WMP-{n}")
        batches = tuple(split_rows(split_feed(path.read_bytes()).body, max_rows=size))
        ids = tuple(tuple(r.record_id for r in rows[i : i + size]) for i in range(0, load.rows, size))
        made.append(Feed(path, f"WMP-{n}", batches, ids))
    return made


@dataclass
class Seen:
    """Every answer the hub gave during the faults, by request."""

    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: set[tuple[str, int]] = field(default_factory=set)  # (feed id, batch) answered 2xx
    committed: set[str] = field(default_factory=set)
    without_retry_after: int = 0

    def hook(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        parts = response.request.url.path.split("/")  # /v1/feeds/{feed}/batches/{seq} or /v1/feeds/{feed}/commit
        if response.status_code == 503 and "retry-after" not in response.headers:
            self.without_retry_after += 1
        if not response.is_success:
            return
        if len(parts) == 6 and parts[4] == "batches":
            self.acknowledged.add((parts[3], int(parts[5])))
        elif len(parts) == 5 and parts[4] == "commit":
            self.committed.add(parts[3])


def _push(hub: Hub, keys: f.PartnerKeys, feeds: list[Feed], load: Load, *, deadline_s: float, seen: Seen | None):
    http = httpx.Client(base_url=hub.url, timeout=30, event_hooks={"response": [seen.hook] if seen else []})
    retry = RetryPolicy(deadline_s=deadline_s, first_delay_s=0.05, max_delay_s=0.5)
    client = HubClient(base_url=hub.url, token=keys.token, signing_key=keys.key, http=http, retry=retry)
    receipts, gave_up = {}, 0
    try:
        for feed in feeds:
            try:
                receipts[feed.feed_id] = push_feed(feed.path, client=client, batch_rows=load.batch_rows)
            except PushError:
                gave_up += 1
    finally:
        http.close()
    return receipts, gave_up


def _check_no_partial_batch(database_url: str, feeds: list[Feed], seen: Seen) -> tuple[int, int, int]:
    """Every acknowledged batch is stored, once and whole; every stored batch is whole; every batch is applied wholly,
    or as far as its recorded progress says and no further, and every acknowledged commit is complete. Returns
    (batches stored, batches applied, batches applied part-way)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            held = set(conn.execute(select(records.c.record_id)).scalars())
            query = select(feeds_table.c.feed_id, feeds_table.c.status, feed_batches).join(feed_batches)
            by_batch = {(r.feed_id, r.seq): r for r in conn.execute(query)}
            progress = dict(conn.execute(select(batch_progress.c.batch_pk, batch_progress.c.applied_rows)).all())
            committed = set(
                conn.execute(select(feeds_table.c.feed_id).where(feeds_table.c.status == "committed")).scalars()
            )
    finally:
        engine.dispose()
    stored = applied = partly = 0
    for feed in feeds:
        for seq, (body, ids) in enumerate(zip(feed.batches, feed.record_ids, strict=True), start=1):
            key = (feed.feed_id, seq)
            row = by_batch.get(key)
            present = sum(record_id in held for record_id in ids)
            assert row is not None or key not in seen.acknowledged, f"{key}: acknowledged, then lost"
            if row is None:
                assert present == 0, f"{key}: rows applied from a batch never stored"
                continue
            stored += 1
            assert row.body_sha256 == hashlib.sha256(body).hexdigest(), f"{key}: stored with other content"
            assert (row.row_count, row.size_bytes) == (count_rows(body), len(body)), f"{key}: partly stored"
            if row.body is not None:
                assert hashlib.sha256(row.body).hexdigest() == row.body_sha256, f"{key}: its bytes partly stored"
            if row.applied_at is None:
                so_far = progress.get(row.pk, 0)
                partly += so_far > 0
                applied_ids = {record_id for record_id in ids if record_id in held}
                assert applied_ids == set(ids[:so_far]), (
                    f"{key}: {present} of {len(ids)} rows applied, its progress says the first {so_far}"
                )
            else:
                applied += 1
                assert present == len(ids), f"{key}: marked applied with {present} of {len(ids)} rows"
        if feed.feed_id in seen.committed:
            assert feed.feed_id in committed, f"{feed.feed_id}: its commit was acknowledged, then lost"
    return stored, applied, partly


def _counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            tables = (records, record_changes, feed_batches, feeds_table)
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}
    finally:
        engine.dispose()


def _faults_then_restart(hubs: Hubs, tmp_path: Path, load: Load) -> None:
    _libfiu()
    feeds = _feeds(tmp_path, load)
    url = hubs.copies("sqlite").new("io-errors")
    setup = bootstrap(Settings(database_url=url), migrate_schema=True)
    keys = f.register(setup)
    setup.close()
    hub, seen = Hub(url, tmp_path), Seen()
    hub.start(fiu=True)
    try:
        hub.faults(POINTS, load.probability)
        started = time.monotonic()
        _, gave_up = _push(hub, keys, feeds, load, deadline_s=load.deadline_s, seen=seen)
        under_faults = time.monotonic() - started
    finally:
        hub.kill()
    stored, applied, partly = _check_no_partial_batch(url, feeds, seen)
    hub.start(fiu=False)
    try:
        receipts, failed = _push(hub, keys, feeds, load, deadline_s=120, seen=None)
    finally:
        hub.kill()
    counts = _counts(url)
    rows = sum(len(ids) for feed in feeds for ids in feed.record_ids)
    batches = sum(len(feed.batches) for feed in feeds)
    answered = sum(seen.statuses.values())
    print(
        f"\nfaults: I/O errors during ingest (sqlite): {', '.join(POINTS)} failing at p={load.probability}; "
        f"{answered} answers in {under_faults:.0f}s under faults: {len(seen.acknowledged)} of {batches} batches and "
        f"{len(seen.committed)} of {len(feeds)} commits acknowledged, {seen.statuses[503]} answered 503 "
        f"(500: {seen.statuses[500]}), {gave_up} pushes gave up; after the kill {stored} batches stored and "
        f"{applied} applied, {partly} part-way (each as far as its progress says); after a restart without faults: "
        f"{counts['records']:,} of {rows:,} rows, lost {rows - counts['records']}, "
        f"duplicated {counts['record_changes'] - rows}"
    )
    assert seen.statuses[503] > 0, "the faults reached the database"
    assert seen.acknowledged, "some batches got through the faults"
    assert seen.statuses[500] == 0, f"storage failures are 503, not 500: {dict(seen.statuses)}"
    assert seen.without_retry_after == 0, "every 503 says when to retry"
    assert failed == 0
    assert [receipts[feed.feed_id]["accepted"] for feed in feeds] == [load.rows] * load.feeds
    assert counts == {"records": rows, "record_changes": rows, "feed_batches": batches, "feeds": load.feeds}


def test_io_errors_during_ingest_lose_no_acknowledged_batch(hubs: Hubs, tmp_path: Path) -> None:
    _faults_then_restart(hubs, tmp_path, FAST)


@pytest.mark.slow
def test_io_errors_during_a_larger_ingest(hubs: Hubs, tmp_path: Path) -> None:
    _faults_then_restart(hubs, tmp_path, LARGE)
