"""Staff passwords (aim.access.passwords) and the sign-in settings: argon2id hashes that never hold the password,
the length rule's message naming the rule and the fix, and sign-in settings refused outside their range."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from aim.access.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHashing, check_password_rule
from aim.errors import ConfigError, InputError
from aim.settings import Settings, env_name

PASSWORD = "synthetic-correct-horse-42"  # test data only


def test_a_hash_is_argon2id_with_the_library_defaults_and_never_the_password() -> None:
    hashing = PasswordHashing()
    stored = hashing.hash(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert stored != hashing.hash(PASSWORD), "a fresh salt every time"
    assert not PasswordHasher().check_needs_rehash(stored)
    assert hashing.verify(stored, PASSWORD)
    assert not hashing.verify(stored, PASSWORD + "!")


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(None, id="no stored hash: a dummy is verified, never a match"),
        pytest.param("not-a-hash", id="a damaged hash"),
        pytest.param("", id="an empty hash"),
    ],
)
def test_nothing_but_a_stored_hash_ever_matches(stored: str | None) -> None:
    assert PasswordHashing().verify(stored, PASSWORD) is False


def test_a_hash_made_with_other_parameters_needs_rehashing() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    hashing = PasswordHashing()
    assert hashing.verify(weak, PASSWORD)
    assert hashing.needs_rehash(weak)
    assert hashing.needs_rehash("not-a-hash")
    assert not hashing.needs_rehash(hashing.hash(PASSWORD))


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        pytest.param("x" * (MIN_LENGTH - 1), f"at least {MIN_LENGTH} characters", id="one too short"),
        pytest.param("", f"at least {MIN_LENGTH} characters", id="empty"),
        pytest.param("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH} characters", id="one too long"),
    ],
)
def test_the_length_rule_names_the_rule_and_the_fix_never_the_password(password: str, rule: str) -> None:
    with pytest.raises(InputError) as caught:
        check_password_rule(password)
    message = str(caught.value)
    assert rule in message
    assert "choose a" in message
    if password:
        assert password not in message


@pytest.mark.parametrize("password", ["x" * MIN_LENGTH, "four words in a row", "y" * MAX_LENGTH])
def test_passwords_within_the_rule_are_accepted(password: str) -> None:
    check_password_rule(password)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("sign_in_token_minutes", 0),
        ("sign_in_token_minutes", 24 * 60 + 1),
        ("sign_in_max_failures", 0),
        ("sign_in_max_failures", 101),
        ("sign_in_lockout_minutes", 0),
    ],
)
def test_sign_in_settings_out_of_range_are_refused_naming_the_variable(setting: str, value: int) -> None:
    with pytest.raises(ConfigError, match=env_name(setting)):
        Settings.from_dict({setting: value})


def test_sign_in_settings_defaults() -> None:
    settings = Settings()
    assert (settings.sign_in_token_minutes, settings.sign_in_max_failures, settings.sign_in_lockout_minutes) == (
        30,
        5,
        15,
    )
