# ruff: noqa: E501  (Markdown table rows are written as single lines)
"""Rules benchmark: evaluate the two default rules over 1,000,000 interactions on SQLite and PostgreSQL.

    python -m bench.bench_rules                      # both databases (PostgreSQL from AIM_TEST_POSTGRES_URL), writes docs/benchmarks.md
    python -m bench.bench_rules --interactions 100000 --no-write
    python -m bench.bench_rules --only postgresql --no-write   # one database (the other's row is left out)

A synthetic population: ``--persons`` people, each with interactions from the 8 demo partners spread over the year
before the run date; a third of them have their activity bunched into a few weeks (so that many qualify). Rows are
bulk-loaded (executemany on SQLite, COPY on PostgreSQL), then timed: the first full run (every person; raising every
alert and its evidence), a second full run (raises nothing: the idempotent nightly case), and a run after an ingest
for 1,000 touched persons (re-check and evaluate).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select

from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.rules.loader import load_rules
from aim.settings import Settings
from aim.storage.rules_tables import alert_evidence, alerts
from aim.storage.tables import feeds, partners
from aim.vocabulary import default_vocabulary
from bench.sections import replace_section

AS_OF = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- rules:start -->", "<!-- rules:end -->"


def population(interactions: int, persons: int, seed: int) -> dict[str, np.ndarray]:
    """Arrays of person index, partner index and days before the run date, one per interaction."""
    rng = np.random.default_rng(seed)
    person = rng.integers(0, persons, size=interactions)
    partner = rng.integers(0, 8, size=interactions)
    bunched = person % 3 == 0
    centre = rng.integers(0, 365, size=persons)
    spread = np.where(bunched, rng.integers(-14, 15, size=interactions), rng.integers(-182, 183, size=interactions))
    days = np.clip(centre[person] + spread, 0, 364)
    return {"person": person, "partner": partner, "days": days}


def load(hub: Hub, data: dict[str, np.ndarray], persons: int) -> None:
    vocabulary = default_vocabulary()
    codes = list(vocabulary.partners)
    flags_by_type = {category: flags[0] for category, flags in vocabulary.categories.items()}
    partner_pks, feed_pks = [], []
    with hub.database.write() as conn:
        for code in codes:
            spec = vocabulary.partners[code]
            pk = conn.execute(
                insert(partners)
                .values(
                    code=code,
                    name=spec.name,
                    partner_type=spec.type,
                    agreement_ref="DSA",
                    agreement_from=date(2024, 1, 1),
                    agreement_until=date(2030, 1, 1),
                    status="active",
                    created_at=NOW,
                    updated_at=NOW,
                )
                .returning(partners.c.pk)
            ).scalar_one()
            partner_pks.append(pk)
            feed_pks.append(
                conn.execute(
                    insert(feeds)
                    .values(
                        partner_pk=pk,
                        feed_id=f"{code}-bench",
                        manifest="{}",
                        manifest_sha256="0" * 64,
                        key_id="k",
                        row_count=0,
                        rows_sha256="0" * 64,
                        status="committed",
                        accepted=0,
                        rejected=0,
                        inserted=0,
                        replaced=0,
                        deleted=0,
                        opened_at=NOW,
                    )
                    .returning(feeds.c.pk)
                ).scalar_one()
            )
    flags = [flags_by_type[vocabulary.partners[c].type] for c in codes]
    stamp = "2026-11-23 12:00:00.000000"
    n = len(data["person"])
    dates = [(AS_OF - timedelta(days=int(d))).isoformat() for d in range(365)]
    record_rows = (
        (i + 1, partner_pks[p], f"R{i}", "k", flags[p], dates[d], "Duty desk", feed_pks[p], stamp, stamp)
        for i, (p, d) in enumerate(zip(data["partner"].tolist(), data["days"].tolist(), strict=True))
    )
    link_rows = ((i + 1, int(person) + 1, i + 1, "bench", stamp) for i, person in enumerate(data["person"].tolist()))
    person_rows = ((i + 1, stamp) for i in range(persons))
    tables = {
        "persons": ("pk, created_at", person_rows),
        "records": (
            "pk, partner_pk, record_id, key_id, flag, interaction_date, lead_contact, feed_pk, created_at, updated_at",
            record_rows,
        ),
        "links": ("pk, person_pk, record_pk, method, created_at", link_rows),
    }
    raw = hub.database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, (columns, rows) in tables.items():
            if hub.database.backend == "postgresql":
                _copy(cursor, table, columns, rows)
            else:
                marks = ", ".join("?" for _ in columns.split(","))
                cursor.execute("BEGIN")
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # type: ignore[arg-type]
                cursor.execute("COMMIT")
        if hub.database.backend == "postgresql":
            raw.commit()
            for table in ("persons", "records", "links"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'pk'), (SELECT max(pk) FROM {table}))")
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    assert n > 0


def _copy(cursor: Any, table: str, columns: str, rows: Iterable[tuple[object, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for count, row in enumerate(rows, 1):
            buffer.write("\t".join(str(v) for v in row) + "\n")
            if count % 100_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def measure(url: str, data: dict[str, np.ndarray], persons: int) -> dict[str, object]:
    hub = bootstrap(Settings(database_url=url), clock=FixedClock(NOW), migrate_schema=True)
    try:
        mark = time.perf_counter()
        load(hub, data, persons)
        loaded = time.perf_counter() - mark
        rules = load_rules(ROOT / "fixtures" / "rules")
        mark = time.perf_counter()
        first = hub.rules.run(as_of=AS_OF, rules=rules)
        first_s = time.perf_counter() - mark
        mark = time.perf_counter()
        second = hub.rules.run(as_of=AS_OF, rules=rules)
        second_s = time.perf_counter() - mark
        touched = list(range(1, persons + 1, max(1, persons // 1000)))[:1000]
        hub.rules._rules = rules  # the ingest path reads the configured rules; give it the shipped ones
        mark = time.perf_counter()
        hub.rules.reevaluate_persons(touched, as_of=AS_OF)
        ingest_s = time.perf_counter() - mark
        with hub.database.read() as conn:
            alert_count = conn.execute(select(func.count()).select_from(alerts)).scalar_one()
            evidence_count = conn.execute(select(func.count()).select_from(alert_evidence)).scalar_one()
        assert all(r.raised == 0 and r.extended == 0 for r in second), "a second run must raise nothing"
        return {
            "backend": hub.database.backend,
            "load_s": loaded,
            "first_s": first_s,
            "second_s": second_s,
            "ingest_s": ingest_s,
            "reports": [r.line() for r in first],
            "alerts": alert_count,
            "evidence": evidence_count,
        }
    finally:
        hub.close()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def section(
    results: list[dict[str, object]], interactions: int, persons: int, load_before: str, load_after: str
) -> str:
    lines = [
        START,
        "## Rules (event recognition)",
        "",
        f"`python -m bench.bench_rules` on {date.today().isoformat()}: {machine()}. Load average before {load_before}, after {load_after}.",
        f"{interactions:,} interactions of {persons:,} persons from 8 partners over the year before the run date (a third of the persons with",
        "their activity bunched into a few weeks); the two default rules (≥ 3 partners in 30 days → alert, ≥ 2 → watch-list suggestion).",
        "The goal is ≤ 10 s for evaluating the rules over 1,000,000 interactions on each database.",
        "",
        "| database | bulk load | first full run (raises all) | second full run (nothing new) | after an ingest (1,000 persons) | alerts raised | evidence rows |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['load_s']:.1f} s | {r['first_s']:.2f} s | {r['second_s']:.2f} s | {r['ingest_s']:.2f} s | {r['alerts']:,} | {r['evidence']:,} |"
        )
    lines += ["", "Per rule (first run):", ""]
    for r in results:
        lines += [f"- {r['backend']}: " + "; ".join(r["reports"])]  # type: ignore[arg-type]
    lines += [
        "",
        "The machine has 2 cores shared with other work; when the load average above is near or over 2 the figures are provisional.",
        END,
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    """Replace this benchmark's own section of ``path``, or append it; others are kept."""
    replace_section(path, text, START, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=250_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite", default="/tmp/aim-bench-rules.db")
    parser.add_argument("--postgres", default=os.environ.get("AIM_TEST_POSTGRES_URL"))
    parser.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one database (implies --no-write)")
    args = parser.parse_args(argv)
    if args.only == "postgresql" and not args.postgres:
        parser.error("--only postgresql needs --postgres URL or AIM_TEST_POSTGRES_URL")
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    data = population(args.interactions, args.persons, args.seed)
    results = []
    if args.only != "postgresql":
        for suffix in ("", "-wal", "-shm"):
            Path(args.sqlite + suffix).unlink(missing_ok=True)
        results.append(measure(f"sqlite:///{args.sqlite}", data, args.persons))
        print(results[-1], flush=True)
    if args.postgres and args.only != "sqlite":
        from tests.databases import fresh_postgres  # noqa: PLC0415  (only when PostgreSQL is measured)

        with fresh_postgres() as url:
            results.append(measure(url, data, args.persons))
        print(results[-1], flush=True)
    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = section(results, args.interactions, args.persons, load_before, load_after)
    print(text)
    if not args.no_write and args.only is None:  # a section always holds both databases' rows
        write_section(text, ROOT / "docs" / "benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
