"""Key sets on disk: created private, refused when not, rotated without losing the old ones."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from aim.errors import ConfigError
from aim.keys import current_key_id, init_keys, list_keys, load_keys, rotate_keys


def test_init_creates_a_private_directory_and_key_file(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    info = init_keys(directory=directory)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    key_file = directory / f"{info.key_id}.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(info.key_id) == 14
    assert info.key_id.startswith("k-")
    body = json.loads(key_file.read_text())
    keys = load_keys(directory=directory)
    assert keys.key_id == info.key_id
    assert len(keys.secret) == 32
    assert body["secret"] not in repr(keys)


def test_init_refuses_a_directory_that_already_holds_keys(tmp_path: Path) -> None:
    init_keys(directory=tmp_path / "keys")
    with pytest.raises(ConfigError, match="rotate"):
        init_keys(directory=tmp_path / "keys")


def test_rotation_makes_a_new_current_key_and_keeps_the_old(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    old = init_keys(directory=directory)
    new = rotate_keys(directory=directory)
    assert new.key_id != old.key_id
    assert current_key_id(directory) == new.key_id
    assert [(i.key_id, i.current) for i in list_keys(directory=directory)] == [(old.key_id, False), (new.key_id, True)]
    assert load_keys(directory=directory, key_id=old.key_id).secret != load_keys(directory=directory).secret


@pytest.mark.parametrize(
    ("target", "mode"),
    [("dir", 0o750), ("dir", 0o705), ("file", 0o640), ("file", 0o604)],
    ids=["directory readable by group", "directory readable by others", "file readable by group", "file by others"],
)
def test_keys_readable_by_others_are_refused(tmp_path: Path, target: str, mode: int) -> None:
    directory = tmp_path / "keys"
    info = init_keys(directory=directory)
    os.chmod(directory if target == "dir" else directory / f"{info.key_id}.json", mode)
    with pytest.raises(ConfigError, match="readable by group or others"):
        load_keys(directory=directory)


def test_a_missing_directory_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="aim keys init"):
        load_keys(directory=tmp_path / "nowhere")


def test_a_damaged_key_file_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    info = init_keys(directory=directory)
    (directory / f"{info.key_id}.json").write_text('{"format": "aim-keyset-1", "secret": "!!"}')
    with pytest.raises(ConfigError, match="not a key set"):
        load_keys(directory=directory)
