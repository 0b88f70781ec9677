"""Feed batches: how far a commit has applied each, so it applies a large batch in several short write transactions
and carries on after the last rows applied when interrupted (``aim.ingest.commit``).

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
    op.create_table(
        "batch_progress",
        sa.Column("batch_pk", sa.Integer(), nullable=False),
        sa.Column("applied_rows", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("replaced", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_pk"], ["feed_batches.pk"], name=op.f("fk_batch_progress_batch_pk_feed_batches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("batch_pk", name=op.f("pk_batch_progress")),
    )


def downgrade() -> None:
    op.drop_table("batch_progress")
