"""``aim hub users set-password | unlock`` against a real database: a password from standard input or a hidden
prompt asked twice, the length rule refused with its message, never echoed; the password then signs in; each
change is audited without the password; every ``aim hub users`` command has help with an example."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aim.bootstrap import bootstrap
from aim.cli import main
from aim.settings import Settings
from tests.api.staff import DEMO_POLICY

PASSWORD = "synthetic-correct-horse-42"  # test data only


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    values = {
        "AIM_DATABASE_URL": sqlite_url,
        "AIM_POLICY_PATH": str(DEMO_POLICY),
        "AIM_AUDIT_KEY_PATH": str(tmp_path / "audit.key"),
    }
    for args in (["init-db"], ["users", "add", "j.smith", "--name", "J Smith", "--role", "dpo"]):
        assert _run(values, *args)[0] == 0
    return values


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["hub", *args], env=env, input=stdin)
    return result.exit_code, result.output


def _signs_in(env: dict[str, str], password: str) -> bool:
    hub = bootstrap(Settings.from_env(env))
    try:
        hub.sign_in.sign_in(user_id="j.smith", password=password)
    except Exception:
        return False
    finally:
        hub.close()
    return True


def test_set_password_from_standard_input(env: dict[str, str]) -> None:
    code, out = _run(env, "users", "set-password", "j.smith", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0, out
    assert "password set for j.smith" in out
    assert PASSWORD not in out
    assert _signs_in(env, PASSWORD)
    code, out = _run(env, "audit", "show", "--action", "set_password")
    assert "user:j.smith" in out
    assert "cli:" in out
    assert PASSWORD not in out


def test_set_password_prompts_twice_without_echoing(env: dict[str, str]) -> None:
    typed = f"{PASSWORD}\n{PASSWORD}x\n{PASSWORD}\n{PASSWORD}\n"  # a mismatch first, then the same twice
    code, out = _run(env, "users", "set-password", "j.smith", stdin=typed)
    assert code == 0, out
    assert "do not match" in out
    assert PASSWORD not in out
    assert _signs_in(env, PASSWORD)


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        pytest.param("too-short\n", "the rule is at least 12 characters", id="too short"),
        pytest.param("", "no password on standard input", id="nothing piped in"),
        pytest.param("\n", "no password on standard input", id="an empty line"),
    ],
)
def test_a_refused_password_names_the_rule_and_is_not_set(env: dict[str, str], stdin: str, message: str) -> None:
    code, out = _run(env, "users", "set-password", "j.smith", "--password-stdin", stdin=stdin)
    assert code == 2
    assert message in out
    if stdin.strip():
        assert stdin.strip() not in out
    assert not _signs_in(env, stdin.strip() or PASSWORD)


def test_the_list_says_who_has_no_password(env: dict[str, str]) -> None:
    assert _run(env, "users", "list")[1].rstrip().endswith("\tno password")


def test_an_unknown_user_is_refused_before_a_password_is_asked_for(env: dict[str, str]) -> None:
    code, out = _run(env, "users", "set-password", "nobody.here")
    assert code == 2
    assert "no staff user 'nobody.here'" in out
    assert "New password" not in out


def test_unlock_clears_a_lock_out(env: dict[str, str]) -> None:
    assert _run(env, "users", "set-password", "j.smith", "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    for _ in range(5):
        assert not _signs_in(env, "synthetic-wrong-horse-42")
    assert not _signs_in(env, PASSWORD), "locked"
    assert "\tlocked until " in _run(env, "users", "list")[1]
    code, out = _run(env, "users", "unlock", "j.smith")
    assert code == 0, out
    assert _run(env, "users", "list")[1].rstrip().endswith("\tpassword set")
    assert _signs_in(env, PASSWORD)
    assert "unlock_account" in _run(env, "audit", "show", "--action", "unlock_account")[1]


@pytest.mark.parametrize("command", ["add", "list", "suspend", "reinstate", "new-token", "set-password", "unlock"])
def test_every_users_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, ["hub", "users", command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"aim hub users {command}" in result.output
