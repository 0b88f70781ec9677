"""Where the hub finds its rules: the packaged defaults unless AIM_RULES_DIR names a directory that exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aim.bootstrap import bootstrap
from aim.errors import ConfigError
from aim.rules.loader import DEFAULT_RULES_DIR, load_rules, rules_directory
from aim.settings import Settings

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "rules"


def test_the_default_is_the_packaged_rules_wherever_the_hub_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not the repository: a relative default would find nothing here
    assert Settings().rules_dir == ""
    assert rules_directory("") == DEFAULT_RULES_DIR
    assert DEFAULT_RULES_DIR.is_relative_to(Path(__file__).resolve().parents[3] / "aim")
    hub = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}"), migrate_schema=True)
    try:
        assert [r.id for r in hub.rules.rules()] == ["three-partners-30-days", "two-partners-30-days"]
    finally:
        hub.close()


def test_an_explicit_directory_wins(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text((FIXTURES / "two-partners-30-days.yaml").read_text())
    assert rules_directory(str(tmp_path)) == tmp_path
    assert [r.id for r in load_rules(rules_directory(str(tmp_path)))] == ["two-partners-30-days"]


def test_a_missing_directory_names_the_path_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-rules"
    with pytest.raises(ConfigError, match="AIM_RULES_DIR") as caught:
        bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}", rules_dir=str(missing)))
    assert str(missing) in str(caught.value)
    assert "unset AIM_RULES_DIR" in str(caught.value)


def test_the_example_files_are_the_shipped_ones() -> None:
    shipped = sorted(p.name for p in DEFAULT_RULES_DIR.glob("*.yaml"))
    assert shipped == sorted(p.name for p in FIXTURES.glob("*.yaml"))
    for name in shipped:
        assert (DEFAULT_RULES_DIR / name).read_text() == (FIXTURES / name).read_text(), name
    assert os.access(DEFAULT_RULES_DIR, os.R_OK)
