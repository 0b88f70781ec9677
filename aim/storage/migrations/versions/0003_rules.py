"""Event recognition: rules, alerts and evidence, watch list, notifications.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aim.storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rule_versions",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_rule_versions")),
        sa.UniqueConstraint("rule_id", "version", name=op.f("uq_rule_versions_rule_id_version")),
    )
    _alerts()
    _watchlist()
    op.create_index("ix_records_window", "records", ["interaction_date", "partner_pk", "flag", "pk"], unique=False)
    op.create_index("ix_links_record_person", "links", ["record_pk", "person_pk"], unique=False)


def _alerts() -> None:
    op.create_table(
        "alerts",
        sa.Column("pk", BIG, nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("person_pk", BIG, nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("distinct_by", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("seen", sa.Text(), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("outcome_note", sa.String(length=1000), nullable=True),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_pk"], ["persons.pk"], name=op.f("fk_alerts_person_pk_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_alerts")),
        sa.UniqueConstraint(
            "rule_id", "mode", "person_pk", "window_start", name=op.f("uq_alerts_rule_id_mode_person_pk_window_start")
        ),
    )
    op.create_index(op.f("ix_alerts_person_pk"), "alerts", ["person_pk"], unique=False)
    op.create_index(op.f("ix_alerts_status"), "alerts", ["status"], unique=False)
    op.create_table(
        "alert_evidence",
        sa.Column("alert_pk", BIG, nullable=False),
        sa.Column("record_pk", BIG, nullable=False),
        sa.Column("partner_code", sa.String(length=32), nullable=False),
        sa.Column("partner_type", sa.String(length=32), nullable=True),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("interaction_date", sa.Date(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_pk"], ["alerts.pk"], name=op.f("fk_alert_evidence_alert_pk_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["record_pk"], ["records.pk"], name=op.f("fk_alert_evidence_record_pk_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alert_pk", "record_pk", name=op.f("pk_alert_evidence")),
    )
    op.create_index(op.f("ix_alert_evidence_record_pk"), "alert_evidence", ["record_pk"], unique=False)
    op.create_table(
        "alert_events",
        sa.Column("pk", BIG, nullable=False),
        sa.Column("alert_pk", BIG, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_pk"], ["alerts.pk"], name=op.f("fk_alert_events_alert_pk_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_alert_events")),
    )
    op.create_index(op.f("ix_alert_events_alert_pk"), "alert_events", ["alert_pk"], unique=False)


def _watchlist() -> None:
    op.create_table(
        "watchlist",
        sa.Column("pk", BIG, nullable=False),
        sa.Column("person_pk", BIG, nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("renewed_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.Column("alert_pk", BIG, nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_pk"], ["alerts.pk"], name=op.f("fk_watchlist_alert_pk_alerts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["person_pk"], ["persons.pk"], name=op.f("fk_watchlist_person_pk_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_watchlist")),
    )
    op.create_index(op.f("ix_watchlist_person_pk"), "watchlist", ["person_pk"], unique=False)
    op.create_index(op.f("ix_watchlist_team"), "watchlist", ["team"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("pk", BIG, nullable=False),
        sa.Column("watch_pk", BIG, nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("person_pk", BIG, nullable=False),
        sa.Column("record_pk", BIG, nullable=False),
        sa.Column("partner_code", sa.String(length=32), nullable=False),
        sa.Column("interaction_date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_pk"], ["records.pk"], name=op.f("fk_notifications_record_pk_records"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["watch_pk"], ["watchlist.pk"], name=op.f("fk_notifications_watch_pk_watchlist"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_notifications")),
        sa.UniqueConstraint("watch_pk", "record_pk", name=op.f("uq_notifications_watch_pk_record_pk")),
    )
    op.create_index(op.f("ix_notifications_record_pk"), "notifications", ["record_pk"], unique=False)
    op.create_index(op.f("ix_notifications_team"), "notifications", ["team"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_links_record_person", table_name="links")
    op.drop_index("ix_records_window", table_name="records")
    for table in ("notifications", "watchlist", "alert_events", "alert_evidence", "alerts", "rule_versions"):
        op.drop_table(table)
