"""Blocking keys for the search read model: what a record is filed under, and what a query looks up.

A blocking rule pairs two records when they hold equal keyed tokens in its fields (:mod:`linkage.blocking`). The
hub files every record under one 64-bit key per rule *side*: a hash of the names of the fields and of the record's
tokens in them (plus a MinHash band for a Bloom rule). A query then computes, for each rule, the key a matching
record would be filed under and finds the candidates with one index lookup per key, whatever the size of the hub.

A cross rule (``on=tk_dob``, ``other=tk_dob_swap``) pairs one record's ``on`` fields with the other's ``other``
fields, in both directions; the two fields share a token key, so their values compare. Rules that join on the same
fields (``dob`` and one side of ``dob_swapped``) share their keys, so a record is filed once per distinct field set.
Keys are hashes of encodings, never of plaintext; a hash collision only adds a candidate, which scoring drops.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from linkage.batch import BLOOM_WORDS, RecordBatch
from linkage.blocking import BlockingRule, minhash_bins
from linkage.stored import TOKEN_LAYOUT

U64 = NDArray[np.uint64]
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Filing:
    """One way records are filed: the token fields joined on, and the Bloom field and band width of an LSH rule."""

    fields: tuple[str, ...]
    bloom: str | None = None
    band_words: int = 4


@dataclass(frozen=True)
class Lookup:
    """How a query finds what one rule side pairs it with: its tokens in ``query_fields``, filed as ``filing``."""

    query_fields: tuple[str, ...]
    filing: Filing


def _mix(h: U64, value: U64) -> U64:
    x = (h ^ value) * _MIX  # wraps modulo 2**64 by design
    x ^= x >> np.uint64(31)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(29)
    return x


def _seed(filing: Filing) -> np.uint64:
    text = json.dumps([filing.fields, filing.bloom, filing.band_words if filing.bloom else 0])
    return np.uint64(int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big"))


def lookups(rules: Sequence[BlockingRule]) -> list[Lookup]:
    """Every (query fields, filing) pair the rules need, without repeats."""
    out: dict[Lookup, None] = {}
    for rule in rules:
        sides = [(rule.on, rule.other or rule.on)] + ([(rule.other, rule.on)] if rule.other else [])
        for query_fields, record_fields in sides:
            out[Lookup(query_fields, Filing(record_fields, rule.bloom, rule.band_words))] = None
    return list(out)


def filings(rules: Sequence[BlockingRule]) -> list[Filing]:
    """The distinct ways records are filed under ``rules``."""
    return list(dict.fromkeys(lookup.filing for lookup in lookups(rules)))


def signature(rules: Sequence[BlockingRule]) -> str:
    """A fingerprint of the filings and of the packed-token layout: when it changes (a retrained model, a new token
    field), every record is filed again."""
    text = json.dumps([[[f.fields, f.bloom, f.band_words] for f in filings(rules)], TOKEN_LAYOUT])
    return hashlib.sha256(text.encode()).hexdigest()


def _keys(batch: RecordBatch, filing: Filing, fields: tuple[str, ...]) -> tuple[U64, NDArray[np.bool_]]:
    """Each record's keys under ``filing`` with its tokens taken from ``fields`` (``[n, bands]``), and validity."""
    n = len(batch)
    base = np.full(n, _seed(filing), dtype=np.uint64)
    valid = np.ones(n, dtype=np.bool_)
    for name in fields:
        column = batch.tokens[name]
        valid &= column != 0
        base = _mix(base, column)
    if filing.bloom is None:
        return base[:, None], valid
    filters = batch.blooms[filing.bloom]
    valid &= filters.any(axis=1)
    bins = minhash_bins(filters)
    bands = []
    for band, start in enumerate(range(0, BLOOM_WORDS, filing.band_words)):
        key = _mix(base, np.full(n, np.uint64(band), dtype=np.uint64))
        for col in range(start, start + filing.band_words):
            key = _mix(key, bins[:, col].astype(np.uint64))
        bands.append(key)
    return np.stack(bands, axis=1), valid


def record_keys(batch: RecordBatch, rules: Sequence[BlockingRule]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The keys the records of ``batch`` are filed under: ``(row, key)`` pairs, unique, keys as signed 64-bit."""
    rows_out, keys_out = [], []
    for filing in filings(rules):
        keys, valid = _keys(batch, filing, filing.fields)
        rows = np.flatnonzero(valid)
        kept = keys[valid]
        rows_out.append(np.repeat(rows, kept.shape[1]))
        keys_out.append(kept.reshape(-1))
    if not rows_out:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rows_all = np.concatenate(rows_out).astype(np.int64)
    keys_all = np.concatenate(keys_out).view(np.int64)
    pairs = np.unique(np.stack([rows_all, keys_all], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def query_keys(query: RecordBatch, rules: Sequence[BlockingRule]) -> list[int]:
    """The keys to look up for a one-record ``query``: where the records its rules pair it with are filed."""
    return lookup_keys(query, rules)


def lookup_keys(batch: RecordBatch, rules: Sequence[BlockingRule]) -> list[int]:
    """The keys to look up for every record of ``batch``, without repeats: where the records its rules pair any of
    them with are filed."""
    found: dict[int, None] = {}
    for lookup in lookups(rules):
        keys, valid = _keys(batch, lookup.filing, lookup.query_fields)
        found.update(dict.fromkeys(keys[valid].reshape(-1).view(np.int64).tolist()))
    return list(found)
