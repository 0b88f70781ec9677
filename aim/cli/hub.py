"""``aim hub``: the hub side. Ingest, linkage, rules and governance administration."""

from __future__ import annotations

import click


@click.group(name="hub")
def hub() -> None:
    """Hub side: ingest feeds, link identities, run rules and administer governance.

    \b
    Example:
      aim hub --help
    """


def register(main: click.Group) -> None:
    main.add_command(hub)
