"""Record batches: base64 columns decode exactly, and the array form round-trips."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.batch import (
    BLOOM_WORDS,
    RecordBatch,
    batch_from_values,
    decode_bloom_column,
    decode_token_column,
)
from linkage.errors import EncodedValueError
from linkage.schema import BLOOM_BITS, FIELDS, TOKEN_BYTES

blooms = st.binary(min_size=BLOOM_BITS // 8, max_size=BLOOM_BITS // 8)
tokens = st.binary(min_size=TOKEN_BYTES, max_size=TOKEN_BYTES)


@given(st.lists(st.one_of(st.none(), blooms), min_size=1, max_size=20))
def test_bloom_columns_decode_to_the_bytes_that_were_encoded(raw: list[bytes | None]) -> None:
    column = [None if b is None else base64.b64encode(b).decode() for b in raw]
    decoded = decode_bloom_column(column)
    for row, value in enumerate(raw):
        expected = bytes(BLOOM_BITS // 8) if value is None else value
        assert decoded[row].tobytes() == expected


@given(st.lists(st.one_of(st.none(), tokens), min_size=1, max_size=20))
def test_tokens_keep_their_first_63_bits_and_missing_is_zero(raw: list[bytes | None]) -> None:
    column = [None if t is None else base64.urlsafe_b64encode(t).decode().rstrip("=") for t in raw]
    decoded = decode_token_column(column)
    for row, value in enumerate(raw):
        if value is None:
            assert decoded[row] == 0
        else:
            assert int(decoded[row]) == int.from_bytes(value[:8], "big") | (1 << 63)


@pytest.mark.parametrize(
    ("description", "value"),
    [
        ("too short", "abc"),
        ("not base64", "!" * 22),
        ("not a string", 12345),
    ],
)
def test_undecodable_tokens_are_refused(description: str, value: object) -> None:
    with pytest.raises(EncodedValueError, match="tk_dob"):
        decode_token_column([value], "tk_dob")


def test_from_encoded_gives_every_schema_field_a_column() -> None:
    token = base64.urlsafe_b64encode(bytes(range(16))).decode().rstrip("=")
    batch = RecordBatch.from_encoded([{"tk_dob": token, "tk_last_parts": [token, token]}, {}])
    assert len(batch) == 2
    assert set(batch.as_arrays()) == {spec.name for spec in FIELDS}
    assert batch.tokens["tk_dob"][1] == 0
    assert (batch.token_lists["tk_last_parts"][0, :2] != 0).all()
    assert batch.blooms["bf_first"].shape == (2, BLOOM_WORDS)


def test_arrays_round_trip_and_take_and_concat_keep_rows() -> None:
    batch = batch_from_values([{"tk_dob": 1, "bf_first": [3, 900]}, {"tk_dob": 2}, {}])
    again = RecordBatch.from_arrays(batch.as_arrays())
    for name, column in batch.as_arrays().items():
        np.testing.assert_array_equal(again.as_arrays()[name], column)
    both = RecordBatch.concat([batch, batch.take(np.array([1, 0]))])
    assert len(both) == 5
    assert both.tokens["tk_dob"][3] == batch.tokens["tk_dob"][1]


def test_from_arrays_refuses_a_column_of_the_wrong_shape() -> None:
    with pytest.raises(EncodedValueError, match="bf_first"):
        RecordBatch.from_arrays({"tk_dob": np.zeros(3, np.uint64), "bf_first": np.zeros((2, 3), np.uint64)})
