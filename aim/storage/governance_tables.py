"""Governance: staff users, the audit log and its checkpoints, break-glass grants, purge runs.

Tables are declared on the shared :data:`aim.storage.tables.metadata`; :mod:`aim.storage.schema` imports every
table module so the metadata is complete.

Groups:
    staff_users, staff_tokens               who may use the staff API, in which role, with which bearer tokens
    staff_passwords                         a user's argon2id password hash and the lock-out state of signing in
    audit_log, audit_checkpoints            the hash-chained audit log (append-only: triggers refuse UPDATE and
                                            DELETE) and its signed checkpoints
    restricted_persons                      persons hidden from all but the policy's named roles
    break_glass_grants, break_glass_uses    break-glass grants and each use, the DPO's review queue

The audit log keeps each event as columns; every column but ``entry_hash`` is part of what is hashed, so editing
any of them is detected by ``aim hub audit verify``. Times in the log are text in the chain's canonical form
(``2026-11-23T12:00:00.000000Z``), which sorts as time does.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from aim.storage.tables import metadata
from aim.storage.types import BigKey, UTCDateTime

__all__ = [
    "audit_checkpoints",
    "audit_log",
    "break_glass_grants",
    "break_glass_uses",
    "metadata",
    "restricted_persons",
    "staff_passwords",
    "staff_tokens",
    "staff_users",
]

staff_users = Table(
    "staff_users",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("user_id", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("organisation", String(32), nullable=True),
    Column("role", String(64), nullable=False),
    Column("team", String(64), nullable=True),
    Column("status", String(16), nullable=False),  # active | suspended
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

staff_tokens = Table(
    "staff_tokens",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("user_pk", Integer, ForeignKey("staff_users.pk"), nullable=False, index=True),
    Column("token_sha256", String(64), nullable=False, unique=True),  # the token itself is never stored
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

staff_passwords = Table(
    "staff_passwords",
    metadata,
    Column("user_pk", Integer, ForeignKey("staff_users.pk"), primary_key=True),
    Column("password_hash", String(255), nullable=False),  # argon2id, in the PHC string format; never the password
    Column("set_at", UTCDateTime, nullable=False),
    Column("failed_attempts", Integer, nullable=False),  # consecutive failed sign-ins since the last success or lock
    Column("last_failed_at", UTCDateTime, nullable=True),
    Column("locked_until", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("sequence", BigKey, primary_key=True, autoincrement=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False, unique=True),
    Column("occurred_at", String(32), nullable=False, index=True),
    Column("actor", String(64), nullable=True, index=True),
    Column("organisation", String(32), nullable=True),
    Column("roles", Text, nullable=False),  # JSON list
    Column("action", String(64), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("purpose", String(64), nullable=True),
    Column("case_reference", String(128), nullable=True),
    Column("target", String(160), nullable=True, index=True),
    Column("reasons", Text, nullable=False),  # JSON list
    Column("break_glass_grant", String(32), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("counts", Text, nullable=False),  # JSON object
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("sequence", BigKey, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signed_at", String(40), nullable=False),  # isoformat, exactly as signed
    Column("signature", String(128), nullable=False),
)

restricted_persons = Table(
    "restricted_persons",
    metadata,
    Column("person_pk", BigKey, ForeignKey("persons.pk", ondelete="CASCADE"), primary_key=True),
    Column("marked_by", String(64), nullable=False),
    Column("marked_at", UTCDateTime, nullable=False),
)

break_glass_grants = Table(
    "break_glass_grants",
    metadata,
    Column("grant_id", String(32), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("person_id", String(64), nullable=False),
    Column("case_reference", String(128), nullable=False),
    Column("justification", Text, nullable=False),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

break_glass_uses = Table(
    "break_glass_uses",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("grant_id", String(32), ForeignKey("break_glass_grants.grant_id"), nullable=False, index=True),
    Column("audit_sequence", BigKey, nullable=False),
    Column("action", String(64), nullable=False),
    Column("used_at", UTCDateTime, nullable=False),
    Column("reviewed_at", UTCDateTime, nullable=True),
    Column("reviewed_by", String(64), nullable=True),
    Column("review_note", Text, nullable=True),
    Index(None, "reviewed_at"),
)
