"""The plaintext baselines of the linkage quality benchmark (:mod:`bench.linkage_quality`): recordlinkage's
documented pipeline and Splink (DuckDB), on FEBRL and on the synthetic population, scored as AIM is."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
import recordlinkage as rl

from bench.linkage_tasks import Result, Task, cluster_scores, cross_pair_scores
from linkage.cluster import cluster


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["soc_sec_id"]).fillna("")


def _comparison(columns: tuple[str, ...]) -> rl.Compare:
    """recordlinkage's comparison of each column with itself, in order: ``~name`` by Jaro-Winkler at 0.85, else
    exactly; each feature labelled with the column's name."""
    compare = rl.Compare()
    for column in columns:
        name = column.removeprefix("~")
        if column.startswith("~"):
            compare.string(name, name, method="jarowinkler", threshold=0.85, label=name)
        else:
            compare.exact(name, name, label=name)
    return compare


def run_recordlinkage(task: Task) -> Result:
    """recordlinkage's documented pipeline on plaintext: block, compare strings, classify with ECM."""
    started = time.perf_counter()
    frames = [_plain(df) for df in task.sources]
    indexer = rl.Index()
    for column in ("given_name", "surname", "date_of_birth", "postcode"):
        indexer.block(column)
    pairs = indexer.index(*frames)
    columns = ("~given_name", "~surname", "date_of_birth", "street_number", "~address_1", "suburb", "postcode")
    features = _comparison(columns).compute(pairs, *frames)
    with np.errstate(divide="ignore", invalid="ignore"):
        matches = rl.ECMClassifier(binarize=None).fit_predict(features)
    sides = frames * (2 // len(frames))
    positions = [frame.index.get_indexer(matches.get_level_values(k)) for k, frame in enumerate(sides)]
    if task.link:
        scores = cross_pair_scores(task, positions[0], positions[1])
    else:
        scores = cluster_scores(task, cluster(len(frames[0]), positions[0], positions[1], np.ones(len(positions[0]))))
    return Result(
        task.name,
        "recordlinkage",
        "plaintext",
        scores,
        time.perf_counter() - started,
        f"ECM, {len(pairs):,} candidate pairs",
    )


# As Splink's rules below: a name with another identifier, so that no block holds every "Smith".
POPULATION_BLOCKS = (
    ["first_name", "last_name"],
    ["last_name", "date_of_birth"],
    ["first_name", "date_of_birth"],
    ["postcode", "last_name"],
    ["nhs_number"],
    ["local_id"],
)


def run_recordlinkage_population(task: Task) -> Result:
    """recordlinkage on the population's plaintext: the same pipeline, over the population's columns."""
    started = time.perf_counter()
    assert task.plaintext is not None
    frame = task.plaintext.reset_index(drop=True)
    pairs = _population_pairs(frame)
    columns = ("~first_name", "~last_name", "date_of_birth", "gender", "~address", "postcode", "nhs_number", "local_id")
    features = _comparison(columns).compute(pairs, frame)
    for column in ("date_of_birth", "gender", "postcode", "nhs_number", "local_id"):  # empty equals empty: not a match
        empty = frame[column].to_numpy()[pairs.get_level_values(0)] == ""
        features.loc[empty, column] = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        matches = rl.ECMClassifier(binarize=None).fit_predict(features)
    i, j = matches.get_level_values(0).to_numpy(), matches.get_level_values(1).to_numpy()
    labels = cluster(len(frame), i, j, np.ones(len(i)))
    return Result(
        task.name,
        "recordlinkage",
        "plaintext",
        cluster_scores(task, labels),
        time.perf_counter() - started,
        f"ECM, {len(pairs):,} candidate pairs",
    )


def _population_pairs(frame: pd.DataFrame) -> pd.MultiIndex:
    """recordlinkage's blocking, one rule at a time over the records that hold the rule's columns, then the union.

    (Blocking the whole frame on a column would pair every record lacking it, the thousands without an NHS number.)
    """
    found: pd.MultiIndex | None = None
    for columns in POPULATION_BLOCKS:
        holding = frame[(frame[columns] != "").all(axis=1)]
        pairs = rl.Index().block(columns).index(holding) if len(holding) > 1 else None
        if pairs is not None and len(pairs):
            found = pairs if found is None else found.union(pairs)
    assert found is not None
    return found


def run_splink_population(task: Task) -> Result:
    """Splink (DuckDB) on the population's plaintext, with name term frequencies, as for FEBRL."""
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on  # noqa: PLC0415

    started = time.perf_counter()
    assert task.plaintext is not None
    frame = task.plaintext.reset_index(drop=True).rename_axis("rec_id").reset_index()
    frame = frame.replace({"": None}).astype(object)
    frame = frame.where(frame.notna(), None)
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="rec_id",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("gender"),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("local_id"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "last_name"),
            block_on("last_name", "date_of_birth"),
            block_on("first_name", "date_of_birth"),
            block_on("postcode", "last_name"),
            block_on("postcode", "first_name"),
            block_on("nhs_number"),
            block_on("local_id"),
            block_on("date_of_birth"),
        ],
    )
    db = DuckDBAPI()
    linker = Linker(db.register(frame), settings, log_level=logging.WARNING)
    predictions = _splink_predictions(linker, block_on, "first_name", "last_name")
    i, j = predictions["rec_id_l"].to_numpy(), predictions["rec_id_r"].to_numpy()
    labels = cluster(len(frame), i, j, predictions["match_weight"].to_numpy())
    return Result(
        task.name,
        "Splink (DuckDB)",
        "plaintext",
        cluster_scores(task, labels),
        time.perf_counter() - started,
        "match probability >= 0.5",
    )


def _splink_predictions(linker: Any, block_on: Any, first: str, last: str) -> pd.DataFrame:
    """Train ``linker`` as Splink's examples do (the prior from name and date of birth, u by random sampling, m by
    EM blocked on date of birth, then on the names) and predict the pairs at match probability 0.5 or more."""
    linker.training.estimate_probability_two_random_records_match([block_on(first, last, "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on(first, last))
    return linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()


def run_splink(task: Task) -> Result:
    """Splink (DuckDB) on plaintext, configured as its FEBRL examples are, without the social security number."""
    # Imported here: Splink is an optional benchmark tool (the ``bench`` extra), and --no-splink runs without it.
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on  # noqa: PLC0415

    started = time.perf_counter()
    frames = [df.reset_index().drop(columns=["soc_sec_id"]).replace({"": None}) for df in task.sources]
    frames = [f.astype(object).where(f.notna(), None) for f in frames]
    settings = SettingsCreator(
        link_type="link_only" if task.link else "dedupe_only",
        unique_id_column_name="rec_id",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("street_number", [1]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]).configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            block_on("surname", "date_of_birth"),
            block_on("given_name", "date_of_birth"),
            block_on("postcode", "street_number"),
            block_on("postcode", "surname"),
            block_on("postcode", "given_name"),
            block_on("date_of_birth"),
            block_on("suburb", "address_1"),
        ],
    )
    db = DuckDBAPI()
    linker = Linker([db.register(f) for f in frames], settings, log_level=logging.WARNING)
    predictions = _splink_predictions(linker, block_on, "given_name", "surname")
    positions = [f.set_index("rec_id").index for f in frames] * (2 // len(frames))
    i = positions[0].get_indexer(predictions["rec_id_l"])
    j = positions[1].get_indexer(predictions["rec_id_r"])
    if task.link:
        scores = cross_pair_scores(task, i, j)
    else:
        scores = cluster_scores(task, cluster(len(frames[0]), i, j, predictions["match_weight"].to_numpy()))
    return Result(
        task.name, "Splink (DuckDB)", "plaintext", scores, time.perf_counter() - started, "match probability >= 0.5"
    )
