# ruff: noqa: E501  (Markdown table rows are written as single lines)
"""Search benchmark: MASH searches through the hub's API (uvicorn in a subprocess, real HTTP) on a 1,000,000-record hub.

    python -m bench.bench_search                         # SQLite, 1,000,000 records, 300 queries; writes docs/benchmarks.md
    python -m bench.bench_search --records 100000 --no-write

A synthetic population (names from the fixture generator's lists, random dates of birth, a pool of addresses and
postcodes), 1 to 4 records per person from the 8 demo partners, encoded with the real encoder under a throwaway key
and bulk-loaded straight into the tables (records, record_tokens, persons, links and the search read model). The
hub is then started with uvicorn; a staff user searches as the portal would (encoded query, purpose, case
reference): exact details, a first-name typo, or the day and month of birth swapped. Each request is timed end to
end over HTTP, including the policy decision and the audit entry every search writes.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import yaml
from sqlalchemy import insert

from aim.audit.signing import create_signing_key
from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.identity.candidates import DETERMINISTIC_RULES
from aim.identity.model_file import load_model
from aim.search import encode_query
from aim.search.keys import record_keys, signature
from aim.settings import Settings
from aim.storage.search_tables import search_cursor
from aim.storage.tables import feeds, partners
from aim.vocabulary import default_vocabulary
from bench.sections import replace_section
from linkage.batch import RecordBatch
from linkage.encoder import RawIdentity, RecordEncoder
from linkage.keyset import FieldKeys
from linkage.stored import pack_tokens

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
START, END = "<!-- search:start -->", "<!-- search:end -->"
POLICY = ROOT / "fixtures" / "policy" / "demo-policy.yaml"
KEYS = FieldKeys("k-" + secrets.token_hex(6), secrets.token_bytes(32))


def names() -> tuple[list[str], list[str], list[str]]:
    data = yaml.safe_load((ROOT / "aim" / "fixtures" / "data" / "names.yaml").read_text())
    male = sorted({n for g in data.values() for n in g["male"]})
    female = sorted({n for g in data.values() for n in g["female"]})
    surnames = sorted({n for g in data.values() for n in g["surnames"]})
    return male, female, surnames


def people(count: int, seed: int) -> list[RawIdentity]:
    rng = random.Random(seed)
    male, female, surnames = names()
    streets = yaml.safe_load((ROOT / "aim" / "fixtures" / "data" / "addresses.yaml").read_text())
    stems, kinds = streets["street_stems"], streets["street_types"]
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    postcodes = [
        f"B{rng.randint(1, 99)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}" for _ in range(20_000)
    ]
    addresses = [f"{rng.randint(1, 200)} {rng.choice(stems)} {rng.choice(kinds)} Birmingham" for _ in range(60_000)]
    out = []
    for _ in range(count):
        sex = rng.choice("MF")
        born = date(1930, 1, 1) + timedelta(days=rng.randint(0, 95 * 365))
        home = rng.randrange(len(addresses))
        out.append(
            RawIdentity(
                first_name=rng.choice(male if sex == "M" else female),
                last_name=rng.choice(surnames),
                date_of_birth=born.isoformat(),
                gender=sex,
                address=addresses[home],
                postcode=postcodes[home % len(postcodes)],
            )
        )
    return out


def _bytes(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "==") if len(value) == 22 else base64.b64decode(value)  # token or Bloom


def load(url: str, population: list[RawIdentity], records: int, seed: int) -> tuple[np.ndarray, float]:
    """Bulk-load ``records`` encoded records of ``population`` into a migrated hub; returns each record's person."""
    rng = np.random.default_rng(seed)
    person_of = np.sort(rng.integers(0, len(population), size=records))
    person_of[: len(population)] = np.arange(min(len(population), records))  # everyone has a record
    person_of.sort()
    partner_of = rng.integers(0, 8, size=records)
    days = rng.integers(0, 365, size=records)
    hub = bootstrap(Settings(database_url=url), clock=FixedClock(NOW), migrate_schema=True)
    vocabulary = default_vocabulary()
    codes = list(vocabulary.partners)
    first_flag = {c: f[0] for c, f in vocabulary.categories.items()}
    flags = [first_flag[vocabulary.partners[c].type] for c in codes]
    partner_pks, feed_pks = [], []
    with hub.database.write() as conn:
        for code in codes:
            values = {
                "code": code,
                "name": vocabulary.partners[code].name,
                "partner_type": vocabulary.partners[code].type,
                "agreement_ref": "DSA",
                "agreement_from": date(2024, 1, 1),
                "agreement_until": date(2030, 1, 1),
                "status": "active",
                "created_at": NOW,
                "updated_at": NOW,
            }
            pk = conn.execute(insert(partners).values(**values).returning(partners.c.pk)).scalar_one()
            partner_pks.append(pk)
            feed = {
                "partner_pk": pk,
                "feed_id": f"{code}-bench",
                "manifest": "{}",
                "manifest_sha256": "0" * 64,
                "key_id": KEYS.key_id,
                "row_count": 0,
                "rows_sha256": "0" * 64,
                "status": "committed",
                "accepted": 0,
                "rejected": 0,
                "inserted": 0,
                "replaced": 0,
                "deleted": 0,
                "opened_at": NOW,
            }
            feed_pks.append(conn.execute(insert(feeds).values(**feed).returning(feeds.c.pk)).scalar_one())
    mark = time.perf_counter()
    encoder = RecordEncoder(KEYS, partner="BENCH", today=TODAY)
    encoded = encoder.encode_many(population)
    assert all(isinstance(e, dict) for e in encoded)
    print(f"encoded {len(population):,} people in {time.perf_counter() - mark:.1f} s", flush=True)
    cache: dict[str, bytes] = {}

    def raw(value: str) -> bytes:
        got = cache.get(value)
        if got is None:
            got = cache[value] = _bytes(value)
        return got

    stamp = "2026-11-23 12:00:00.000000"
    dates = [(TODAY - timedelta(days=d)).isoformat() for d in range(365)]
    persons_l, partners_l, days_l = person_of.tolist(), partner_of.tolist(), days.tolist()

    def record_rows():
        for i in range(records):
            enc = encoded[persons_l[i]]
            p = partners_l[i]
            yield (
                i + 1,
                partner_pks[p],
                f"R{i}",
                KEYS.key_id,
                flags[p],
                dates[days_l[i]],
                "Duty desk 0121 000 0000",
                feed_pks[p],
                raw(enc["bf_first"]),
                raw(enc["bf_last"]),
                raw(enc["bf_address"]),
                stamp,
                stamp,
            )  # type: ignore[index,arg-type]

    def token_rows():
        for i in range(records):
            for name, value in encoded[persons_l[i]].items():  # type: ignore[union-attr]
                if name.startswith("tk_"):
                    for item in value if isinstance(value, list) else [value]:
                        yield (i + 1, name, raw(item))

    batch = RecordBatch.from_encoded(encoded)  # type: ignore[arg-type]
    rules = (*load_model("").blocking, *DETERMINISTIC_RULES)
    rows, keys = record_keys(batch, rules)
    by_person: dict[int, list[int]] = {}
    for record, person in enumerate(persons_l):
        by_person.setdefault(person, []).append(record + 1)

    packed = pack_tokens(batch)

    def key_rows():
        order = np.argsort(keys, kind="stable")
        for row, key in zip(rows[order].tolist(), keys[order].tolist(), strict=True):
            for record_pk in by_person.get(row, ()):
                yield (key, record_pk)

    tables = [
        ("persons", "pk, created_at", ((i + 1, stamp) for i in range(len(population)))),
        (
            "records",
            "pk, partner_pk, record_id, key_id, flag, interaction_date, lead_contact, feed_pk, bf_first, bf_last, bf_address, created_at, updated_at",
            record_rows(),
        ),
        (
            "links",
            "pk, person_pk, record_pk, method, weight, created_at",
            ((i + 1, persons_l[i] + 1, i + 1, "probabilistic", 20.0, stamp) for i in range(records)),
        ),
        ("record_tokens", "record_pk, field, token", token_rows()),
        ("search_keys", "key, record_pk", key_rows()),
        ("search_tokens", "record_pk, tokens", ((i + 1, packed[persons_l[i]]) for i in range(records))),
    ]
    _bulk_load(hub, tables, mark)
    with hub.database.write() as conn:
        conn.execute(insert(search_cursor).values(name="search", last_seq=0, blocking=signature(rules), updated_at=NOW))
    hub.close()
    return person_of, time.perf_counter() - mark


Tables = list[tuple[str, str, Iterator[tuple[object, ...]]]]
_LATE_INDEXES = (
    ("ix_record_tokens_field_token", "record_tokens (field, token)"),
    ("ix_search_keys_record_pk", "search_keys (record_pk)"),
)


def _bulk_load(hub: Hub, tables: Tables, mark: float) -> None:
    """Each table's rows in one statement (SQLite: executemany; PostgreSQL: COPY), the big indexes built after; on
    PostgreSQL the tables' id sequences are then moved past the ids given."""
    postgres = hub.database.backend == "postgresql"
    raw_conn = hub.database.engine.raw_connection()
    try:
        cursor = raw_conn.cursor()
        if not postgres:
            cursor.execute("PRAGMA synchronous = OFF")
        for name, _ in _LATE_INDEXES:
            cursor.execute(f"DROP INDEX {name}")
        for table, columns, data in tables:
            if postgres:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns.split(","))
                cursor.execute("BEGIN")
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", data)
                cursor.execute("COMMIT")
            print(f"loaded {table} at {time.perf_counter() - mark:.0f} s", flush=True)
        for name, on in _LATE_INDEXES:
            cursor.execute(f"CREATE INDEX {name} ON {on}")
        if postgres:
            for table in ("persons", "records", "links"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'pk'), (SELECT max(pk) FROM {table}))")
        cursor.execute("ANALYZE")
        raw_conn.commit()
    finally:
        raw_conn.close()


def queries(population: list[RawIdentity], count: int, seed: int) -> list[tuple[str, int, dict[str, object]]]:
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        index = rng.randrange(len(population))
        who = population[index]
        kind = rng.choice(["exact", "exact", "exact", "typo", "swap"])
        first, born = who.first_name, who.date_of_birth
        if kind == "typo" and len(first) > 3:
            k = rng.randrange(1, len(first) - 1)
            first = first[:k] + first[k + 1] + first[k] + first[k + 2 :]
        if kind == "swap":
            y, m, d = born.split("-")
            if int(d) > 12 or d == m:
                continue
            born = f"{y}-{d}-{m}"
        query = encode_query(
            KEYS, first_name=first, last_name=who.last_name, date_of_birth=born, gender=who.gender, today=TODAY
        )
        out.append((kind, index + 1, query.to_json()))
    return out


def serve(url: str, key: Path, port: int, *, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AIM_DATABASE_URL": url, "AIM_POLICY_PATH": str(POLICY), "AIM_AUDIT_KEY_PATH": str(key)}
    # One bench user sends every search: the per-user search limit (30 a minute by default) would refuse them.
    env |= {"AIM_SEARCH_RATE_LIMIT": "", "AIM_RATE_LIMIT": ""}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.hub.app:app_from_env",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--workers",
        str(workers),
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(url: str, work: list[tuple[str, int, dict[str, object]]], warmup: int) -> dict[str, object]:
    key = Path(f"/tmp/aim-bench-search-{os.getpid()}.key")
    key.unlink(missing_ok=True)
    create_signing_key(key)
    hub = bootstrap(Settings(database_url=url, policy_path=str(POLICY), audit_key_path=str(key)))
    hub.access.users.add(user_id="bench.officer", display_name="Bench officer", role="mash_officer", organisation=None)
    token = hub.access.users.new_token("bench.officer").token
    hub.close()
    port = free_port()
    server = serve(url, key, port)
    headers = {"Authorization": f"Bearer {token}", "X-AIM-Purpose": "mash_screening", "X-AIM-Case-Ref": "BENCH-1"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
            for _ in range(100):
                try:
                    client.get("/v1/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            for _, _, body in work[:warmup]:
                client.post("/v1/search", json=body).raise_for_status()
            times, top, found = [], 0, 0
            by_kind: dict[str, list[float]] = {}
            for kind, person, body in work[warmup:]:
                mark = time.perf_counter()
                response = client.post("/v1/search", json=body)
                elapsed = (time.perf_counter() - mark) * 1000
                response.raise_for_status()
                times.append(elapsed)
                by_kind.setdefault(kind, []).append(elapsed)
                ids = [p["person_id"] for p in response.json()["persons"]]
                top += bool(ids) and ids[0] == person
                found += person in ids
    finally:
        server.terminate()
        server.wait(timeout=30)
        key.unlink(missing_ok=True)
    t = np.array(times)
    return {
        "n": len(t),
        "p50": float(np.percentile(t, 50)),
        "p95": float(np.percentile(t, 95)),
        "p99": float(np.percentile(t, 99)),
        "mean": float(t.mean()),
        "top": top / len(t),
        "found": found / len(t),
        "kinds": {k: (len(v), float(np.percentile(v, 95))) for k, v in by_kind.items()},
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def section(r: dict[str, object], records: int, persons: int, load_s: float, before: str, after: str) -> str:
    kinds = "; ".join(f"{k}: {n} queries, p95 {p:.1f} ms" for k, (n, p) in r["kinds"].items())  # type: ignore[attr-defined]
    busy = max(float(x) for x in (before + ", " + after).split(", ")) >= 1.5
    return "\n".join(
        [
            START,
            "## Search (MASH search through the hub API)",
            "",
            f"`python -m bench.bench_search` on {date.today().isoformat()}: {machine()}. Load average before {before}, after {after}"
            + (" — the machine was busy: **provisional**." if busy else "."),
            f"A SQLite hub holding {records:,} encoded records of {persons:,} persons (8 partners), bulk-loaded in {load_s:.0f} s with the",
            "search read model (`search_keys`, `search_tokens`). uvicorn in a subprocess; each query is encoded as the portal encodes it and sent with",
            "httpx over real HTTP, timed end to end (policy decision, blocking-key lookup, scoring with the linkage model, person",
            "summaries, and the audit entry every search writes), one query at a time from one user (the hub's rate",
            "limits off for the bench). Goal: p95 ≤ 50 ms.",
            "",
            "| queries | p50 | p95 | p99 | mean | right person first | right person returned |",
            "|---|---|---|---|---|---|---|",
            f"| {r['n']} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['p99']:.1f} ms | {r['mean']:.1f} ms | {r['top']:.1%} | {r['found']:.1%} |",
            "",
            f"By kind: {kinds}.",
            "",
            "Baseline: anonlink answers one online query against 1,000,000 encodings in 3.5 s on this machine (a figure measured",
            "earlier, not re-run here): it compares the query with every encoding, where the hub looks up a handful of blocking keys.",
            END,
        ]
    )


def write_section(text: str, path: Path) -> None:
    """Replace this benchmark's own section of ``path``, or append it; others are kept."""
    replace_section(path, text, START, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=400_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite", default="/tmp/aim-bench-search.db")
    parser.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    for suffix in ("", "-wal", "-shm"):
        Path(args.sqlite + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{args.sqlite}"
    population = people(min(args.persons, args.records), args.seed)
    _, load_s = load(url, population, args.records, args.seed)
    result = measure(url, queries(population, args.queries + args.warmup, args.seed + 1), args.warmup)
    print(result, flush=True)
    after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = section(result, args.records, len(population), load_s, before, after)
    print(text)
    if not args.no_write:
        write_section(text, ROOT / "docs" / "benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
