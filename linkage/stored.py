"""Record batches from encodings stored as raw bytes (as a hub keeps them), without a detour through base64.

The columns are exactly those :meth:`linkage.batch.RecordBatch.from_encoded` makes from the same encodings: a Bloom
filter's bytes viewed as 64-bit words in the order written; a token's first 8 bytes, big-endian, with the top bit set.

A record's token columns can also be kept packed, as one value of ``8 * TOKEN_WORDS`` bytes (:func:`pack_tokens`,
:func:`unpack_tokens`): every token field's 64-bit value in :data:`TOKEN_LAYOUT` order (a list field takes
``MAX_TOKENS`` words, 0 where there is no token), little-endian. A read model that reads many records' tokens at once
(a search's candidates) reads one value per record instead of one row per token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from linkage.batch import BLOOM_WORDS, RecordBatch
from linkage.errors import EncodedValueError
from linkage.schema import BLOOM_BITS, FIELDS, MAX_TOKENS, TOKEN_BYTES

U64 = NDArray[np.uint64]

# (field, words) of a packed record's token columns, in order; a change of the schema's token fields changes it
TOKEN_LAYOUT: tuple[tuple[str, int], ...] = tuple(
    (spec.name, 1 if spec.kind == "token" else MAX_TOKENS) for spec in FIELDS if spec.kind != "bloom"
)
TOKEN_WORDS = sum(words for _, words in TOKEN_LAYOUT)
_LISTS = frozenset(spec.name for spec in FIELDS if spec.kind == "tokens")


def token_head(token: bytes) -> int:
    """The 64-bit column value of one raw token (see :mod:`linkage.batch`)."""
    if len(token) != TOKEN_BYTES:
        raise EncodedValueError(f"a stored token must be {TOKEN_BYTES} bytes: the record store is damaged")
    return int.from_bytes(token[:8], "big") | (1 << 63)


def token_heads(tokens: Sequence[bytes | memoryview]) -> U64:
    """:func:`token_head` of many raw tokens at once.

    Raises:
        EncodedValueError: a token has the wrong length.
    """
    joined = b"".join(tokens)
    if len(joined) != TOKEN_BYTES * len(tokens) or any(len(t) != TOKEN_BYTES for t in tokens):
        raise EncodedValueError(f"a stored token must be {TOKEN_BYTES} bytes: the record store is damaged")
    heads = np.frombuffer(joined, dtype=">u8").reshape(len(tokens), TOKEN_BYTES // 8)[:, 0].astype(np.uint64)
    return heads | np.uint64(1 << 63)


def bloom_rows(values: Sequence[bytes | memoryview], field: str) -> U64:
    """Raw Bloom filters (none missing) as ``uint64 [n, BLOOM_WORDS]`` rows, exactly as :func:`batch_from_stored`.

    Raises:
        EncodedValueError: a filter has the wrong length.
    """
    n_bytes = BLOOM_BITS // 8
    if any(len(v) != n_bytes for v in values):
        raise EncodedValueError(f"stored Bloom filter {field!r} must be {n_bytes} bytes: the store is damaged")
    raw = np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(values), n_bytes)
    return raw.view(np.uint64).reshape(len(values), BLOOM_WORDS).copy()


def _bloom_column(values: Sequence[bytes | None], field: str) -> U64:
    if None not in values:
        return bloom_rows(values, field)  # type: ignore[arg-type]  # none missing: joined in one go
    n_bytes = BLOOM_BITS // 8
    raw = np.zeros((len(values), n_bytes), dtype=np.uint8)
    for row, value in enumerate(values):
        if value is None:
            continue
        if len(value) != n_bytes:
            raise EncodedValueError(f"stored Bloom filter {field!r} must be {n_bytes} bytes: the store is damaged")
        raw[row] = np.frombuffer(value, dtype=np.uint8)
    return raw.view(np.uint64).reshape(len(values), BLOOM_WORDS).copy()


def batch_from_stored(
    n: int,
    blooms: Mapping[str, Sequence[bytes | None]],
    tokens: Sequence[tuple[int, str, bytes]],
) -> RecordBatch:
    """A batch of ``n`` records from stored bytes.

    Args:
        n: the number of records (rows ``0 .. n-1``).
        blooms: Bloom field name to one raw filter (or ``None``) per row; a field absent is missing for every row.
        tokens: ``(row, field, raw token)`` triples; a ``tokens`` field (a list) may have several per row.

    Raises:
        EncodedValueError: a stored value has the wrong length.
    """
    bloom_cols: dict[str, U64] = {}
    token_cols: dict[str, U64] = {}
    list_cols: dict[str, U64] = {}
    for spec in FIELDS:
        if spec.kind == "bloom":
            given = blooms.get(spec.name)
            bloom_cols[spec.name] = (
                _bloom_column(given, spec.name) if given is not None else np.zeros((n, BLOOM_WORDS), np.uint64)
            )
        elif spec.kind == "token":
            token_cols[spec.name] = np.zeros(n, dtype=np.uint64)
        else:
            list_cols[spec.name] = np.zeros((n, MAX_TOKENS), dtype=np.uint64)
    filled = {name: np.zeros(n, dtype=np.int64) for name in list_cols}
    for row, name, token in tokens:
        head = np.uint64(token_head(token))
        if name in token_cols:
            token_cols[name][row] = head
        elif name in list_cols:
            slot = filled[name][row]
            if slot < MAX_TOKENS:
                list_cols[name][row, slot] = head
                filled[name][row] = slot + 1
    return RecordBatch(blooms=bloom_cols, tokens=token_cols, token_lists=list_cols)


def pack_tokens(batch: RecordBatch) -> list[bytes]:
    """Each record's token columns as one value (see the module's notes), in row order."""
    n = len(batch)
    packed = np.zeros((n, TOKEN_WORDS), dtype="<u8")
    at = 0
    for name, words in TOKEN_LAYOUT:
        packed[:, at : at + words] = batch.token_lists[name] if name in _LISTS else batch.tokens[name][:, None]
        at += words
    raw = packed.tobytes()
    size = 8 * TOKEN_WORDS
    return [raw[i : i + size] for i in range(0, n * size, size)]


def unpack_tokens(values: Sequence[bytes | memoryview]) -> tuple[dict[str, U64], dict[str, U64]]:
    """The token and token-list columns of records packed by :func:`pack_tokens`, one value per row.

    Raises:
        EncodedValueError: a value has the wrong length.
    """
    size = 8 * TOKEN_WORDS
    joined = b"".join(values)
    if len(joined) != size * len(values) or any(len(v) != size for v in values):
        raise EncodedValueError(f"packed tokens must be {size} bytes a record: the read model is damaged")
    packed = np.frombuffer(joined, dtype="<u8").reshape(len(values), TOKEN_WORDS).astype(np.uint64)
    tokens: dict[str, U64] = {}
    lists: dict[str, U64] = {}
    at = 0
    for name, words in TOKEN_LAYOUT:
        if name in _LISTS:
            lists[name] = packed[:, at : at + words].copy()
        else:
            tokens[name] = packed[:, at].copy()
        at += words
    return tokens, lists


def batch_from_packed(
    blooms: Mapping[str, Sequence[bytes | None]], tokens: Sequence[bytes | memoryview]
) -> RecordBatch:
    """A batch from each record's raw Bloom filters (or ``None``) and its packed tokens (:func:`pack_tokens`), one
    per row: the same columns as :func:`batch_from_stored` makes from the same record.

    Raises:
        EncodedValueError: a stored value has the wrong length.
    """
    n = len(tokens)
    bloom_cols = {
        spec.name: _bloom_column(blooms[spec.name], spec.name)
        if spec.name in blooms
        else np.zeros((n, BLOOM_WORDS), np.uint64)
        for spec in FIELDS
        if spec.kind == "bloom"
    }
    token_cols, list_cols = unpack_tokens(tokens)
    return RecordBatch(blooms=bloom_cols, tokens=token_cols, token_lists=list_cols)
