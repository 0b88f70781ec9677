"""Record batches from encodings stored as raw bytes (as a hub keeps them), without a detour through base64.

The columns are exactly those :meth:`linkage.batch.RecordBatch.from_encoded` makes from the same encodings: a Bloom
filter's bytes viewed as 64-bit words in the order written; a token's first 8 bytes, big-endian, with the top bit set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from linkage.batch import BLOOM_WORDS, RecordBatch
from linkage.errors import EncodedValueError
from linkage.schema import BLOOM_BITS, FIELDS, MAX_TOKENS, TOKEN_BYTES

U64 = NDArray[np.uint64]


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
