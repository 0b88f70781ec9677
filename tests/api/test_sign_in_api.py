"""Signing in at the hub (POST /v1/sign-in, /v1/sign-out), on SQLite and PostgreSQL: a right password gives a bearer
token that works until its lifetime ends; every refusal (unknown user, wrong password, locked, suspended, no password)
is the same 401; the account locks after AIM_SIGN_IN_MAX_FAILURES failures in a row, even for the right password,
and unlocks after AIM_SIGN_IN_LOCKOUT_MINUTES; each attempt and lock-out is in the audit log, never the password.
Time moves with the hub's FixedClock, never by sleeping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from aim.access.passwords import PasswordHashing
from aim.access.sign_in import SignInService
from aim.audit.log import AuditFilter
from aim.audit.signing import create_signing_key
from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.settings import Settings
from api.hub.app import create_app
from governance import AuditEntry, event_to_record
from tests.api.staff import DEMO_POLICY, headers
from tests.asgi import TestClient
from tests.factories import NOW

PASSWORD = "synthetic-correct-horse-42"  # test data only
WRONG = "synthetic-wrong-horse-42"


@pytest.fixture
def signing(staff_hub: Hub) -> Iterator[tuple[Hub, TestClient]]:
    with TestClient(create_app(hub=staff_hub), raise_server_exceptions=False) as client:
        yield staff_hub, client


def account(hub: Hub, user_id: str = "j.smith", role: str = "dpo", *, password: str | None = PASSWORD) -> None:
    hub.access.users.add(user_id=user_id, display_name="J Smith", role=role, organisation="CHILDRENS_SC")
    if password is not None:
        hub.sign_in.set_password(user_id=user_id, password=password, actor="cli:test")


def sign_in(client: TestClient, user_id: str = "j.smith", password: str = PASSWORD, **extra: object) -> object:
    return client.post("/v1/sign-in", json={"user_id": user_id, "password": password, **extra})


def clock(hub: Hub) -> FixedClock:
    assert isinstance(hub.clock, FixedClock)
    return hub.clock


def entries(hub: Hub, action: str) -> list[AuditEntry]:
    return list(reversed(hub.audit_log.search(AuditFilter(action=action, limit=1000))))


def audit_reads(client: TestClient, token: str) -> int:
    return client.get("/v1/audit", params={"limit": 1}, headers=headers(token, "audit", "DPO-1")).status_code


def test_the_right_password_gives_a_token_that_works_until_it_expires(signing: tuple[Hub, TestClient]) -> None:
    hub, client = signing
    account(hub)
    response = sign_in(client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert (body["user_id"], body["role"], body["expires_in"]) == ("j.smith", "dpo", 30 * 60)
    assert body["expires_at"] == (hub.clock.now() + timedelta(minutes=30)).isoformat()
    assert response.headers["cache-control"] == "no-store"
    assert PASSWORD not in response.text

    assert audit_reads(client, body["token"]) == 200
    clock(hub).advance(timedelta(minutes=29, seconds=59))
    assert audit_reads(client, body["token"]) == 200
    clock(hub).advance(timedelta(seconds=1))
    assert audit_reads(client, body["token"]) == 401

    [entry] = entries(hub, "sign_in")
    assert (entry.event.actor, entry.event.outcome.value, entry.event.target) == ("j.smith", "allowed", "user:j.smith")
    assert entry.event.roles == ("dpo",)


def test_signing_in_again_keeps_the_other_token(signing: tuple[Hub, TestClient]) -> None:
    hub, client = signing
    account(hub)
    first, second = (sign_in(client).json()["token"] for _ in range(2))
    assert first != second
    assert (audit_reads(client, first), audit_reads(client, second)) == (200, 200)


REFUSED_BODY = {
    "error": "unauthenticated",
    "detail": "sign-in refused: the user id or password is not right, or the account cannot sign in at the moment; "
    "check both and try again, or ask your administrator",
    "problems": [],
}


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        pytest.param("wrong password", "wrong_password", id="wrong password"),
        pytest.param("unknown user", "unknown_user", id="unknown user"),
        pytest.param("suspended", "suspended", id="suspended user with the right password"),
        pytest.param("no password", "no_password", id="user without a password"),
        pytest.param("impossible id", "unknown_user", id="a user id no account can have (NUL, control characters)"),
    ],
)
def test_every_refusal_is_the_same_401_and_is_audited_with_its_reason(
    signing: tuple[Hub, TestClient], case: str, reason: str
) -> None:
    hub, client = signing
    account(hub, password=None if case == "no password" else PASSWORD)
    if case == "suspended":
        hub.access.users.set_status("j.smith", "suspended")
    user_id = {"unknown user": "nobody.here", "impossible id": "j.smith\u0000\n"}.get(case, "j.smith")
    response = sign_in(client, user_id, WRONG if case == "wrong password" else PASSWORD)
    assert response.status_code == 401
    assert response.json() == REFUSED_BODY
    [entry] = entries(hub, "sign_in")
    assert entry.event.outcome.value == "denied"
    assert entry.event.reasons[0].startswith(f"{reason}:")
    if reason == "unknown_user":
        assert (entry.event.actor, entry.event.target) == (None, None), "what was typed is not recorded"
        assert user_id not in json.dumps(event_to_record(entry.event))
    else:
        assert entry.event.target == "user:j.smith"


def test_lock_out_after_repeated_failures_even_with_the_right_password_then_unlocked(
    signing: tuple[Hub, TestClient],
) -> None:
    hub, client = signing
    account(hub)
    for _ in range(5):
        assert sign_in(client, password=WRONG).status_code == 401
    locked = sign_in(client)  # the right password, while locked
    assert locked.status_code == 401
    assert locked.json() == REFUSED_BODY

    reasons = [e.event.reasons[0].split(":")[0] for e in entries(hub, "sign_in")]
    assert reasons == ["wrong_password"] * 5 + ["locked"]
    assert [e.event.counts["failures"] for e in entries(hub, "sign_in")[:5]] == [1, 2, 3, 4, 5]
    [lockout] = entries(hub, "account_locked")
    event = lockout.event
    assert (event.actor, event.outcome.value, event.counts["minutes"]) == ("j.smith", "denied", 15)

    clock(hub).advance(timedelta(minutes=14, seconds=59))
    assert sign_in(client).status_code == 401
    clock(hub).advance(timedelta(seconds=1))
    assert sign_in(client).status_code == 200
    assert entries(hub, "sign_in")[-1].event.outcome.value == "allowed"
    assert hub.audit_log.verify().ok


def test_a_success_or_a_long_pause_starts_the_count_again(signing: tuple[Hub, TestClient]) -> None:
    hub, client = signing
    account(hub)
    for _ in range(4):
        sign_in(client, password=WRONG)
    assert sign_in(client).status_code == 200
    for _ in range(4):
        sign_in(client, password=WRONG)
    clock(hub).advance(timedelta(minutes=15))  # the next failure is more than the lock-out period after the last
    assert sign_in(client, password=WRONG).status_code == 401
    assert sign_in(client).status_code == 200, "four, a success, four, a pause, one: never five in a row"
    assert entries(hub, "account_locked") == []


def test_unlock_and_set_password_clear_a_lock_out(signing: tuple[Hub, TestClient]) -> None:
    hub, client = signing
    account(hub)
    for _ in range(5):
        sign_in(client, password=WRONG)
    hub.sign_in.unlock(user_id="j.smith", actor="cli:test")
    assert sign_in(client).status_code == 200
    for _ in range(5):
        sign_in(client, password=WRONG)
    hub.sign_in.set_password(user_id="j.smith", password="synthetic-new-horse-43", actor="cli:test")
    assert sign_in(client, password="synthetic-new-horse-43").status_code == 200
    assert [e.event.actor for e in entries(hub, "unlock_account")] == ["cli:test"]
    assert [e.event.target for e in entries(hub, "set_password")] == ["user:j.smith"] * 2


def test_setting_a_password_revokes_the_users_tokens(signing: tuple[Hub, TestClient]) -> None:
    hub, client = signing
    account(hub)
    token = sign_in(client).json()["token"]
    assert hub.sign_in.set_password(user_id="j.smith", password="synthetic-new-horse-43", actor="cli:test") == 1
    assert audit_reads(client, token) == 401


def test_sign_out_revokes_the_callers_token(signing: tuple[Hub, TestClient]) -> None:
    hub, client = signing
    account(hub)
    token = sign_in(client).json()["token"]
    other = sign_in(client).json()["token"]
    response = client.post("/v1/sign-out", headers=headers(token))
    assert (response.status_code, response.content) == (204, b"")
    assert audit_reads(client, token) == 401
    assert audit_reads(client, other) == 200, "only the token presented is revoked"
    again = client.post("/v1/sign-out", headers=headers(token))
    assert (again.status_code, again.json()["error"]) == (401, "unauthenticated")
    assert client.post("/v1/sign-out").status_code == 401
    outcomes = [(e.event.actor, e.event.outcome.value) for e in entries(hub, "sign_out")]
    assert outcomes == [("j.smith", "allowed"), (None, "denied"), (None, "denied")]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"user_id": "j.smith", "password": PASSWORD, "role": "dpo"}, id="unknown field"),
        pytest.param({"user_id": "j.smith"}, id="no password"),
        pytest.param({"password": PASSWORD}, id="no user id"),
        pytest.param({"user_id": "j.smith", "password": ""}, id="empty password"),
        pytest.param({"user_id": "j.smith", "password": "x" * 1025}, id="password over 1024 characters"),
        pytest.param(["j.smith", PASSWORD], id="not an object"),
    ],
)
def test_a_malformed_sign_in_is_422_without_echoing_the_input(signing: tuple[Hub, TestClient], body: object) -> None:
    hub, client = signing
    account(hub)
    response = client.post("/v1/sign-in", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"
    assert PASSWORD not in response.text


def test_the_password_is_in_no_audit_entry(signing: tuple[Hub, TestClient]) -> None:
    hub, client = signing
    account(hub)
    for password in (WRONG, WRONG, PASSWORD):
        sign_in(client, password=password)
    sign_in(client, "nobody.here", PASSWORD)
    logged = json.dumps([event_to_record(e.event) for e in hub.audit_log.search(AuditFilter(limit=1000))])
    assert "sign_in" in logged
    for secret in (PASSWORD, WRONG, "synthetic"):
        assert secret not in logged
    with hub.database.read() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM staff_passwords").scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


class CountingHashing(PasswordHashing):
    """Counts argon2 verifications, so each refusal can be shown to do the same work as a wrong password."""

    def __init__(self) -> None:
        super().__init__()
        self.verified: list[bool] = []

    def verify(self, stored: str | None, password: str) -> bool:
        self.verified.append(stored is not None)
        return super().verify(stored, password)


def test_every_refusal_verifies_one_argon2_hash_so_they_take_comparable_time(staff_hub: Hub) -> None:
    hub = staff_hub
    account(hub)
    account(hub, "no.password", password=None)
    account(hub, "suspended.one")
    hub.access.users.set_status("suspended.one", "suspended")
    counting = CountingHashing()
    service = SignInService(
        database=hub.database, clock=hub.clock, users=hub.access.users, audit=hub.access.audit,
        rules=hub.sign_in.rules, hashing=counting,
    )  # fmt: skip
    attempts = [("nobody.here", PASSWORD), ("no.password", PASSWORD), ("suspended.one", PASSWORD)]
    attempts += [("j.smith", WRONG)] * 6  # the last one while locked
    for user_id, password in attempts:
        with pytest.raises(Exception, match="sign-in refused"):
            service.sign_in(user_id=user_id, password=password)
    assert len(counting.verified) == len(attempts), "one verification per attempt, whatever the reason"
    assert counting.verified[:2] == [False, False], "unknown and password-less users verify against a dummy hash"


def test_a_hash_made_with_older_parameters_is_renewed_on_sign_in(signing: tuple[Hub, TestClient]) -> None:
    hub, client = signing
    account(hub, password=None)
    weak = PasswordHashing(PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    old = SignInService(
        database=hub.database, clock=hub.clock, users=hub.access.users, audit=hub.access.audit,
        rules=hub.sign_in.rules, hashing=weak,
    )  # fmt: skip
    old.set_password(user_id="j.smith", password=PASSWORD, actor="cli:test")
    with hub.database.read() as conn:
        before = conn.exec_driver_sql("SELECT password_hash FROM staff_passwords").scalar_one()
    assert "m=8192,t=1,p=1" in before
    assert sign_in(client).status_code == 200
    with hub.database.read() as conn:
        after = conn.exec_driver_sql("SELECT password_hash FROM staff_passwords").scalar_one()
    assert after != before
    assert not PasswordHasher().check_needs_rehash(after)
    assert "hash renewed" in entries(hub, "sign_in")[-1].event.reasons[0]
    assert sign_in(client).status_code == 200, "the renewed hash verifies the same password"


def test_the_request_limits_in_front_of_every_route_cover_sign_in(database_url: str, tmp_path: Path) -> None:
    key = tmp_path / "audit.key"
    create_signing_key(key)
    settings = Settings(
        database_url=database_url, policy_path=str(DEMO_POLICY), audit_key_path=str(key),
        rate_limit="3/minute", max_json_body_bytes=256,
    )  # fmt: skip
    hub = bootstrap(settings, clock=FixedClock(NOW), migrate_schema=True)
    try:
        with TestClient(create_app(hub=hub), raise_server_exceptions=False) as client:
            assert sign_in(client, password="x" * 300).status_code == 413  # over AIM_MAX_JSON_BODY_BYTES
            statuses = [sign_in(client, "nobody.here").status_code for _ in range(3)]
        assert statuses == [401, 401, 429], "AIM_RATE_LIMIT counts sign-ins by address (no token yet)"
        assert len(entries(hub, "sign_in")) == 2, "refused at the edge: the body never reached the service"
    finally:
        hub.close()
