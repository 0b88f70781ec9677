"""Identity resolution: link history, merges and splits, review queue.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aim.storage.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("merged_into", _KEY, nullable=True))
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("weight", sa.Float(), nullable=True))
        batch.add_column(sa.Column("model_version", sa.String(length=64), nullable=True))
    op.create_table(
        "identity_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_seq", _KEY, nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_identity_cursor")),
    )
    op.create_table(
        "link_history",
        sa.Column("pk", _KEY, nullable=False),
        sa.Column("record_pk", _KEY, nullable=False),
        sa.Column("person_pk", _KEY, nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_pk"], ["persons.pk"], name=op.f("fk_link_history_person_pk_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_link_history")),
    )
    op.create_index(op.f("ix_link_history_person_pk"), "link_history", ["person_pk"], unique=False)
    op.create_index(op.f("ix_link_history_record_pk_ended_at"), "link_history", ["record_pk", "ended_at"], unique=False)
    op.create_table(
        "identity_events",
        sa.Column("pk", _KEY, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_pk", _KEY, nullable=False),
        sa.Column("other_person_pk", _KEY, nullable=False),
        sa.Column("record_pks", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("reverses_pk", _KEY, nullable=True),
        sa.Column("reversed_by_pk", _KEY, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_identity_events")),
    )
    op.create_index(op.f("ix_identity_events_person_pk"), "identity_events", ["person_pk"], unique=False)
    op.create_index(op.f("ix_identity_events_other_person_pk"), "identity_events", ["other_person_pk"], unique=False)
    op.create_table(
        "review_pairs",
        sa.Column("pk", _KEY, nullable=False),
        sa.Column("record_a_pk", _KEY, nullable=False),
        sa.Column("record_b_pk", _KEY, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("levels", sa.Text(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_a_pk"], ["records.pk"], name=op.f("fk_review_pairs_record_a_pk_records"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["record_b_pk"], ["records.pk"], name=op.f("fk_review_pairs_record_b_pk_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_review_pairs")),
        sa.UniqueConstraint("record_a_pk", "record_b_pk", name=op.f("uq_review_pairs_record_a_pk_record_b_pk")),
    )
    op.create_index(op.f("ix_review_pairs_record_b_pk"), "review_pairs", ["record_b_pk"], unique=False)
    op.create_index(op.f("ix_review_pairs_status"), "review_pairs", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("review_pairs")
    op.drop_table("identity_events")
    op.drop_table("link_history")
    op.drop_table("identity_cursor")
    with op.batch_alter_table("links") as batch:
        batch.drop_column("model_version")
        batch.drop_column("weight")
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("merged_into")
