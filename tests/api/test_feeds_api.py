"""The partner API end to end through FastAPI: the protocol, status codes, authentication and isolation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.exc import OperationalError

from aim.agent.push import HubClient, PushError, RetryPolicy, fetch_receipt, push_feed, retry_after
from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.ingest import commit
from aim.ingest.batches import split_feed, split_rows
from aim.ingest.errors import CommitUnavailableError
from aim.settings import Settings
from aim.storage import feeds as feed_store
from api.hub.app import create_app
from tests import factories as f
from tests.asgi import TestClient

_T = TypeVar("_T")

JSON, NDJSON = "application/json", "application/x-ndjson"


def _send(client: TestClient, keys: f.PartnerKeys, method: str, path: str, body: bytes = b"", ctype: str | None = None):
    return client.request(method, path, content=body, headers=keys.headers(method, path, body, ctype))


def _hub_client(client: TestClient, keys: f.PartnerKeys) -> HubClient:
    return HubClient(base_url="http://testserver", token=keys.token, signing_key=keys.key, http=client)


def test_the_protocol_step_by_step(hub: Hub, client: TestClient, tmp_path: Path) -> None:
    keys = f.register(hub)
    f.feed(tmp_path / "a.feed", f.rows(30))
    feed = split_feed((tmp_path / "a.feed").read_bytes())
    opened = _send(client, keys, "POST", "/v1/feeds", feed.manifest_line, JSON)
    assert (opened.status_code, opened.json()["replayed"]) == (201, False)
    assert _send(client, keys, "POST", "/v1/feeds", feed.manifest_line, JSON).status_code == 200
    for seq, batch in enumerate(split_rows(feed.body, max_rows=10), start=1):
        put = _send(client, keys, "PUT", f"/v1/feeds/WMP-1/batches/{seq}", batch, NDJSON)
        assert (put.status_code, put.json()["valid"]) == (201, 10)
    replay = _send(client, keys, "PUT", "/v1/feeds/WMP-1/batches/1", split_rows(feed.body, max_rows=10)[0], NDJSON)
    assert (replay.status_code, replay.json()["replayed"]) == (200, True)
    pending = _send(client, keys, "GET", "/v1/feeds/WMP-1/receipt")
    assert (pending.json()["status"], pending.json()["rows_received"]) == ("open", 30)
    committed = _send(client, keys, "POST", "/v1/feeds/WMP-1/commit")
    assert committed.status_code == 200
    assert committed.json() | {"rejections": []} == _send(client, keys, "GET", "/v1/feeds/WMP-1/receipt").json()
    assert (committed.json()["accepted"], committed.json()["rejected"]) == (30, 0)


def _failing_once(call: Callable[..., _T], error: Exception) -> Callable[..., _T]:
    """``call``, but raising ``error`` the first time."""
    failures = [error]

    def wrapper(*args: object, **kwargs: object) -> _T:
        if failures:
            raise failures.pop()
        return call(*args, **kwargs)

    return wrapper


def test_a_storage_failure_is_503_with_retry_after_and_the_batch_is_kept_on_retry(
    hub: Hub, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = f.register(hub)
    f.feed(tmp_path / "a.feed", f.rows(10))
    feed = split_feed((tmp_path / "a.feed").read_bytes())
    failure = OperationalError("INSERT INTO feed_batches ...", {}, OSError("disk I/O error"))
    monkeypatch.setattr(feed_store, "insert_batch", _failing_once(feed_store.insert_batch, failure))
    assert _send(client, keys, "POST", "/v1/feeds", feed.manifest_line, JSON).status_code == 201
    failed = _send(client, keys, "PUT", "/v1/feeds/WMP-1/batches/1", feed.body, NDJSON)
    assert (failed.status_code, failed.headers["Retry-After"], failed.json()["error"]) == (503, "5", "unavailable")
    assert "disk" not in failed.text, "the database's own message stays in the hub"
    assert _send(client, keys, "PUT", "/v1/feeds/WMP-1/batches/1", feed.body, NDJSON).status_code == 201
    assert _send(client, keys, "POST", "/v1/feeds/WMP-1/commit").json()["accepted"] == 10


def test_a_commit_that_cannot_be_applied_just_now_is_503_and_carries_on_when_sent_again(
    hub: Hub, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = f.register(hub)
    f.feed(tmp_path / "a.feed", f.rows(10))
    feed = split_feed((tmp_path / "a.feed").read_bytes())
    refusal = CommitUnavailableError("the hub could not apply the feed just now")
    monkeypatch.setattr(commit, "apply_batches", _failing_once(commit.apply_batches, refusal))
    assert _send(client, keys, "POST", "/v1/feeds", feed.manifest_line, JSON).status_code == 201
    assert _send(client, keys, "PUT", "/v1/feeds/WMP-1/batches/1", feed.body, NDJSON).status_code == 201
    refused = _send(client, keys, "POST", "/v1/feeds/WMP-1/commit")
    assert (refused.status_code, refused.headers["Retry-After"], refused.json()["error"]) == (503, "5", "unavailable")
    assert _send(client, keys, "GET", "/v1/feeds/WMP-1/receipt").json()["status"] == "applying"
    assert _send(client, keys, "POST", "/v1/feeds/WMP-1/commit").json()["accepted"] == 10


def test_the_agent_waits_as_long_as_the_hub_asks_before_sending_again(
    hub: Hub, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = f.register(hub)
    f.feed(tmp_path / "a.feed", f.rows(10))
    failure = OperationalError("INSERT ...", {}, OSError("disk I/O error"))
    monkeypatch.setattr(feed_store, "insert_batch", _failing_once(feed_store.insert_batch, failure))
    slept: list[float] = []
    said: list[str] = []
    agent = _hub_client(client, keys)
    agent.retry = RetryPolicy(sleep=slept.append)
    agent.on_retry = said.append
    receipt = push_feed(tmp_path / "a.feed", client=agent)
    assert receipt["accepted"] == 10
    assert len(slept) == 1
    assert slept[0] >= 5, "the back-off alone would have sent again within half a second"
    assert "HTTP 503, Retry-After 5s" in said[0]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("7", 7.0),
        (" 0 ", 0.0),
        ("86400", 3600.0),  # at most an hour
        ("soon", None),
        ("-3", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date gone by: at once
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(header: str | None, seconds: float | None) -> None:
    assert retry_after(header) == seconds


def test_retry_after_as_a_date_to_come_is_the_seconds_until_then() -> None:
    later = datetime.now(UTC) + timedelta(seconds=90)
    waited = retry_after(format_datetime(later, usegmt=True))
    assert waited is not None
    assert 85 <= waited <= 90


def test_the_agent_client_pushes_a_feed_and_gets_its_receipt(hub: Hub, client: TestClient, tmp_path: Path) -> None:
    keys = f.register(hub)
    f.feed(tmp_path / "a.feed", [*f.rows(25), f.delete("R-unknown")])
    seen: list[int] = []
    receipt = push_feed(tmp_path / "a.feed", client=_hub_client(client, keys), batch_rows=7, progress=seen.append)
    assert sum(seen) == 26
    assert (receipt["accepted"], receipt["rejected"]) == (25, 1)
    assert receipt["rejections"][0]["line"] == 27
    assert fetch_receipt("WMP-1", client=_hub_client(client, keys)) == receipt
    again = push_feed(tmp_path / "a.feed", client=_hub_client(client, keys), batch_rows=7)
    assert again == receipt, "pushing the same feed again returns the first receipt"


def test_a_changed_feed_under_the_same_id_is_refused(hub: Hub, client: TestClient, tmp_path: Path) -> None:
    keys = f.register(hub)
    f.feed(tmp_path / "a.feed", f.rows(5))
    push_feed(tmp_path / "a.feed", client=_hub_client(client, keys))
    f.feed(tmp_path / "b.feed", f.rows(6))
    with pytest.raises(PushError, match="different manifest") as caught:
        push_feed(tmp_path / "b.feed", client=_hub_client(client, keys))
    assert caught.value.status == 422


def _refusal(client: TestClient, keys: f.PartnerKeys, tmp_path: Path, **tamper: str):
    f.feed(tmp_path / "a.feed", f.rows(2), partner=keys.code, feed_id=f"{keys.code}-1")
    body = split_feed((tmp_path / "a.feed").read_bytes()).manifest_line
    headers = keys.headers("POST", "/v1/feeds", body, JSON) | tamper
    return client.post("/v1/feeds", content=body, headers={k: v for k, v in headers.items() if v})


@pytest.mark.parametrize(
    ("description", "tamper", "status", "reason"),
    [
        ("no token", {"Authorization": ""}, 401, "no partner token"),
        ("an unregistered token", {"Authorization": "Bearer aimp_not-a-real-token"}, 401, "not registered"),
        ("not a bearer token", {"Authorization": "Basic dXNlcjpwYXNz"}, 401, "no partner token"),
        ("no signature", {"AIM-Signature": ""}, 401, "not signed"),
        ("a signature over other bytes", {"AIM-Signature": "A" * 86 + "=="}, 401, "signature does not match"),
        ("a signature that is not base64", {"AIM-Signature": "%%%"}, 401, "signature does not match"),
        ("an unknown key id", {"AIM-Key-Id": "ed25519-0000000000000000"}, 401, "not registered to this partner"),
    ],
)
def test_requests_that_do_not_prove_a_registered_partner_are_refused(
    hub: Hub, client: TestClient, tmp_path: Path, description: str, tamper: dict[str, str], status: int, reason: str
) -> None:
    response = _refusal(client, f.register(hub), tmp_path, **tamper)
    assert response.status_code == status, description
    assert reason in response.json()["detail"]


def test_a_suspended_or_expired_partner_is_refused(hub: Hub, client: TestClient, tmp_path: Path) -> None:
    keys = f.register(hub)
    hub.partners.suspend("WMP", reason="agreement under review")
    response = _refusal(client, keys, tmp_path)
    assert (response.status_code, response.json()["error"]) == (403, "forbidden")
    assert "suspended" in response.json()["detail"]
    hub.partners.reinstate("WMP")
    assert _refusal(client, keys, tmp_path).status_code == 201
    old = f.register(hub, "FIRE", until=date(2026, 6, 30))
    response = _refusal(client, old, tmp_path)
    assert response.status_code == 403
    assert "ended on 2026-06-30" in response.json()["detail"]


def test_a_key_of_another_partner_or_a_revoked_key_is_refused(hub: Hub, client: TestClient, tmp_path: Path) -> None:
    wmp, fire = f.register(hub, "WMP"), f.register(hub, "FIRE")
    borrowed = f.PartnerKeys(code="WMP", token=wmp.token, key=fire.key, key_id=fire.key_id, public_pem=b"")
    assert _refusal(client, borrowed, tmp_path).status_code == 401
    hub.partners.revoke_key(wmp.key_id)
    assert _refusal(client, wmp, tmp_path).status_code == 401


def test_a_rotated_token_replaces_the_old_one(hub: Hub, client: TestClient, tmp_path: Path) -> None:
    keys = f.register(hub)
    new_token = hub.partners.new_token("WMP")
    assert _refusal(client, keys, tmp_path).status_code == 401
    keys.token = new_token
    assert _refusal(client, keys, tmp_path).status_code == 201


def test_a_partner_cannot_read_or_touch_another_partners_feed(hub: Hub, client: TestClient, tmp_path: Path) -> None:
    wmp, fire = f.register(hub, "WMP"), f.register(hub, "FIRE")
    f.feed(tmp_path / "a.feed", f.rows(3))
    push_feed(tmp_path / "a.feed", client=_hub_client(client, wmp))
    for method, path in [
        ("GET", "/v1/feeds/WMP-1/receipt"),
        ("POST", "/v1/feeds/WMP-1/commit"),
    ]:
        response = _send(client, fire, method, path)
        assert response.status_code == 404, path
        assert "FIRE" in response.json()["detail"]
    batch = split_feed((tmp_path / "a.feed").read_bytes()).body
    assert _send(client, fire, "PUT", "/v1/feeds/WMP-1/batches/1", batch, NDJSON).status_code == 404
    manifest = split_feed((tmp_path / "a.feed").read_bytes()).manifest_line
    response = _send(client, fire, "POST", "/v1/feeds", manifest, JSON)
    assert response.status_code == 403
    assert "another partner" in response.json()["detail"]


def test_a_signature_is_bound_to_its_path(hub: Hub, client: TestClient, tmp_path: Path) -> None:
    keys = f.register(hub)
    f.feed(tmp_path / "a.feed", f.rows(3))
    push_feed(tmp_path / "a.feed", client=_hub_client(client, keys))
    headers = keys.headers("GET", "/v1/feeds/WMP-1/receipt")
    assert client.get("/v1/feeds/WMP-1/receipt", headers=headers).status_code == 200
    assert client.post("/v1/feeds/WMP-1/commit", headers=headers).status_code == 401


def test_health_needs_no_credentials(client: TestClient) -> None:
    assert client.get("/v1/health").json() == {"status": "ok"}


def test_a_batch_over_the_hubs_body_limit_is_refused_with_the_fix_and_a_smaller_one_goes_through(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=sqlite_url, max_body_bytes=8192, max_json_body_bytes=2048)
    hub = bootstrap(settings, clock=FixedClock(f.NOW), migrate_schema=True)
    try:
        keys = f.register(hub)
        f.feed(tmp_path / "a.feed", f.rows(40))
        with TestClient(create_app(hub=hub)) as client:
            with pytest.raises(
                PushError, match=r"batch 1 \(40 rows, .* push the feed again with a smaller --batch-rows"
            ):
                push_feed(tmp_path / "a.feed", client=_hub_client(client, keys))
            receipt = push_feed(tmp_path / "a.feed", client=_hub_client(client, keys), batch_rows=5)
        assert receipt["accepted"] == 40
    finally:
        hub.close()
