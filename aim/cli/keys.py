"""``aim keys``: the partnership key set, held by the partners and the portal, never by the hub."""

from __future__ import annotations

from pathlib import Path

import click

from aim.keys import init_keys, list_keys, rotate_keys

_KEYS_DIR = click.Path(file_okay=False, path_type=Path)


@click.group(name="keys")
def keys() -> None:
    """Partnership keys: create and rotate the secret the partners and the portal share.

    \b
    Example:
      aim keys init --out /etc/aim/keys
    """


@keys.command(name="init")
@click.option("--out", "directory", type=_KEYS_DIR, required=True, help="Directory to create (mode 0700).")
def init(directory: Path) -> None:
    """Create a partnership key set: a random 256-bit secret with a new key id, readable by the owner only.

    Copy the directory to every partner's agent and to the portal by a secure route; never to the hub.

    \b
    Example:
      aim keys init --out /etc/aim/keys
    """
    info = init_keys(directory=directory)
    click.echo(f"created key set {info.key_id} in {directory} (current)")


@keys.command(name="rotate")
@click.option("--keys", "directory", type=_KEYS_DIR, required=True, help="The key directory.")
def rotate(directory: Path) -> None:
    """Add a new key set and make it current; older key sets are kept for re-encoding.

    Every partner must re-encode and resend its data under the new key id before the hub can link it with data
    encoded under the old one.

    \b
    Example:
      aim keys rotate --keys /etc/aim/keys
    """
    info = rotate_keys(directory=directory)
    click.echo(f"created key set {info.key_id} in {directory} (now current)")


@keys.command(name="list")
@click.option("--keys", "directory", type=_KEYS_DIR, required=True, help="The key directory.")
def list_(directory: Path) -> None:
    """List the key sets in a directory (ids and dates; never the secrets).

    \b
    Example:
      aim keys list --keys /etc/aim/keys
    """
    for info in list_keys(directory=directory):
        click.echo(f"{info.key_id}  created {info.created}{'  (current)' if info.current else ''}")


def register(main: click.Group) -> None:
    main.add_command(keys)
