"""The audit checkpoint signing key: an Ed25519 key in a PEM file the hub alone reads (``AIM_AUDIT_KEY_PATH``).

It is the hub's own key, never the partnership key. ``aim hub init-db`` creates it when it is absent; the key id is
derived from the public key, so a verifier can tell which key signed a checkpoint.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aim.errors import ConfigError
from governance import CheckpointSigner, public_key_bytes


def key_id_of(key: Ed25519PrivateKey) -> str:
    return "audit-" + hashlib.sha256(public_key_bytes(key.public_key())).hexdigest()[:16]


def create_signing_key(path: Path) -> CheckpointSigner:
    """Write a new key to ``path`` (owner-only permissions); refuses to overwrite an existing one."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return CheckpointSigner(key_id_of(key), key)


def load_signing_key(path: Path) -> CheckpointSigner:
    """The signer in ``path``; a missing or unreadable file is a configuration error naming the fix."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(
            f"no audit signing key at {path}: run 'aim hub init-db' to create one, or set AIM_AUDIT_KEY_PATH"
        ) from None
    except ValueError:
        raise ConfigError(f"{path} is not a PEM Ed25519 private key: restore it from backup") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} holds a key that is not Ed25519: the audit signing key must be Ed25519")
    return CheckpointSigner(key_id_of(key), key)


def ensure_signing_key(path: Path) -> tuple[CheckpointSigner, bool]:
    """Load the key, creating it first when absent; returns the signer and whether it was created."""
    if path.exists():
        return load_signing_key(path), False
    return create_signing_key(path), True
