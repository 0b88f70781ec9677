"""``aim agent``: the partner side. Encodes raw extracts and pushes feeds to the hub."""

from __future__ import annotations

import click


@click.group(name="agent")
def agent() -> None:
    """Partner side: encode extracts locally and push them to the hub.

    \b
    Example:
      aim agent --help
    """


def register(main: click.Group) -> None:
    main.add_command(agent)
