"""Record changes: on SQLite, numbered with AUTOINCREMENT, so a number is never given again. A purge deletes the
expired records' entries, the newest among them at times; SQLite's plain integer key then gave the next change the
highest number left, at or before the cursors of identity resolution and the search read model, which passed over
it for good. PostgreSQL's sequence never goes back: nothing to do there.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("record_changes", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("record_changes", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
            pass
