"""Signed checkpoints of the audit chain: an Ed25519 signature over a sequence number and the head hash there.

A checkpoint pins the chain: whoever rewrites entries up to a checkpointed sequence, even recomputing every hash,
cannot produce a matching head without the signing key. The signing key lives with the hub's key provider; verifiers
need only the public keys, by key id, so keys can rotate while old checkpoints still verify.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governance.errors import AuditError

_DOMAIN = b"aim-audit-checkpoint/v1"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: "entry ``sequence`` of the audit chain has hash ``head_hash``".

    Attributes:
        sequence: the sequence number of the entry signed.
        head_hash: that entry's hash (hex SHA-256).
        key_id: which key signed; verifiers look its public key up by this id.
        signed_at: when, timezone-aware.
        signature: the Ed25519 signature, base64.
    """

    sequence: int
    head_hash: str
    key_id: str
    signed_at: datetime
    signature: str


def checkpoint_message(sequence: int, head_hash: str, key_id: str, signed_at: datetime) -> bytes:
    """The exact bytes signed: a domain tag, the key id, the sequence, the head hash and the signing time."""
    if signed_at.tzinfo is None:
        raise AuditError("a checkpoint's time must be timezone-aware: pass datetime.now(UTC)")
    fields = (_DOMAIN.decode(), key_id, str(sequence), head_hash, signed_at.isoformat())
    return "\n".join(fields).encode("utf-8")


class CheckpointSigner:
    """Signs checkpoints with one Ed25519 private key under a key id."""

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey) -> None:
        self.key_id = key_id
        self._private_key = private_key

    @classmethod
    def generate(cls, key_id: str) -> CheckpointSigner:
        """A signer with a fresh key (tests, demo); production loads its key through the key provider."""
        return cls(key_id, Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, key_id: str, raw: bytes) -> CheckpointSigner:
        """A signer from a 32-byte raw Ed25519 private key."""
        return cls(key_id, Ed25519PrivateKey.from_private_bytes(raw))

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public key verifiers need, published under :attr:`key_id`."""
        return self._private_key.public_key()

    def sign(self, sequence: int, head_hash: str, signed_at: datetime) -> Checkpoint:
        """Sign the chain's head at ``sequence``.

        Args:
            sequence: the sequence number of the head entry.
            head_hash: its hash.
            signed_at: now, timezone-aware.

        Returns:
            The checkpoint, to be stored apart from the entries (and ideally published).
        """
        message = checkpoint_message(sequence, head_hash, self.key_id, signed_at)
        signature = base64.b64encode(self._private_key.sign(message)).decode("ascii")
        return Checkpoint(sequence, head_hash, self.key_id, signed_at, signature)


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    """The raw 32-byte form of a public key, for storing or publishing."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_bytes(raw: bytes) -> Ed25519PublicKey:
    """A public key from its raw 32-byte form."""
    return Ed25519PublicKey.from_public_bytes(raw)


def signature_problem(checkpoint: Checkpoint, public_keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """Why a checkpoint's signature does not hold, or ``None`` when it does.

    Args:
        checkpoint: the checkpoint to check.
        public_keys: key id -> public key.

    Returns:
        A sentence naming the problem, or ``None``.
    """
    key = public_keys.get(checkpoint.key_id)
    if key is None:
        return f"checkpoint at {checkpoint.sequence} is signed by unknown key {checkpoint.key_id!r}"
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        message = checkpoint_message(checkpoint.sequence, checkpoint.head_hash, checkpoint.key_id, checkpoint.signed_at)
        key.verify(signature, message)
    except (InvalidSignature, ValueError, AuditError):
        return (
            f"checkpoint at {checkpoint.sequence} has a signature that does not verify with key {checkpoint.key_id!r}"
        )
    return None
