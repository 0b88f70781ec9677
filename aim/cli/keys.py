"""``aim keys``: the partnership key set, held by the partners and the portal, never by the hub."""

from __future__ import annotations

import click


@click.group(name="keys")
def keys() -> None:
    """Partnership keys: create and rotate the secret the partners and the portal share.

    \b
    Example:
      aim keys --help
    """


def register(main: click.Group) -> None:
    main.add_command(keys)
