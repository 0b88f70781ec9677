"""The hub's tables (SQLAlchemy Core). The migrations in ``migrations/versions`` create exactly these; a test
compares the migrated schema with this metadata on SQLite and PostgreSQL.

Groups:
    partners, partner_tokens, partner_keys      who may push, under which agreement, with which credentials
    feeds, feed_batches, row_rejections         what was pushed: manifests, raw batches until applied, receipts
    batch_progress                              how far a commit has applied a batch
    records, record_tokens                      the current encoded rows, one per (partner, record_id)
    record_changes                              an outbox of every applied change, read by the linkage step
    persons, links                              identity clusters (filled by linkage)
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from aim.storage.types import BigKey, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

partners = Table(
    "partners",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("partner_type", String(32), nullable=True),
    Column("agreement_ref", String(64), nullable=False),
    Column("agreement_from", Date, nullable=False),
    Column("agreement_until", Date, nullable=False),
    Column("status", String(16), nullable=False),  # active | suspended
    Column("status_reason", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

partner_tokens = Table(
    "partner_tokens",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("partner_pk", Integer, ForeignKey("partners.pk"), nullable=False, index=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

partner_keys = Table(
    "partner_keys",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("partner_pk", Integer, ForeignKey("partners.pk"), nullable=False, index=True),
    Column("key_id", String(64), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=False),  # raw 32-byte Ed25519 public key
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

feeds = Table(
    "feeds",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("partner_pk", Integer, ForeignKey("partners.pk"), nullable=False),
    Column("feed_id", String(128), nullable=False),
    Column("manifest", Text, nullable=False),  # canonical JSON
    Column("manifest_sha256", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("rows_sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # open | applying | committed
    Column("batch_count", Integer, nullable=True),
    Column("accepted", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("inserted", Integer, nullable=False, default=0),
    Column("replaced", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("committed_at", UTCDateTime, nullable=True),
    UniqueConstraint("partner_pk", "feed_id"),
)

feed_batches = Table(
    "feed_batches",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("feed_pk", Integer, ForeignKey("feeds.pk", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("body", LargeBinary, nullable=True),  # kept until the batch is applied, for the feed checksum
    Column("size_bytes", Integer, nullable=False),
    Column("ends_with_newline", Integer, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("valid_rows", Integer, nullable=False),
    Column("received_on", Date, nullable=False),  # the "today" the rows were validated against
    Column("received_at", UTCDateTime, nullable=False),
    Column("applied_at", UTCDateTime, nullable=True),
    Column("inserted", Integer, nullable=False, default=0),
    Column("replaced", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    UniqueConstraint("feed_pk", "seq"),
)

# How far the commit has applied a batch, in several transactions (aim.ingest.commit): its valid rows applied so far
# and their counts, until the batch is wholly applied. A table of its own: an update of the batch's row rewrites its
# raw bytes with it (SQLite), a megabyte for each transaction of a hundred rows.
batch_progress = Table(
    "batch_progress",
    metadata,
    Column("batch_pk", Integer, ForeignKey("feed_batches.pk", ondelete="CASCADE"), primary_key=True),
    Column("applied_rows", Integer, nullable=False),
    Column("inserted", Integer, nullable=False),
    Column("replaced", Integer, nullable=False),
    Column("deleted", Integer, nullable=False),
)

row_rejections = Table(
    "row_rejections",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("batch_pk", Integer, ForeignKey("feed_batches.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),  # 1-based row number within the batch
    Column("record_id", String(64), nullable=True),
    Column("reasons", Text, nullable=False),  # JSON list of strings
    Column("stage", String(16), nullable=False),  # validate | apply
)

records = Table(
    "records",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("partner_pk", Integer, ForeignKey("partners.pk"), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("flag", String(32), nullable=False),
    Column("interaction_date", Date, nullable=False, index=True),
    Column("lead_contact", String(200), nullable=False),
    Column("display", Text, nullable=True),
    Column("bf_first", LargeBinary, nullable=True),
    Column("bf_last", LargeBinary, nullable=True),
    Column("bf_address", LargeBinary, nullable=True),
    Column("feed_pk", Integer, ForeignKey("feeds.pk"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("partner_pk", "record_id"),
)

record_tokens = Table(
    "record_tokens",
    metadata,
    Column("record_pk", BigKey, ForeignKey("records.pk", ondelete="CASCADE"), primary_key=True),
    Column("field", String(24), primary_key=True),
    Column("token", LargeBinary, primary_key=True),  # 16 raw bytes
    Index(None, "field", "token"),
)

record_changes = Table(
    "record_changes",
    metadata,
    Column("seq", BigKey, primary_key=True),
    Column("partner_pk", Integer, ForeignKey("partners.pk"), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("record_pk", BigKey, nullable=True),  # no foreign key: a delete's record is gone
    Column("change", String(8), nullable=False),  # upsert | delete
    Column("feed_pk", Integer, ForeignKey("feeds.pk"), nullable=False, index=True),
    Column("changed_at", UTCDateTime, nullable=False),
    # Never numbered again after a purge deleted the newest entries (SQLite would reuse the highest number left, at
    # or before the readers' cursors); PostgreSQL's sequence never goes back.
    sqlite_autoincrement=True,
)

persons = Table(
    "persons",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("merged_into", BigKey, nullable=True),  # set when merged into an older person; cleared on a split back
)

links = Table(
    "links",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("person_pk", BigKey, ForeignKey("persons.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("record_pk", BigKey, ForeignKey("records.pk", ondelete="CASCADE"), nullable=False, unique=True),
    Column("method", String(32), nullable=False),
    Column("confidence", Float, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("weight", Float, nullable=True),  # the match weight that made the link (never shown on a screen)
    Column("model_version", String(64), nullable=True),
)

# Tables whose rows are derived from one record (by ``record_pk``) and must go when it changes or is deleted.
# A later table derived from records (alert evidence, ...) adds itself here and uses ON DELETE CASCADE.
DERIVED_FROM_RECORD: list[Table] = [record_tokens, links]  # table modules append theirs on import
