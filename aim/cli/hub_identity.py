"""``aim hub link | train | export-links | review``: identity resolution on the hub."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Add this module's commands to the ``aim hub`` group of ``main``."""
    hub = main.commands["hub"]
    assert isinstance(hub, click.Group)
