"""The safeguarding API over alerts, the watch list and notifications (SQLite and PostgreSQL): access by role,
masked flags in evidence, the lifecycle with its errors, and notification text without personal data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from aim.bootstrap import Hub
from api.hub.app import create_app
from tests.api.staff import headers, staff, staff_hub  # noqa: F401
from tests.asgi import TestClient
from tests.factories import TODAY
from tests.rules_factories import World, rule

REVIEW = "watchlist_review"


@pytest.fixture
def world(staff_hub: Hub) -> World:  # noqa: F811
    return World(staff_hub).setup()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(hub=world.hub), raise_server_exceptions=False) as test_client:
        yield test_client


def _raise_one(world: World) -> int:
    person = world.person()
    for partner in ("WMP", "BCHC", "FIRE"):
        world.interaction(person, partner, days_ago=1)
    world.hub.rules.run(as_of=TODAY, rules=[rule()])
    return person


def test_lead_works_an_alert_through_its_lifecycle(world: World, client: TestClient) -> None:
    _raise_one(world)
    lead = headers(staff(world.hub, "lead", "safeguarding_lead"), REVIEW, "CASE-1")
    listing = client.get("/v1/alerts", headers=lead)
    assert listing.status_code == 200, listing.text
    [alert] = listing.json()["items"]
    assert alert["rule"] == {"id": "three-partners", "version": 1}
    assert alert["partners"] == ["BCHC", "FIRE", "WMP"]
    detail = client.get(f"/v1/alerts/{alert['id']}", headers=lead).json()
    assert {e["flag"] for e in detail["evidence"]} == {"POLICE_DV", "COMMUNITY_NURSE", "FIRE_HOME_SAFETY"}
    base = f"/v1/alerts/{alert['id']}"
    assert client.post(f"{base}/acknowledge", headers=lead).json()["status"] == "acknowledged"
    assert client.post(f"{base}/assign", headers=lead, json={"assignee": "team-a"}).json()["status"] == "assigned"
    until = (TODAY + timedelta(days=2)).isoformat()
    assert client.post(f"{base}/snooze", headers=lead, json={"until": until}).json()["snoozed_until"] == until
    refused = client.post(f"{base}/close", headers=lead, json={"note": "looked"})
    assert refused.status_code == 422
    assert "is not an outcome code" in refused.json()["detail"]
    closed = client.post(f"{base}/close", headers=lead, json={"outcome": "already_known", "note": "Known to CSC"})
    assert closed.json()["status"] == "closed"
    again = client.post(f"{base}/close", headers=lead, json={"outcome": "already_known", "note": "Known to CSC"})
    assert again.status_code == 409  # a lifecycle conflict, not an invalid request
    assert again.json()["error"] == "conflict"
    assert "is closed: it can be closed only when" in again.json()["detail"]
    assert client.post(f"{base}/reopen", headers=lead, json={"note": "new concern"}).json()["status"] == "new"
    assert client.get("/v1/alerts/99999", headers=lead).status_code == 404


def test_practitioner_sees_evidence_without_police_flags(world: World, client: TestClient) -> None:
    _raise_one(world)
    practitioner = headers(staff(world.hub, "prac", "safeguarding_practitioner"), REVIEW, "CASE-2")
    [alert] = client.get("/v1/alerts", headers=practitioner).json()["items"]
    evidence = client.get(f"/v1/alerts/{alert['id']}", headers=practitioner).json()["evidence"]
    by_partner = {e["partner"]: e["flag"] for e in evidence}
    assert by_partner == {"WMP": None, "BCHC": "COMMUNITY_NURSE", "FIRE": "FIRE_HOME_SAFETY"}
    watch = client.get("/v1/watchlist", headers=practitioner)
    assert watch.status_code == 403  # managing the watch list is not granted to practitioners


@pytest.mark.parametrize(
    ("role", "status"),
    [
        pytest.param("mash_officer", 403, id="MASH officer: no alert actions"),
        pytest.param("data_steward", 403, id="data steward: no alert actions"),
        pytest.param("safeguarding_lead", 200, id="safeguarding lead: allowed"),
    ],
)
def test_listing_alerts_by_role(world: World, client: TestClient, role: str, status: int) -> None:
    token = staff(world.hub, "someone", role)
    assert client.get("/v1/alerts", headers=headers(token, REVIEW, "CASE-3")).status_code == status
    assert client.get("/v1/alerts").status_code == 401


def test_watch_list_and_notifications(world: World, client: TestClient) -> None:
    person = world.person()
    lead = headers(staff(world.hub, "lead", "safeguarding_lead"), REVIEW, "CASE-4")
    review = (TODAY + timedelta(days=30)).isoformat()
    body = {"person_id": person, "team": "mash", "reason": "repeat contacts", "review_date": review}
    created = client.post("/v1/watchlist", headers=lead, json=body)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert client.post("/v1/watchlist", headers=lead, json=body).status_code == 409  # already watched by mash
    world.interaction(person, "CITYHOSP_AE", days_ago=1)
    world.hub.rules.run(as_of=TODAY, rules=[rule()])
    notes = client.get("/v1/notifications?team=mash", headers=lead).json()
    [note] = notes["items"]
    assert note["text"] == f"New activity on watched person {person}: CITYHOSP_AE on {note['date']} (health)"
    assert not note["read"]
    wrong = client.post("/v1/notifications/read", headers=lead, json={"team": "mash", "ids": [note["id"] + 1000]})
    assert wrong.status_code == 404
    marked = client.post("/v1/notifications/read", headers=lead, json={"team": "mash", "ids": [note["id"]]})
    assert marked.json() == {"team": "mash", "marked": 1}
    assert client.get("/v1/notifications?team=mash&unread_only=true", headers=lead).json()["total"] == 0
    again = client.post("/v1/notifications/read", headers=lead, json={"team": "mash"})
    assert again.json()["marked"] == 0  # every unread one: none left
    renewed = client.post(
        f"/v1/watchlist/{entry['id']}/renew",
        headers=lead,
        json={"review_date": (TODAY + timedelta(days=90)).isoformat()},
    )
    assert renewed.json()["review_date"] == (TODAY + timedelta(days=90)).isoformat()
    missing = client.post(f"/v1/watchlist/{entry['id']}/remove", headers=lead, json={})
    assert missing.status_code == 422
    removed = client.post(f"/v1/watchlist/{entry['id']}/remove", headers=lead, json={"reason": "case closed"})
    assert removed.json()["status"] == "removed"
