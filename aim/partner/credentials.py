"""Partner credentials, shared by the hub (verifying) and the partner's agent (signing).

A request carries two proofs:

- an API token (``Authorization: Bearer aimp_...``): random, shown once at registration; the hub keeps only its
  SHA-256 (a 256-bit random token needs no slow hash: there is nothing to guess) and looks it up by that digest;
- an Ed25519 signature (``AIM-Signature``, base64) by the key named in ``AIM-Key-Id`` over
  ``"<METHOD> <path>\\n"`` followed by the exact request body bytes. The hub holds only public keys, and verifies
  the signature before it parses a byte of the body. Binding method and path stops a signed body from being
  replayed to another endpoint or another feed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aim.errors import InputError

TOKEN_PREFIX = "aimp_"  # noqa: S105 - a marker, not a secret
KEY_ID_HEADER = "AIM-Key-Id"
SIGNATURE_HEADER = "AIM-Signature"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def key_id_for(public_raw: bytes) -> str:
    """A signing key's id: derived from the public key, so partner and hub always agree on it."""
    return "ed25519-" + hashlib.sha256(public_raw).hexdigest()[:16]


def public_key_raw(pem: bytes) -> bytes:
    """The raw 32 bytes of an Ed25519 public key given as PEM (``-----BEGIN PUBLIC KEY-----``)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise InputError("the public key is not a PEM public key: give the .pub.pem from 'aim agent keygen'") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError("the public key is not an Ed25519 key: create one with 'aim agent keygen'")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_signing_key(pem: bytes) -> Ed25519PrivateKey:
    """The partner's private signing key from PEM (PKCS#8, unencrypted, as 'aim agent keygen' writes it)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise InputError("the signing key is not an unencrypted PEM private key from 'aim agent keygen'") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("the signing key is not an Ed25519 key: create one with 'aim agent keygen'")
    return key


def generate_signing_key() -> tuple[bytes, bytes, str]:
    """A new key pair: (private PEM, public PEM, key id)."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key()
    public_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private_pem, public_pem, key_id_for(raw)


def signing_key_id(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key_id_for(raw)


def signing_message(method: str, path: str, body: bytes) -> bytes:
    return f"{method.upper()} {path}\n".encode() + body


def sign(key: Ed25519PrivateKey, *, method: str, path: str, body: bytes) -> str:
    return base64.b64encode(key.sign(signing_message(method, path, body))).decode("ascii")


def signature_valid(public_raw: bytes, signature: str, message: bytes) -> bool:
    try:
        raw_signature = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(raw_signature, message)
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
