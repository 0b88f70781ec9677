"""kill -9 the hub again and again during a large push; the agent retries; nothing is lost or duplicated.

The hub runs for real (uvicorn in a subprocess on a free loopback port), the push is the agent's own client code,
and the server is killed with SIGKILL while batches are in flight and while the commit is applying them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from aim.agent.push import HubClient, RetryPolicy, push_feed
from aim.bootstrap import bootstrap
from aim.settings import Settings
from aim.storage.tables import feed_batches, record_changes, record_tokens, records
from tests import factories as f
from tests.databases import fresh_postgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HubServer:
    """``uvicorn --factory api.hub.app:app_from_env`` as a child process that can be killed and restarted."""

    database_url: str
    log: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = os.environ | {"AIM_DATABASE_URL": self.database_url, "AIM_TIMEZONE": "UTC"}
        command = [sys.executable, "-m", "uvicorn", "--factory", "api.hub.app:app_from_env"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the hub did not start; see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # busy applying a large commit: the test is over, stop it hard
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def crash_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        with fresh_postgres() as url:
            yield url


def _kill_during_push(server: HubServer, progress: list[int], total: int, *, batch_kills: list[int], commit_kills: int):
    """The killer: SIGKILL after the given numbers of stored batches, then during the commit; restart each time."""

    def wait_for(batches: int) -> None:
        while len(progress) < batches:
            time.sleep(0.005)

    for batches in batch_kills:
        wait_for(batches)
        server.kill()
        server.start()
    wait_for(total)
    for _ in range(commit_kills):
        time.sleep(0.4)
        server.kill()
        server.start()


def _crash_run(
    database_url: str, tmp_path: Path, *, rows: int, batch_rows: int, batch_kills: list[int], commit_kills: int
):
    settings = Settings(database_url=database_url)
    hub = bootstrap(settings, migrate_schema=True)
    keys = f.register(hub)
    feed_rows = f.rows(rows, seed=7)
    f.feed(tmp_path / "big.feed", feed_rows, feed_id="WMP-K9")
    server = HubServer(database_url=database_url, log=tmp_path / "hub.log")
    server.start()
    progress: list[int] = []
    retries: list[str] = []
    client = HubClient(
        base_url=server.url,
        token=keys.token,
        signing_key=keys.key,
        timeout_s=60,
        retry=RetryPolicy(deadline_s=120, first_delay_s=0.05, max_delay_s=0.5),
        on_retry=retries.append,
    )
    total_batches = -(-rows // batch_rows)
    killer = threading.Thread(
        target=_kill_during_push,
        args=(server, progress, total_batches),
        kwargs={"batch_kills": batch_kills, "commit_kills": commit_kills},
        daemon=True,
    )
    started = time.monotonic()
    killer.start()
    try:
        receipt = push_feed(tmp_path / "big.feed", client=client, batch_rows=batch_rows, progress=progress.append)
        killer.join(timeout=120)
    finally:
        client.close()
        server.stop()
    elapsed = time.monotonic() - started
    with hub.database.read() as conn:
        held = set(conn.execute(select(records.c.record_id)).scalars())
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (records, record_tokens, record_changes, feed_batches)
        }
    hub.close()
    expected = {row.record_id for row in feed_rows}
    lost, unexpected = len(expected - held), len(held - expected)
    print(  # the figures quoted in docs/reliability.md
        f"\n{settings.database_url.split(':')[0]}: {rows} rows, {server.starts - 1} kills, {len(retries)} retries, "
        f"lost {lost}, duplicated {counts['records'] - len(expected) + unexpected}, {elapsed:.1f}s"
    )
    assert server.starts - 1 == len(batch_kills) + commit_kills
    assert any("/batches/" in r for r in retries), "a kill landed while a batch was in flight"
    assert any("/commit" in r for r in retries), "a kill landed while the commit was running"
    assert (lost, unexpected, counts["records"]) == (0, 0, rows), "0 rows lost"
    assert counts["record_changes"] == rows, "0 rows applied twice"
    assert counts["record_tokens"] == sum(f.tokens_of(r) for r in feed_rows)
    assert counts["feed_batches"] == total_batches
    assert (receipt["accepted"], receipt["rejected"], receipt["inserted"], receipt["replaced"]) == (rows, 0, rows, 0)


def test_kill_9_during_a_push_loses_and_duplicates_nothing(crash_database: str, tmp_path: Path) -> None:
    _crash_run(crash_database, tmp_path, rows=20_000, batch_rows=1_000, batch_kills=[3, 9, 15], commit_kills=2)


@pytest.mark.slow
def test_kill_9_during_a_large_push_loses_and_duplicates_nothing(crash_database: str, tmp_path: Path) -> None:
    _crash_run(
        crash_database,
        tmp_path,
        rows=200_000,
        batch_rows=5_000,
        batch_kills=[2, 6, 11, 17, 23, 30, 36],
        commit_kills=4,
    )
