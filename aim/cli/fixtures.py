"""``aim fixtures``: synthetic populations for demos, tests and benchmarks (the generator lives in aim.fixtures)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from aim.fixtures import DEFAULT_AS_OF, MAX_PEOPLE, generate_fixtures


@click.group(name="fixtures")
def fixtures() -> None:
    """Synthetic data: a population and each demo partner's raw extract.

    \b
    Example:
      aim fixtures generate --people 2000 --seed 1 --out /tmp/aim-fixtures
    """


@fixtures.command(name="generate")
@click.option(
    "--people",
    type=click.IntRange(min=1, max=MAX_PEOPLE),
    default=2000,
    show_default=True,
    help=f"How many people (at most {MAX_PEOPLE:,}; beyond the NHS test range's 909,090 numbers, some have none).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Seed: the same seed gives the same files."
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=DEFAULT_AS_OF.isoformat(),
    show_default=True,
    help="Run date (YYYY-MM-DD): ages count to it and no interaction falls after it.",
)
def generate(people: int, seed: int, out: Path, as_of: datetime | date = DEFAULT_AS_OF) -> None:
    """Write DIR/raw/<PARTNER>.csv for every demo partner, DIR/truth.csv, DIR/people.csv and DIR/relationships.csv.

    All data is synthetic. The same arguments give byte-identical files; the error profiles of the partners are
    described in docs/fixtures.md.

    \b
    Example:
      aim fixtures generate --people 20000 --seed 1 --out /tmp/aim-fixtures
      aim fixtures generate --people 2000 --seed 7 --out /tmp/aim-fixtures --as-of 2026-06-30
    """
    day = as_of.date() if isinstance(as_of, datetime) else as_of
    written = generate_fixtures(people=people, seed=seed, out=out, as_of=day)
    rows = ", ".join(f"{partner} {count}" for partner, count in written.rows.items())
    click.echo(f"{written.people} people, {written.relationships} relationships; rows: {rows}")
    click.echo(f"written to {written.folder} (raw/<PARTNER>.csv, truth.csv, people.csv, relationships.csv)")


def register(main: click.Group) -> None:
    main.add_command(fixtures)
