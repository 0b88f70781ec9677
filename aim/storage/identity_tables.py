"""Persistent identities: persons' history, link events (merges and splits), the data steward's review queue.

Tables are declared on the shared :data:`aim.storage.tables.metadata`; :mod:`aim.storage.schema` imports every
table module so the metadata is complete.

    identity_cursor     how far identity resolution has read ``record_changes`` (one row per resolver)
    link_history        every assignment of a record to a person, open while the record is linked there
    identity_events     merges, splits and their reversals, with the records moved
    review_pairs        candidate pairs for the data steward, and the steward's decisions (accepted, rejected)
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from aim.storage.tables import metadata
from aim.storage.types import BigKey, UTCDateTime

identity_cursor = Table(
    "identity_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_seq", BigKey, nullable=False),
    Column("model_version", String(64), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

link_history = Table(
    "link_history",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("record_pk", BigKey, nullable=False),  # no foreign key: the history outlives a deleted record
    Column("person_pk", BigKey, ForeignKey("persons.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("method", String(32), nullable=False),
    Column("weight", Float, nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("end_reason", String(32), nullable=True),  # changed | deleted | merged | split | retrained
    Index(None, "record_pk", "ended_at"),
)

identity_events = Table(
    "identity_events",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("kind", String(16), nullable=False),  # merge | split
    Column("person_pk", BigKey, nullable=False, index=True),  # merge: the survivor; split: the person split
    Column("other_person_pk", BigKey, nullable=False, index=True),  # merge: the absorbed; split: the new or restored
    Column("record_pks", Text, nullable=False),  # JSON list: the records that moved
    Column("reason", String(200), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("model_version", String(64), nullable=True),
    Column("reverses_pk", BigKey, nullable=True),
    Column("reversed_by_pk", BigKey, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

review_pairs = Table(
    "review_pairs",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("record_a_pk", BigKey, ForeignKey("records.pk", ondelete="CASCADE"), nullable=False),
    Column("record_b_pk", BigKey, ForeignKey("records.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),  # pending | accepted | rejected | superseded
    Column("source", String(16), nullable=False),  # model | split
    Column("levels", Text, nullable=True),  # JSON [[comparison label, level label], ...]
    Column("weight", Float, nullable=True),  # never leaves the hub; bands are derived from it
    Column("model_version", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decided_by", String(100), nullable=True),
    Column("note", String(500), nullable=True),
    Column("attempts", Integer, nullable=False, default=1),
    UniqueConstraint("record_a_pk", "record_b_pk"),
)

__all__ = ["identity_cursor", "identity_events", "link_history", "metadata", "review_pairs"]
