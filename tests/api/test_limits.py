"""Request limits at the edge (api/hub/limits.py), on SQLite and PostgreSQL: oversized bodies answered 413 whether
declared or streamed, too many requests answered 429 with Retry-After, and a search flood by one user throttled and
reported to the DPO as one ``search_throttled`` audit entry that the DPO's audit search finds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import anyio
import pytest
from anyio import to_thread

from aim.audit.signing import create_signing_key
from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.errors import ConfigError
from aim.search import encode_query
from aim.settings import Settings, env_name
from api.hub.app import create_app
from tests import factories as f
from tests.api.staff import DEMO_POLICY, headers, staff
from tests.asgi import TestClient
from tests.identity_factories import KEYS

RELIABILITY = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
LIMIT_SETTINGS = [
    "max_json_body_bytes",
    "rate_limit",
    "search_rate_limit",
    "request_threads",
    "hub_workers",
    "rate_limit_storage",
]


def _hub(database_url: str, tmp_path: Path, **limits: object) -> Hub:
    key = tmp_path / "audit.key"
    create_signing_key(key)
    settings = Settings.from_dict(
        {"database_url": database_url, "policy_path": str(DEMO_POLICY), "audit_key_path": str(key), **limits}
    )
    return bootstrap(settings, clock=FixedClock(f.NOW), migrate_schema=True)


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[tuple[Hub, TestClient]]:
    hub = _hub(database_url, tmp_path, rate_limit="40/minute", search_rate_limit="5/minute", max_json_body_bytes=4096)
    try:
        with TestClient(create_app(hub=hub), raise_server_exceptions=False) as client:
            yield hub, client
    finally:
        hub.close()


def _query() -> dict[str, object]:
    raw = {"first_name": "Amelia", "last_name": "Clarke", "date_of_birth": "2011-04-09", "gender": "F"}
    return encode_query(KEYS, today=f.TODAY, **raw).to_json()


def test_a_declared_oversized_body_is_answered_413_before_anything_reads_it(limited: tuple[Hub, TestClient]) -> None:
    hub, client = limited
    token = staff(hub, "mash1", "mash_officer")
    body = json.dumps({"key_id": "k", "enc": {"x": "y" * 8000}}).encode()
    response = client.post(
        "/v1/search",
        content=body,
        headers=headers(token, "mash_screening", "C-1") | {"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert "4096 bytes" in response.json()["detail"]


def test_a_streamed_oversized_body_is_cut_off_with_413(limited: tuple[Hub, TestClient]) -> None:
    hub, client = limited
    token = staff(hub, "mash1", "mash_officer")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while the body arrives
        yield b'{"key_id": "k", "enc": {"x": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}}'

    response = client.post(
        "/v1/search",
        content=chunks(),
        headers=headers(token, "mash_screening", "C-1") | {"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_body_under_the_limit_passes(limited: tuple[Hub, TestClient]) -> None:
    hub, client = limited
    token = staff(hub, "mash1", "mash_officer")
    response = client.post("/v1/search", json=_query(), headers=headers(token, "mash_screening", "C-1"))
    assert response.status_code == 200


def test_too_many_requests_from_one_caller_are_answered_429(limited: tuple[Hub, TestClient]) -> None:
    _, client = limited
    statuses = [client.get("/v1/alerts").status_code for _ in range(45)]  # no token: counted by address
    assert statuses[:40] == [401] * 40
    assert set(statuses[40:]) == {429}
    refused = client.get("/v1/alerts")
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"] == "rate_limited"
    assert "40 per 1 minute" in refused.json()["detail"]


def test_a_search_flood_is_throttled_and_reported_once_to_the_dpo(limited: tuple[Hub, TestClient]) -> None:
    hub, client = limited
    flooder = staff(hub, "mash1", "mash_officer", organisation="MASH")
    other = staff(hub, "mash2", "mash_officer", organisation="MASH")
    dpo = staff(hub, "dpo1", "dpo")
    statuses = [
        client.post("/v1/search", json=_query(), headers=headers(flooder, "mash_screening", "C-1")).status_code
        for _ in range(12)
    ]
    assert statuses == [200] * 5 + [429] * 7
    # Another user's searches are counted apart.
    assert client.post("/v1/search", json=_query(), headers=headers(other, "mash_screening", "C-2")).status_code == 200

    found = client.get("/v1/audit", params={"action": "search_throttled"}, headers=headers(dpo, "audit", "DPO-1"))
    assert found.status_code == 200
    entries = found.json()["entries"]
    assert len(entries) == 1, "one entry per flood, not one per refused request"
    assert entries[0]["actor"] == "mash1"
    assert entries[0]["outcome"] == "denied"
    assert "rate_limited" in entries[0]["reasons"][0]
    searches = client.get("/v1/audit", params={"action": "search"}, headers=headers(dpo, "audit", "DPO-1"))
    assert len(searches.json()["entries"]) == 6, "throttled searches never reached the search (nor its audit entry)"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        pytest.param("rate_limit", "lots", id="rate not in count/period form"),
        pytest.param("search_rate_limit", "0/minute", id="zero rate (use empty to switch off)"),
        pytest.param("search_rate_limit", "5/fortnight", id="unknown period"),
        pytest.param("max_json_body_bytes", 10, id="JSON limit too small"),
        pytest.param("request_threads", 0, id="no thread to answer with"),
        pytest.param("hub_workers", 0, id="no worker"),
        pytest.param("rate_limit_storage", "sqlite:///limits.db", id="a storage the limits library does not have"),
        pytest.param("rate_limit_storage", "redis://", id="a shared storage without its address"),
        pytest.param("rate_limit_storage", "memcached://cache:11211", id="a storage whose client is not installed"),
    ],
)
def test_invalid_limit_settings_are_refused_naming_the_variable(setting: str, value: object) -> None:
    with pytest.raises(ConfigError, match=env_name(setting)):
        Settings.from_dict({setting: value})


def test_several_workers_need_a_shared_storage_for_the_rate_limits() -> None:
    with pytest.raises(ConfigError, match=r"AIM_RATE_LIMIT_STORAGE=memory:// would let each worker count"):
        Settings.from_dict({"hub_workers": 2})
    assert Settings.from_dict({"hub_workers": 2, "rate_limit_storage": "redis://127.0.0.1:6379"}).hub_workers == 2
    # Without rate limits there is nothing to share.
    assert Settings.from_dict({"hub_workers": 2, "rate_limit": "", "search_rate_limit": ""}).hub_workers == 2


def test_an_unreachable_rate_limit_storage_is_answered_503_not_an_error(database_url: str, tmp_path: Path) -> None:
    # Nothing listens on port 9 of loopback: the storage cannot be reached, and no request goes uncounted.
    hub = _hub(database_url, tmp_path, rate_limit_storage="redis://127.0.0.1:9")
    try:
        with TestClient(create_app(hub=hub), raise_server_exceptions=False) as client:
            response = client.get("/v1/health")
    finally:
        hub.close()
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert "AIM_RATE_LIMIT_STORAGE did not answer" in response.json()["detail"]
    assert response.headers["retry-after"] == "5"


def test_empty_rates_switch_the_rate_limits_off() -> None:
    settings = Settings.from_dict({"rate_limit": "", "search_rate_limit": ""})
    assert (settings.rate_limit, settings.search_rate_limit) == ("", "")


def test_the_hub_works_on_as_many_requests_at_once_as_its_threads(database_url: str, tmp_path: Path) -> None:
    app = create_app(hub=_hub(database_url, tmp_path, request_threads=3))

    async def threads_while_serving() -> float:
        async with app.router.lifespan_context(app):
            return to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(threads_while_serving) == 3
    assert Settings().request_threads == 8


@pytest.mark.parametrize("name", LIMIT_SETTINGS)
def test_every_limit_setting_is_documented(name: str) -> None:
    assert name in {spec.name for spec in fields(Settings)}
    assert f"`{env_name(name)}`" in RELIABILITY.read_text(encoding="utf-8")
