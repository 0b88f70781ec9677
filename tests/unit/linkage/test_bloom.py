"""Bloom-filter encodings: properties that must hold for any text and any key (Hypothesis), and Dice itself."""

from __future__ import annotations

import base64

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.bloom import BloomEncoder, BloomParams, decode_blooms, dice, dice_many, qgrams
from linkage.schema import BLOOM_BITS, validate_encoded

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=14)
KEYS = st.binary(min_size=32, max_size=32)


def _encoder(key: bytes) -> BloomEncoder:
    return BloomEncoder(key, key[::-1])


def test_qgrams_are_padded() -> None:
    assert qgrams("ann", 2) == ["_a", "an", "nn", "n_"]
    assert qgrams("ann", 3) == ["__a", "_an", "ann", "nn_", "n__"]
    assert qgrams("", 2) == []


def test_encoding_has_the_schema_shape() -> None:
    value = _encoder(KEY_A).encode("smith")
    assert len(base64.b64decode(value)) == BLOOM_BITS // 8
    assert validate_encoded({"bf_last": value}) == []


@settings(max_examples=30)
@given(name=NAMES, key=KEYS)
def test_deterministic_for_a_key(name: str, key: bytes) -> None:
    assert _encoder(key).encode(name) == _encoder(key).encode(name)


@settings(max_examples=30)
@given(name=NAMES)
def test_different_across_keys(name: str) -> None:
    a, b = _encoder(KEY_A).encode(name), _encoder(KEY_B).encode(name)
    assert a != b
    # Under another key the same name looks like an unrelated one, not like itself.
    assert dice(a, b) < 0.6


@settings(max_examples=40)
@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=6, max_size=14), data=st.data())
def test_one_typo_lowers_similarity_only_a_little(name: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(name) - 1))
    letter = data.draw(st.sampled_from([c for c in "abcdefghijklmnopqrstuvwxyz" if c != name[position]]))
    typo = name[:position] + letter + name[position + 1 :]
    encoder = _encoder(KEY_A)
    same = dice(encoder.encode(name), encoder.encode(typo))
    unrelated = dice(encoder.encode(name), encoder.encode("q" * len(name)))
    assert same >= 0.45
    assert same > unrelated


@settings(max_examples=30)
@given(a=NAMES, b=NAMES)
def test_dice_is_symmetric_and_bounded(a: str, b: str) -> None:
    encoder = _encoder(KEY_A)
    ea, eb = encoder.encode(a), encoder.encode(b)
    assert dice(ea, eb) == dice(eb, ea)
    assert 0.0 <= dice(ea, eb) <= 1.0
    assert dice(ea, ea) == 1.0


def test_dice_many_agrees_with_dice_pair_by_pair() -> None:
    encoder = _encoder(KEY_A)
    left = encoder.encode_many(["smith", "jones", "taylor", "brown"])
    right = encoder.encode_many(["smyth", "jones", "tailor", "green"])
    vectorised = dice_many(decode_blooms(left), decode_blooms(right))
    assert np.allclose(vectorised, [dice(a, b) for a, b in zip(left, right, strict=True)])
    assert vectorised[1] == 1.0


def test_empty_filters_have_dice_zero() -> None:
    empty = np.zeros((1, BLOOM_BITS // 64), dtype=np.uint64)
    assert dice_many(empty, empty)[0] == 0.0


def test_without_diffusion_the_filter_is_the_union_of_gram_masks() -> None:
    plain = BloomEncoder(KEY_A, KEY_B, BloomParams(t=0))
    raw = plain.raw_filter("ann")
    assert raw.bit_count() <= 4 * plain.params.k
    assert raw == plain.raw_filter("ann") | plain.raw_filter("an")


def test_diffusion_spreads_bits() -> None:
    diffused = BloomEncoder(KEY_A, KEY_B, BloomParams(t=3))
    plain = BloomEncoder(KEY_A, KEY_B, BloomParams(t=0))
    ones = lambda v: int(np.bitwise_count(decode_blooms([v])).sum())  # noqa: E731
    assert ones(diffused.encode("catherine")) > ones(plain.encode("catherine"))
