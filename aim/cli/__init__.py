"""The ``aim`` command: a thin shell over the services that turns domain errors into a message and an exit code.

Groups: ``aim agent`` (partner side), ``aim hub`` (hub side), ``aim keys``, ``aim fixtures``, ``aim evaluate`` and
``aim demo``. Every command's help ends with an example.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from aim import __version__
from aim.cli import (
    agent,
    agent_push,
    demo,
    evaluate,
    fixtures,
    hub,
    hub_governance,
    hub_identity,
    hub_rules,
    keys,
    portal,
)
from aim.errors import AimError


class AimGroup(click.Group):
    """A click group that reports :class:`AimError` as one plain line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AimError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=AimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aim")
def main() -> None:
    """AIM: link safeguarding partners' minimum data without sharing identities.

    \b
    Example:
      aim fixtures generate --people 2000 --seed 1 --out /tmp/aim-fixtures
    """


_GROUPS = (agent, agent_push, hub, hub_identity, hub_rules, hub_governance, keys, fixtures, evaluate, demo, portal)
for _module in _GROUPS:
    _module.register(main)
