"""``aim hub serve --workers 2`` on SQLite with the rate limits counted in a Redis of the test's own: one user's
searches sent at once over separate connections (so both workers answer some) are throttled at the search limit
across the workers, the flood is reported to the DPO once, every search answered has its audit entry, and the audit
chain, written by both processes, verifies.

Redis comes from Debian's ``redis-server`` package (``bash .ci/run`` installs it; CI fails without it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from aim.audit.log import AuditFilter
from aim.audit.signing import create_signing_key
from aim.bootstrap import bootstrap
from aim.search import encode_query
from aim.settings import Settings
from tests import factories as f
from tests.api.staff import DEMO_POLICY, headers
from tests.faults.jobs import aim_command
from tests.identity_factories import KEYS

ROOT = Path(__file__).resolve().parents[2]
SEARCH_LIMIT = 12
SENT = 40


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(check: Callable[[], bool], what: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (httpx.TransportError, OSError):
            pass
        assert process.poll() is None, f"{what} exited with {process.returncode}"
        assert time.monotonic() < deadline, f"{what} did not start within {timeout:g} s"
        time.sleep(0.1)


def _accepts(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the several-workers test: apt-get install redis-server (see .ci/run)")
        pytest.skip("needs redis-server (apt-get install redis-server)")
    port = _port()
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*command, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _accepts(port), "redis", process)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_two_workers_share_the_search_limit_and_write_one_audit_chain(tmp_path: Path, redis_url: str) -> None:
    key, database_url = tmp_path / "audit.key", f"sqlite:///{tmp_path / 'hub.db'}"
    create_signing_key(key)
    settings = Settings(database_url=database_url, policy_path=str(DEMO_POLICY), audit_key_path=str(key))
    hub = bootstrap(settings, migrate_schema=True)
    try:
        hub.access.users.add(user_id="mash1", display_name="Officer", role="mash_officer", organisation="MASH")
        token = hub.access.users.new_token("mash1").token
    finally:
        hub.close()

    port = _port()
    env = {
        **os.environ,
        "AIM_DATABASE_URL": database_url,
        "AIM_POLICY_PATH": str(DEMO_POLICY),
        "AIM_AUDIT_KEY_PATH": str(key),
        "AIM_RATE_LIMIT_STORAGE": redis_url,
        "AIM_SEARCH_RATE_LIMIT": f"{SEARCH_LIMIT}/minute",
    }
    command = [*aim_command(), "hub", "serve", "--workers", "2", "--no-scheduler", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: httpx.get(f"{base}/v1/health", timeout=2).status_code == 200, "the hub", server)
        query = encode_query(KEYS, today=f.TODAY, first_name="Amelia", last_name="Clarke", date_of_birth="2011-04-09")
        asked = headers(token, "mash_screening", "C-1")

        def search(_: int) -> int:
            # A connection of its own each time, so the kernel hands the requests to both workers.
            return httpx.post(f"{base}/v1/search", json=query.to_json(), headers=asked, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = Counter(pool.map(search, range(SENT)))
    finally:
        server.terminate()
        server.wait(timeout=60)

    started = log.read_text().count("Started server process")
    assert started == 2, log.read_text()[-2000:]
    assert statuses == {200: SEARCH_LIMIT, 429: SENT - SEARCH_LIMIT}, statuses

    hub = bootstrap(settings)
    try:
        entries = hub.audit_log.search(AuditFilter(limit=1000))
        actions = Counter(entry.event.action for entry in entries)
        report = hub.audit_log.verify()
    finally:
        hub.close()
    print(
        f"\ntwo workers: {SENT} searches at once, limit {SEARCH_LIMIT}: {statuses[200]} answered, {statuses[429]} "
        f"refused 429, {actions['search_throttled']} flood entry, {report.entries_checked} audit entries verified"
    )
    assert actions["search"] == SEARCH_LIMIT, "every search answered has its audit entry, and only those"
    assert actions["search_throttled"] == 1, "one report of the flood, whichever worker refused first"
    assert report.problems == (), report.render()
