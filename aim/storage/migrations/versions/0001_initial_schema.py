"""Initial schema: partners and credentials, feeds and batches, records and tokens, persons and links.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aim.storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("partner_type", sa.String(length=32), nullable=True),
        sa.Column("agreement_ref", sa.String(length=64), nullable=False),
        sa.Column("agreement_from", sa.Date(), nullable=False),
        sa.Column("agreement_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_partners")),
        sa.UniqueConstraint("code", name=op.f("uq_partners_code")),
    )
    op.create_table(
        "persons",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_persons")),
    )
    op.create_table(
        "feeds",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("partner_pk", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.String(length=128), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("rows_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_count", sa.Integer(), nullable=True),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("replaced", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("committed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["partner_pk"], ["partners.pk"], name=op.f("fk_feeds_partner_pk_partners")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_feeds")),
        sa.UniqueConstraint("partner_pk", "feed_id", name=op.f("uq_feeds_partner_pk_feed_id")),
    )
    op.create_table(
        "partner_keys",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("partner_pk", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["partner_pk"], ["partners.pk"], name=op.f("fk_partner_keys_partner_pk_partners")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_partner_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_partner_keys_key_id")),
    )
    op.create_index(op.f("ix_partner_keys_partner_pk"), "partner_keys", ["partner_pk"], unique=False)

    op.create_table(
        "partner_tokens",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("partner_pk", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["partner_pk"], ["partners.pk"], name=op.f("fk_partner_tokens_partner_pk_partners")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_partner_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_partner_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_partner_tokens_partner_pk"), "partner_tokens", ["partner_pk"], unique=False)

    op.create_table(
        "feed_batches",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("feed_pk", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("ends_with_newline", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("valid_rows", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("applied_at", UTCDateTime(), nullable=True),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("replaced", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_pk"], ["feeds.pk"], name=op.f("fk_feed_batches_feed_pk_feeds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_feed_batches")),
        sa.UniqueConstraint("feed_pk", "seq", name=op.f("uq_feed_batches_feed_pk_seq")),
    )
    op.create_table(
        "record_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("partner_pk", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column("feed_pk", sa.Integer(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["feed_pk"], ["feeds.pk"], name=op.f("fk_record_changes_feed_pk_feeds")),
        sa.ForeignKeyConstraint(["partner_pk"], ["partners.pk"], name=op.f("fk_record_changes_partner_pk_partners")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_record_changes")),
    )
    op.create_index(op.f("ix_record_changes_feed_pk"), "record_changes", ["feed_pk"], unique=False)

    op.create_table(
        "records",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("partner_pk", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("interaction_date", sa.Date(), nullable=False),
        sa.Column("lead_contact", sa.String(length=200), nullable=False),
        sa.Column("display", sa.Text(), nullable=True),
        sa.Column("bf_first", sa.LargeBinary(), nullable=True),
        sa.Column("bf_last", sa.LargeBinary(), nullable=True),
        sa.Column("bf_address", sa.LargeBinary(), nullable=True),
        sa.Column("feed_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["feed_pk"], ["feeds.pk"], name=op.f("fk_records_feed_pk_feeds")),
        sa.ForeignKeyConstraint(["partner_pk"], ["partners.pk"], name=op.f("fk_records_partner_pk_partners")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_records")),
        sa.UniqueConstraint("partner_pk", "record_id", name=op.f("uq_records_partner_pk_record_id")),
    )
    op.create_index(op.f("ix_records_interaction_date"), "records", ["interaction_date"], unique=False)

    op.create_table(
        "links",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_pk"], ["persons.pk"], name=op.f("fk_links_person_pk_persons"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["record_pk"], ["records.pk"], name=op.f("fk_links_record_pk_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_links")),
        sa.UniqueConstraint("record_pk", name=op.f("uq_links_record_pk")),
    )
    op.create_index(op.f("ix_links_person_pk"), "links", ["person_pk"], unique=False)

    op.create_table(
        "record_tokens",
        sa.Column("record_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("field", sa.String(length=24), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_pk"], ["records.pk"], name=op.f("fk_record_tokens_record_pk_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_pk", "field", "token", name=op.f("pk_record_tokens")),
    )
    op.create_index(op.f("ix_record_tokens_field_token"), "record_tokens", ["field", "token"], unique=False)

    op.create_table(
        "row_rejections",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_pk", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_pk"], ["feed_batches.pk"], name=op.f("fk_row_rejections_batch_pk_feed_batches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_row_rejections")),
    )
    op.create_index(op.f("ix_row_rejections_batch_pk"), "row_rejections", ["batch_pk"], unique=False)


def downgrade() -> None:
    op.drop_table("row_rejections")
    op.drop_table("record_tokens")
    op.drop_table("links")
    op.drop_table("records")
    op.drop_table("record_changes")
    op.drop_table("feed_batches")
    op.drop_table("partner_tokens")
    op.drop_table("partner_keys")
    op.drop_table("feeds")
    op.drop_table("persons")
    op.drop_table("partners")
