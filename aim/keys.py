"""The partnership key set on disk: created, rotated and loaded here, and nowhere else.

A key directory holds one file per key set and a pointer to the current one::

    DIR/                      mode 0700
      k-3f9c0a1b2c3d.json     mode 0600  {"format": "aim-keyset-1", "key_id": ..., "created": ..., "secret": ...}
      current                 mode 0600  the current key id

The secret is 256 random bits (base64). Every field's key, and the display key, are derived from it
(:mod:`linkage.keyset`). A new key id is a rotation: the old key sets stay, so feeds made under them can still be
matched by whoever re-encodes with them, but new feeds use the current one. The hub never holds this directory.

Loading refuses a directory or file that group or others can read, or that another user owns: a key that has been
readable by others must be treated as disclosed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aim.errors import ConfigError
from linkage.keyset import MIN_SECRET_BYTES, FieldKeys

KEYSET_FORMAT = "aim-keyset-1"
CURRENT = "current"
SECRET_BYTES = 32
_KEY_ID = re.compile(r"k-[0-9a-f]{12}")


@dataclass(frozen=True)
class KeySetInfo:
    """What may be shown about a key set: its id, when it was made, whether it is current. Never the secret."""

    key_id: str
    created: str
    current: bool


def new_key_id() -> str:
    """A fresh random key id, ``k-`` and 12 hex digits."""
    return "k-" + secrets.token_hex(6)


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by the owner only, atomically (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)


def _check_private(path: Path, *, directory: bool) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist: create a key set with 'aim keys init --out DIR'") from None
    if info.st_uid != os.getuid():
        raise ConfigError(f"{path} belongs to another user: key files must belong to the user that runs aim")
    if stat.S_IMODE(info.st_mode) & 0o077:
        fix = "700" if directory else "600"
        raise ConfigError(
            f"{path} is readable by group or others: treat the key as disclosed and rotate it "
            f"('aim keys rotate'), then restrict it with 'chmod {fix} {path}'"
        )


def _write_keyset(directory: Path) -> KeySetInfo:
    key_id = new_key_id()
    # Microseconds: a key rotated within the second it was made must still sort after it (list_keys).
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    secret = base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
    body = {"format": KEYSET_FORMAT, "key_id": key_id, "created": created, "secret": secret}
    _write_private(directory / f"{key_id}.json", json.dumps(body, indent=2) + "\n")
    _write_private(directory / CURRENT, key_id + "\n")
    return KeySetInfo(key_id=key_id, created=created, current=True)


def init_keys(*, directory: Path) -> KeySetInfo:
    """Create a key directory (0700) and its first key set (0600); refuse a directory that already holds keys.

    Raises:
        ConfigError: the directory already holds a key set (rotate instead), or cannot be made private.
    """
    if directory.exists() and any(directory.glob("k-*.json")):
        raise ConfigError(
            f"{directory} already holds a key set: use 'aim keys rotate --keys {directory}' for a new one"
        )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    _check_private(directory, directory=True)
    return _write_keyset(directory)


def rotate_keys(*, directory: Path) -> KeySetInfo:
    """Add a new key set and make it current; the old ones stay for re-encoding.

    Raises:
        ConfigError: the directory is missing, holds no key set, or is readable by others.
    """
    _check_private(directory, directory=True)
    if not any(directory.glob("k-*.json")):
        raise ConfigError(f"{directory} holds no key set: create one with 'aim keys init --out {directory}'")
    return _write_keyset(directory)


def current_key_id(directory: Path) -> str:
    """The id of the current key set.

    Raises:
        ConfigError: no current key set, or the pointer is unreadable or readable by others.
    """
    _check_private(directory, directory=True)
    pointer = directory / CURRENT
    _check_private(pointer, directory=False)
    key_id = pointer.read_text(encoding="utf-8").strip()
    if not _KEY_ID.fullmatch(key_id):
        raise ConfigError(f"{pointer} does not name a key set (k- and 12 hex digits): run 'aim keys rotate'")
    return key_id


def load_keys(*, directory: Path, key_id: str | None = None) -> FieldKeys:
    """Load a key set (the current one unless ``key_id`` is given) as the keys an encoder needs.

    Raises:
        ConfigError: the key set is missing, malformed, too short, or readable by others.
    """
    key_id = key_id or current_key_id(directory)
    if not _KEY_ID.fullmatch(key_id):
        raise ConfigError("a key id is k- and 12 hex digits: see 'aim keys list'")
    _check_private(directory, directory=True)
    path = directory / f"{key_id}.json"
    _check_private(path, directory=False)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        secret = base64.b64decode(body["secret"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ConfigError(f"{path} is not a key set file ({KEYSET_FORMAT}): restore it from the backup") from None
    if body.get("format") != KEYSET_FORMAT or body.get("key_id") != key_id:
        raise ConfigError(f"{path} is not a {KEYSET_FORMAT} file for {key_id}: restore it from the backup")
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"{path} holds a secret shorter than {MIN_SECRET_BYTES * 8} bits: rotate to a new key set")
    return FieldKeys(key_id=key_id, secret=secret)


def list_keys(*, directory: Path) -> list[KeySetInfo]:
    """Every key set in the directory, oldest first, with the current one marked."""
    current = current_key_id(directory)
    out = []
    for path in directory.glob("k-*.json"):
        _check_private(path, directory=False)
        body = json.loads(path.read_text(encoding="utf-8"))
        out.append(KeySetInfo(key_id=body["key_id"], created=body["created"], current=body["key_id"] == current))
    # Equal times (second-precision files written before microseconds were kept): the current one is the newest.
    return sorted(out, key=lambda info: (info.created, info.current, info.key_id))
