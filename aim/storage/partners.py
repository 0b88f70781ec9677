"""Partner rows, their API token digests and their public signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from aim.partner.model import Partner
from aim.storage.tables import partner_keys, partner_tokens, partners


def _partner(row: RowMapping) -> Partner:
    return Partner(
        pk=row["pk"],
        code=row["code"],
        name=row["name"],
        partner_type=row["partner_type"],
        agreement_ref=row["agreement_ref"],
        agreement_from=row["agreement_from"],
        agreement_until=row["agreement_until"],
        status=row["status"],
        status_reason=row["status_reason"],
    )


def insert_partner(conn: Connection, *, values: dict[str, Any], now: datetime) -> int:
    result = conn.execute(insert(partners).values(**values, created_at=now, updated_at=now))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def partner_by_code(conn: Connection, code: str) -> Partner | None:
    row = conn.execute(select(partners).where(partners.c.code == code)).mappings().first()
    return _partner(row) if row else None


def partner_by_token(conn: Connection, digest: str) -> tuple[Partner, str] | None:
    """The partner holding an unrevoked token with this digest, and the stored digest (for a constant-time check)."""
    query = (
        select(partners, partner_tokens.c.token_sha256)
        .join(partner_tokens, partner_tokens.c.partner_pk == partners.c.pk)
        .where(partner_tokens.c.token_sha256 == digest, partner_tokens.c.revoked_at.is_(None))
    )
    row = conn.execute(query).mappings().first()
    return (_partner(row), row["token_sha256"]) if row else None


def all_partners(conn: Connection) -> list[Partner]:
    return [_partner(r) for r in conn.execute(select(partners).order_by(partners.c.code)).mappings()]


def update_partner(conn: Connection, pk: int, *, now: datetime, **values: Any) -> None:
    conn.execute(update(partners).where(partners.c.pk == pk).values(**values, updated_at=now))


def insert_token(conn: Connection, *, partner_pk: int, digest: str, now: datetime) -> None:
    conn.execute(insert(partner_tokens).values(partner_pk=partner_pk, token_sha256=digest, created_at=now))


def revoke_tokens(conn: Connection, *, partner_pk: int, now: datetime) -> int:
    query = (
        update(partner_tokens)
        .where(partner_tokens.c.partner_pk == partner_pk, partner_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return conn.execute(query).rowcount


def insert_key(conn: Connection, *, partner_pk: int, key_id: str, public_raw: bytes, now: datetime) -> None:
    conn.execute(
        insert(partner_keys).values(partner_pk=partner_pk, key_id=key_id, public_key=public_raw, created_at=now)
    )


def key_row(conn: Connection, key_id: str) -> RowMapping | None:
    return conn.execute(select(partner_keys).where(partner_keys.c.key_id == key_id)).mappings().first()


def keys_of(conn: Connection, partner_pk: int) -> list[RowMapping]:
    query = select(partner_keys).where(partner_keys.c.partner_pk == partner_pk).order_by(partner_keys.c.pk)
    return list(conn.execute(query).mappings())


def revoke_key(conn: Connection, *, key_id: str, now: datetime) -> int:
    query = update(partner_keys).where(partner_keys.c.key_id == key_id, partner_keys.c.revoked_at.is_(None))
    return conn.execute(query.values(revoked_at=now)).rowcount
