"""A batch of encoded records as numpy arrays, so that comparison and blocking work on columns, not on dicts.

The schema (:mod:`linkage.schema`) is read at run time, so a field added there is carried without a change here:

* a ``bloom`` field becomes a ``uint64`` matrix ``[n, BLOOM_WORDS]`` (an all-zero row means missing);
* a ``token`` field becomes a ``uint64`` vector ``[n]``: the first 64 bits of the token with the top bit forced on,
  so that 0 can mean missing and no present token ever equals it;
* a ``tokens`` field becomes a ``uint64`` matrix ``[n, MAX_TOKENS]``, padded with 0.

Keeping 64 of a token's 128 bits is enough to compare and block: two different tokens agree on all 63 kept bits with
probability 2**-63.

Base64 is decoded for a whole column at once (a lookup table over the characters), which is what lets a nightly
feed of 100,000 rows, or a hub of a million, be loaded in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from linkage.errors import EncodedValueError
from linkage.schema import BLOOM_BITS, FIELDS, MAX_TOKENS, TOKEN_BYTES

BLOOM_WORDS = BLOOM_BITS // 64
MISSING = np.uint64(0)
_PRESENT_BIT = np.uint64(1 << 63)
_CHUNK = 65536

U64 = NDArray[np.uint64]


def _alphabet_table() -> NDArray[np.uint8]:
    table = np.full(256, 255, dtype=np.uint8)
    letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    for value, char in enumerate(letters):
        table[char] = value
    # Both alphabets: standard (+/) for Bloom filters, URL-safe (-_) for tokens.
    table[ord("+")] = table[ord("-")] = 62
    table[ord("/")] = table[ord("_")] = 63
    table[ord("=")] = table[0] = 0
    return table


_TABLE = _alphabet_table()


def _decode_fixed(values: NDArray[np.bytes_], n_bytes: int, field: str) -> NDArray[np.uint8]:
    """Decode equal-length base64 strings (padding optional) to a ``[n, n_bytes]`` byte matrix."""
    width = values.dtype.itemsize
    chars = values.view(np.uint8).reshape(len(values), width)
    sextets = _TABLE[chars]
    if (sextets == 255).any():
        raise EncodedValueError(f"encoded field {field!r} holds a character outside base64: re-encode the feed")
    groups = -(-width // 4)
    if groups * 4 != width:
        sextets = np.pad(sextets, ((0, 0), (0, groups * 4 - width)))
    quads = sextets.reshape(len(values), groups, 4).astype(np.uint32)
    joined = (quads[:, :, 0] << 18) | (quads[:, :, 1] << 12) | (quads[:, :, 2] << 6) | quads[:, :, 3]
    out = np.empty((len(values), groups, 3), dtype=np.uint8)
    out[:, :, 0] = joined >> 16
    out[:, :, 1] = (joined >> 8) & 0xFF
    out[:, :, 2] = joined & 0xFF
    return out.reshape(len(values), groups * 3)[:, :n_bytes]


def _column_strings(values: Sequence[object], width: int, field: str) -> NDArray[np.bytes_]:
    out = np.zeros(len(values), dtype=f"S{width}")
    for row, value in enumerate(values):
        if value is None:
            continue
        if not isinstance(value, str) or not width - 2 <= len(value) <= width:
            raise EncodedValueError(f"encoded field {field!r} has the wrong length: validate rows before loading")
        out[row] = value.encode("ascii")
    return out


def decode_bloom_column(values: Sequence[object], field: str = "bloom") -> U64:
    """Decode a column of base64 Bloom filters to a ``[n, BLOOM_WORDS]`` matrix; ``None`` gives an all-zero row.

    Args:
        values: base64 strings (standard alphabet) of ``BLOOM_BITS // 8`` bytes, or ``None`` where missing.
        field: the field's name, for error messages.

    Returns:
        The filters as 64-bit words, bit order as the bytes were written (Dice is unaffected by bit order).

    Raises:
        EncodedValueError: a value has the wrong length or a character outside base64.
    """
    n_bytes = BLOOM_BITS // 8
    width = 4 * -(-n_bytes // 3)
    strings = _column_strings(values, width, field)
    out = np.zeros((len(values), BLOOM_WORDS), dtype=np.uint64)
    for start in range(0, len(values), _CHUNK):
        chunk = strings[start : start + _CHUNK]
        out[start : start + _CHUNK] = np.ascontiguousarray(_decode_fixed(chunk, n_bytes, field)).view(np.uint64)
    out[strings == b""] = 0
    return out


def decode_token_column(values: Sequence[object], field: str = "token") -> U64:
    """Decode a column of base64url tokens to ``uint64``, 0 where missing.

    Args:
        values: base64url strings (no padding) of ``TOKEN_BYTES`` bytes, or ``None`` where missing.
        field: the field's name, for error messages.

    Returns:
        The first 64 bits of each token with the top bit set; 0 for a missing value.

    Raises:
        EncodedValueError: a value has the wrong length or a character outside base64.
    """
    width = -(-TOKEN_BYTES * 8 // 6)
    strings = _column_strings(values, width, field)
    head = strings.astype("S12")  # 12 characters carry the first 9 bytes
    words = _decode_fixed(head, 8, field).copy().view(">u8").ravel().astype(np.uint64)
    words |= _PRESENT_BIT
    words[strings == b""] = MISSING
    return words


def _decode_token_lists(values: Sequence[object], field: str) -> U64:
    out = np.zeros((len(values), MAX_TOKENS), dtype=np.uint64)
    flat: list[object] = []
    rows: list[int] = []
    cols: list[int] = []
    for row, value in enumerate(values):
        if value is None:
            continue
        if not isinstance(value, list) or len(value) > MAX_TOKENS:
            raise EncodedValueError(f"encoded field {field!r} must be a list of at most {MAX_TOKENS} tokens")
        flat.extend(value)
        rows.extend([row] * len(value))
        cols.extend(range(len(value)))
    if flat:
        out[np.array(rows), np.array(cols)] = decode_token_column(flat, field)
    return out


@dataclass(frozen=True)
class RecordBatch:
    """Encoded records as columns. Rows are positions; the caller keeps the record ids in the same order.

    Attributes:
        blooms: Bloom field name to ``uint64 [n, BLOOM_WORDS]``.
        tokens: token field name to ``uint64 [n]`` (0 = missing).
        token_lists: token-list field name to ``uint64 [n, MAX_TOKENS]`` (0 = no token).
    """

    blooms: Mapping[str, U64]
    tokens: Mapping[str, U64]
    token_lists: Mapping[str, U64]

    def __len__(self) -> int:
        for column in (*self.blooms.values(), *self.tokens.values(), *self.token_lists.values()):
            return int(column.shape[0])
        return 0

    @classmethod
    def from_encoded(cls, rows: Sequence[Mapping[str, object]]) -> RecordBatch:
        """Build a batch from feed rows' ``enc`` objects (field name to base64 value; missing fields absent).

        Every field of the schema gets a column, present or not, so comparisons can rely on it.

        Args:
            rows: one mapping per record, as validated by :func:`linkage.schema.validate_encoded`.

        Raises:
            EncodedValueError: a value cannot be decoded.
        """
        blooms: dict[str, U64] = {}
        tokens: dict[str, U64] = {}
        token_lists: dict[str, U64] = {}
        for spec in FIELDS:
            column = [row.get(spec.name) for row in rows]
            if spec.kind == "bloom":
                blooms[spec.name] = decode_bloom_column(column, spec.name)
            elif spec.kind == "token":
                tokens[spec.name] = decode_token_column(column, spec.name)
            else:
                token_lists[spec.name] = _decode_token_lists(column, spec.name)
        return cls(blooms=blooms, tokens=tokens, token_lists=token_lists)

    def as_arrays(self) -> dict[str, NDArray[np.uint64]]:
        """All columns by field name, for the caller to store (e.g. with ``numpy.savez``)."""
        return {**self.blooms, **self.tokens, **self.token_lists}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[np.uint64]]) -> RecordBatch:
        """Rebuild a batch from :meth:`as_arrays`; a field of the schema absent from ``arrays`` is all missing."""
        n = next((int(a.shape[0]) for a in arrays.values()), 0)
        blooms: dict[str, U64] = {}
        tokens: dict[str, U64] = {}
        token_lists: dict[str, U64] = {}
        for spec in FIELDS:
            given = arrays.get(spec.name)
            if spec.kind == "bloom":
                blooms[spec.name] = _as_u64(given, (n, BLOOM_WORDS), spec.name)
            elif spec.kind == "token":
                tokens[spec.name] = _as_u64(given, (n,), spec.name)
            else:
                token_lists[spec.name] = _as_u64(given, (n, MAX_TOKENS), spec.name)
        return cls(blooms=blooms, tokens=tokens, token_lists=token_lists)

    def take(self, rows: NDArray[np.intp] | NDArray[np.int64]) -> RecordBatch:
        """The records at ``rows``, in that order."""
        return RecordBatch(
            blooms={k: v[rows] for k, v in self.blooms.items()},
            tokens={k: v[rows] for k, v in self.tokens.items()},
            token_lists={k: v[rows] for k, v in self.token_lists.items()},
        )

    @staticmethod
    def concat(batches: Sequence[RecordBatch]) -> RecordBatch:
        """One batch holding the records of ``batches`` in order (e.g. the hub's known records and a new feed)."""
        first = batches[0]
        return RecordBatch(
            blooms={k: np.concatenate([b.blooms[k] for b in batches]) for k in first.blooms},
            tokens={k: np.concatenate([b.tokens[k] for b in batches]) for k in first.tokens},
            token_lists={k: np.concatenate([b.token_lists[k] for b in batches]) for k in first.token_lists},
        )


def _as_u64(given: NDArray[np.uint64] | None, shape: tuple[int, ...], field: str) -> U64:
    if given is None:
        return np.zeros(shape, dtype=np.uint64)
    if given.shape != shape:
        raise EncodedValueError(f"column {field!r} has shape {given.shape}, expected {shape}: store as_arrays() whole")
    return np.ascontiguousarray(given, dtype=np.uint64)


def batch_from_values(records: Sequence[Mapping[str, Any]]) -> RecordBatch:
    """A batch from plain values, for tests and worked examples: no encoding involved.

    A token field takes a positive ``int`` (its 63-bit value), a Bloom field an iterable of set bit positions, a
    token-list field a list of ints; an absent field is missing.

    Args:
        records: one mapping per record.
    """
    arrays: dict[str, U64] = {}
    n = len(records)
    for spec in FIELDS:
        if spec.kind == "bloom":
            bits = np.zeros((n, BLOOM_BITS), dtype=np.bool_)
            for row, record in enumerate(records):
                positions = record.get(spec.name)
                if positions is not None:
                    bits[row, list(positions)] = True
            packed = np.packbits(bits.reshape(n, BLOOM_WORDS, 64)[:, :, ::-1], axis=2, bitorder="big")
            arrays[spec.name] = packed.view(">u8").reshape(n, BLOOM_WORDS).astype(np.uint64)
        elif spec.kind == "token":
            values = [int(record.get(spec.name, 0)) for record in records]
            arrays[spec.name] = np.array(values, dtype=np.uint64) | np.where(np.array(values) > 0, _PRESENT_BIT, 0)
        else:
            column = np.zeros((n, MAX_TOKENS), dtype=np.uint64)
            for row, record in enumerate(records):
                for col, value in enumerate(record.get(spec.name, ())):
                    column[row, col] = np.uint64(int(value)) | _PRESENT_BIT
            arrays[spec.name] = column
    return RecordBatch.from_arrays(arrays)
