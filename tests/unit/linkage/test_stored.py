"""Packed token columns: a batch's tokens packed one value per record unpack to exactly the same columns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.batch import BLOOM_WORDS, RecordBatch
from linkage.errors import EncodedValueError
from linkage.schema import FIELDS, MAX_TOKENS
from linkage.stored import TOKEN_LAYOUT, TOKEN_WORDS, pack_tokens, unpack_tokens

heads = st.one_of(st.just(0), st.integers(min_value=1 << 63, max_value=(1 << 64) - 1))


@st.composite
def batches(draw: st.DrawFn) -> RecordBatch:
    n = draw(st.integers(min_value=0, max_value=8))
    column = st.lists(heads, min_size=n, max_size=n)
    tokens = {s.name: np.array(draw(column), dtype=np.uint64) for s in FIELDS if s.kind == "token"}
    lists = {
        s.name: np.array(
            draw(st.lists(st.lists(heads, min_size=MAX_TOKENS, max_size=MAX_TOKENS), min_size=n, max_size=n)),
            dtype=np.uint64,
        ).reshape(n, MAX_TOKENS)
        for s in FIELDS
        if s.kind == "tokens"
    }
    blooms = {s.name: np.zeros((n, BLOOM_WORDS), dtype=np.uint64) for s in FIELDS if s.kind == "bloom"}
    return RecordBatch(blooms=blooms, tokens=tokens, token_lists=lists)


@settings(max_examples=50)
@given(batches())
def test_packed_tokens_unpack_to_the_same_columns(batch: RecordBatch) -> None:
    packed = pack_tokens(batch)
    assert len(packed) == len(batch)
    assert all(len(value) == 8 * TOKEN_WORDS for value in packed)
    tokens, lists = unpack_tokens(packed)
    assert tokens.keys() == batch.tokens.keys()
    assert lists.keys() == batch.token_lists.keys()
    for name, column in batch.tokens.items():
        assert np.array_equal(tokens[name], column)
        assert tokens[name].dtype == np.uint64
    for name, column in batch.token_lists.items():
        assert np.array_equal(lists[name], column)


def test_the_layout_covers_every_token_field_once() -> None:
    assert [name for name, _ in TOKEN_LAYOUT] == [s.name for s in FIELDS if s.kind != "bloom"]
    assert sum(1 if s.kind == "token" else MAX_TOKENS for s in FIELDS if s.kind != "bloom") == TOKEN_WORDS


def test_a_value_of_the_wrong_length_is_refused_as_damage() -> None:
    with pytest.raises(EncodedValueError, match=f"{8 * TOKEN_WORDS} bytes a record"):
        unpack_tokens([bytes(8 * TOKEN_WORDS), bytes(8)])
