"""``aim agent``: the partner side. Encodes raw extracts and pushes feeds to the hub."""

from __future__ import annotations

from pathlib import Path

import click

from aim.agent.encode import encode_extract

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group(name="agent")
def agent() -> None:
    """Partner side: encode extracts locally and push them to the hub.

    \b
    Example:
      aim agent encode --keys /etc/aim/keys --partner WMP --in extract.csv --out wmp.feed
    """


@agent.command(name="encode")
@click.option(
    "--keys",
    "keys_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The partnership key directory (aim keys init).",
)
@click.option("--partner", required=True, help="This partner's code, e.g. WMP.")
@click.option("--in", "raw", type=_FILE, required=True, help="The raw extract: UTF-8 CSV with a header row.")
@click.option("--out", type=_FILE, required=True, help="The feed to write; rejects go to <OUT>.rejects.csv.")
@click.option("--mapping", type=_FILE, help="YAML {canonical_name: partner_header} when the headers differ.")
@click.option("--feed-id", help="The feed's id [default: <PARTNER>-<UTC timestamp>].")
@click.option("--display", is_flag=True, help="Attach the encrypted display block (the address as recorded).")
@click.option("--deletes", type=_FILE, help="A file of record ids, one a line, to delete at the hub.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar for large extracts.")
def encode(
    *,
    keys_dir: Path,
    partner: str,
    raw: Path,
    out: Path,
    mapping: Path | None,
    feed_id: str | None,
    display: bool,
    deletes: Path | None,
    progress: bool,
) -> None:
    """Encode a raw extract into a feed: identifiers leave this machine only as keyed encodings.

    Every row is accepted into the feed or listed in <OUT>.rejects.csv with its line, column and reason (never the
    value); the counts are printed at the end and always add up.

    \b
    Example:
      aim agent encode --keys /etc/aim/keys --partner WMP --in wmp.csv --out wmp.feed
      aim agent encode --keys /etc/aim/keys --partner FIRE --in fire.csv --out fire.feed --mapping fire-map.yaml
    """
    summary = encode_extract(
        keys_dir=keys_dir,
        partner=partner,
        raw=raw,
        out=out,
        mapping=mapping,
        feed_id=feed_id,
        display=display,
        deletes=deletes,
        progress=progress,
    )
    click.echo(f"feed {summary.manifest.feed_id} (key {summary.manifest.key_id}) written to {summary.feed}")
    if summary.deletes:
        click.echo(f"deletions: {summary.deletes}")
    if summary.rejected:
        click.echo(f"rejected rows and reasons: {summary.rejects}")
    click.echo(f"read {summary.read}, accepted {summary.accepted}, rejected {summary.rejected}")


def register(main: click.Group) -> None:
    main.add_command(agent)
