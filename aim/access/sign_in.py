"""Signing in at the hub with a user id and password: a short-lived bearer token, a lock-out after repeated failures,
and an audit entry for every attempt.

How a sign-in is decided (``POST /v1/sign-in`` calls :meth:`SignInService.sign_in`):

1. The password is verified with argon2id exactly once whatever the account's state — against the user's stored
   hash, or against a dummy hash when the user is unknown or has no password — so the time taken does not tell
   which accounts exist.
2. Refused, with one and the same :class:`~aim.access.errors.SignInRefusedError` (401): an unknown user id, an
   account locked out, a suspended account, one without a password, a wrong password. The audit entry written first
   says which (``unknown_user``, ``locked``, ``suspended``, ``no_password``, ``wrong_password``); for an unknown
   user it names nobody, since what was typed may be anything (a password typed into the wrong box).
3. A wrong password counts one failure. ``max_failures`` in a row lock the account for ``lockout`` (an
   ``account_locked`` entry); a failure longer than ``lockout`` after the previous one starts the count again. While
   locked, attempts are refused — the right password too — and not counted. A success, ``aim hub users unlock`` or
   ``aim hub users set-password`` clear the count and the lock.
4. Allowed: a bearer token valid for ``token_lifetime`` (the user's other tokens stay valid), and the stored hash
   is replaced when argon2-cffi's parameters have changed since it was made.

The password is never stored, logged or put in an error or audit entry.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from aim.access.errors import NotSignedInError, SignInRefusedError
from aim.access.passwords import PasswordHashing, check_password_rule
from aim.access.users import USER_ID, StaffUser, UserRegistry, user_from_row
from aim.clock import Clock
from aim.storage.database import Database
from aim.storage.governance_tables import staff_passwords, staff_users
from governance import AuditEvent, AuditSink, Outcome

SIGN_IN, SIGN_OUT, ACCOUNT_LOCKED = "sign_in", "sign_out", "account_locked"
SET_PASSWORD, UNLOCK_ACCOUNT = "set_password", "unlock_account"
AUDIT_ACTIONS = (SIGN_IN, SIGN_OUT, ACCOUNT_LOCKED, SET_PASSWORD, UNLOCK_ACCOUNT)
"""The actions of the audit entries this module writes (docs/audit.md lists them)."""

REFUSED = (
    "sign-in refused: the user id or password is not right, or the account cannot sign in at the moment; check "
    "both and try again, or ask your administrator"
)


@dataclass(frozen=True)
class SignInRules:
    """The sign-in settings (``AIM_SIGN_IN_TOKEN_MINUTES``, ``_MAX_FAILURES`` and ``_LOCKOUT_MINUTES``)."""

    token_lifetime: timedelta = timedelta(minutes=30)
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the bearer token is shown once (only its SHA-256 is stored)."""

    user: StaffUser
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class _Account:
    user: StaffUser
    pk: int
    password_hash: str | None
    locked_until: datetime | None


def cli_actor() -> str:
    """The audit actor of a command run at the hub: ``cli:<operating-system account>``."""
    return f"cli:{getpass.getuser()}"[:64]


class SignInService:
    """Passwords and sign-in for staff accounts; see the module docstring for how a sign-in is decided."""

    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        users: UserRegistry,
        audit: AuditSink,
        rules: SignInRules,
        hashing: PasswordHashing | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._users = users
        self._audit = audit
        self.rules = rules
        self._hashing = hashing or PasswordHashing()

    def set_password(self, *, user_id: str, password: str, actor: str) -> int:
        """Set or replace a user's password; clears failed sign-ins and any lock-out, and revokes the user's tokens
        (a password is reset when it may be known to someone else). Returns how many tokens were revoked."""
        check_password_rule(password)
        user_pk = self._users.pk(user_id)
        digest = self._hashing.hash(password)
        with self._db.write() as conn:
            conn.execute(delete(staff_passwords).where(staff_passwords.c.user_pk == user_pk))
            conn.execute(
                insert(staff_passwords).values(
                    user_pk=user_pk, password_hash=digest, set_at=self._clock.now(), failed_attempts=0
                )
            )
        revoked = self._users.revoke_all(user_id)
        self._admin_event(SET_PASSWORD, user_id, actor, "password_set: a new password was set", tokens_revoked=revoked)
        return revoked

    def unlock(self, *, user_id: str, actor: str) -> None:
        """Clear a user's failed sign-ins and any lock-out."""
        user_pk = self._users.pk(user_id)
        with self._db.write() as conn:
            _clear_failures(conn, user_pk)
        self._admin_event(UNLOCK_ACCOUNT, user_id, actor, "unlocked: failed sign-ins and any lock-out cleared")

    def states(self) -> dict[str, str]:
        """Each user's sign-in state, for 'aim hub users list': ``password set`` or ``locked until <time>``; a user
        without a password is absent."""
        now = self._clock.now()
        query = select(staff_users.c.user_id, staff_passwords.c.locked_until).join(
            staff_passwords, staff_passwords.c.user_pk == staff_users.c.pk
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return {
            row.user_id: f"locked until {_iso(row.locked_until)}"
            if row.locked_until is not None and row.locked_until > now
            else "password set"
            for row in rows
        }

    def sign_in(self, *, user_id: str, password: str, request_id: str | None = None) -> SignedIn:
        """A bearer token for the user, or :class:`SignInRefusedError` (the same for every reason; audited first)."""
        now = self._clock.now()
        account = self._account(user_id)
        matches = self._hashing.verify(account.password_hash if account else None, password)
        locked = account is not None and account.locked_until is not None and account.locked_until > now
        if account is None or account.password_hash is None or locked or not account.user.active or not matches:
            self._refuse(account, now=now, locked=locked, request_id=request_id)
        return self._signed_in(account, account.password_hash, password, request_id)

    def sign_out(self, *, token: str | None, request_id: str | None = None) -> StaffUser:
        """Revoke the caller's own token; :class:`NotSignedInError` when it is missing, unknown, expired or revoked."""
        user = self._users.authenticate(token)
        if user is None or token is None:
            self._audit.append(self._event(SIGN_OUT, Outcome.DENIED, None, request_id, "not_signed_in: no valid token"))
            raise NotSignedInError("sign out: send 'Authorization: Bearer <token>' with a token that is still valid")
        self._users.revoke(token)
        self._audit.append(self._event(SIGN_OUT, Outcome.ALLOWED, user, request_id, "signed_out: the token is revoked"))
        return user

    def _account(self, user_id: str) -> _Account | None:
        if not USER_ID.match(user_id):
            return None  # no account can have this id (and PostgreSQL refuses some characters, NUL among them)
        query = (
            select(staff_users, staff_passwords.c.password_hash, staff_passwords.c.locked_until)
            .select_from(staff_users.outerjoin(staff_passwords, staff_passwords.c.user_pk == staff_users.c.pk))
            .where(staff_users.c.user_id == user_id)
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return _Account(user_from_row(row), int(row.pk), row.password_hash, row.locked_until)

    def _failed(self, account: _Account, now: datetime, request_id: str | None) -> NoReturn:
        """Count a wrong password; the ``max_failures``-th in a row locks the account. Raises SignInRefusedError."""
        rules = self.rules
        with self._db.write() as conn:
            row = conn.execute(
                select(staff_passwords.c.failed_attempts, staff_passwords.c.last_failed_at)
                .where(staff_passwords.c.user_pk == account.pk)
                .with_for_update()
            ).one()
            recent = row.last_failed_at is not None and now - row.last_failed_at < rules.lockout
            failures = (row.failed_attempts if recent else 0) + 1
            locked_until = now + rules.lockout if failures >= rules.max_failures else None
            values = (
                {"failed_attempts": 0, "last_failed_at": None, "locked_until": locked_until}
                if locked_until
                else {"failed_attempts": failures, "last_failed_at": now}
            )
            conn.execute(update(staff_passwords).where(staff_passwords.c.user_pk == account.pk).values(**values))
        reason = f"wrong_password: failed sign-in {failures} in a row (the account locks at {rules.max_failures})"
        self._audit.append(self._event(SIGN_IN, Outcome.DENIED, account.user, request_id, reason, failures=failures))
        if locked_until is not None:
            minutes = int(rules.lockout.total_seconds() // 60)
            until = _iso(locked_until)
            why = f"locked_out: {failures} failed sign-ins in a row; locked for {minutes} min until {until}"
            event = self._event(ACCOUNT_LOCKED, Outcome.DENIED, account.user, request_id, why, minutes=minutes)
            self._audit.append(event)
        raise SignInRefusedError(REFUSED)

    def _signed_in(self, account: _Account, stored: str, password: str, request_id: str | None) -> SignedIn:
        values: dict[str, object] = {}
        if self._hashing.needs_rehash(stored):
            values["password_hash"] = self._hashing.hash(password)
        with self._db.write() as conn:
            _clear_failures(conn, account.pk, **values)
        issued = self._users.new_token(account.user.user_id, lifetime=self.rules.token_lifetime, revoke_others=False)
        expires_at = datetime.fromisoformat(issued.expires_at_iso)
        reasons = "signed_in: password verified" + ("; hash renewed with current parameters" if values else "")
        minutes = int(self.rules.token_lifetime.total_seconds() // 60)
        self._audit.append(self._event(SIGN_IN, Outcome.ALLOWED, account.user, request_id, reasons, minutes=minutes))
        return SignedIn(user=account.user, token=issued.token, expires_at=expires_at)

    def _refuse(self, account: _Account | None, *, now: datetime, locked: bool, request_id: str | None) -> NoReturn:
        """Audit why, then raise the one refusal every reason shares."""
        if account is None:
            reason = "unknown_user: no account has the user id given (what was typed is not recorded)"
        elif locked:
            reason = f"locked: the account is locked out until {_iso(account.locked_until)}"
        elif not account.user.active:
            reason = "suspended: the account is suspended"
        elif account.password_hash is None:
            reason = "no_password: no password is set ('aim hub users set-password')"
        else:
            self._failed(account, now, request_id)
        self._audit.append(self._event(SIGN_IN, Outcome.DENIED, account.user if account else None, request_id, reason))
        raise SignInRefusedError(REFUSED)

    def _event(
        self,
        action: str,
        outcome: Outcome,
        user: StaffUser | None,
        request_id: str | None,
        reason: str,
        **counts: int,
    ) -> AuditEvent:
        return AuditEvent(
            occurred_at=self._clock.now(),
            actor=user.user_id if user else None,
            action=action,
            outcome=outcome,
            organisation=user.organisation if user else None,
            roles=(user.role,) if user else (),
            target=f"user:{user.user_id}" if user else None,
            reasons=(reason,),
            request_id=request_id,
            counts=counts,
        )

    def _admin_event(self, action: str, user_id: str, actor: str, reason: str, **counts: int) -> None:
        self._audit.append(
            AuditEvent(
                occurred_at=self._clock.now(),
                actor=actor[:64],
                action=action,
                outcome=Outcome.ALLOWED,
                target=f"user:{user_id}",
                reasons=(reason,),
                counts=counts,
            )
        )


def _clear_failures(conn: Connection, user_pk: int, **values: object) -> None:
    conn.execute(
        update(staff_passwords)
        .where(staff_passwords.c.user_pk == user_pk)
        .values(failed_attempts=0, last_failed_at=None, locked_until=None, **values)
    )


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"
