"""The partner registry: register partners and their agreements, manage credentials, authenticate requests."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from aim.clock import Clock, local_today
from aim.errors import InputError, NotFoundError
from aim.feed import check_partner_code
from aim.partner import credentials
from aim.partner.errors import AuthenticationError, NotPermittedError
from aim.partner.model import ACTIVE, SUSPENDED, Partner
from aim.storage import partners as repo
from aim.storage.database import Database
from aim.vocabulary import default_vocabulary


@dataclass(frozen=True)
class Registration:
    """What registering a partner returns; ``token`` is shown once and never stored in the clear."""

    partner: Partner
    token: str
    key_id: str | None


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    created: str
    revoked: bool


class PartnerRegistry:
    def __init__(self, *, database: Database, clock: Clock, zone: ZoneInfo) -> None:
        self._db = database
        self._clock = clock
        self._zone = zone

    def today(self) -> date:
        return local_today(self._clock, self._zone)

    def add(
        self,
        *,
        code: str,
        name: str,
        agreement_ref: str,
        agreement_until: date,
        agreement_from: date | None = None,
        public_key_pem: bytes | None = None,
    ) -> Registration:
        """Register a partner with an active agreement; returns its first API token (shown once)."""
        problems = _partner_problems(code, name, agreement_ref)
        start = agreement_from or self.today()
        if agreement_until < start:
            problems.append("the agreement must end on or after the day it starts")
        if problems:
            raise InputError("cannot register the partner: " + "; ".join(problems))
        raw_key = credentials.public_key_raw(public_key_pem) if public_key_pem is not None else None
        vocabulary_partner = default_vocabulary().partners.get(code)
        token = credentials.new_token()
        now = self._clock.now()
        with self._db.write() as conn:
            if repo.partner_by_code(conn, code) is not None:
                raise InputError(f"partner {code} is already registered: use 'aim hub partners renew' or 'add-key'")
            values = {
                "code": code,
                "name": name.strip(),
                "partner_type": vocabulary_partner.type if vocabulary_partner else None,
                "agreement_ref": agreement_ref.strip(),
                "agreement_from": start,
                "agreement_until": agreement_until,
                "status": ACTIVE,
            }
            pk = repo.insert_partner(conn, values=values, now=now)
            repo.insert_token(conn, partner_pk=pk, digest=credentials.token_digest(token), now=now)
            key_id = self._insert_key(conn, pk, raw_key) if raw_key else None
            partner = repo.partner_by_code(conn, code)
        assert partner is not None
        return Registration(partner=partner, token=token, key_id=key_id)

    def _insert_key(self, conn: Connection, partner_pk: int, raw: bytes) -> str:
        key_id = credentials.key_id_for(raw)
        row = repo.key_row(conn, key_id)
        if row is not None:
            raise InputError(f"signing key {key_id} is already registered (to partner #{row['partner_pk']})")
        repo.insert_key(conn, partner_pk=partner_pk, key_id=key_id, public_raw=raw, now=self._clock.now())
        return key_id

    def get(self, code: str) -> Partner:
        with self._db.read() as conn:
            partner = repo.partner_by_code(conn, code)
        if partner is None:
            raise NotFoundError(f"no partner {code} is registered: see 'aim hub partners list'")
        return partner

    def all(self) -> list[Partner]:
        with self._db.read() as conn:
            return repo.all_partners(conn)

    def keys(self, code: str) -> list[SigningKey]:
        partner = self.get(code)
        with self._db.read() as conn:
            rows = repo.keys_of(conn, partner.pk)
        return [
            SigningKey(key_id=r["key_id"], created=r["created_at"].isoformat(), revoked=r["revoked_at"] is not None)
            for r in rows
        ]

    def suspend(self, code: str, *, reason: str) -> Partner:
        """Suspend the partner's agreement: its feeds are refused (403) until reinstated."""
        if not reason.strip() or len(reason) > 200:
            raise InputError("a suspension needs a reason of 1-200 characters")
        return self._update(code, status=SUSPENDED, status_reason=reason.strip())

    def reinstate(self, code: str) -> Partner:
        return self._update(code, status=ACTIVE, status_reason=None)

    def renew(self, code: str, *, agreement_until: date, agreement_ref: str | None = None) -> Partner:
        partner = self.get(code)
        if agreement_until < partner.agreement_from:
            raise InputError("the agreement must end on or after the day it starts")
        values: dict[str, object] = {"agreement_until": agreement_until}
        if agreement_ref is not None:
            values["agreement_ref"] = agreement_ref.strip()
        return self._update(code, **values)

    def _update(self, code: str, **values: object) -> Partner:
        partner = self.get(code)
        with self._db.write() as conn:
            repo.update_partner(conn, partner.pk, now=self._clock.now(), **values)
            updated = repo.partner_by_code(conn, code)
        assert updated is not None
        return updated

    def add_key(self, code: str, *, public_key_pem: bytes) -> str:
        raw = credentials.public_key_raw(public_key_pem)
        partner = self.get(code)
        with self._db.write() as conn:
            return self._insert_key(conn, partner.pk, raw)

    def revoke_key(self, key_id: str) -> None:
        with self._db.write() as conn:
            if repo.revoke_key(conn, key_id=key_id, now=self._clock.now()) == 0:
                raise NotFoundError(f"no unrevoked signing key {key_id}: see 'aim hub partners show CODE'")

    def new_token(self, code: str) -> str:
        """Issue a new API token and revoke the partner's earlier ones."""
        partner = self.get(code)
        token = credentials.new_token()
        now = self._clock.now()
        with self._db.write() as conn:
            repo.revoke_tokens(conn, partner_pk=partner.pk, now=now)
            repo.insert_token(conn, partner_pk=partner.pk, digest=credentials.token_digest(token), now=now)
        return token

    def authenticate(self, token: str | None) -> Partner:
        """The partner a token belongs to, if its agreement is active today. 401 unknown, 403 not active."""
        if not token:
            raise AuthenticationError("no partner token: send 'Authorization: Bearer <token>'")
        digest = credentials.token_digest(token)
        with self._db.read() as conn:
            found = repo.partner_by_token(conn, digest)
        if found is None or not hmac.compare_digest(found[1], digest):
            raise AuthenticationError("the partner token is not registered, or was revoked")
        partner = found[0]
        refusal = partner.refusal(self.today())
        if refusal:
            raise NotPermittedError(refusal)
        return partner

    def verify_signature(self, partner: Partner, *, key_id: str | None, signature: str | None, message: bytes) -> None:
        """Check the request signature with the partner's registered key; 401 when absent, unknown or wrong."""
        if not key_id or not signature:
            raise AuthenticationError(
                f"the request is not signed: send {credentials.KEY_ID_HEADER} and {credentials.SIGNATURE_HEADER}"
            )
        with self._db.read() as conn:
            row = repo.key_row(conn, key_id)
        if row is None or row["partner_pk"] != partner.pk or row["revoked_at"] is not None:
            raise AuthenticationError("the signing key id is not registered to this partner, or was revoked")
        if not credentials.signature_valid(row["public_key"], signature, message):
            raise AuthenticationError("the signature does not match the request: sign the exact bytes sent")


def _partner_problems(code: str, name: str, agreement_ref: str) -> list[str]:
    problems: list[str] = []
    if code_problem := check_partner_code(code):
        problems.append(code_problem)
    if not name.strip() or len(name) > 200:
        problems.append("the partner name must be 1-200 characters")
    if not agreement_ref.strip() or len(agreement_ref) > 64:
        problems.append("the agreement reference must be 1-64 characters")
    return problems
