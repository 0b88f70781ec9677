"""``aim fixtures``: synthetic populations for demos, tests and benchmarks (the generator lives in aim.fixtures)."""

from __future__ import annotations

from pathlib import Path

import click

from aim.errors import ConfigError


@click.group(name="fixtures")
def fixtures() -> None:
    """Synthetic data: a population and each demo partner's raw extract.

    \b
    Example:
      aim fixtures generate --people 2000 --seed 1 --out /tmp/aim-fixtures
    """


@fixtures.command(name="generate")
@click.option("--people", type=click.IntRange(min=1), default=2000, show_default=True, help="How many people.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed: the same seed gives the same files.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
def generate(people: int, seed: int, out: Path) -> None:
    """Write DIR/raw/<PARTNER>.csv for every demo partner and DIR/truth.csv.

    \b
    Example:
      aim fixtures generate --people 20000 --seed 1 --out /tmp/aim-fixtures
    """
    raise ConfigError("the fixture generator is not built yet")


def register(main: click.Group) -> None:
    main.add_command(fixtures)
