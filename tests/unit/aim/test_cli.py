"""The CLI is documented: every command answers --help, and every help text ends with an example."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from aim.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path
        if isinstance(command, click.Group):
            yield from _commands(command, path)


ALL_COMMANDS = [(), *_commands(main)]


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: "aim " + " ".join(p))
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"'aim {' '.join(path)} --help' shows no example"
    assert "aim " in result.output.split("Example", 1)[1], "the example should show an aim command line"


def test_the_expected_groups_exist() -> None:
    assert {"agent", "hub", "keys", "fixtures", "demo"} <= set(main.commands)
