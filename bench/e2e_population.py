"""End to end through the real CLI on a synthetic population: encode at each partner, ingest at the hub (linking
after each feed), export the links, measure them against the truth.

    python bench/e2e_population.py                                   # 20,000 people, seed 1, SQLite
    python bench/e2e_population.py --people 3000 --work /tmp/e2e     # smaller, keep the files
    python bench/e2e_population.py --database postgresql+psycopg://...  # an empty PostgreSQL database

Every step is an ``aim`` command, as an operator would type it:

    aim fixtures generate --people N --seed S --out WORK/population
    aim keys init --out WORK/keys
    aim agent encode --keys WORK/keys --partner P --in WORK/population/raw/P.csv --out WORK/feeds/P.feed   (each P)
    aim hub init-db
    aim hub partners add P ...                                                                           (each P)
    aim hub ingest WORK/feeds/P.feed            (each P, timed: the ingest hook links the feed before returning)
    aim hub link                                (nothing left to do: checks the hook linked everything)
    aim hub export-links --out WORK/links.csv
    aim evaluate --truth WORK/population/truth.csv --links WORK/links.csv --relationships .../relationships.csv
    aim hub review list --limit 100000          (the review queue's size)

The hub scores with the default model shipped in ``aim/identity/data`` unless ``--model`` names another file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARTNERS = {
    "WMP": "West Midlands Police",
    "CITYHOSP_AE": "City Hospital Emergency Department",
    "BCHC": "Birmingham Community Healthcare",
    "SCHOOLS": "City Schools",
    "CHILDRENS_SC": "Children's Social Care",
    "ADULT_SC": "Adult Social Care",
    "FIRE": "West Midlands Fire Service",
    "HOUSING": "City Housing",
}


def aim(*args: str, env: dict[str, str]) -> tuple[str, float]:
    """Run one ``aim`` command; its output and how long it took. Stops the script on failure."""
    started = time.perf_counter()
    done = subprocess.run(["aim", *args], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"aim {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout, seconds


def run(work: Path, *, people: int, seed: int, database: str | None, model: str | None) -> dict[str, object]:
    population, keys, feeds = work / "population", work / "keys", work / "feeds"
    feeds.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIM_DATABASE_URL": database or f"sqlite:///{work / 'hub.db'}",
        "AIM_AUDIT_KEY_PATH": str(work / "audit.key"),
        "AIM_LINKAGE_MODEL": model or "",
    }
    result: dict[str, object] = {"people": people, "seed": seed, "database": env["AIM_DATABASE_URL"].split(":")[0]}
    aim("fixtures", "generate", "--people", str(people), "--seed", str(seed), "--out", str(population), env=env)
    if not keys.exists():
        aim("keys", "init", "--out", str(keys), env=env)
    for partner in PARTNERS:
        out = feeds / f"{partner}.feed"
        aim(
            "agent",
            "encode",
            "--keys",
            str(keys),
            "--partner",
            partner,
            "--in",
            str(population / "raw" / f"{partner}.csv"),
            "--out",
            str(out),
            "--feed-id",
            f"{partner}-e2e",
            "--no-progress",
            env=env,
        )
    aim("hub", "init-db", env=env)
    for partner, name in PARTNERS.items():
        aim(
            "hub",
            "partners",
            "add",
            partner,
            "--name",
            name,
            "--agreement-ref",
            f"DSA-E2E-{partner}",
            "--agreement-from",
            "2024-04-01",
            "--agreement-until",
            "2030-03-31",
            env=env,
        )
    per_feed: dict[str, float] = {}
    for partner in PARTNERS:
        _, seconds = aim("hub", "ingest", str(feeds / f"{partner}.feed"), env=env)
        per_feed[partner] = round(seconds, 1)
    result["seconds_per_feed"] = per_feed
    leftover, _ = aim("hub", "link", env=env)
    result["left_for_link"] = leftover.strip()
    aim("hub", "export-links", "--out", str(work / "links.csv"), env=env)
    evaluation, _ = aim(
        "evaluate",
        "--truth",
        str(population / "truth.csv"),
        "--links",
        str(work / "links.csv"),
        "--relationships",
        str(population / "relationships.csv"),
        env=env,
    )
    result["evaluate"] = evaluation.strip()
    queue, _ = aim("hub", "review", "list", "--limit", "10000", env=env)
    result["review_queue"] = len(re.findall(r"^pair \d+", queue, flags=re.MULTILINE))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, help="working folder, kept afterwards [default: a temporary one]")
    parser.add_argument("--database", help="an empty hub database URL [default: SQLite in the working folder]")
    parser.add_argument("--model", help="a linkage model file [default: the shipped default model]")
    args = parser.parse_args(argv)
    if shutil.which("aim") is None:
        sys.exit("the 'aim' command is not on PATH: pip install -e . first")
    scratch = None if args.work else tempfile.mkdtemp(prefix="aim-e2e-")
    work = args.work or Path(str(scratch))
    try:
        result = run(work, people=args.people, seed=args.seed, database=args.database, model=args.model)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
