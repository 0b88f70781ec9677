"""Feed batches: how many of a batch's rows are applied, so a commit applies a large batch in several short write
transactions and carries on from the last one after a crash (``aim.ingest.commit``).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_batches") as table:
        table.add_column(sa.Column("applied_rows", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("feed_batches") as table:
        table.drop_column("applied_rows")
