"""Governance: staff users, audit log and checkpoints, break-glass grants, purges.

The audit log and its checkpoints are append-only in the database itself: triggers refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL), so tampering needs the schema owner to drop them first, and the hash chain catches it then.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aim.storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_log", "audit_checkpoints")
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _staff()
    _audit()
    _break_glass()
    _append_only()


def _staff() -> None:
    op.create_table(
        "staff_users",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=32), nullable=True),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("user_id", name=op.f("uq_staff_users_user_id")),
    )
    op.create_table(
        "staff_tokens",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_pk"], ["staff_users.pk"], name=op.f("fk_staff_tokens_user_pk_staff_users")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_staff_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_staff_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_staff_tokens_user_pk"), "staff_tokens", ["user_pk"], unique=False)


def _audit() -> None:
    op.create_table(
        "audit_log",
        sa.Column("sequence", BIG, autoincrement=False, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("organisation", sa.String(length=32), nullable=True),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("case_reference", sa.String(length=128), nullable=True),
        sa.Column("target", sa.String(length=160), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("break_glass_grant", sa.String(length=32), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_log_entry_hash")),
    )
    for column in ("action", "actor", "occurred_at", "target"):
        op.create_index(op.f(f"ix_audit_log_{column}"), "audit_log", [column], unique=False)
    op.create_table(
        "audit_checkpoints",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("sequence", BIG, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.String(length=40), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_audit_checkpoints")),
    )


def _break_glass() -> None:
    op.create_table(
        "restricted_persons",
        sa.Column("person_pk", BIG, nullable=False),
        sa.Column("marked_by", sa.String(length=64), nullable=False),
        sa.Column("marked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_pk"], ["persons.pk"], name=op.f("fk_restricted_persons_person_pk_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_pk", name=op.f("pk_restricted_persons")),
    )
    op.create_table(
        "break_glass_grants",
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("case_reference", sa.String(length=128), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_break_glass_grants")),
    )
    op.create_index(op.f("ix_break_glass_grants_user_id"), "break_glass_grants", ["user_id"], unique=False)
    op.create_table(
        "break_glass_uses",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.String(length=32), nullable=False),
        sa.Column("audit_sequence", BIG, nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["break_glass_grants.grant_id"],
            name=op.f("fk_break_glass_uses_grant_id_break_glass_grants"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_break_glass_uses")),
    )
    op.create_index(op.f("ix_break_glass_uses_grant_id"), "break_glass_uses", ["grant_id"], unique=False)
    op.create_index(op.f("ix_break_glass_uses_reviewed_at"), "break_glass_uses", ["reviewed_at"], unique=False)


def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION aim_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only: audit entries are never changed or removed', TG_TABLE_NAME; "
            "END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION aim_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION aim_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, '{table} is append-only: audit entries are never changed or removed'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            # DDL names its tables from the APPEND_ONLY constant: identifiers cannot be bound parameters.
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")  # nosemgrep
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")  # nosemgrep
        op.execute("DROP FUNCTION IF EXISTS aim_append_only()")
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                # Identifiers from constants (APPEND_ONLY, the two verbs), not values: nothing to bind.
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")  # nosemgrep
    op.drop_index(op.f("ix_break_glass_uses_reviewed_at"), table_name="break_glass_uses")
    op.drop_index(op.f("ix_break_glass_uses_grant_id"), table_name="break_glass_uses")
    op.drop_table("break_glass_uses")
    op.drop_index(op.f("ix_break_glass_grants_user_id"), table_name="break_glass_grants")
    op.drop_table("break_glass_grants")
    op.drop_table("restricted_persons")
    op.drop_table("audit_checkpoints")
    for column in ("target", "occurred_at", "actor", "action"):
        op.drop_index(op.f(f"ix_audit_log_{column}"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_staff_tokens_user_pk"), table_name="staff_tokens")
    op.drop_table("staff_tokens")
    op.drop_table("staff_users")
