"""The search read model: each record's blocking keys, so a search finds its candidates by one index lookup per key.

Tables are declared on the shared :data:`aim.storage.tables.metadata`; :mod:`aim.storage.schema` imports this module.

    search_keys     one row per (blocking key, record): a 64-bit hash of the keyed tokens a blocking rule joins on
    search_tokens   one row per record: its token columns packed in one value (``linkage.stored.pack_tokens``), so
                    scoring a search's candidates reads one value per record, not one ``record_tokens`` row per token
    search_cursor   how far the read model has read ``record_changes``, and the blocking rules it was built for

A key is a hash of *encodings* (already keyed tokens), never of a plaintext value; packed tokens are the first 8
bytes of the record's own keyed tokens. Both tables are derived from one record and go with it
(``DERIVED_FROM_RECORD``): a corrected, deleted or purged record leaves nothing behind.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, LargeBinary, String, Table

from aim.storage.tables import DERIVED_FROM_RECORD, metadata
from aim.storage.types import BigKey, UTCDateTime

search_keys = Table(
    "search_keys",
    metadata,
    Column("key", BigInteger, primary_key=True),
    Column("record_pk", BigKey, ForeignKey("records.pk", ondelete="CASCADE"), primary_key=True),
    Index(None, "record_pk"),
)

search_tokens = Table(
    "search_tokens",
    metadata,
    Column("record_pk", BigKey, ForeignKey("records.pk", ondelete="CASCADE"), primary_key=True),
    Column("tokens", LargeBinary, nullable=False),
)

search_cursor = Table(
    "search_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_seq", BigKey, nullable=False),
    Column("blocking", String(64), nullable=False),  # sha-256 of the blocking rules and the packed-token layout
    Column("updated_at", UTCDateTime, nullable=False),
)

DERIVED_FROM_RECORD.extend([search_keys, search_tokens])

__all__ = ["metadata", "search_cursor", "search_keys", "search_tokens"]
