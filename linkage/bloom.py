"""Keyed, diffused Bloom-filter encodings of q-grams, and the Dice similarity the hub computes on them.

Encoding a value (``docs/encoding.md`` gives the reasons for each parameter):

1. split the normalised text into q-grams, padded at both ends (``_jo``, ``joh``, ``ohn``, ``hn_`` for q=3);
2. for every gram, ``k`` positions in ``[0, BLOOM_BITS)`` taken from a keyed BLAKE2b digest of the gram (a MAC: the
   positions cannot be computed without the field's key), and the filter's bits at those positions set;
3. a secret diffusion layer (Armknecht et al., PoPETs 2023): output bit ``j`` is the XOR of ``t`` input bits whose
   positions are chosen, once per key, by a keyed hash. An output bit therefore depends on several q-grams, which
   breaks the one-gram-to-some-bits pattern that frequency and pattern-mining attacks on Bloom filters exploit.

Similar texts share most q-grams, so their input filters share most bits, and the diffused outputs too: Dice
similarity survives diffusion, compressed towards the similarity of unrelated filters (``docs/encoding.md``).

Speed: a field's grams repeat (a few thousand distinct name bigrams), so each gram's bit mask is computed once per
key and kept; a filter is then the OR of a few Python integers. The diffusion layer runs on numpy arrays, a batch of
filters at a time, and each finished encoding is kept per distinct text, so a common name is encoded once per run.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_

import numpy as np
from numpy.typing import NDArray

from linkage.schema import BLOOM_BITS

U8 = NDArray[np.uint8]
U64 = NDArray[np.uint64]
PAD = "_"
_CACHE_LIMIT = 500_000


@dataclass(frozen=True)
class BloomParams:
    """The parameters of one Bloom field's encoding.

    Attributes:
        q: gram length.
        k: bit positions set per gram (at most 32).
        t: input bits XORed into each output bit by the diffusion layer; 0 or 1 turns diffusion off (only a
            secret selection of input bits is made, which for ``t == 1`` is a keyed mapping of positions).
        bits: filter length; must match :data:`linkage.schema.BLOOM_BITS` for a feed, and be a multiple of 64.
    """

    q: int = 2
    k: int = 20
    t: int = 3
    bits: int = BLOOM_BITS

    def __post_init__(self) -> None:
        if not (1 <= self.q <= 4 and 1 <= self.k <= 32 and 0 <= self.t <= 8):
            raise ValueError("Bloom parameters out of range: q in 1-4, k in 1-32, t in 0-8")
        if self.bits % 64 or not 64 <= self.bits <= 65536 or self.bits & (self.bits - 1):
            raise ValueError("the filter length must be a power of two, at least 64 and at most 65536")


def qgrams(text: str, q: int) -> list[str]:
    """The padded q-grams of a text (``"ann"``, q=2 -> ``_a an nn n_``); duplicates kept, order kept.

    Args:
        text: normalised text.
        q: gram length.

    Returns:
        The grams; empty for an empty text.
    """
    if not text:
        return []
    padded = PAD * (q - 1) + text + PAD * (q - 1)
    return [padded[i : i + q] for i in range(len(padded) - q + 1)]


def _diffusion_taps(key: bytes, params: BloomParams) -> NDArray[np.intp]:
    """The secret input positions XORed into each output bit: ``[bits, t]``, chosen by a keyed hash of the output."""
    taps = max(params.t, 1)
    width = 2 * taps
    out = np.empty((params.bits, taps), dtype=np.intp)
    for j in range(params.bits):
        digest = hashlib.blake2b(j.to_bytes(4, "big"), key=key, digest_size=width, person=b"aim-diffusion").digest()
        out[j] = np.frombuffer(digest, dtype=">u2") % params.bits
    return out


class BloomEncoder:
    """Encodes texts of one Bloom field under one key; keeps gram masks and finished encodings for speed.

    Args:
        key: the field's 256-bit Bloom key (:meth:`linkage.keyset.FieldKeys.bloom_key`).
        diffusion_key: the field's diffusion key (:meth:`linkage.keyset.FieldKeys.diffusion_key`).
        params: q, k, t and the filter length.
    """

    def __init__(self, key: bytes, diffusion_key: bytes, params: BloomParams | None = None) -> None:
        self.params = params or BloomParams()
        self._key = key[:64]
        self._masks: dict[str, int] = {}
        self._done: dict[str, str] = {}
        self._taps = _diffusion_taps(diffusion_key[:64], self.params)

    def _mask(self, gram: str) -> int:
        mask = self._masks.get(gram)
        if mask is None:
            p = self.params
            digest = hashlib.blake2b(gram.encode("utf-8"), key=self._key, digest_size=2 * p.k).digest()
            mask = 0
            for position in memoryview(digest).cast("H"):
                mask |= 1 << (position & (p.bits - 1))
            self._masks[gram] = mask
        return mask

    def raw_filter(self, text: str) -> int:
        """The undiffused filter of a text as an integer (bit ``i`` is position ``i``); for measurement and tests."""
        grams = qgrams(text, self.params.q)
        try:
            return reduce(or_, map(self._masks.__getitem__, grams), 0)
        except KeyError:
            return reduce(or_, map(self._mask, grams), 0)

    def diffuse(self, filters: Sequence[int]) -> U8:
        """Apply the diffusion layer to raw filters.

        Args:
            filters: raw filters from :meth:`raw_filter`.

        Returns:
            ``uint8 [n, bits // 8]``: the diffused filters as bytes (bit ``i`` of a filter is bit ``i % 8`` of byte
            ``i // 8``).
        """
        n_bytes = self.params.bits // 8
        buffer = b"".join(f.to_bytes(n_bytes, "little") for f in filters)
        matrix = np.frombuffer(buffer, dtype=np.uint8).reshape(len(filters), n_bytes)
        # Bit positions as rows: gathering whole rows is much faster than gathering columns.
        bits = np.unpackbits(matrix, axis=1, bitorder="little").T.copy()
        out = bits[self._taps[:, 0]]
        for column in range(1, self._taps.shape[1]):
            out ^= bits[self._taps[:, column]]
        packed: U8 = np.packbits(out.T, axis=1, bitorder="little")
        return packed

    def encode_many(self, texts: Sequence[str]) -> list[str]:
        """Encode normalised texts; each result is base64 (standard, padded) of ``bits // 8`` bytes.

        Args:
            texts: normalised, non-empty texts.

        Returns:
            One encoding per text, in order.
        """
        missing = list(dict.fromkeys(t for t in texts if t not in self._done))
        if missing:
            if len(self._done) + len(missing) > _CACHE_LIMIT:
                self._done.clear()
            diffused = self.diffuse([self.raw_filter(t) for t in missing])
            for text, row in zip(missing, diffused, strict=True):
                self._done[text] = base64.b64encode(row.tobytes()).decode("ascii")
        return [self._done[t] for t in texts]

    def encode(self, text: str) -> str:
        """Encode one normalised text (see :meth:`encode_many`, which is faster for many)."""
        return self.encode_many([text])[0]


def decode_bloom(value: str) -> U64:
    """Decode one base64 Bloom encoding to ``uint64 [bits // 64]`` words, for :func:`dice_many` and friends.

    Raises:
        ValueError: the value is not base64 of a whole number of 64-bit words.
    """
    raw = base64.b64decode(value, validate=True)
    if len(raw) % 8:
        raise ValueError("a Bloom encoding must be a whole number of 64-bit words")
    return np.frombuffer(raw, dtype=np.uint64).copy()


def decode_blooms(values: Sequence[str]) -> U64:
    """Decode many base64 Bloom encodings of one length to ``uint64 [n, bits // 64]``."""
    if not values:
        return np.zeros((0, BLOOM_BITS // 64), dtype=np.uint64)
    return np.stack([decode_bloom(v) for v in values])


def dice_many(left: U64, right: U64) -> NDArray[np.float64]:
    """Dice coefficients ``2|a & b| / (|a| + |b|)`` row by row, vectorised (0 where both filters are empty).

    Args:
        left: ``uint64 [n, words]`` filters.
        right: ``uint64 [n, words]`` filters, compared with ``left`` row for row.

    Returns:
        ``float64 [n]`` in ``[0, 1]``.
    """
    both = np.bitwise_count(left & right).sum(axis=-1, dtype=np.int64)
    total = np.bitwise_count(left).sum(axis=-1, dtype=np.int64) + np.bitwise_count(right).sum(axis=-1, dtype=np.int64)
    out = np.zeros(both.shape, dtype=np.float64)
    np.divide(2.0 * both, total, out=out, where=total > 0)
    return out


def dice(left: str, right: str) -> float:
    """The Dice coefficient of two base64 Bloom encodings (1.0 for identical non-empty filters)."""
    return float(dice_many(decode_bloom(left)[None, :], decode_bloom(right)[None, :])[0])
