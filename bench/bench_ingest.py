"""Ingest rate: a 100,000-row feed pushed by the partner agent's own client to a hub running under uvicorn.

    python -m bench.bench_ingest                      # SQLite; PostgreSQL too when AIM_TEST_POSTGRES_URL is set
    python -m bench.bench_ingest --rows 20000 --no-doc

What is timed is what a partner's nightly job waits for: open the feed, put every batch (5,000 rows each, signed),
commit, receive the receipt — over real HTTP to ``uvicorn --factory api.hub.app:app_from_env`` on loopback. The
rows carry encodings shaped like a real feed's (three 1024-bit Bloom filters, seven keyed tokens) for new records,
so every row is an insert.

The result replaces the ``ingest`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from aim.agent.push import HubClient, RetryPolicy, push_feed
from aim.bootstrap import bootstrap
from aim.settings import Settings
from aim.storage.tables import records
from bench.sections import replace_section
from tests import factories as f

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def hub_server(database_url: str, log: Path) -> Iterator[str]:
    port = _free_port()
    env = os.environ | {"AIM_DATABASE_URL": database_url, "AIM_TIMEZONE": "UTC"}
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.hub.app:app_from_env", "--port", str(port)]
    command += ["--host", "127.0.0.1", "--log-level", "warning"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the hub did not start; see {log}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


@contextmanager
def postgres_database() -> Iterator[str]:
    admin = make_url(os.environ["AIM_TEST_POSTGRES_URL"])
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"aim_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(backend: str, database_url: str, feed: Path, rows: int, batch_rows: int, workdir: Path) -> dict[str, object]:
    hub = bootstrap(Settings(database_url=database_url), migrate_schema=True)
    keys = f.register(hub, "WMP")
    marks: list[float] = []
    with hub_server(database_url, workdir / f"{backend}.log") as url:
        client = HubClient(
            base_url=url, token=keys.token, signing_key=keys.key, timeout_s=600, retry=RetryPolicy(deadline_s=600)
        )
        started = time.perf_counter()
        receipt = push_feed(
            feed, client=client, batch_rows=batch_rows, progress=lambda _n: marks.append(time.perf_counter())
        )
        total = time.perf_counter() - started
        client.close()
    with hub.database.read() as conn:
        held = conn.execute(select(func.count()).select_from(records)).scalar_one()
    hub.close()
    upload = marks[-1] - started if marks else total
    assert receipt["accepted"] == rows == held, (receipt, held)
    return {
        "backend": backend,
        "rows": rows,
        "batches": len(marks),
        "upload_s": round(upload, 2),
        "commit_s": round(total - upload, 2),
        "total_s": round(total, 2),
        "rows_per_s": round(rows / total),
        "accepted": receipt["accepted"],
        "rejected": receipt["rejected"],
    }


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}"


def section(results: list[dict[str, object]], args: str, when: str, where: str) -> str:
    lines = [
        "<!-- ingest:start -->",
        "## Ingest (hub side)",
        "",
        f"`python -m bench.bench_ingest {args}`, run {when}. Machine: {where} (1-minute load at the start).",
        "",
        "A feed pushed by the agent's client over HTTP to the hub under uvicorn on loopback: open, signed batches of",
        "5,000 rows, commit, receipt. Upload is until the last batch is stored; commit applies every row (records,",
        "tokens, the change outbox) in one transaction per batch, then, before answering, links the feed's records",
        "into persons (identity resolution against everything held) and runs the rules for the persons it touched;",
        "the receipt comes back when all of that is done. The hub starts empty, so every row is a new record.",
        "",
        "| database | rows | batches | upload s | commit s | total s | rows/s | accepted | rejected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['rows']:,} | {r['batches']} | {r['upload_s']} | {r['commit_s']} | {r['total_s']} | "
            f"{r['rows_per_s']:,} | {r['accepted']:,} | {r['rejected']} |"
        )
    lines += ["<!-- ingest:end -->"]
    return "\n".join(lines)


def write_doc(text: str, path: Path) -> None:
    replace_section(path, text, "<!-- ingest:start -->", "<!-- ingest:end -->")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-rows", type=int, default=5_000)
    parser.add_argument("--no-doc", action="store_true", help="print only; do not rewrite docs/benchmarks.md")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one database only")
    args = parser.parse_args()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = machine()
    with tempfile.TemporaryDirectory(prefix="aim-bench-ingest-") as tmp:
        workdir = Path(tmp)
        feed = workdir / "big.feed"
        f.feed(feed, f.rows(args.rows, seed=11), feed_id="WMP-BENCH")
        results: list[dict[str, object]] = []
        if args.only != "postgresql":
            results.append(run("SQLite", f"sqlite:///{workdir / 'hub.db'}", feed, args.rows, args.batch_rows, workdir))
        if os.environ.get("AIM_TEST_POSTGRES_URL") and args.only != "sqlite":
            with postgres_database() as url:
                results.append(run("PostgreSQL", url, feed, args.rows, args.batch_rows, workdir))
    print(json.dumps(results, indent=2))
    if not args.no_doc:
        write_doc(section(results, " ".join(sys.argv[1:]), when, where), ROOT / "docs" / "benchmarks.md")


if __name__ == "__main__":
    main()
