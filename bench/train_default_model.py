"""Produce the default linkage model shipped with AIM (``aim/identity/data/default-model.yaml``), without labels.

    python bench/train_default_model.py                          # 20,000 people, seed 1 (the shipped model)
    python bench/train_default_model.py --population DIR         # an already generated population
    python bench/train_default_model.py --out /tmp/model.yaml    # somewhere else

1. A synthetic population (``aim fixtures generate --people 20000 --seed 1``): every demo partner's extract.
2. Each extract read, checked and encoded as the partner's agent does, under a key made for this run (m and u do not
   depend on the key; the tokens and Bloom filters of the shipped model's users will be their own).
3. The default comparisons and blocking rules estimated on all partners' records together: m by EM, u from random
   pairs, the prior from the blocked pairs (:func:`linkage.training.train`). No label is read.
4. Thresholds from the model alone (:func:`aim.identity.thresholds.choose`): ``upper`` maximises the model's own
   expected F1; ``lower`` bounds the review band (see that module).

The truth files are never opened here; ``bench/e2e_population.py`` measures the result against them.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

from aim.agent.extract import Problem, RowChecker, open_extract
from aim.fixtures import DEFAULT_AS_OF, generate_fixtures
from aim.identity.model_file import write_model
from aim.identity.thresholds import describe, with_thresholds
from linkage.batch import RecordBatch
from linkage.encoder import RecordEncoder
from linkage.keyset import FieldKeys
from linkage.model import LinkageModel
from linkage.training import train

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "aim" / "identity" / "data" / "default-model.yaml"
VERSION = "default-2026.11.23"


def throwaway_keys() -> FieldKeys:
    """A key set made for training; never a partnership's key."""
    return FieldKeys(key_id="k-train", secret=hashlib.sha256(b"aim default model training").digest())


def encode_population(directory: Path, keys: FieldKeys) -> tuple[RecordBatch, int]:
    """Every partner's extract in ``directory/raw``, checked and encoded as its agent does; rows it refuses left out."""
    rows: list[dict[str, object]] = []
    refused = 0
    for path in sorted((directory / "raw").glob("*.csv")):
        checker = RowChecker(today=DEFAULT_AS_OF)
        extract = [item if isinstance(item, Problem) else checker.check(*item) for item in open_extract(path, {})]
        valid = [row for row in extract if not isinstance(row, (Problem, list))]
        refused += len(extract) - len(valid)
        encoder = RecordEncoder(keys, partner=path.stem, today=DEFAULT_AS_OF)
        for encoded in encoder.encode_many([r.identity for r in valid]):
            if isinstance(encoded, list):
                refused += 1
            else:
                rows.append(dict(encoded))
    return RecordBatch.from_encoded(rows), refused


def build(directory: Path, *, people: int, seed: int) -> tuple[LinkageModel, str]:
    started = time.perf_counter()
    batch, refused = encode_population(directory, throwaway_keys())
    data = f"synthetic population: {people} people, seed {seed}, all demo partners ({len(batch)} records)"
    trained = train(batch, version=VERSION, seed=0, metadata={"data": data, "rows_refused_by_agents": refused}).model
    model, weights = with_thresholds(trained, batch)
    summary = (
        f"{len(batch)} records ({refused} refused by the agents), {len(weights)} candidate pairs, "
        f"{time.perf_counter() - started:.0f} s; {describe(weights, model)}"
    )
    return model, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--population", type=Path, help="a folder written by 'aim fixtures generate' (else generated)")
    parser.add_argument("--out", type=Path, default=SHIPPED)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aim-train-") as scratch:
        directory = args.population
        if directory is None:
            directory = Path(scratch)
            generate_fixtures(people=args.people, seed=args.seed, out=directory, as_of=DEFAULT_AS_OF)
        model, summary = build(directory, people=args.people, seed=args.seed)
    write_model(model, args.out)
    print(f"model {model.version} written to {args.out}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
