"""Staff passwords: the length rule, and argon2id hashing with argon2-cffi's default parameters.

Only the hash is stored (the PHC string ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``), never the password. A
check against an account without a password (or without an account) still runs one verification, against a dummy
hash made with the same parameters, so an answer takes about as long whether or not the account exists.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from aim.errors import InputError

MIN_LENGTH = 12
MAX_LENGTH = 1024


def check_password_rule(password: str) -> None:
    """Refuse a password that breaks the length rule; the message names the rule and the fix, never the password."""
    if len(password) < MIN_LENGTH:
        raise InputError(
            f"the password is too short: the rule is at least {MIN_LENGTH} characters; choose a longer one, "
            "for example three or four unrelated words"
        )
    if len(password) > MAX_LENGTH:
        raise InputError(f"the password is too long: the rule is at most {MAX_LENGTH} characters; choose a shorter one")


class PasswordHashing:
    """Hash and verify passwords with argon2id (argon2-cffi's :class:`PasswordHasher`, its defaults unless given)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches the ``stored`` hash; with none, one verification against a dummy hash, False."""
        try:
            return self._hasher.verify(stored or self._dummy_hash(), password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with other parameters than the hasher's (then it is replaced on sign-in)."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(24))
        return self._dummy
