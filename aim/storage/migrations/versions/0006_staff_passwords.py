"""Staff passwords: each user's argon2id password hash and the lock-out state of signing in at the hub.

A table of its own rather than columns on ``staff_users``, so the secret material is read only where a password is
checked or set, and no existing table is altered (nothing to rebuild on SQLite).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aim.storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_passwords",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", UTCDateTime(), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_pk"], ["staff_users.pk"], name=op.f("fk_staff_passwords_user_pk_staff_users")),
        sa.PrimaryKeyConstraint("user_pk", name=op.f("pk_staff_passwords")),
    )


def downgrade() -> None:
    op.drop_table("staff_passwords")
