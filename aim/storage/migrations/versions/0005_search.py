"""Search read model: each record's blocking keys, and the cursor of the step that keeps them current.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aim.storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "search_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("record_pk", BIG, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_pk"], ["records.pk"], name=op.f("fk_search_keys_record_pk_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", "record_pk", name=op.f("pk_search_keys")),
    )
    op.create_index(op.f("ix_search_keys_record_pk"), "search_keys", ["record_pk"], unique=False)
    op.create_table(
        "search_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_seq", BIG, nullable=False),
        sa.Column("blocking", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_search_cursor")),
    )


def downgrade() -> None:
    op.drop_table("search_cursor")
    op.drop_index(op.f("ix_search_keys_record_pk"), table_name="search_keys")
    op.drop_table("search_keys")
