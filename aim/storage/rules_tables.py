"""Event recognition: rule versions, runs, alerts with their evidence, the watch list and notifications.

Tables are declared on the shared :data:`aim.storage.tables.metadata`; :mod:`aim.storage.schema` imports every
table module so the metadata is complete.

    rule_versions       every rule version the hub has evaluated, with its definition (what an alert's version means)
    alerts              one row per (rule, mode, person, episode); ``mode`` keeps shadow alerts apart from live ones
    alert_evidence      the interactions behind an alert, as they stood when they were added (derived from records)
    alert_events        the alert's history: raised, evidence added, re-opened, acknowledged, ..., withdrawn
    watchlist           watched persons with reason, owning team and review date
    notifications       new activity on a watched person, for the owning team (no personal data in the text)
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from aim.storage.tables import DERIVED_FROM_RECORD, links, metadata, records
from aim.storage.types import BigKey, UTCDateTime

__all__ = [
    "alert_events",
    "alert_evidence",
    "alerts",
    "metadata",
    "notifications",
    "rule_versions",
    "watchlist",
]

rule_versions = Table(
    "rule_versions",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("rule_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # draft | shadow | active | retired, as last seen
    Column("definition", Text, nullable=False),  # canonical JSON of the rule
    Column("sha256", String(64), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("rule_id", "version"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("rule_id", String(64), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("action", String(24), nullable=False),  # alert | watchlist_suggestion
    Column("mode", String(8), nullable=False),  # live | shadow
    Column("person_pk", BigKey, ForeignKey("persons.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("severity", String(16), nullable=False),
    Column("queue", String(64), nullable=False),
    Column("distinct_by", String(16), nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # new | acknowledged | assigned | closed | withdrawn
    Column("window_start", Date, nullable=False),
    Column("window_end", Date, nullable=False),
    Column("seen", Text, nullable=False),  # JSON list: every partner (or type) that has counted towards it
    Column("assigned_to", String(64), nullable=True),
    Column("snoozed_until", Date, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("outcome_note", String(1000), nullable=True),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    UniqueConstraint("rule_id", "mode", "person_pk", "window_start"),
)

alert_evidence = Table(
    "alert_evidence",
    metadata,
    Column("alert_pk", BigKey, ForeignKey("alerts.pk", ondelete="CASCADE"), primary_key=True),
    Column("record_pk", BigKey, ForeignKey("records.pk", ondelete="CASCADE"), primary_key=True),
    Column("partner_code", String(32), nullable=False),
    Column("partner_type", String(32), nullable=True),
    Column("flag", String(32), nullable=False),
    Column("interaction_date", Date, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Index(None, "record_pk"),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("alert_pk", BigKey, ForeignKey("alerts.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("note", String(1000), nullable=True),
    Column("at", UTCDateTime, nullable=False),
)

watchlist = Table(
    "watchlist",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("person_pk", BigKey, ForeignKey("persons.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("team", String(64), nullable=False, index=True),
    Column("reason", String(500), nullable=False),
    Column("review_date", Date, nullable=False),
    Column("status", String(16), nullable=False),  # active | removed | expired
    Column("added_by", String(64), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Column("renewed_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("ended_by", String(64), nullable=True),
    Column("end_reason", String(500), nullable=True),
    Column("alert_pk", BigKey, ForeignKey("alerts.pk", ondelete="SET NULL"), nullable=True),
)

notifications = Table(
    "notifications",
    metadata,
    Column("pk", BigKey, primary_key=True),
    Column("watch_pk", BigKey, ForeignKey("watchlist.pk", ondelete="CASCADE"), nullable=False),
    Column("team", String(64), nullable=False, index=True),
    Column("person_pk", BigKey, nullable=False),
    Column("record_pk", BigKey, ForeignKey("records.pk", ondelete="CASCADE"), nullable=False, index=True),
    Column("partner_code", String(32), nullable=False),
    Column("interaction_date", Date, nullable=False),
    Column("category", String(32), nullable=False),
    Column("text", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime, nullable=True),
    UniqueConstraint("watch_pk", "record_pk"),
)

# Evidence is derived from one record: ingest deletes it when the record is corrected or deleted.
if alert_evidence not in DERIVED_FROM_RECORD:
    DERIVED_FROM_RECORD.append(alert_evidence)

# What a rule's window reads, so that it is answered from the indexes alone: the interactions of a date range with
# their partner and flag (the record's pk rides along on both databases' index entries), and each one's person.
Index("ix_records_window", records.c.interaction_date, records.c.partner_pk, records.c.flag, records.c.pk)
Index("ix_links_record_person", links.c.record_pk, links.c.person_pk)
