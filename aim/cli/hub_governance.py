"""``aim hub users | audit | purge | subject-access | transparency``: governance on the hub."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Add this module's commands to the ``aim hub`` group of ``main``."""
    hub = main.commands["hub"]
    assert isinstance(hub, click.Group)
