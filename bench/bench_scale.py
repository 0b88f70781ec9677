# ruff: noqa: E501  (Markdown table rows are written as single lines)
"""Scale benchmark: a hub of 100,000, 300,000 and 1,000,000 synthetic people built with the real CLI, then a nightly
feed linked in and a full rule run, on SQLite and PostgreSQL.

    python -m bench.bench_scale --work /var/tmp/aim-scale               # 100k, 300k, 1M; SQLite (+ PostgreSQL when AIM_TEST_POSTGRES_URL is set)

About a third of the generated people appear in any partner's extract, so 100,000 people make a hub of about 90,000
records and 33,000 persons. NHS numbers come from the 999 test range (never issued to a patient), which holds 909,090
valid numbers: of 1,000,000 people, 90,910 chosen at random have none (docs/fixtures.md).
    python -m bench.bench_scale --people 20000 --backends sqlite --no-write

For each size, once (the population and its feeds do not depend on the database):

    aim fixtures generate --people N --seed S --as-of DAY --out WORK/people-N-seed-S/population
    (hold out people/10 rows at random, seeded, from the partners' extracts: the nightly feed; same header, same lines)
    aim keys init --out .../keys
    aim agent encode --keys ... --partner P --in .../initial/P.csv --out .../feeds/initial/P.feed   (each P; and the
    aim agent encode --keys ... --partner P --in .../nightly/P.csv --out .../feeds/nightly/P.feed    nightly feeds; two at a time)

then for each database, on a fresh database:

    aim hub init-db; aim hub partners add P ... (each P)
    aim hub ingest --json .../feeds/initial/P.feed   (each P, timed: the ingest hook links the feed and runs the rules)
    aim hub ingest --json .../feeds/nightly/P.feed   (each P, timed: the nightly feed)
    aim hub link                                     (nothing should be left)
    aim hub rules run --as-of DAY                    (timed: a full run for everyone)
    aim hub export-links --out ...; aim evaluate --truth ... --links ...

Every ``aim`` command runs as a child process; its max RSS is read from ``os.wait4``. ``DAY`` is today in the hub's
time zone unless ``--as-of`` says otherwise, so the ingest hook's rule runs (as of today) see the same windows as the
full run. Encoded feeds are kept in ``--work`` and reused when present for the same size, seed, day and hold-out;
each measurement is kept in ``WORK/results.json``, so sizes can be run one at a time (``--resume`` skips those
already measured) and the section of docs/benchmarks.md, with its chart (docs/benchmarks-scale.svg), shows them all.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import create_engine, text

from aim.fixtures import MAX_PEOPLE
from aim.settings import Settings
from bench.bench_rules import machine
from bench.e2e_population import PARTNERS
from bench.sections import replace_section

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- scale:start -->", "<!-- scale:end -->"
CHART = "benchmarks-scale.svg"
NIGHTLY_SHARE = 10  # the nightly feed: one record for every 10 people (10,000 at 100,000)


@dataclass(frozen=True)
class Step:
    """One finished ``aim`` command: what it printed, how long it took, its max RSS (MB; None when in-process)."""

    args: tuple[str, ...]
    output: str
    seconds: float
    max_rss_mb: float | None


class Subprocess:
    """Runs each ``aim`` command as a child process and reads its max RSS from ``os.wait4``."""

    def __init__(self, log: Path | None = None) -> None:
        beside = Path(sys.executable).with_name("aim")  # the project's aim, not a shim that re-resolves it
        found = str(beside) if beside.exists() else shutil.which("aim")
        if found is None:
            sys.exit("the 'aim' command is not on PATH: pip install -e . first")
        self.aim = found
        self.log = log

    def many(self, commands: Sequence[Sequence[str]], env: dict[str, str], jobs: int = 1) -> list[Step]:
        """Run ``commands``, ``jobs`` at a time; their steps in the order given. Stops the script on a failure."""
        pending = list(enumerate(commands))
        running: list[tuple[int, subprocess.Popen[bytes], float, IO[bytes], IO[bytes]]] = []
        done: dict[int, Step] = {}
        with ExitStack() as files:
            while pending or running:
                while pending and len(running) < jobs:
                    index, args = pending.pop(0)
                    stdout: IO[bytes] = files.enter_context(tempfile.TemporaryFile())
                    stderr: IO[bytes] = files.enter_context(tempfile.TemporaryFile())
                    process = subprocess.Popen([self.aim, *args], env=env, stdout=stdout, stderr=stderr)
                    running.append((index, process, time.perf_counter(), stdout, stderr))
                time.sleep(0.01)
                for job in list(running):
                    index, process, started, out, err = job
                    # wait4, not Popen.wait: it returns the child's own rusage, and with it its max RSS
                    pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                    if pid == 0:
                        continue
                    seconds = time.perf_counter() - started
                    running.remove(job)
                    process.returncode = os.waitstatus_to_exitcode(status)
                    done[index] = self._finished(tuple(commands[index]), process.returncode, seconds, out, err, usage)
        return [done[i] for i in range(len(commands))]

    def _finished(
        self, args: tuple[str, ...], code: int, seconds: float, out: IO[bytes], err: IO[bytes], usage: Any
    ) -> Step:
        out.seek(0)
        err.seek(0)
        output, errors = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        max_rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as log:
                log.write(
                    f"$ aim {' '.join(args)}  # {seconds:.1f} s, {max_rss_mb:.0f} MB, exit {code}\n{output}{errors}\n"
                )
        if code != 0:
            sys.exit(f"aim {' '.join(args)} failed ({code}):\n{output}\n{errors}")
        return Step(args, output, seconds, max_rss_mb)

    def __call__(self, *args: str, env: dict[str, str]) -> Step:
        return self.many([args], env)[0]


class Runner(Protocol):
    """How ``aim`` commands are run: :class:`Subprocess` here; the tests run them in-process."""

    def __call__(self, *args: str, env: dict[str, str]) -> Step: ...

    def many(self, commands: Sequence[Sequence[str]], env: dict[str, str], jobs: int = 1) -> list[Step]: ...


@dataclass
class Prepared:
    """One size's population and its encoded feeds, kept in ``folder`` (``feeds.json`` says they are complete)."""

    folder: Path
    people: int
    seed: int
    as_of: str
    nightly_rows: int
    generate_s: float
    hold_out_s: float
    encode_s: float
    encode_jobs: int
    encoded: dict[str, dict[str, int]] = field(default_factory=dict)  # feed name -> read, accepted, rejected
    reused: bool = False

    def feeds(self, night: str) -> list[Path]:
        return [self.folder / "feeds" / night / f"{partner}.feed" for partner in PARTNERS]

    @property
    def population(self) -> Path:
        return self.folder / "population"


def hold_out(raw: Path, initial: Path, nightly: Path, *, count: int, seed: int) -> dict[str, int]:
    """Split each partner's extract into the initial load and ``count`` rows picked at random (seeded) for the nightly
    feed, keeping the header and every line byte for byte; rows held out per partner."""
    lines: dict[str, list[str]] = {}
    for partner in PARTNERS:
        content = (raw / f"{partner}.csv").read_text(encoding="utf-8")
        split = content.split("\n")
        if split and split[-1] == "":
            split.pop()
        records = sum(1 for _ in csv.reader(io.StringIO(content)))
        if records != len(split):  # a field with a line break in it: lines are not records
            sys.exit(f"{raw / partner}.csv: {records} CSV records on {len(split)} lines; cannot split it by lines")
        lines[partner] = split
    everyone = [(partner, i) for partner, split in lines.items() for i in range(1, len(split))]
    picked = set(random.Random(seed).sample(everyone, min(count, len(everyone))))
    initial.mkdir(parents=True, exist_ok=True)
    nightly.mkdir(parents=True, exist_ok=True)
    held: dict[str, int] = {}
    for partner, split in lines.items():
        header, rows = split[0], split[1:]
        night = [row for i, row in enumerate(rows, 1) if (partner, i) in picked]
        day = [row for i, row in enumerate(rows, 1) if (partner, i) not in picked]
        for folder, chosen in ((initial, day), (nightly, night)):
            (folder / f"{partner}.csv").write_text("\n".join([header, *chosen]) + "\n", encoding="utf-8")
        held[partner] = len(night)
    return held


def prepare(work: Path, *, people: int, seed: int, as_of: str, runner: Runner, jobs: int) -> Prepared:
    """Generate ``people`` people, hold out the nightly rows and encode every feed, unless ``work`` already holds them."""
    folder = work / f"people-{people}-seed-{seed}"
    marker = folder / "feeds.json"
    nightly_rows = people // NIGHTLY_SHARE
    if marker.exists():
        kept = Prepared(folder=folder, **json.loads(marker.read_text(encoding="utf-8")))
        if (kept.as_of, kept.nightly_rows) == (as_of, nightly_rows) and all(p.exists() for p in kept.feeds("initial")):
            kept.reused = True
            return kept
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = dict(os.environ)
    generate = ["fixtures", "generate", "--people", str(people), "--seed", str(seed), "--as-of", as_of]
    generated = runner(*generate, "--out", str(folder / "population"), env=env)
    started = time.perf_counter()
    hold_out(folder / "population" / "raw", folder / "initial", folder / "nightly", count=nightly_rows, seed=seed)
    hold_out_s = time.perf_counter() - started
    runner("keys", "init", "--out", str(folder / "keys"), env=env)
    commands: list[list[str]] = []
    names: list[str] = []
    sizes: list[int] = []
    for night in ("initial", "nightly"):
        (folder / "feeds" / night).mkdir(parents=True)
        for partner in PARTNERS:
            names.append(f"{night}/{partner}")
            sizes.append((folder / night / f"{partner}.csv").stat().st_size)
            commands.append(
                ["agent", "encode", "--keys", str(folder / "keys"), "--partner", partner, "--in", str(folder / night / f"{partner}.csv"),
                 "--out", str(folder / "feeds" / night / f"{partner}.feed"), "--feed-id", f"{partner}-scale-{night}", "--no-progress"]
            )  # fmt: skip
    # Biggest extracts first, so two encoders at a time finish together.
    order = sorted(range(len(commands)), key=lambda i: -sizes[i])
    started = time.perf_counter()
    steps = runner.many([commands[i] for i in order], env, jobs=jobs)
    encode_s = time.perf_counter() - started
    encoded = {names[i]: encode_counts(step.output) for i, step in zip(order, steps, strict=True)}
    prepared = Prepared(
        folder=folder,
        people=people,
        seed=seed,
        as_of=as_of,
        nightly_rows=nightly_rows,
        generate_s=round(generated.seconds, 1),
        hold_out_s=round(hold_out_s, 1),
        encode_s=round(encode_s, 1),
        encode_jobs=jobs,
        encoded=dict(sorted(encoded.items())),
    )
    record = {k: v for k, v in prepared.__dict__.items() if k not in ("folder", "reused")}
    marker.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return prepared


def encode_counts(output: str) -> dict[str, int]:
    """``read N, accepted A, rejected R`` from the agent's summary; the counts must add up."""
    found = re.search(r"read (\d+), accepted (\d+), rejected (\d+)", output)
    if found is None:
        sys.exit(f"no counts in the agent's output:\n{output}")
    read, accepted, rejected = (int(n) for n in found.groups())
    assert accepted + rejected == read, output
    return {"read": read, "accepted": accepted, "rejected": rejected}


def ingest(feeds: list[Path], env: dict[str, str], runner: Runner) -> dict[str, Any]:
    """``aim hub ingest --json`` each feed, one command each: rows, counts and seconds, per feed and in total."""
    per_feed: dict[str, float] = {}
    totals = {"rows": 0, "accepted": 0, "rejected": 0, "inserted": 0}
    peak = (0.0, "")
    for feed in feeds:
        step = runner("hub", "ingest", "--json", str(feed), env=env)
        receipt = json.loads(step.output[step.output.index("{") :])
        assert receipt["status"] == "committed", receipt
        assert receipt["accepted"] + receipt["rejected"] == receipt["row_count"], receipt
        for name in totals:
            totals[name] += receipt["row_count" if name == "rows" else name]
        per_feed[feed.stem] = round(step.seconds, 2)
        if step.max_rss_mb is not None and step.max_rss_mb > peak[0]:
            peak = (step.max_rss_mb, feed.stem)
    seconds = sum(per_feed.values())
    return {
        **totals,
        "seconds": round(seconds, 1),
        "rows_per_s": round(totals["rows"] / seconds) if seconds else None,
        "per_feed_s": per_feed,
        "peak_rss_mb": round(peak[0]) if peak[1] else None,
        "peak_rss_feed": peak[1] or None,
    }


def held(database_url: str) -> dict[str, int]:
    """Records, persons (holding at least one record), alerts and the database's size on disk (MB)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            counts = {
                name: int(conn.execute(text(query)).scalar_one())
                for name, query in (
                    ("records", "SELECT count(*) FROM records"),
                    ("persons", "SELECT count(DISTINCT person_pk) FROM links"),
                    ("linked_records", "SELECT count(*) FROM links"),
                    ("alerts", "SELECT count(*) FROM alerts"),
                )
            }
            if engine.dialect.name == "postgresql":
                size = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
            else:
                path = Path(str(engine.url.database))
                size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    finally:
        engine.dispose()
    return counts | {"database_mb": round(size / 2**20)}


def hub_env(database_url: str, folder: Path) -> dict[str, str]:
    """The environment of the hub's commands: this database, an audit key in ``folder``, the shipped model and rules."""
    return {
        **os.environ,
        "AIM_DATABASE_URL": database_url,
        "AIM_AUDIT_KEY_PATH": str(folder / "audit.key"),
        "AIM_LINKAGE_MODEL": "",
        "AIM_RULES_DIR": "",
    }


def measure(prepared: Prepared, *, backend: str, database_url: str, folder: Path, runner: Runner) -> dict[str, Any]:
    """Build one hub from ``prepared``'s feeds on an empty database and measure it (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = hub_env(database_url, folder)
    load_before = os.getloadavg()
    start = runner("--version", env=env)  # what every command below pays before it does anything
    runner("hub", "init-db", env=env)
    for partner, name in PARTNERS.items():
        runner("hub", "partners", "add", partner, "--name", name, "--agreement-ref", f"DSA-SCALE-{partner}",
               "--agreement-from", "2024-04-01", "--agreement-until", "2030-03-31", env=env)  # fmt: skip
    initial = ingest(prepared.feeds("initial"), env, runner)
    nightly = ingest(prepared.feeds("nightly"), env, runner)
    link = runner("hub", "link", env=env)
    rules = runner("hub", "rules", "run", "--as-of", prepared.as_of, env=env)
    counts = held(database_url)
    links_csv = folder / "links.csv"
    runner("hub", "export-links", "--out", str(links_csv), env=env)
    population = prepared.population
    evaluation = runner("evaluate", "--truth", str(population / "truth.csv"), "--links", str(links_csv),
                        "--relationships", str(population / "relationships.csv"), env=env).output  # fmt: skip
    links_csv.unlink()
    quality = re.search(r"precision ([\d.]+)\s+recall ([\d.]+)", evaluation)
    left = re.search(r"changes (\d+); records linked (\d+)", link.output)
    return {
        "people": prepared.people,
        "backend": backend,
        **counts,
        "start_s": round(start.seconds, 1),
        "generate_s": prepared.generate_s,
        "hold_out_s": prepared.hold_out_s,
        "encode_s": prepared.encode_s,
        "encode_jobs": prepared.encode_jobs,
        "encoded_rejected": sum(c["rejected"] for c in prepared.encoded.values()),
        "initial": initial,
        "nightly": nightly,
        "link_after": link.output.strip(),
        "left_for_link": int(left.group(2)) if left else None,
        "rules_s": round(rules.seconds, 1),
        "rules_rss_mb": round(rules.max_rss_mb) if rules.max_rss_mb is not None else None,
        "rules": [line for line in rules.output.splitlines() if line.strip()],
        "precision": float(quality.group(1)) if quality else None,
        "recall": float(quality.group(2)) if quality else None,
        "run": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": ", ".join(f"{x:.2f}" for x in load_before),
        "load_after": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def postgres_server(url: str) -> str:
    """The PostgreSQL server's version and the settings that move the figures most."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            shown = [
                str(conn.execute(text(query)).scalar_one())
                for query in ("SHOW server_version", "SHOW fsync", "SHOW shared_buffers")
            ]
    finally:
        engine.dispose()
    version, fsync, buffers = shown
    return f"PostgreSQL {version.split()[0]}, fsync {fsync}, shared_buffers {buffers}"


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty hub database: a SQLite file in ``folder``, or a new database on AIM_TEST_POSTGRES_URL's server."""
    if backend == "sqlite":
        path = folder / "hub.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{path}"
    else:
        from bench.bench_ingest import postgres_database  # noqa: PLC0415  (only when PostgreSQL is measured)

        with postgres_database() as url:
            yield url


def _n(value: object, digits: int = 0) -> str:
    return f"{value:,.{digits}f}" if isinstance(value, int | float) else "-"


def section(results: list[dict[str, Any]], chart: bool) -> str:
    """The ``scale`` section of docs/benchmarks.md: every measurement kept in the working folder."""
    commands = "; ".join(f"`{c}`" for c in dict.fromkeys(r["command"] for r in results))
    lines = [
        START,
        f"## Scale (a hub of up to {MAX_PEOPLE:,} generated people)",
        "",
        f"{commands}. Machine: {machine()}.",
        "",
    ]
    if max(r["people"] for r in results) < 100_000:
        lines += [
            f"Development sizes only, on a shared machine; the benchmark's sizes are 100,000, 300,000 and {MAX_PEOPLE:,} people.",
            "",
        ]
    lines += [
        "People are the generated population; about a third of them appear in any partner's extract, so the hub holds",
        "about 0.9 records and 0.33 persons per person generated (the tables below give the counts). NHS numbers come from",
        "the 999 test range, which holds 909,090 valid numbers: of 1,000,000 people, 90,910 chosen at random have none and",
        "are linked by name, birthday and address alone (docs/fixtures.md); smaller populations are unaffected.",
        "",
    ]
    lines += [
        "Every step is an `aim` command in a child process, as an operator would type it (see the script's docstring):",
        "`aim fixtures generate --people N --seed 1 --as-of DAY` (activity up to the run date); one record per 10 people",
        "held out at random from the partners' extracts as the nightly feed; `aim agent encode` for each partner's initial and",
        "nightly extract, two partners at a time on the 2 cores; then on an empty database `aim hub ingest` of each",
        "partner's initial feed (the ingest hook links the feed into persons and runs the rules for the persons it touched",
        "before the command returns), the same for the nightly feeds, `aim hub link` (nothing should be left), a full",
        "`aim hub rules run` for everyone, and `aim evaluate` of the links against the truth. Seconds are wall-clock per",
        "command, each including its start (the CLI imports the whole hub: `aim --version` took the seconds listed under",
        "the tables), summed over the 8 partners' commands; rows/s is rows over those seconds. Peak RSS is the largest",
        "max RSS of the `aim hub ingest` commands (the feed named). Database size: the SQLite file and its WAL;",
        "PostgreSQL's `pg_database_size`.",
        "",
        "| people | database | generate s | encode s | initial ingest+link s | rows/s | nightly rows | nightly ingest+link s | rows/s | rule run s | database MB | peak RSS MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        i, n = r["initial"], r["nightly"]
        lines.append(
            f"| {r['people']:,} | {r['backend']} | {_n(r['generate_s'], 1)} | {_n(r['encode_s'], 1)} | {_n(i['seconds'], 1)} | "
            f"{_n(i['rows_per_s'])} | {n['rows']:,} | {_n(n['seconds'], 1)} | {_n(n['rows_per_s'])} | {_n(r['rules_s'], 1)} | "
            f"{_n(r['database_mb'])} | {_n(i['peak_rss_mb'])} ({i['peak_rss_feed']}) |"
        )
    lines += [
        "",
        "What the hub held afterwards, and the linkage against the truth (`aim evaluate`, pairwise):",
        "",
        "| people | database | records | rejected (encode, ingest) | persons | left for `aim hub link` | alerts and suggestions | precision | recall |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rejected = r["initial"]["rejected"] + r["nightly"]["rejected"]
        lines.append(
            f"| {r['people']:,} | {r['backend']} | {r['records']:,} | {r['encoded_rejected']:,}, {rejected:,} | {r['persons']:,} | "
            f"{r['left_for_link']} | {r['alerts']:,} | {r['precision']} | {r['recall']} |"
        )
    lines += ["", "Runs (UTC; load average before → after; a command's start):", ""]
    lines += [
        f"- {r['people']:,} {r['backend']}: {r['run']}, load {r['load_before']} → {r['load_after']}; start {r['start_s']} s"
        + (f"; {r['server']}" if r.get("server") else "")
        for r in results
    ]
    lines += ["", "Every row of every feed was accepted or rejected, the counts adding up (asserted by the script)."]
    if chart:
        lines += ["", f"![Initial load, nightly feed and rule run: seconds against people, per database]({CHART})"]
    lines += [
        "",
        "The machine has 2 cores shared with other work; when the load average above is near or over 2 the figures are provisional.",
        END,
    ]
    return "\n".join(lines)


def draw_chart(results: list[dict[str, Any]], path: Path) -> None:
    """Seconds of the initial load, the nightly feed and the rule run against people, one line per database (SVG)."""
    import matplotlib  # noqa: PLC0415  (only when the section is written)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    matplotlib.rcParams["svg.hashsalt"] = "aim-scale"  # the same figures draw the same file
    panels: list[tuple[str, Callable[[dict[str, Any]], float]]] = [
        ("initial ingest + link", lambda r: float(r["initial"]["seconds"])),
        ("nightly feed (1 record per 10 people)", lambda r: float(r["nightly"]["seconds"])),
        ("full rule run", lambda r: float(r["rules_s"])),
    ]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
    figure.suptitle("Scale benchmark: wall-clock seconds against people (bench/bench_scale.py)", fontsize=11)
    for axis, (title, value) in zip(axes, panels, strict=True):
        for backend, colour in (("sqlite", "tab:blue"), ("postgresql", "tab:orange")):
            mine = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["people"])
            if mine:
                axis.plot(
                    [r["people"] for r in mine], [value(r) for r in mine], marker="o", color=colour, label=backend
                )
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("people")
        axis.set_ylabel("seconds")
        axis.set_xlim(left=0)
        axis.set_ylim(bottom=0)
        axis.xaxis.set_major_formatter(lambda x, _pos: f"{x / 1e6:g}M" if x >= 1e6 else f"{x / 1e3:g}k" if x else "0")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)


def write_section(text_: str, path: Path) -> None:
    """Replace this benchmark's own section of ``path``, or append it; others are kept."""
    replace_section(path, text_, START, END)


def today() -> str:
    """Today in the hub's time zone: the day the ingest hook runs the rules as of."""
    return datetime.now(Settings.from_env().zone).date().isoformat()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", default=f"100000,300000,{MAX_PEOPLE}", help="sizes, comma-separated [%(default)s]")
    default_backends = "sqlite,postgresql" if os.environ.get("AIM_TEST_POSTGRES_URL") else "sqlite"
    parser.add_argument("--backends", default=default_backends, help="sqlite, postgresql or both [%(default)s]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, help="the population's run date [default: today]")
    parser.add_argument("--work", type=Path, help="working folder, kept and reused [default: a temporary one]")
    parser.add_argument("--jobs", type=int, default=2, help="encoders at a time [%(default)s]")
    parser.add_argument("--resume", action="store_true", help="skip sizes and databases already in WORK/results.json")
    parser.add_argument("--no-write", action="store_true", help="print only; do not update docs/benchmarks.md")
    parser.add_argument(
        "--report", action="store_true", help="measure nothing: write the section from WORK/results.json"
    )
    args = parser.parse_args(argv)
    sizes = [] if args.report else [int(n) for n in args.people.split(",")]
    if too_many := [n for n in sizes if not 1 <= n <= MAX_PEOPLE]:
        parser.error(
            f"--people {too_many}: the fixture generator makes 1 to {MAX_PEOPLE:,} people; give sizes in that range"
        )
    backends = [b.strip() for b in args.backends.split(",")]
    if unknown := set(backends) - {"sqlite", "postgresql"}:
        parser.error(f"unknown backends {sorted(unknown)}: give sqlite, postgresql or both")
    server = None
    if "postgresql" in backends and sizes:
        if not os.environ.get("AIM_TEST_POSTGRES_URL"):
            parser.error("postgresql needs AIM_TEST_POSTGRES_URL: a server this benchmark may create databases on")
        server = postgres_server(os.environ["AIM_TEST_POSTGRES_URL"])  # fails now if the server is down
    if not args.no_write:
        try:
            import matplotlib  # noqa: F401, PLC0415  (fail now rather than after an hour of measuring)
        except ImportError:
            parser.error("the chart needs matplotlib: pip install -e '.[bench]' (or pass --no-write)")
    as_of = (args.as_of or date.fromisoformat(today())).isoformat()
    command = " ".join(["python -m bench.bench_scale", *(argv if argv is not None else sys.argv[1:])])
    scratch = None if args.work else tempfile.mkdtemp(prefix="aim-bench-scale-")
    work = args.work or Path(str(scratch))
    work.mkdir(parents=True, exist_ok=True)
    store = work / "results.json"
    kept: dict[str, Any] = json.loads(store.read_text(encoding="utf-8")) if store.exists() else {}
    runner = Subprocess(work / "commands.log")
    try:
        for people in sizes:
            todo = [b for b in backends if not (args.resume and f"{people}/{b}" in kept)]
            if not todo:
                continue
            prepared = prepare(work, people=people, seed=args.seed, as_of=as_of, runner=runner, jobs=args.jobs)
            for backend in todo:
                folder = prepared.folder / backend
                folder.mkdir(exist_ok=True)
                with database(backend, folder) as url:
                    result = measure(prepared, backend=backend, database_url=url, folder=folder, runner=runner)
                result["reused_feeds"] = prepared.reused
                result["command"] = command
                if backend == "postgresql":
                    result["server"] = server
                print(json.dumps(result), flush=True)
                kept[f"{people}/{backend}"] = result
                store.write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    if not args.no_write:
        results = sorted(kept.values(), key=lambda r: (r["people"], r["backend"] != "sqlite"))
        if not results:
            sys.exit(f"nothing measured yet in {store}")
        draw_chart(results, ROOT / "docs" / CHART)
        write_section(section(results, chart=True), ROOT / "docs" / "benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
