"""``aim hub users | audit | purge | transparency`` against a real database: users and tokens, verify exits 1 and
names the first broken entry after tampering, checkpoint, show, purge dry run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from aim.cli import main
from tests.api.staff import DEMO_POLICY


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["hub", *args], env=env)
    return result.exit_code, result.output


def test_the_governance_commands(sqlite_url: str, tmp_path: Path) -> None:
    env = {
        "AIM_DATABASE_URL": sqlite_url,
        "AIM_POLICY_PATH": str(DEMO_POLICY),
        "AIM_AUDIT_KEY_PATH": str(tmp_path / "keys" / "audit.key"),
    }
    code, out = _run(env, "init-db")
    assert code == 0, out
    assert "created audit signing key" in out
    assert _run(env, "init-db")[1].count("found audit signing key") == 1
    assert _run(env, "users", "add", "j.smith", "--name", "J Smith", "--role", "mash_officer")[0] == 0
    code, out = _run(env, "users", "add", "k", "--name", "K", "--role", "wizard")
    assert code == 2
    assert "not in the policy" in out
    code, out = _run(env, "users", "new-token", "j.smith", "--hours", "2")
    assert "aims_" in out
    assert _run(env, "users", "suspend", "j.smith")[1].rstrip().endswith("suspended")
    assert _run(env, "users", "reinstate", "j.smith")[1].rstrip().endswith("active")
    for _ in range(3):
        assert _run(env, "purge", "--as-of", "2026-01-01")[0] == 0
    assert "would remove 0" in _run(env, "purge", "--dry-run")[1]
    assert _run(env, "audit", "checkpoint")[0] == 0
    code, out = _run(env, "audit", "verify")
    assert code == 0, out
    assert "verifies: 3 entries" in out
    lines = _run(env, "audit", "show", "--json", "--action", "retention_purge")[1].splitlines()
    assert [json.loads(line)["sequence"] for line in lines] == [3, 2, 1]
    code, out = _run(env, "transparency", "--from", "2026-01-01", "--to", "2026-12-31")
    assert json.loads(out)["tables"][-1]["title"] == "interactions purged, by category"

    database = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor = 'someone' WHERE sequence = 2")
    code, out = _run(env, "audit", "verify")
    assert code == 1
    assert "BROKEN" in out
    assert "first broken entry: 2" in out
