"""Scale benchmark: a 100,000-record nightly feed linked against 1,000,000 records the hub already holds.

    python bench/bench_link.py                        # 1,000,000 known, 100,000 new; appends to docs/benchmarks.md
    python bench/bench_link.py --known 100000 --feed 10000 --no-write   # a quick look

The records are synthetic and encoded with a key made for the run. Encoding a million distinct identities would take
longer than the linking it feeds, so the generator encodes pools of values once (first names, last names, dates of
birth, addresses, each with misspelt variants) and composes records from them column by column: a person is a
choice from each pool, and each of their records picks a variant per field (a typo, a nickname, day and month
swapped, a move of house). The encodings are real encodings; only their combination is synthetic.

Timed, as the hub runs it: term frequencies over everyone, blocking (feed against known, and the feed within itself),
comparison and scoring, decisions at the model's thresholds, and clustering of the clusters the feed touches with the
chaining guard. Training is done once beforehand on a sample and reported apart. Peak memory is the process's
maximum resident set size (``resource.getrusage``), which includes the generated data.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from nicknames import NickNamer

from bench.sections import replace_section
from linkage.batch import RecordBatch
from linkage.cluster import cluster
from linkage.encoder import RawIdentity, RecordEncoder
from linkage.keyset import FieldKeys
from linkage.model import LinkageModel
from linkage.scoring import find_candidates, score_candidates, score_pairs, term_frequencies
from linkage.training import field_family, train

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- linking:start -->", "<!-- linking:end -->"
SYLLABLES = "ash bar ber by cal dale den don field ford gar ham hart kin land ley lin mar mor ney rick ton well wood"
STREETS = [
    "Acacia",
    "Beech",
    "Cedar",
    "Damson",
    "Elm",
    "Fir",
    "Hazel",
    "Larch",
    "Maple",
    "Oak",
    "Rowan",
    "Willow",
    "Mill",
    "Church",
    "Station",
    "Park",
]
KINDS = {"Road": "Rd", "Street": "St", "Avenue": "Ave", "Close": "Cl", "Lane": "Ln", "Grove": "Gr", "Drive": "Dr"}
TOWNS = ["Birmingham", "Solihull", "Sutton Coldfield", "Wolverhampton", "Dudley", "Walsall", "Coventry"]


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text + rng.choice("aeiou")
    i = rng.randrange(1, len(text) - 1)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return [text[:i] + letter + text[i + 1 :], text[:i] + text[i + 1 :], text[:i] + letter + text[i:]][i % 3]


def pools(rng: random.Random, n_addresses: int) -> dict[str, list[list[RawIdentity]]]:
    """Raw values per field family, each a list of variants (the first is the value as the person gives it)."""
    namer = NickNamer()
    firsts = sorted(namer.nickname_lookup)
    syllables = SYLLABLES.split()
    lasts = sorted({a + b + c for a in syllables for b in syllables for c in syllables if len({a, b, c}) == 3})
    lasts = rng.sample(lasts, 6000)
    filler = {"first_name": "Ann", "last_name": "Smith", "date_of_birth": "2000-01-01", "gender": "F"}
    filler |= {"address": "1 Elm Road, Birmingham", "postcode": "B1 1AA"}

    def rows(**values: str) -> RawIdentity:
        return RawIdentity(**(filler | values))

    out: dict[str, list[list[RawIdentity]]] = {"first": [], "last": [], "dob": [], "address": []}
    for name in firsts:
        nicks = sorted(namer.nicknames_of(name))
        third = rng.choice(nicks) if nicks else _typo(rng, name)
        out["first"].append([rows(first_name=v.capitalize()) for v in (name, _typo(rng, name), third)])
    for name in lasts:
        out["last"].append([rows(last_name=v.capitalize()) for v in (name, _typo(rng, name), _typo(rng, name))])
    day = date(1930, 1, 1)
    while day < date(2025, 1, 1):
        near = day + timedelta(days=rng.choice([-1, 1, 365, -365, 30]))
        swapped = date(day.year, day.day, day.month) if day.day <= 12 else near
        out["dob"].append([rows(date_of_birth=d.isoformat()) for d in (day, swapped, near)])
        day += timedelta(days=1)
    for _ in range(n_addresses):
        kind = rng.choice(list(KINDS))
        number, street, town = rng.randrange(1, 300), f"{rng.choice(STREETS)} {kind}", rng.choice(TOWNS)
        postcode = (
            f"B{rng.randrange(1, 80)} {rng.randrange(10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJ')}"
        )
        clean = f"{number} {street}, {town}"
        variant = rng.choice(
            [clean.replace(kind, KINDS[kind]), f"Flat {rng.randrange(1, 9)}, {clean}", _typo(rng, clean)]
        )
        out["address"].append([rows(address=a, postcode=postcode) for a in (clean, variant)])
    return out


def encode_pools(keys: FieldKeys, raw: dict[str, list[list[RawIdentity]]]) -> dict[str, tuple[RecordBatch, int]]:
    """Each family's variants encoded as one batch, rows ``value * variants + variant``."""
    encoder = RecordEncoder(keys, partner="BENCH", today=date(2026, 1, 1))
    out = {}
    for family, values in raw.items():
        flat = [v for variants in values for v in variants]
        encoded = encoder.encode_many(flat)
        out[family] = (RecordBatch.from_encoded([e if isinstance(e, dict) else {} for e in encoded]), len(values[0]))
    return out


def compose(
    pool: dict[str, tuple[RecordBatch, int]],
    people: dict[str, np.ndarray],
    variant: dict[str, np.ndarray],
    gender: np.ndarray,
    gender_pool: RecordBatch,
) -> RecordBatch:
    """Records whose fields come from the pools: family ``f`` from pool row ``people[f] * variants + variant[f]``."""

    def rows(family: str) -> np.ndarray:
        return people[family] * pool[family][1] + variant[family]

    blooms = {name: pool[field_family(name)][0].blooms[name][rows(field_family(name))] for name in gender_pool.blooms}
    tokens = {}
    for name in gender_pool.tokens:
        family = field_family(name)
        if family in pool:
            tokens[name] = pool[family][0].tokens[name][rows(family)]
        elif family == "gender":
            tokens[name] = gender_pool.tokens[name][gender]
        else:
            tokens[name] = np.zeros(len(gender), dtype=np.uint64)
    lists = {
        name: pool[field_family(name)][0].token_lists[name][rows(field_family(name))]
        for name in gender_pool.token_lists
    }
    return RecordBatch(blooms=blooms, tokens=tokens, token_lists=lists)


def population(
    pool: dict[str, tuple[RecordBatch, int]], gender_pool: RecordBatch, n_known: int, n_feed: int, seed: int
) -> tuple[RecordBatch, np.ndarray, RecordBatch, np.ndarray]:
    """Known records (1-3 per person, living in shared households) and a feed of 70 % known, 30 % new people."""
    rng = np.random.default_rng(seed)
    n_people = int(n_known / 1.6) + n_feed
    households = len(pool["address"][0]) // pool["address"][1]
    person = {f: rng.integers(0, len(pool[f][0]) // pool[f][1], n_people) for f in ("first", "last", "dob")}
    person["address"] = rng.integers(0, households, n_people)
    gender = rng.integers(0, 2, n_people)
    known_people = n_people - int(n_feed * 0.3)
    counts = rng.choice([1, 1, 2, 2, 3], size=known_people)
    owners = np.repeat(np.arange(known_people), counts)[:n_known]
    feed_owners = np.concatenate(
        [rng.integers(0, known_people, n_feed - int(n_feed * 0.3)), np.arange(known_people, n_people)]
    )

    def records(owner: np.ndarray) -> RecordBatch:
        n = len(owner)
        variant = {f: (rng.random(n) < 0.12) * rng.integers(1, pool[f][1], n) for f in ("first", "last", "dob")}
        variant["dob"] = (rng.random(n) < 0.04) * rng.integers(1, pool["dob"][1], n)
        variant["address"] = (rng.random(n) < 0.15).astype(np.int64)
        people = {f: person[f][owner] for f in person}
        moved = rng.random(n) < 0.05
        people["address"] = np.where(moved, rng.integers(0, households, n), people["address"])
        return compose(pool, people, variant, gender[owner], gender_pool)

    return records(owners), owners, records(feed_owners), feed_owners


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def link_feed(model: LinkageModel, known: RecordBatch, feed: RecordBatch, known_person: np.ndarray) -> dict[str, float]:
    """What the hub does each night; returns the timings and counts."""
    t: dict[str, float] = {}
    start = time.perf_counter()
    everyone = RecordBatch.concat([known, feed])
    frequencies = term_frequencies(model, everyone)
    t["term frequencies"] = time.perf_counter() - start
    mark = time.perf_counter()
    against = find_candidates(model, feed, known)
    within = find_candidates(model, feed)
    t["blocking"] = time.perf_counter() - mark
    mark = time.perf_counter()
    scored_against = score_candidates(model, feed, known, against, frequencies=frequencies)
    scored_within = score_candidates(model, feed, None, within, frequencies=frequencies)
    t["comparison and scoring"] = time.perf_counter() - mark
    mark = time.perf_counter()
    upper = model.thresholds.upper
    n_known = len(known)
    link_a = scored_against.weight >= upper
    link_w = scored_within.weight >= upper
    # The graph the feed touches: feed records, and every record of each known person a feed record links to.
    touched = np.unique(known_person[scored_against.j[link_a]])
    members = np.flatnonzero(np.isin(known_person, touched))
    nodes = np.concatenate([members, n_known + np.arange(len(feed))])
    local = np.full(n_known + len(feed), -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    order = np.argsort(known_person[members], kind="stable")
    person_sorted = known_person[members][order]
    heads = members[order][np.r_[0, np.flatnonzero(np.diff(person_sorted)) + 1]] if len(members) else members
    first_of = dict(zip(known_person[heads].tolist(), heads.tolist(), strict=True))
    existing_i = local[np.array([first_of[p] for p in known_person[members]], dtype=np.int64)]
    existing_j = local[members]
    i = np.concatenate([local[scored_against.j[link_a]], local[n_known + scored_within.i[link_w]], existing_i])
    j = np.concatenate(
        [local[n_known + scored_against.i[link_a]], local[n_known + scored_within.j[link_w]], existing_j]
    )
    weight = np.concatenate([scored_against.weight[link_a], scored_within.weight[link_w], np.full(len(members), 99.0)])
    keep = i != j

    def conflicts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        rows = nodes
        return score_pairs(model, everyone, everyone, rows[a], rows[b], frequencies=frequencies).weight < (
            model.thresholds.lower
        )

    labels = cluster(len(nodes), i[keep], j[keep], weight[keep], conflicts=conflicts)
    t["clustering with the guard"] = time.perf_counter() - mark
    t["total"] = time.perf_counter() - start
    t["candidate pairs"] = len(against) + len(within)
    t["links"] = int(link_a.sum() + link_w.sum())
    t["review"] = int(
        ((scored_against.weight >= model.thresholds.lower) & ~link_a).sum()
        + ((scored_within.weight >= model.thresholds.lower) & ~link_w).sum()
    )
    t["clusters touched"] = len(np.unique(labels))
    t["_against_i"], t["_against_j"], t["_link_a"] = scored_against.i, scored_against.j, link_a  # type: ignore[assignment]
    return t


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}; load {load}"


def write_section(text: str, path: Path) -> None:
    """Replace this benchmark's own section of ``path``, or append it; others are kept."""
    replace_section(path, text, START, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--known", type=int, default=1_000_000)
    parser.add_argument("--feed", type=int, default=100_000)
    parser.add_argument("--addresses", type=int, default=150_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    keys = FieldKeys("k-bench", hashlib.sha256(b"aim linking benchmark").digest())

    mark = time.perf_counter()
    raw = pools(random.Random(args.seed), args.addresses)
    pool = encode_pools(keys, raw)
    encoder = RecordEncoder(keys, partner="BENCH", today=date(2026, 1, 1))
    genders = [encoder.encode(RawIdentity("Ann", "Smith", "2000-01-01", g, "", "")) for g in ("F", "M")]
    gender_pool = RecordBatch.from_encoded([e if isinstance(e, dict) else {} for e in genders])
    known, known_person, feed, feed_person = population(pool, gender_pool, args.known, args.feed, args.seed)
    generated = time.perf_counter() - mark
    print(f"generated {len(known):,} known and {len(feed):,} new records in {generated:.1f} s", file=sys.stderr)

    mark = time.perf_counter()
    sample = np.random.default_rng(args.seed).choice(len(known), size=min(len(known), 200_000), replace=False)
    model = train(known.take(np.sort(sample)), version="bench", u_pairs=1_000_000, seed=args.seed).model
    trained = time.perf_counter() - mark
    print(f"trained on {len(sample):,} known records in {trained:.1f} s", file=sys.stderr)

    before = peak_mb()
    t = link_feed(model, known, feed, known_person)
    ai, aj, la = t.pop("_against_i"), t.pop("_against_j"), t.pop("_link_a")  # type: ignore[misc]
    same = feed_person[ai] == known_person[aj]
    precision = float(same[la].mean()) if la.any() else 1.0
    feed_known = feed_person < known_person.max() + 1
    found = np.zeros(len(feed), dtype=bool)
    found[ai[la & same]] = True
    recall = float(found[feed_known].mean())
    peak = peak_mb()
    lines = [
        START,
        "## Linking (hub side)",
        "",
        f"`python bench/bench_link.py`, run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}. Machine: {machine()}.",
        "",
        f"A nightly feed of {len(feed):,} encoded records linked against {len(known):,} known encoded records "
        f"(synthetic, composed from encoded pools of values; see the script's docstring). Model trained beforehand "
        f"on {len(sample):,} known records in {trained:.1f} s (not in the total).",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(
            f"| {k} | {v:.1f} |"
            for k, v in t.items()
            if k in {"term frequencies", "blocking", "comparison and scoring", "clustering with the guard"}
        ),
        f"| **total** | **{t['total']:.1f}** |",
        "",
        f"Candidate pairs {int(t['candidate pairs']):,}; links {int(t['links']):,}; review {int(t['review']):,}. "
        f"Peak memory (max RSS, data generation included) {peak:,.0f} MB; before linking {before:,.0f} MB. "
        f"Feed-to-known links: precision {precision:.4f}; known people in the feed found {recall:.4f}.",
        "",
        "Goal: at most 60 s and 4 GB on this 2-core machine. The numbers are provisional when the machine is shared "
        "(the load average above was taken at the end of the run).",
        END,
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(text, DOC)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
