"""Staff users and their API credentials: add, list, suspend, reinstate, issue, revoke and authenticate tokens.

A bearer token is 32 random bytes shown once when issued; the hub keeps only its SHA-256, so a copy of the database
cannot be used to sign in. Tokens expire: one from ``aim hub users new-token`` after ``AIM_STAFF_TOKEN_HOURS`` (and
issuing it revokes the user's others), one from signing in with a password (:mod:`aim.access.sign_in`) after
``AIM_SIGN_IN_TOKEN_MINUTES``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from aim.clock import Clock
from aim.errors import InputError, NotFoundError
from aim.storage.database import Database
from aim.storage.governance_tables import staff_tokens, staff_users

ACTIVE, SUSPENDED = "active", "suspended"
USER_ID = re.compile(r"^[a-z0-9][a-z0-9._\-]{1,63}$")
_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass(frozen=True)
class StaffUser:
    """A member of staff who may call the hub's staff API."""

    user_id: str
    display_name: str
    organisation: str | None
    role: str
    team: str | None
    status: str

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class IssuedToken:
    """A new bearer token: ``token`` is shown once and never stored."""

    user_id: str
    token: str
    expires_at_iso: str


def token_digest(token: str) -> str:
    """The stored form of a bearer token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_from_row(row: object) -> StaffUser:
    """A :class:`StaffUser` from a row holding the ``staff_users`` columns."""
    m = row._mapping  # type: ignore[attr-defined]
    return StaffUser(m["user_id"], m["display_name"], m["organisation"], m["role"], m["team"], m["status"])


class UserRegistry:
    """Staff accounts in the hub's database; roles are checked against the policy by the caller (the CLI)."""

    def __init__(self, *, database: Database, clock: Clock, token_lifetime: timedelta) -> None:
        self._db = database
        self._clock = clock
        self._lifetime = token_lifetime

    def add(
        self, *, user_id: str, display_name: str, role: str, organisation: str | None = None, team: str | None = None
    ) -> StaffUser:
        """Create an active account; refuses a malformed or taken user id."""
        problems = []
        if not USER_ID.match(user_id):
            problems.append(
                f"user id {user_id!r} must be 2-64 lower-case letters, digits, '.', '_' or '-' (e.g. 'j.smith')"
            )
        if not display_name.strip() or len(display_name) > 200:
            problems.append("the display name must be 1-200 characters")
        for label, value in (("role", role), ("organisation", organisation), ("team", team)):
            if value is not None and not _CODE.match(value):
                problems.append(f"{label} {value!r} must be a code of letters, digits, '_' or '-'")
        if problems:
            raise InputError("; ".join(problems))
        now = self._clock.now()
        with self._db.write() as conn:
            if conn.execute(select(staff_users.c.pk).where(staff_users.c.user_id == user_id)).first():
                raise InputError(f"user {user_id!r} already exists: choose another id, or reinstate it")
            conn.execute(
                insert(staff_users).values(
                    user_id=user_id,
                    display_name=display_name.strip(),
                    organisation=organisation,
                    role=role,
                    team=team,
                    status=ACTIVE,
                    created_at=now,
                    updated_at=now,
                )
            )
        return self.get(user_id)

    def get(self, user_id: str) -> StaffUser:
        with self._db.read() as conn:
            row = conn.execute(select(staff_users).where(staff_users.c.user_id == user_id)).first()
        if row is None:
            raise NotFoundError(f"no staff user {user_id!r}: see 'aim hub users list'")
        return user_from_row(row)

    def all(self) -> list[StaffUser]:
        with self._db.read() as conn:
            return [user_from_row(row) for row in conn.execute(select(staff_users).order_by(staff_users.c.user_id))]

    def set_status(self, user_id: str, status: str) -> StaffUser:
        """Suspend or reinstate; a suspended user's tokens stay but every request is refused (and audited)."""
        self.get(user_id)
        with self._db.write() as conn:
            conn.execute(
                update(staff_users)
                .where(staff_users.c.user_id == user_id)
                .values(status=status, updated_at=self._clock.now())
            )
        return self.get(user_id)

    def new_token(self, user_id: str, *, lifetime: timedelta | None = None, revoke_others: bool = True) -> IssuedToken:
        """Issue a bearer token; only its hash is stored. ``revoke_others`` (the CLI's way) revokes the user's earlier
        tokens; a sign-in keeps them (one person may be signed in on two screens) and drops only dead ones."""
        user_pk = self.pk(user_id)
        now = self._clock.now()
        expires = now + (lifetime or self._lifetime)
        token = "aims_" + secrets.token_urlsafe(32)
        with self._db.write() as conn:
            if revoke_others:
                _revoke_live(conn, user_pk, now)
            else:
                dead = or_(staff_tokens.c.revoked_at.is_not(None), staff_tokens.c.expires_at <= now)
                conn.execute(delete(staff_tokens).where(staff_tokens.c.user_pk == user_pk, dead))
            conn.execute(
                insert(staff_tokens).values(
                    user_pk=user_pk, token_sha256=token_digest(token), created_at=now, expires_at=expires
                )
            )
        return IssuedToken(user_id, token, expires.isoformat())

    def revoke(self, token: str) -> bool:
        """Revoke one token (signing out); False when it was unknown or already revoked."""
        with self._db.write() as conn:
            done = conn.execute(
                update(staff_tokens)
                .where(staff_tokens.c.token_sha256 == token_digest(token), staff_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self._clock.now())
            )
        return bool(done.rowcount)

    def revoke_all(self, user_id: str) -> int:
        """Revoke every live token of a user (e.g. when their password is set); how many were revoked."""
        user_pk = self.pk(user_id)
        with self._db.write() as conn:
            return _revoke_live(conn, user_pk, self._clock.now())

    def authenticate(self, token: str | None) -> StaffUser | None:
        """The user a token belongs to, or ``None`` (no token, unknown, expired or revoked)."""
        if not token:
            return None
        query = (
            select(staff_users, staff_tokens.c.expires_at, staff_tokens.c.revoked_at)
            .join(staff_tokens, staff_tokens.c.user_pk == staff_users.c.pk)
            .where(staff_tokens.c.token_sha256 == token_digest(token))
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None or row.revoked_at is not None or row.expires_at <= self._clock.now():
            return None
        return user_from_row(row)

    def pk(self, user_id: str) -> int:
        """The user's row key (for tables keyed by user); :class:`NotFoundError` for an unknown user."""
        with self._db.read() as conn:
            pk = conn.execute(select(staff_users.c.pk).where(staff_users.c.user_id == user_id)).scalar()
        if pk is None:
            raise NotFoundError(f"no staff user {user_id!r}: see 'aim hub users list'")
        return int(pk)


def _revoke_live(conn: Connection, user_pk: int, now: datetime) -> int:
    done = conn.execute(
        update(staff_tokens)
        .where(staff_tokens.c.user_pk == user_pk, staff_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(done.rowcount)
