# ruff: noqa: E501  (Markdown table rows are written as single lines)
"""Encoding benchmark: AIM's encoder beside clkhash on the same records in the same run, plus how well Dice separates.

    python -m bench.bench_encode                       # synthetic population, writes docs/benchmarks.md
    python -m bench.bench_encode --fixtures DIR        # a generated fixture (DIR/raw/*.csv and DIR/truth.csv)
    python -m bench.bench_encode --sweep               # also the Bloom parameter sweep behind docs/encoding.md

clkhash pins an older ``cryptography`` than AIM, so it runs in its own virtual environment (``--clkhash-python``,
default ``/tmp/clkvenv/bin/python``; make it with ``python3 -m venv /tmp/clkvenv && /tmp/clkvenv/bin/pip install
clkhash``) as a subprocess, on the same records written to a temporary CSV, single process (``max_workers=1``).
Only the encoding itself is timed on both sides, not the reading of the file.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from nicknames import NickNamer

from bench.sections import replace_section
from linkage.bloom import BloomEncoder, BloomParams, decode_blooms, dice_many
from linkage.encoder import EncodingParams, RawIdentity, RecordEncoder
from linkage.keyset import FieldKeys
from linkage.normalise import normalise_address, normalise_name

TODAY = date(2026, 11, 23)
KEYS = FieldKeys("k-0123456789ab", bytes(range(32)))
ROOT = Path(__file__).resolve().parent.parent
SYLLABLES = [
    "ash",
    "bar",
    "ber",
    "by",
    "cal",
    "dale",
    "den",
    "don",
    "field",
    "ford",
    "gar",
    "ham",
    "hart",
    "kin",
    "land",
    "ley",
    "lin",
    "mar",
    "mor",
    "ney",
    "rick",
    "ton",
    "well",
    "wood",
]
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
KINDS = ["Road", "Street", "Avenue", "Close", "Lane", "Grove", "Drive"]
ABBREV = {"Road": "Rd", "Street": "St", "Avenue": "Ave", "Close": "Cl", "Lane": "Ln", "Grove": "Gr", "Drive": "Dr"}
NOTE = (
    "The goal of 20,000 records/s per core is met when values recur as they do in real extracts (a person in "
    "several services' records, common names, shared households): every distinct name, date, postcode and address "
    "is encoded once per run. It is not met when every value is unique, where the per-value work (normalisation, "
    "up to 17 MACs, three diffused filters) costs about 180 microseconds a record."
)
PARTNERS = ["WMP", "CITYHOSP_AE", "BCHC", "SCHOOLS", "CHILDRENS_SC", "ADULT_SC", "FIRE", "HOUSING"]


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(4)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == 0:
        return text[:i] + letter + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + letter + text[i:]
    return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]


def synthetic_population(people: int, seed: int) -> tuple[list[RawIdentity], list[int]]:
    """Invented people, each seen by one to four partners, with the errors services make; returns records and ids."""
    rng = random.Random(seed)
    namer = NickNamer()
    firsts = sorted(namer.nickname_lookup)
    surnames = sorted({a.capitalize() + b for a in SYLLABLES for b in SYLLABLES if a != b})
    records: list[RawIdentity] = []
    owners: list[int] = []
    for person in range(people):
        first = rng.choice(firsts[: len(firsts) // 3] if rng.random() < 0.7 else firsts).capitalize()
        last = rng.choice(surnames[:60] if rng.random() < 0.5 else surnames)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(29_000))
        street = f"{rng.randrange(1, 250)} {rng.choice(STREETS)} {rng.choice(KINDS)}"
        postcode = (
            f"B{rng.randrange(1, 40)} {rng.randrange(10)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJ')}"
        )
        for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
            f, s, d, a, p = first, last, born.strftime("%d/%m/%Y"), street + ", Birmingham", postcode
            roll = rng.random()
            if roll < 0.08:
                f = _typo(rng, f.lower()).capitalize()
            elif roll < 0.16:
                s = _typo(rng, s.lower()).capitalize()
            elif roll < 0.20:
                nicks = sorted(namer.nicknames_of(first))
                f = rng.choice(nicks).capitalize() if nicks else f
            elif roll < 0.23 and born.day <= 12:
                d = f"{born.month:02d}/{born.day:02d}/{born.year}"
            elif roll < 0.26:
                a = a.replace(street.rsplit(maxsplit=1)[-1], ABBREV[street.rsplit(maxsplit=1)[-1]])
            elif roll < 0.29:
                a = _typo(rng, street.lower()).title()
            elif roll < 0.31:
                a = f"Flat {rng.randrange(1, 9)}, " + a
            elif roll < 0.33:
                d = ""
            if rng.random() < 0.3:
                d = born.isoformat() if d else d
            if rng.random() < 0.3:
                p = p.replace(" ", "").lower()
            records.append(RawIdentity(f, s, d, rng.choice(["M", "F", "Male", "Female"]), a, p))
            owners.append(person)
    return records, owners


def fixture_population(directory: Path) -> tuple[list[RawIdentity], list[int]]:
    """Records and person ids from a generated fixture (``aim fixtures generate``)."""
    truth: dict[tuple[str, str], str] = {}
    with (directory / "truth.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            truth[(row["partner"], row["record_id"])] = row["person_id"]
    people: dict[str, int] = {}
    records: list[RawIdentity] = []
    owners: list[int] = []
    for path in sorted((directory / "raw").glob("*.csv")):
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                fields = {k: row.get(k, "") or "" for k in RawIdentity.__dataclass_fields__}
                records.append(RawIdentity(**fields))
                owners.append(
                    people.setdefault(truth.get((path.stem, row["record_id"]), f"?{len(people)}"), len(people))
                )
    return records, owners


def pairs(owners: list[int], rng: random.Random, limit: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """True pairs (same person, different records) and as many random non-pairs."""
    by_person: dict[int, list[int]] = defaultdict(list)
    for index, owner in enumerate(owners):
        by_person[owner].append(index)
    true = [(a, b) for rows in by_person.values() for i, a in enumerate(rows) for b in rows[i + 1 :]][:limit]
    non: list[tuple[int, int]] = []
    while len(non) < len(true):
        a, b = rng.randrange(len(owners)), rng.randrange(len(owners))
        if owners[a] != owners[b]:
            non.append((a, b))
    return np.array(true, dtype=np.int64), np.array(non, dtype=np.int64)


def _texts(records: list[RawIdentity], field: str) -> list[str | None]:
    out: list[str | None] = []
    for record in records:
        if field == "address":
            out.append(normalise_address(record.address))
            continue
        try:
            name = normalise_name(getattr(record, field))
        except ValueError:
            name = None
        out.append(name.joined if name else None)
    return out


def separation(texts: list[str | None], encoder: BloomEncoder, true: np.ndarray, non: np.ndarray) -> dict[str, float]:
    """Dice of true pairs and of non-pairs for one field; AUC over pairs whose texts differ (the informative ones)."""
    present = [t or "" for t in texts]
    unique = sorted({t for t in present if t})
    index = {t: i for i, t in enumerate(unique)}
    filters = decode_blooms(encoder.encode_many(unique))
    rows = np.array([index.get(t, -1) for t in present])

    def scores(p: np.ndarray) -> np.ndarray:
        keep = (rows[p[:, 0]] >= 0) & (rows[p[:, 1]] >= 0)
        p = p[keep]
        return dice_many(filters[rows[p[:, 0]]], filters[rows[p[:, 1]]]), p

    t_scores, t_pairs = scores(true)
    n_scores, _ = scores(non)
    differ = np.array([present[a] != present[b] for a, b in t_pairs], dtype=bool)
    typo = t_scores[differ]
    auc = float((typo[:, None] > n_scores[None, :2000]).mean()) if len(typo) else float("nan")
    return {
        "true_mean": float(t_scores.mean()),
        "true_differing_mean": float(typo.mean()) if len(typo) else float("nan"),
        "true_differing_p10": float(np.percentile(typo, 10)) if len(typo) else float("nan"),
        "non_mean": float(n_scores.mean()),
        "non_p99": float(np.percentile(n_scores, 99)),
        "auc_differing": auc,
        "true_pairs": len(t_scores),
        "differing_pairs": int(differ.sum()),
    }


def sweep(records: list[RawIdentity], owners: list[int]) -> list[dict[str, object]]:
    """Dice separation for each (q, k, t) on names and addresses."""
    true, non = pairs(owners, random.Random(1))
    texts = {field: _texts(records, field) for field in ("first_name", "last_name", "address")}
    results = []
    for q in (2, 3):
        for k in (10, 20, 30):
            for t in (0, 2, 3, 4):
                params = BloomParams(q=q, k=k, t=t)
                row: dict[str, object] = {"q": q, "k": k, "t": t}
                for field, values in texts.items():
                    encoder = BloomEncoder(KEYS.bloom_key("bf_first"), KEYS.diffusion_key("bf_first"), params)
                    sep = separation(values, encoder, true, non)
                    ones = np.bitwise_count(decode_blooms(encoder.encode_many(["catherine"]))).sum()
                    row[field] = {**sep, "ones_catherine": int(ones)}
                results.append(row)
                print(json.dumps(row), file=sys.stderr)
    return results


CLKHASH_SCRIPT = r"""
import csv, json, sys, time
from clkhash import clk
from clkhash.schema import from_json_dict
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8")))
def feature(name, n, k):
    return {"identifier": name, "format": {"type": "string", "encoding": "utf-8"},
            "hashing": {"comparison": {"type": "ngram", "n": n}, "strategy": {"bitsPerToken": k},
                        "hash": {"type": "blakeHash"}, "missingValue": {"sentinel": ""}}}
schema = from_json_dict({"version": 3, "clkConfig": {"l": 1024, "kdf": {"type": "HKDF", "hash": "SHA256",
          "salt": "SCbL2zHNnmsckfzchsNkZY9XoHk96P/G5nUBrM7ybymlEFsMV6PAeDZCNp3rfNUPCtLDMOGQHG4pCQpfhiHCyA==",
          "info": "c2NoZW1hX2V4YW1wbGU=", "keySize": 64}},
          "features": [feature("first", 2, 20), feature("last", 2, 20), feature("dob", 1, 20),
                       feature("gender", 1, 20), feature("address", 2, 10), feature("postcode", 1, 20)]})
start = time.perf_counter()
clks = clk.generate_clks(rows, schema, "secret", validate=False, max_workers=1)
elapsed = time.perf_counter() - start
print(json.dumps({"records": len(clks), "seconds": elapsed}))
"""


def run_clkhash(records: list[RawIdentity], python: str) -> dict[str, float] | str:
    """clkhash's single-process rate on the same records, or why it could not run."""
    if not Path(python).exists():
        return f"not run: {python} not found (see the module docstring)"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "records.csv"
        with data.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for r in records:
                writer.writerow([r.first_name, r.last_name, r.date_of_birth, r.gender, r.address, r.postcode])
        script = Path(tmp) / "clk.py"
        script.write_text(CLKHASH_SCRIPT, encoding="utf-8")
        done = subprocess.run([python, str(script), str(data)], capture_output=True, text=True, check=False)
    if done.returncode:
        return "failed: " + done.stderr.strip().splitlines()[-1]
    result = json.loads(done.stdout)
    return {"records": result["records"], "seconds": result["seconds"], "rate": result["records"] / result["seconds"]}


def time_aim(records: list[RawIdentity], repeat: int = 3) -> dict[str, float]:
    """AIM's rate, a fresh encoder per run (so its caches start empty), best of ``repeat``, in chunks as the agent."""
    best = float("inf")
    for _ in range(repeat):
        encoder = RecordEncoder(KEYS, partner="WMP", today=TODAY, params=EncodingParams())
        start = time.perf_counter()
        for begin in range(0, len(records), 4096):
            encoder.encode_many(records[begin : begin + 4096])
        best = min(best, time.perf_counter() - start)
    return {"records": len(records), "seconds": best, "rate": len(records) / best}


def time_aim_unique(records: list[RawIdentity]) -> dict[str, float]:
    """AIM's rate when no value repeats (every name, date and address made unique): the caches never help."""
    unique = [
        RawIdentity(r.first_name + "x" * (i % 7) + chr(97 + i % 26), r.last_name + chr(97 + (i // 26) % 26),
                    (date(1930, 1, 1) + timedelta(days=i % 30000)).isoformat(), r.gender, f"{i} {r.address}",
                    r.postcode)
        for i, r in enumerate(records)
    ]  # fmt: skip
    encoder = RecordEncoder(KEYS, partner="WMP", today=TODAY)
    start = time.perf_counter()
    for begin in range(0, len(unique), 4096):
        encoder.encode_many(unique[begin : begin + 4096])
    elapsed = time.perf_counter() - start
    return {"records": len(unique), "seconds": elapsed, "rate": len(unique) / elapsed}


def machine() -> dict[str, str]:
    """Where the numbers were measured."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def _section(data: dict[str, object]) -> Iterator[str]:
    m = data["machine"]
    assert isinstance(m, dict)
    aim, unique, clk = data["aim"], data["aim_unique"], data["clkhash"]
    assert isinstance(aim, dict)
    assert isinstance(unique, dict)
    yield "<!-- encoding:start -->"
    yield "## Encoding (partner side)"
    yield ""
    yield "`python -m bench.bench_encode` " + str(data["source_args"]) + f", run {m['date']}."
    yield f"Machine: {m['nproc']} cores reported by nproc, CPU `{m['cpu']}`, Python {m['python']}, numpy {m['numpy']}."
    yield f"Records: {data['source']}. Single process on both sides; only the encoding is timed."
    yield ""
    yield "| encoder | records | seconds | records/s per core |"
    yield "|---|---:|---:|---:|"
    yield f"| AIM (`linkage.encoder`, caches cold at start) | {aim['records']} | {aim['seconds']:.2f} | {aim['rate']:,.0f} |"
    yield (
        f"| AIM, every value made unique (caches never hit) | {unique['records']} | {unique['seconds']:.2f} | "
        f"{unique['rate']:,.0f} |"
    )
    if isinstance(clk, dict):
        yield f"| clkhash 0.18 (`generate_clks`, max_workers=1) | {clk['records']} | {clk['seconds']:.2f} | {clk['rate']:,.0f} |"
    else:
        yield f"| clkhash | - | - | {clk} |"
    yield ""
    yield (
        "AIM emits three Bloom filters and up to 17 keyed tokens per record; the clkhash schema is one 1024-bit CLK "
        "of six fields (bigrams for names and address, unigrams for the rest, blakeHash), about the same work."
    )
    yield ""
    yield NOTE
    yield ""
    yield "Dice similarity, true pairs (same person, two records) against random non-pairs:"
    yield ""
    yield "| field | true pairs | mean Dice | pairs whose text differs | their mean | their 10th pct | non-pairs mean | non-pairs 99th pct | AUC (differing vs non-pairs) |"
    yield "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    sep = data["separation"]
    assert isinstance(sep, dict)
    for field, s in sep.items():
        yield (
            f"| {field} | {s['true_pairs']} | {s['true_mean']:.3f} | {s['differing_pairs']} | "
            f"{s['true_differing_mean']:.3f} | {s['true_differing_p10']:.3f} | {s['non_mean']:.3f} | "
            f"{s['non_p99']:.3f} | {s['auc_differing']:.3f} |"
        )
    yield ""
    yield "Diffusion compresses Dice: a name with one typo scores about 0.6-0.7, unrelated names about 0.25-0.3. Thresholds at"
    yield "the hub should be set on these distributions (`docs/encoding.md`)."
    yield "<!-- encoding:end -->"


def write_doc(data: dict[str, object], path: Path) -> None:
    """Replace (or add) the encoding section of docs/benchmarks.md, leaving other sections alone."""
    replace_section(path, "\n".join(_section(data)), "<!-- encoding:start -->", "<!-- encoding:end -->")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", type=Path, help="a generated fixture directory (raw/*.csv and truth.csv)")
    parser.add_argument("--people", type=int, default=20_000, help="synthetic population size when no --fixtures")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clkhash-python", default="/tmp/clkvenv/bin/python")
    parser.add_argument("--sweep", action="store_true", help="also run the Bloom parameter sweep (slow)")
    parser.add_argument("--no-doc", action="store_true", help="print only; do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    if args.fixtures:
        records, owners = fixture_population(args.fixtures)
        source = f"fixture {args.fixtures} ({len(records)} records, {len(set(owners))} people)"
    else:
        records, owners = synthetic_population(args.people, args.seed)
        source = f"synthetic population of {args.people} people, seed {args.seed} ({len(records)} records)"
    data: dict[str, object] = {
        "machine": machine(),
        "source": source,
        "source_args": " ".join(sys.argv[1:]) or "(defaults)",
    }
    data["aim"] = time_aim(records)
    data["aim_unique"] = time_aim_unique(records)
    data["clkhash"] = run_clkhash(records, args.clkhash_python)
    true, non = pairs(owners, random.Random(args.seed))
    params = EncodingParams()
    data["separation"] = {
        field: separation(
            _texts(records, field),
            BloomEncoder(
                KEYS.bloom_key(bf), KEYS.diffusion_key(bf), params.address if field == "address" else params.name
            ),
            true,
            non,
        )
        for field, bf in (("first_name", "bf_first"), ("last_name", "bf_last"), ("address", "bf_address"))
    }
    if args.sweep:
        data["sweep"] = sweep(records, owners)
    print(json.dumps(data, indent=2))
    if not args.no_doc:
        write_doc(data, ROOT / "docs" / "benchmarks.md")


if __name__ == "__main__":
    main()
