"""Keyed tokens: exact-match evidence and blocking keys that reveal nothing without the field's key.

A token is keyed BLAKE2b (a MAC, like HMAC but faster) of the normalised value under the field's own key, cut to
:data:`linkage.schema.TOKEN_BYTES` bytes and written base64url without padding. Equal values give equal tokens under
one key; without the key a token cannot be recomputed from a guessed value, so a dictionary of names or dates is no
use to whoever holds the feed. No token is ever made for a missing or empty value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from linkage.schema import TOKEN_BYTES

_CACHE_LIMIT = 200_000


def make_token(key: bytes, value: str) -> str:
    """The keyed token of one normalised value.

    Args:
        key: the field's key (up to 64 bytes are used).
        value: the normalised value; must not be empty.

    Returns:
        ``TOKEN_BYTES`` bytes as base64url without padding.

    Raises:
        ValueError: the value is empty (a missing value has no token).
    """
    if not value:
        raise ValueError("no token is made for an empty value")
    digest = hashlib.blake2b(value.encode("utf-8"), key=key[:64], digest_size=TOKEN_BYTES).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_TOKEN_CHARS = (TOKEN_BYTES * 8 + 5) // 6


class Tokeniser:
    """Makes the tokens of one field under one key, keeping those already made (values repeat: years, districts).

    The keyed hash state is set up once and copied per value, which is about twice as fast as keying afresh; the
    tokens are the same as :func:`make_token`'s.
    """

    def __init__(self, key: bytes) -> None:
        self._keyed = hashlib.blake2b(key=key[:64], digest_size=TOKEN_BYTES)
        self._done: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        """The token of ``value`` (see :func:`make_token`)."""
        token = self._done.get(value)
        if token is None:
            if not value:
                raise ValueError("no token is made for an empty value")
            if len(self._done) >= _CACHE_LIMIT:
                self._done.clear()
            state = self._keyed.copy()
            state.update(value.encode("utf-8"))
            encoded = binascii.b2a_base64(state.digest(), newline=False)[:_TOKEN_CHARS].translate(_URLSAFE)
            token = self._done[value] = encoded.decode("ascii")
        return token
