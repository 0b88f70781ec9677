# ruff: noqa: E501  (Markdown table rows are written as single lines)
"""The load benchmark's report: one result line, the verdict against the goal and the section of docs/benchmarks.md
(see :mod:`bench.bench_load`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from bench import bench_search
from bench.load_client import ALERTS, DATABASES, PHASES, PORTAL_TIMEOUT_S, SEARCH
from bench.sections import replace_section

START, END = "<!-- load:start -->", "<!-- load:end -->"


def markers(database: str, workers: int = 1) -> tuple[str, str]:
    """The section's markers: SQLite's with one process is the benchmark's first section; each other database, and
    each number of worker processes, has one of its own."""
    if database == "sqlite" and workers == 1:
        return START, END
    name = database if workers == 1 else f"{database}-{workers}-workers"
    return f"<!-- load-{name}:start -->", f"<!-- load-{name}:end -->"


def _endpoint(f: dict[str, Any]) -> str:
    errors = sum(f["errors"].values())
    return (
        f"{f['achieved']:.1f} of {f['asked']:.1f}/s, p50 {f['p50']:.1f} p95 {f['p95']:.1f} p99 {f['p99']:.1f} ms, "
        f"errors {errors}" + (f" {f['errors']}" if errors else "")
    )


def phase_line(f: dict[str, Any]) -> str:
    return (
        f"search {_endpoint(f[SEARCH])}; alert list {_endpoint(f[ALERTS])}; "
        f"client CPU {f['client_cpu']:.0%}, hub CPU {f['hub_cpu']:.0%} of a core ({_cpu_ms(f):.0f} ms a request)"
    )


def _cpu_ms(f: dict[str, Any]) -> float:
    """The hub's CPU per request answered in the window, in milliseconds."""
    answered = (f[SEARCH]["achieved"] + f[ALERTS]["achieved"]) * f["window_s"]
    return float(f["hub_cpu"] * f["window_s"] / max(answered, 1) * 1000)


def verdict(r: dict[str, Any]) -> str:
    """The run against the goal: 100 searches/s held with p95 <= 50 ms and no errors; p99 during ingest <= 2 x quiet."""
    quiet, during = r["quiet"][SEARCH], r["ingest"][SEARCH]
    errors = sum(sum(r[p][n]["errors"].values()) for p in PHASES for n in (SEARCH, ALERTS))
    ratio = during["p99"] / quiet["p99"]
    missed = [
        text
        for text, failed in (
            (
                f"{quiet['achieved']:.1f} searches/s held of {quiet['asked']:.0f} asked",
                quiet["achieved"] < 0.99 * quiet["asked"],
            ),
            (f"search p95 {quiet['p95']:.1f} ms", quiet["p95"] > 50),
            (f"{errors} errors", errors > 0),
            (f"search p99 during ingest {ratio:.2f} x the quiet p99", ratio > 2),
        )
        if failed
    ]
    scale = "" if quiet["asked"] >= 100 else f" (asked {quiet['asked']:.0f} searches/s, not the goal's 100)"
    return ("met" if not missed else "not met: " + "; ".join(missed)) + scale


def result_line(r: dict[str, Any]) -> str:
    """The run in one line: each phase's figures, the p99 ratios, the audit count."""
    quiet, during, feed = r["quiet"], r["ingest"], r["ingest"]["feed"]
    ratios = ", ".join(
        f"{label} {during[n]['p99'] / quiet[n]['p99']:.2f}" for label, n in (("search", SEARCH), ("alert list", ALERTS))
    )
    return (
        f"load: {r['database']} hub of {r['before']['records']:,} records, {r['before']['alerts']:,} alerts; "
        f"quiet {quiet['window_s']:.0f} s: {phase_line(quiet)} | during ingest of {feed['rows']:,} rows "
        f"(upload ended at {feed['upload_end']:.0f} s, commit at {feed['commit_end']:.0f} s): {phase_line(during)} | "
        f"p99 during ingest / quiet: {ratios} | audited {r['audited']:,} of {r['searches']:,} searches, "
        f"{r['answered_unaudited']} answered without an audit entry | goal " + verdict(r)
    )


def section(r: dict[str, Any], command: str, before: str, after: str) -> str:
    quiet, during, feed = r["quiet"], r["ingest"], r["ingest"]["feed"]
    busy = max(float(x) for x in (before + ", " + after).split(", ")) >= 1.5
    hub = r["before"]
    built = f", bulk-loaded in {r['built_s']:.0f} s as the search benchmark's hub" if r["built_s"] else ""
    workers = r.get("workers", 1)
    start, end = markers(r["database"], workers)
    on = "" if r["database"] == "sqlite" else f" on {DATABASES.get(r['database'], r['database'])}"
    on += "" if workers == 1 else f", {workers} worker processes"
    lines = [
        start,
        f"## Load{on} (searches and the alert list at a fixed rate, quiet and during a nightly ingest)",
        "",
        f"`{command}` on {date.today().isoformat()}: {bench_search.machine()}. Load average before {before}, after {after}"
        + (" — the machine was busy: **provisional**." if busy else "."),
        f"A {DATABASES.get(r['database'], r['database'])} hub holding {hub['records']:,} records of {hub['persons']:,} persons and {hub['alerts']:,} alerts{built};",
        f"uvicorn in a subprocess ({_processes(r.get('workers', 1))}, the hub's rate limits off). Locust ({r['user_class']}, each user at fixed times) in",
        f"a process of its own on the same 2 cores: {r['officers']} MASH officers each searching every {r['officers'] / quiet[SEARCH]['asked']:.0f} s",
        "(an encoded query as the portal sends it, a purpose and a case reference) and "
        f"{r['leads']} safeguarding leads opening the alert list",
        "as the portal does (status filters, pages of 200 or 50), each with their own token. Figures are over the requests",
        "started in each window, timed to the whole response; an error is any answer but 2xx, or none. A user waits for each",
        "answer, so a hub that stalls is asked less than the rate (achieved below asked), and the percentiles then understate",
        "what an open arrival of requests would see.",
        f"During ingest, partner WMP's nightly feed of {feed['rows']:,} rows (nine in ten about people the hub knows) is pushed",
        "by the agent's client; the window starts once half its batches are stored, and the commit links the records and runs",
        f"the rules before answering: upload ended {feed['upload_end']:.0f} s into the window, the commit {feed['commit_end']:.0f} s "
        f"(ingest {feed['total_s']:.0f} s in all, {feed['accepted']:,} rows accepted).",
        "Goal: 100 searches/s with p95 ≤ 50 ms and no errors; p99 during ingest at most twice the quiet p99.",
        "",
        "| phase | endpoint | asked /s | achieved /s | p50 | p95 | p99 | errors | client CPU | hub CPU | hub CPU a request |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for label, f in (("quiet", quiet), ("during ingest", during)):
        for name, what in ((SEARCH, "search"), (ALERTS, "alert list")):
            e = f[name]
            errors = ", ".join(f"{n} x {k}" for k, n in sorted(e["errors"].items())) or "0"
            lines.append(
                f"| {label} | {what} | {e['asked']:.0f} | {e['achieved']:.1f} | {e['p50']:.1f} ms | {e['p95']:.1f} ms | {e['p99']:.1f} ms | {errors} | {f['client_cpu']:.0%} | {f['hub_cpu']:.0%} | {_cpu_ms(f):.0f} ms |"
            )
    ratios = "; ".join(
        f"{what} {during[name]['p99'] / quiet[name]['p99']:.2f}"
        for name, what in ((SEARCH, "search"), (ALERTS, "alert list"))
    )
    lines += [
        "",
        f"p99 during ingest ÷ quiet p99: {ratios}{_capped(during)}. Audit: {r['audited']:,} entries for {r['searches']:,} searches sent; "
        f"{r['answered_unaudited']} searches answered 2xx without an audit entry.",
        f"Against the goal: {verdict(r)}.",
        "CPU is a share of one core over the window (client: the Locust process; hub: the uvicorn processes); the hub's CPU",
        "a request is its CPU over the window divided by the requests answered in it.",
        end,
    ]
    return "\n".join(lines)


def _capped(f: dict[str, Any]) -> str:
    late = sum(n for e in (f[SEARCH], f[ALERTS]) for what, n in e["errors"].items() if what.startswith("no answer"))
    if not late:
        return ""
    return f" (understated: {late} requests had no answer in {PORTAL_TIMEOUT_S:.0f} s, and count at that time)"


def write_section(text: str, path: Path, database: str, workers: int = 1) -> None:
    """Replace this benchmark's section for ``database`` (and ``workers``) in ``path``, or append it; others are
    kept."""
    replace_section(path, text, *markers(database, workers))


def _processes(workers: int) -> str:
    return "one process" if workers == 1 else f"{workers} worker processes, as `aim hub serve --workers {workers}`"
