"""Shared test factories: encoded rows of the right shapes (random bytes, no real encoder), feed files, partners
with keys, and an app wired to a hub."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aim.feed import Manifest, Row, canonical_dumps, write_feed
from aim.partner.credentials import generate_signing_key, load_signing_key, sign
from linkage.schema import BLOOM_BITS, TOKEN_BYTES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
TOKEN_FIELDS = ("tk_first", "tk_last", "tk_dob", "tk_dob_y", "tk_gender", "tk_pc_district")
FLAGS = ("POLICE_DV", "AE_ATTENDANCE", "SCHOOL_CONCERN", "CSC_CONTACT", "HOUSING_ARREARS")


def bloom(rng: random.Random) -> str:
    return base64.b64encode(rng.randbytes(BLOOM_BITS // 8)).decode("ascii")


def token(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(TOKEN_BYTES)).decode("ascii").rstrip("=")


def encoded(rng: random.Random) -> dict[str, Any]:
    enc: dict[str, Any] = {"bf_first": bloom(rng), "bf_last": bloom(rng)}
    if rng.random() < 0.7:
        enc["bf_address"] = bloom(rng)
    for name in TOKEN_FIELDS:
        enc[name] = token(rng)
    enc["tk_last_parts"] = [token(rng) for _ in range(rng.randint(1, 2))]
    return enc


def upsert(record_id: str, rng: random.Random | None = None, *, day: date = date(2026, 11, 1)) -> Row:
    rng = rng or random.Random(record_id)
    return Row(
        record_id=record_id,
        op="upsert",
        enc=encoded(rng),
        flag=rng.choice(FLAGS),
        interaction_date=day,
        lead_contact="Duty desk, mash@partner.example",
    )


def delete(record_id: str) -> Row:
    return Row(record_id=record_id, op="delete")


def rows(count: int, *, seed: int = 1, prefix: str = "R") -> list[Row]:
    rng = random.Random(seed)
    return [upsert(f"{prefix}{i}", rng) for i in range(count)]


def tokens_of(row: Row) -> int:
    """How many record_tokens rows a stored upsert has."""
    return sum(len(v) if isinstance(v, list) else 1 for k, v in row.enc.items() if k.startswith("tk_"))


def feed(path: Path, feed_rows: list[Row], *, partner: str = "WMP", feed_id: str = "WMP-1") -> Manifest:
    return write_feed(path, partner=partner, feed_id=feed_id, key_id="k-test", rows=feed_rows, created=NOW)


def manifest_line(manifest: Manifest) -> bytes:
    return (canonical_dumps(manifest.to_json()) + "\n").encode()


@dataclass
class PartnerKeys:
    """A partner's credentials as the agent holds them."""

    code: str
    token: str
    key: Ed25519PrivateKey
    key_id: str
    public_pem: bytes

    def headers(self, method: str, path: str, body: bytes = b"", content_type: str | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "AIM-Key-Id": self.key_id,
            "AIM-Signature": sign(self.key, method=method, path=path, body=body),
        }
        if content_type:
            headers["Content-Type"] = content_type
        return headers


def new_key() -> tuple[Ed25519PrivateKey, bytes, str]:
    private_pem, public_pem, key_id = generate_signing_key()
    return load_signing_key(private_pem), public_pem, key_id


def register(hub: Any, code: str = "WMP", *, until: date = date(2027, 3, 31)) -> PartnerKeys:
    """Register a partner with a signing key on ``hub``; returns its agent-side credentials."""
    key, public_pem, key_id = new_key()
    registration = hub.partners.add(
        code=code,
        name=f"{code} test partner",
        agreement_ref=f"DSA-{code}",
        agreement_from=date(2026, 1, 1),
        agreement_until=until,
        public_key_pem=public_pem,
    )
    return PartnerKeys(code=code, token=registration.token, key=key, key_id=key_id, public_pem=public_pem)
