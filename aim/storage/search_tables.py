"""The search read model: each record's blocking keys, so a search finds its candidates by one index lookup per key.

Tables are declared on the shared :data:`aim.storage.tables.metadata`; :mod:`aim.storage.schema` imports this module.

    search_keys     one row per (blocking key, record): a 64-bit hash of the keyed tokens a blocking rule joins on
    search_cursor   how far the read model has read ``record_changes``, and the blocking rules it was built for

A key is a hash of *encodings* (already keyed tokens), never of a plaintext value. ``search_keys`` is derived from
one record and goes with it (``DERIVED_FROM_RECORD``): a corrected, deleted or purged record leaves no key behind.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table

from aim.storage.tables import DERIVED_FROM_RECORD, metadata
from aim.storage.types import BigKey, UTCDateTime

search_keys = Table(
    "search_keys",
    metadata,
    Column("key", BigInteger, primary_key=True),
    Column("record_pk", BigKey, ForeignKey("records.pk", ondelete="CASCADE"), primary_key=True),
    Index(None, "record_pk"),
)

search_cursor = Table(
    "search_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_seq", BigKey, nullable=False),
    Column("blocking", String(64), nullable=False),  # sha-256 of the blocking rules the keys were made with
    Column("updated_at", UTCDateTime, nullable=False),
)

DERIVED_FROM_RECORD.append(search_keys)

__all__ = ["metadata", "search_cursor", "search_keys"]
