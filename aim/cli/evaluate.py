"""``aim evaluate``: linkage quality of a links file against the truth of a synthetic population."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from aim.errors import InputError
from linkage.errors import EvaluationError
from linkage.evaluate import Evaluation, evaluate


def _read(path: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what} file {path}: {exc}") from None


def render(result: Evaluation) -> str:
    """The evaluation as the lines the command prints."""
    pw, cl = result.pairwise, result.clusters
    lines = [
        f"pairwise precision {pw.precision:.4f}  recall {pw.recall:.4f}  F1 {pw.f1:.4f}",
        f"pairs: {pw.true_positives} true positive, {pw.linked_pairs} linked, {pw.true_pairs} true",
        f"records {cl.records}; true people {cl.true_people}; linked clusters {cl.linked_clusters}",
        f"clusters exact {cl.exact}; merged (several people) {cl.merged}; people split {cl.split}",
    ]
    if result.false_merges:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.false_merges.items()))
        lines.append(f"false-merge pairs by relationship: {kinds}")
    if result.missing_from_links or result.unknown_to_truth:
        lines.append(
            f"records in the truth but not the links: {result.missing_from_links}; "
            f"in the links but not the truth: {result.unknown_to_truth}"
        )
    return "\n".join(lines)


@click.command(name="evaluate")
@click.option(
    "--truth",
    "truth_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV with partner,record_id,person_id: the true person of every record.",
)
@click.option(
    "--links",
    "links_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV with partner,record_id,person_id: the hub's linked person (aim hub export-links).",
)
@click.option(
    "--relationships",
    "rel_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Optional CSV with person_a,person_b,kind (twin, parent_child, ...) to break false merges down.",
)
def evaluate_command(truth_path: Path, links_path: Path, rel_path: Path | None) -> None:
    """Print pairwise precision, recall and F1 and cluster counts of a linkage against the truth.

    \b
    Example:
      aim evaluate --truth fixtures/sample/truth.csv --links links.csv
    """
    truth = _read(truth_path, "truth")
    links = _read(links_path, "links")
    relationships = _read(rel_path, "relationships") if rel_path else None
    try:
        result = evaluate(truth, links, relationships)
    except EvaluationError as exc:
        raise InputError(str(exc)) from None
    click.echo(render(result))


def register(main: click.Group) -> None:
    main.add_command(evaluate_command)
