"""``aim demo``: bring up a demonstration partnership on this machine."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="demo")
@click.option(
    "--dir",
    "workdir",
    type=click.Path(path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where the demo keeps its data; a second start reuses it.",
)
@click.option("--people", type=int, default=2000, show_default=True, help="Size of the synthetic population.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the synthetic population.")
@click.pass_context
def demo(ctx: click.Context, workdir: Path, people: int, seed: int) -> None:
    """Start the demo: a synthetic partnership's data, generated and summarised.

    Generates the synthetic population and every demo partner's raw extract under DIR/fixtures (once; a second
    start reuses them) and prints a summary.

    \b
    Example:
      aim demo --dir var/demo --people 2000
    """
    fixtures_dir = workdir / "fixtures"
    root = ctx.find_root().command
    assert isinstance(root, click.Group)
    generate = root.commands["fixtures"].commands["generate"]  # type: ignore[attr-defined]
    if (fixtures_dir / "truth.csv").exists():
        click.echo(f"reusing the demo population in {fixtures_dir}")
    else:
        ctx.invoke(generate, people=people, seed=seed, out=fixtures_dir)
    click.echo(f"demo data ready in {workdir}")


def register(main: click.Group) -> None:
    main.add_command(demo)
