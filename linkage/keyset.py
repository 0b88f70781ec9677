"""Per-field keys derived from the partnership secret, so that no two encoded fields share a key by accident.

The partnership secret (at least 256 bits, random) and its key id are parameters: this module never reads a key
from disk (``aim.keys`` does that). Each *purpose* gets its own 256-bit key from HKDF-SHA256 with
``info = "aim-enc-1/<key id>/<purpose>"``, so a new key id (a rotation) changes every derived key, and knowing the
key of one field tells nothing about another.

Some fields share a purpose on purpose, because the hub must compare them with each other:

* ``bf_first`` and ``bf_last`` use one Bloom key (``bloom:name``), so a first name can be compared with a last name
  when the two were recorded the wrong way round;
* ``tk_dob`` and ``tk_dob_swap`` use one token key, so one record's date can equal the other's swapped date;
* ``tk_last`` and ``tk_last_parts`` use one token key, so ``Smith`` meets the ``smith`` part of ``Smith-Jones``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from linkage.errors import LinkageError

MIN_SECRET_BYTES = 32
DERIVED_KEY_BYTES = 32
PURPOSE_DISPLAY = "display"

# Token field -> the purpose whose key it uses.
TOKEN_PURPOSES: dict[str, str] = {
    "tk_first": "token:first",
    "tk_first_canon": "token:first_canon",
    "tk_first_phon": "token:first_phon",
    "tk_last": "token:last",
    "tk_last_parts": "token:last",
    "tk_last_phon": "token:last_phon",
    "tk_dob": "token:dob",
    "tk_dob_swap": "token:dob",
    "tk_dob_ym": "token:dob_ym",
    "tk_dob_y": "token:dob_y",
    "tk_dob_md": "token:dob_md",
    "tk_gender": "token:gender",
    "tk_pc_unit": "token:pc_unit",
    "tk_pc_sector": "token:pc_sector",
    "tk_pc_district": "token:pc_district",
    "tk_nhs": "token:nhs",
    "tk_local": "token:local",
}
# Bloom field -> the purpose whose key positions its q-grams; "<purpose>/diffusion" seeds its diffusion layer.
BLOOM_PURPOSES: dict[str, str] = {
    "bf_first": "bloom:name",
    "bf_last": "bloom:name",
    "bf_address": "bloom:address",
}


class KeySetError(LinkageError):
    """Raised when a partnership secret or key id is unusable (too short, badly formed)."""


@dataclass(frozen=True)
class FieldKeys:
    """The keys one encoder needs, all derived from one partnership secret.

    Attributes:
        key_id: the id of the partnership key set these keys come from; every feed names it.
        secret: the partnership secret itself (kept so further purposes can be derived).
    """

    key_id: str
    secret: bytes = field(repr=False)
    _cache: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise KeySetError(
                f"the partnership secret must be at least {MIN_SECRET_BYTES * 8} bits: make a new key set"
            )
        if not self.key_id or not self.key_id.isascii() or "/" in self.key_id:
            raise KeySetError("a key id must be ASCII without '/', e.g. k-3f9c0a1b2c3d")

    def derive(self, purpose: str) -> bytes:
        """The 256-bit key for one purpose (e.g. ``"token:dob"``), derived with HKDF-SHA256.

        Args:
            purpose: the purpose's name; see :data:`TOKEN_PURPOSES` and :data:`BLOOM_PURPOSES`.

        Returns:
            32 bytes, the same for the same secret, key id and purpose.
        """
        key = self._cache.get(purpose)
        if key is None:
            info = f"aim-enc-1/{self.key_id}/{purpose}".encode()
            key = HKDF(algorithm=hashes.SHA256(), length=DERIVED_KEY_BYTES, salt=None, info=info).derive(self.secret)
            self._cache[purpose] = key
        return key

    def token_key(self, field_name: str) -> bytes:
        """The key of a token field (``tk_*``)."""
        return self.derive(TOKEN_PURPOSES[field_name])

    def bloom_key(self, field_name: str) -> bytes:
        """The key that positions a Bloom field's q-grams (``bf_*``)."""
        return self.derive(BLOOM_PURPOSES[field_name])

    def diffusion_key(self, field_name: str) -> bytes:
        """The key that chooses a Bloom field's secret diffusion layer."""
        return self.derive(BLOOM_PURPOSES[field_name] + "/diffusion")

    def display_key(self) -> bytes:
        """The AES-256-GCM key of the optional encrypted display block (only the portal can decrypt it)."""
        return self.derive(PURPOSE_DISPLAY)
