"""Search read model: each record's token columns packed in one value, so a search reads one row per candidate.

Existing hubs fill it on the next search: the read model's fingerprint now covers the packed layout, so the first
search after this migration files every record again (``aim.search.index``).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "search_tokens",
        sa.Column("record_pk", BIG, nullable=False),
        sa.Column("tokens", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_pk"], ["records.pk"], name=op.f("fk_search_tokens_record_pk_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_pk", name=op.f("pk_search_tokens")),
    )


def downgrade() -> None:
    op.drop_table("search_tokens")
