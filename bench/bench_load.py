# ruff: noqa: E501  (Markdown table rows are written as single lines)
"""Load benchmark: MASH searches and the alert list at a fixed rate for 60 s, quiet and while a nightly feed is ingested.

    python -m bench.bench_load                          # SQLite hub of 1,000,000 records built first; writes docs/benchmarks.md
    python -m bench.bench_load --records 100000 --no-write
    python -m bench.bench_load --database-url URL --keys DIR [--people people.csv]   # an existing hub and its key set
    python -m bench.bench_load --build-url postgresql+psycopg://.../empty_db --keys DIR  # the same hub on PostgreSQL

The hub runs under uvicorn in a subprocess (``bench_search.serve``: the demo policy, the hub's rate limits off). By
default it is built like the search benchmark's (``bench_search.load``: encoded records, persons, links and the
search read model, bulk-loaded), its key set written beside it (``PATH.keys``, to re-run with ``--database-url``),
and the shipped rules run once so the alert list has alerts. An existing hub (SQLite or PostgreSQL, such as the
scale benchmark's) is used as it is, with its key set and, to search for people it holds, its population file; the
run adds its staff users, a signing key and a new token for WMP (revoking WMP's others), and the feed's records.

Load comes from Locust (a library in a process of its own, which gevent patches): one user per simulated officer,
each with its own bearer token, sending one request every ``--every`` seconds at fixed times (user n of k first n/k
of a period into the phase; at once, and paced from then, when an answer took longer). ``FastHttpUser`` by
default: on this machine it used about 0.8 ms of CPU a request against 2.2 ms for ``HttpUser`` (``--user-class
http``), and the client shares the hub's 2 cores.
Officers (MASH, role ``mash_officer``) search with an encoded query as the portal sends it (purpose
``mash_screening``, a case reference); safeguarding leads open the alert list as the portal does (``GET
/v1/alerts``, purpose ``watchlist_review``, the status filters and pages of 200 or 50). Users start spread over one
period, so requests arrive evenly from the first second. A user waits for each answer, so a hub that stalls is
asked less than the rate: the achieved rate shows it, and the percentiles then understate what an open arrival
of requests would see.

Phases: (a) quiet, ``--seconds`` at the fixed rate; (b) the same while partner WMP's nightly feed (``--feed-rows``
rows: people the hub knows with new activity, and some new people) is pushed by the agent's client
(``aim.agent.push.push_feed``), the window starting once half its batches are stored, so it overlaps the upload and
the commit (which links the records and runs the rules before answering). Every request Locust makes is kept
with its start time, time to the whole response, and status; figures are over the requests started in the window.
An error is any answer but 2xx, or no answer. Each search carries ``X-AIM-Request-Id`` so its audit entry can be
counted. The client's and the hub's CPU are read from /proc over the window (the machine's cores are shared).
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import func, select

from aim.agent.push import HubClient, RetryPolicy, push_feed
from aim.audit.signing import ensure_signing_key
from aim.bootstrap import Hub, bootstrap
from aim.errors import NotFoundError
from aim.feed import Row, write_feed
from aim.keys import CURRENT, KEYSET_FORMAT, load_keys
from aim.partner.credentials import generate_signing_key, load_signing_key
from aim.settings import Settings
from aim.storage.governance_tables import audit_log
from aim.storage.rules_tables import alerts
from aim.storage.tables import persons, records
from aim.vocabulary import default_vocabulary
from bench import bench_search
from bench.hub_cpu import CpuSampler, settle
from bench.load_client import ALERT_QUERIES, ALERTS, PHASES, SEARCH
from bench.load_report import phase_line, result_line, section, write_section
from linkage.encoder import RawIdentity, RecordEncoder
from linkage.keyset import FieldKeys

ROOT = Path(__file__).resolve().parents[1]
PARTNER = "WMP"


@dataclass
class Options:
    """One run's shape; the defaults are the full benchmark."""

    records: int = 1_000_000
    persons: int = 400_000
    seconds: float = 60.0
    search_rate: float = 100.0
    alert_rate: float = 10.0
    every: float = 2.0  # each simulated officer's period: users = rate x period
    queries: int = 600  # distinct encoded queries, sent in turn (the portal's encoding takes ~30 ms each)
    feed_rows: int = 100_000
    batch_rows: int = 5_000
    seed: int = 1
    sqlite: str = "/tmp/aim-bench-load.db"
    database_url: str | None = None
    build_url: str | None = None  # build the hub in this empty PostgreSQL database instead of the SQLite file
    keys: str | None = None
    people: str | None = None  # an existing hub's people.csv (aim fixtures generate) to search for
    user_class: str = "fast"
    workdir: Path | None = None  # scratch files (a temporary folder, removed at the end, unless given)
    workers: int = 1  # uvicorn worker processes (aim hub serve --workers)


# The hub under test


def build(options: Options) -> tuple[str, FieldKeys, float]:
    """Bulk-load a hub as the search benchmark does, raise its alerts, and write its key set beside it: a SQLite file
    made anew, or the empty PostgreSQL database ``--build-url`` names (its key set in ``--keys``)."""
    if options.build_url:
        url, directory = options.build_url, Path(options.keys or "aim-bench-load.keys")
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(options.sqlite + suffix).unlink(missing_ok=True)
        url, directory = f"sqlite:///{options.sqlite}", Path(options.sqlite + ".keys")
    population = bench_search.people(min(options.persons, options.records), options.seed)
    _, load_s = bench_search.load(url, population, options.records, options.seed)
    hub = bootstrap(Settings(database_url=url))
    try:
        reports = hub.rules.run(as_of=bench_search.TODAY)
        print("rules: " + "; ".join(r.line() for r in reports), flush=True)
    finally:
        hub.close()
    write_keys(bench_search.KEYS, directory)
    print(f"built {url} in {load_s:.0f} s; re-run on it with --database-url {url} --keys {directory}", flush=True)
    return url, bench_search.KEYS, load_s


def write_keys(keys: FieldKeys, directory: Path) -> None:
    """The key set as ``aim keys`` keeps it (aim.keys), so a later run can load it with ``--keys``."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = base64.b64encode(keys.secret).decode("ascii")
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {"format": KEYSET_FORMAT, "key_id": keys.key_id, "created": created, "secret": secret}
    for name, text in ((f"{keys.key_id}.json", json.dumps(body, indent=2) + "\n"), (CURRENT, keys.key_id + "\n")):
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)


@dataclass
class Credentials:
    officers: list[str]
    leads: list[str]
    partner_token: str
    partner_key_pem: bytes
    audit_key: Path


def credentials(url: str, options: Options, work: Path) -> Credentials:
    """Staff users (one per simulated officer) with tokens, and WMP's signing key and token for the feed."""
    audit_key = work / "audit.key"
    ensure_signing_key(audit_key)  # a --workdir used before keeps its key
    hub = bootstrap(Settings(database_url=url, audit_key_path=str(audit_key)), migrate_schema=True)
    try:
        officers = _staff(hub, "load.officer", "mash_officer", round(options.search_rate * options.every))
        leads = _staff(hub, "load.lead", "safeguarding_lead", max(1, round(options.alert_rate * options.every)))
        private_pem, public_pem, _ = generate_signing_key()
        try:
            hub.partners.get(PARTNER)
            hub.partners.add_key(PARTNER, public_key_pem=public_pem)
            token = hub.partners.new_token(PARTNER)
        except NotFoundError:
            token = hub.partners.add(
                code=PARTNER,
                name="West Midlands Police",
                agreement_ref="DSA-LOAD",
                agreement_until=date.today() + timedelta(days=365),
                public_key_pem=public_pem,
            ).token
    finally:
        hub.close()
    return Credentials(officers, leads, token, private_pem, audit_key)


def _staff(hub: Hub, prefix: str, role: str, count: int) -> list[str]:
    tokens = []
    for i in range(count):
        user_id = f"{prefix}.{i:04d}"
        try:
            hub.access.users.get(user_id)
        except NotFoundError:
            hub.access.users.add(user_id=user_id, display_name=f"Load {role} {i}", role=role, organisation=None)
        tokens.append(hub.access.users.new_token(user_id).token)
    return tokens


def searched_for(options: Options) -> list[RawIdentity]:
    """The people the officers search for and the feed is about: the built hub's own; for an existing hub, its
    population file (``--people``, as ``aim fixtures generate`` writes it), else those of a hub built here."""
    if options.people:
        with open(options.people, newline="", encoding="utf-8") as file:
            names = ("first_name", "last_name", "date_of_birth", "gender", "address", "postcode")
            return [RawIdentity(**{n: row[n] for n in names}) for row in csv.DictReader(file)]
    return bench_search.people(
        options.persons if options.database_url else min(options.persons, options.records), options.seed
    )


def nightly_feed(path: Path, population: list[RawIdentity], keys: FieldKeys, options: Options, run: str) -> int:
    """WMP's nightly feed: new activity this week, nine rows in ten about people the hub knows, the rest new."""
    rng = random.Random(options.seed + 3)
    known = [population[rng.randrange(len(population))] for _ in range(options.feed_rows * 9 // 10)]
    new = bench_search.people(options.feed_rows - len(known), options.seed + 5)
    today = date.today()
    encoded = RecordEncoder(keys, partner=PARTNER, today=today).encode_many(known + new)
    vocabulary = default_vocabulary()
    flags = vocabulary.categories[vocabulary.partners[PARTNER].type]
    rows = [
        Row(
            record_id=f"{run}-{i}",
            op="upsert",
            enc=enc,
            flag=rng.choice(flags),
            interaction_date=today - timedelta(days=rng.randint(0, 6)),
            lead_contact="Public protection unit, ppu@wmp.example",
        )
        for i, enc in enumerate(encoded)
        if isinstance(enc, dict)
    ]
    write_feed(path, partner=PARTNER, feed_id=f"{PARTNER}-{run}", key_id=keys.key_id, rows=rows)
    return len(rows)


def start_hub(url: str, audit_key: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = bench_search.free_port()
    server = bench_search.serve(url, audit_key, port, workers=workers)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit("the hub did not start")
        time.sleep(0.2)


def warm_up(base: str, creds: Credentials, bodies: list[dict[str, object]], workers: int) -> None:
    """A few searches and alert lists first (not counted), so the hub's caches and connections are warm: from four
    clients per worker at once, each on a connection of its own, so every worker process gets some of them."""
    officer = {"Authorization": f"Bearer {creds.officers[0]}", "X-AIM-Purpose": "mash_screening"}
    lead = {"Authorization": f"Bearer {creds.leads[0]}", "X-AIM-Purpose": "watchlist_review"}

    def one_client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for i, body in enumerate(bodies[:20]):
                headers = officer | {"X-AIM-Case-Ref": "WARM-1", "X-AIM-Request-Id": f"warm-{n}-{i}"}
                http.post("/v1/search", json=body, headers=headers).raise_for_status()
            for params in ALERT_QUERIES:
                http.get("/v1/alerts", params=params, headers=lead).raise_for_status()

    with ThreadPoolExecutor(max_workers=4 * workers) as pool:
        list(pool.map(one_client, range(4 * workers)))


# One phase: the client in its own process, the hub's CPU sampled beside it


class FeedPush(threading.Thread):
    """The partner agent pushing the nightly feed, timed: half its batches stored, the last one, the receipt.

    The load's window starts at half the upload, so that it overlaps the upload and the commit even when a busy hub
    takes most of a minute to store the batches.
    """

    def __init__(self, base: str, creds: Credentials, feed: Path, rows: int, batch_rows: int) -> None:
        super().__init__(daemon=True)
        self.base, self.creds, self.feed, self.batch_rows = base, creds, feed, batch_rows
        self.halfway, self.stored, self.batches = threading.Event(), 0, -(-rows // batch_rows)
        self.started = self.last_batch = self.done = 0.0
        self.receipt: dict[str, Any] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        key = load_signing_key(self.creds.partner_key_pem)
        agent = HubClient(
            base_url=self.base,
            token=self.creds.partner_token,
            signing_key=key,
            timeout_s=3600,
            retry=RetryPolicy(deadline_s=3600),
        )
        self.started = time.time()
        try:
            self.receipt = push_feed(self.feed, client=agent, batch_rows=self.batch_rows, progress=self._stored)
        except BaseException as exc:  # reported by the caller, which waits on halfway
            self.error = exc
        finally:
            self.done = time.time()
            self.halfway.set()
            agent.close()

    def _stored(self, _rows: int) -> None:
        self.last_batch = time.time()
        self.stored += 1
        if 2 * self.stored >= self.batches:
            self.halfway.set()


class LoadClient:
    """The Locust process, started once for both phases (it takes a few seconds to start), and each phase's run."""

    def __init__(
        self, base: str, creds: Credentials, bodies: list[dict[str, object]], run: str, options: Options, work: Path
    ) -> None:
        self.folder, self.seconds = work / "client", options.seconds
        self.folder.mkdir(parents=True, exist_ok=True)
        for label in PHASES:  # a --workdir used before: its signals and figures are not this run's
            self.go(label).unlink(missing_ok=True)
            self.out(label).unlink(missing_ok=True)
        (self.folder / "ready").unlink(missing_ok=True)
        config = {
            "host": base,
            "seconds": options.seconds,
            "every": options.every,
            "user_class": options.user_class,
            "officers": creds.officers,
            "leads": creds.leads,
            "bodies": bodies,
            "ready": str(self.folder / "ready"),
            "phases": [
                {"run": f"{run}-{label}", "go": str(self.go(label)), "out": str(self.out(label))} for label in PHASES
            ],
        }
        (self.folder / "config.json").write_text(json.dumps(config))
        # locust is imported first, so that gevent patches the process before anything else is loaded
        code = "import locust, sys; from bench.load_client import client; sys.exit(client(sys.argv[1]))"
        with (self.folder / "client.log").open("wb") as log:
            command = [sys.executable, "-c", code, str(self.folder / "config.json")]
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)

    def go(self, label: str) -> Path:
        return self.folder / f"go-{label}"

    def out(self, label: str) -> Path:
        return self.folder / f"{label}.json"

    def _wait_for(self, path: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the load client failed; see {self.folder / 'client.log'}")
            time.sleep(0.05)

    def phase(self, label: str, *, push: FeedPush | None = None) -> dict[str, Any]:
        """One window of load, begun once ``push`` (when given) has stored half its batches; every request of it."""
        self._wait_for(self.folder / "ready", 120)
        if push is not None:
            push.start()
            push.halfway.wait()
            if push.error is not None:
                raise SystemExit(f"the feed push failed: {push.error}")
        self.go(label).touch()
        self._wait_for(self.out(label), self.seconds + 300)
        out: dict[str, Any] = json.loads(self.out(label).read_text())
        return out

    def close(self) -> None:
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def summarise(out: dict[str, Any], sampler: CpuSampler, creds: Credentials, options: Options) -> dict[str, Any]:
    t0, t1 = out["t0"], out["t1"]
    window = t1 - t0
    asked = {SEARCH: len(creds.officers) / options.every, ALERTS: len(creds.leads) / options.every}
    figures: dict[str, Any] = {"t0": t0, "t1": t1, "window_s": window}
    for name, rate in asked.items():
        mine = [s for s in out["samples"] if s[0] == name]
        inside = np.array([s[2] for s in mine if t0 <= s[1] < t1] or [float("nan")])
        errors: dict[str, int] = {}
        for sample in mine:
            status = sample[3]
            if not 200 <= status < 300:
                what = str(status) if status else sample[4] or "no answer"
                errors[what] = errors.get(what, 0) + 1
        figures[name] = {
            "asked": rate,
            "achieved": int(np.isfinite(inside).sum()) / window,
            "sent": len(mine),
            "p50": float(np.percentile(inside, 50)),
            "p95": float(np.percentile(inside, 95)),
            "p99": float(np.percentile(inside, 99)),
            "errors": errors,
        }
    figures["client_cpu"] = out["cpu_s"] / window
    figures["hub_cpu"] = sampler.share(t0, t1)
    return figures


# The run


def run(options: Options) -> dict[str, Any]:
    """Build or open the hub, then the quiet phase and the phase during ingest; every figure of the run."""
    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
        return _run(options, options.workdir)
    with tempfile.TemporaryDirectory(prefix="aim-bench-load-") as tmp:
        return _run(options, Path(tmp))


def _run(options: Options, work: Path) -> dict[str, Any]:
    started = time.perf_counter()
    run_id = "ld" + os.urandom(3).hex()  # names this run's request ids, feed and records
    url, keys, built_s = open_hub(options)
    population = searched_for(options)
    bodies = [body for _, _, body in bench_search.queries(population, options.queries, options.seed + 1)]
    creds = credentials(url, options, work)
    feed_rows = nightly_feed(work / "nightly.feed", population, keys, options, run_id)
    held = hub_counts(url, creds)
    print(f"hub: {held}; {len(creds.officers)} officers, {len(creds.leads)} leads; {feed_rows:,} feed rows", flush=True)
    mark = time.perf_counter()
    server, base = start_hub(url, creds.audit_key, options.workers)
    print(f"hub answering at {base} after {time.perf_counter() - mark:.1f} s", flush=True)
    print(f"hub's processes idle after {settle(server.pid):.0f} s more", flush=True)
    sampler = CpuSampler(server.pid)
    sampler.start()
    load = LoadClient(base, creds, bodies, run_id, options, work)
    try:
        warm_up(base, creds, bodies, options.workers)
        quiet_out = load.phase("quiet")
        quiet = summarise(quiet_out, sampler, creds, options)
        print("quiet: " + phase_line(quiet), flush=True)
        push = FeedPush(base, creds, work / "nightly.feed", feed_rows, options.batch_rows)
        during_out = load.phase("ingest", push=push)
        during = summarise(during_out, sampler, creds, options)
        push.join()
        if push.error is not None:
            raise SystemExit(f"the feed push failed: {push.error}")
    finally:
        load.close()
        sampler.done.set()
        server.terminate()
        server.wait(timeout=60)
    during["feed"] = {
        "rows": feed_rows,
        "accepted": push.receipt.get("accepted"),
        "upload_end": push.last_batch - during["t0"],
        "commit_end": push.done - during["t0"],
        "total_s": push.done - push.started,
    }
    searches = [s for out in (quiet_out, during_out) for s in out["samples"] if s[0] == SEARCH]
    answered = {s[5] for s in searches if 200 <= s[3] < 300}
    entries = audited(url, creds, run_id)
    return {
        "database": url.split(":", 1)[0].split("+", 1)[0],
        "built_s": built_s,
        "before": held,
        "after": hub_counts(url, creds),
        "user_class": "FastHttpUser" if options.user_class == "fast" else "HttpUser",
        "workers": options.workers,
        "officers": len(creds.officers),
        "leads": len(creds.leads),
        "quiet": quiet,
        "ingest": during,
        "searches": len(searches),
        "audited": len(entries),
        "answered_unaudited": len(answered - entries),  # answered 2xx with no audit entry
        "seconds": time.perf_counter() - started,
    }


def open_hub(options: Options) -> tuple[str, FieldKeys, float | None]:
    """The hub under test: built here, or the one ``--database-url`` names with its key set."""
    if not options.database_url:
        return build(options)
    if not options.keys:
        raise SystemExit("--database-url needs --keys DIR: the hub's key set, to encode searches as the portal does")
    keys = load_keys(directory=Path(options.keys))
    bench_search.KEYS = keys  # bench_search encodes its queries under its module's key set
    return options.database_url, keys, None


def hub_counts(url: str, creds: Credentials) -> dict[str, int]:
    """Records, persons and alerts the hub holds."""
    hub = bootstrap(Settings(database_url=url, audit_key_path=str(creds.audit_key)))
    try:
        with hub.database.read() as conn:
            counts = {
                name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in (("records", records), ("persons", persons), ("alerts", alerts))
            }
    finally:
        hub.close()
    return counts


def audited(url: str, creds: Credentials, run_id: str) -> set[str]:
    """The request ids of this run's searches that have their audit entry."""
    hub = bootstrap(Settings(database_url=url, audit_key_path=str(creds.audit_key)))
    try:
        with hub.database.read() as conn:
            query = select(audit_log.c.request_id).where(
                audit_log.c.action == "search", audit_log.c.request_id.like(f"{run_id}-%")
            )
            return {str(r) for r in conn.execute(query).scalars()}
    finally:
        hub.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Options()
    parser.add_argument(
        "--records", type=int, default=defaults.records, help="records of the hub built (default 1,000,000)"
    )
    parser.add_argument(
        "--persons", type=int, default=defaults.persons, help="persons they belong to (and searched for)"
    )
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="each phase's window")
    parser.add_argument("--search-rate", type=float, default=defaults.search_rate, help="searches a second")
    parser.add_argument("--alert-rate", type=float, default=defaults.alert_rate, help="alert lists a second")
    parser.add_argument("--every", type=float, default=defaults.every, help="seconds between one user's requests")
    parser.add_argument("--queries", type=int, default=defaults.queries, help="distinct encoded queries")
    parser.add_argument("--feed-rows", type=int, default=defaults.feed_rows)
    parser.add_argument("--batch-rows", type=int, default=defaults.batch_rows)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--workers", type=int, default=defaults.workers, help="uvicorn worker processes of the hub")
    parser.add_argument("--sqlite", default=defaults.sqlite, help="where the hub is built (its key set in PATH.keys)")
    parser.add_argument("--database-url", help="an existing hub instead (SQLite or PostgreSQL); needs --keys")
    parser.add_argument("--build-url", help="build the hub in this empty PostgreSQL database (key set in --keys)")
    parser.add_argument("--keys", help="the key set directory of the hub given by --database-url or --build-url")
    parser.add_argument("--people", help="its population (people.csv of aim fixtures generate), to search for")
    parser.add_argument(
        "--user-class", choices=["fast", "http"], default="fast", help="Locust's FastHttpUser or HttpUser"
    )
    parser.add_argument("--workdir", type=Path, help="keep scratch files here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write every figure of the run to this file")
    parser.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    options = Options(**{k: v for k, v in vars(args).items() if k not in ("json", "no_write")})
    before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    result = run(options)
    after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(result_line(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    command = " ".join(["python -m bench.bench_load", *(sys.argv[1:] if argv is None else argv)])
    text = section(result, command, before, after)
    print(text)
    if not args.no_write:
        write_section(text, ROOT / "docs" / "benchmarks.md", result["database"], options.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
