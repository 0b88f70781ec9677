"""The optional display block: what a partner recorded (e.g. the address as written), for the portal's eyes only.

It is AES-256-GCM ciphertext under the display key (:meth:`linkage.keyset.FieldKeys.display_key`), which the hub
does not hold. A fresh 96-bit random nonce is used for every block, and the associated data binds the block to its
key id, partner and record id, so the hub cannot move a block to another row without the portal noticing::

    aimd1.<key id>.<base64url(nonce || ciphertext || tag)>
"""

from __future__ import annotations

import base64
import binascii
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aim.errors import InputError

PREFIX = "aimd1"
NONCE_BYTES = 12


def _aad(key_id: str, partner: str, record_id: str) -> bytes:
    return "\x1f".join((PREFIX, key_id, partner, record_id)).encode("utf-8")


def seal_display(*, key: bytes, key_id: str, partner: str, record_id: str, fields: dict[str, str]) -> str:
    """Encrypt a display block for one row."""
    plaintext = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, _aad(key_id, partner, record_id))
    return f"{PREFIX}.{key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii').rstrip('=')}"


def open_display(*, key: bytes, partner: str, record_id: str, block: str) -> dict[str, str]:
    """Decrypt a display block (the portal's side).

    Raises:
        InputError: the block is malformed, was made under another key, or belongs to another row.
    """
    try:
        prefix, key_id, body = block.split(".")
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        raise InputError("display block is not in the aimd1 format") from None
    if prefix != PREFIX or len(data) < NONCE_BYTES + 16:
        raise InputError("display block is not in the aimd1 format")
    try:
        plaintext = AESGCM(key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], _aad(key_id, partner, record_id))
    except InvalidTag:
        raise InputError("display block does not open with this key for this row: wrong key set or moved") from None
    fields: dict[str, str] = json.loads(plaintext)
    return fields
