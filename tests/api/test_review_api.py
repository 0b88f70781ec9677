"""The data steward's review API (SQLite and PostgreSQL): pending pairs shown as level labels and a band only, accept,
reject, split and undo, clear errors for wrong ids and states, refusals for other roles, and one audit entry per
request with its target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aim.audit.log import AuditFilter
from aim.bootstrap import Hub
from api.hub.app import create_app
from tests import identity_factories as idf
from tests.api.staff import headers, staff, staff_hub  # noqa: F401
from tests.asgi import TestClient
from tests.integration.test_identity import person_of

PURPOSE = "data_quality"


@pytest.fixture
def feeds(staff_hub: Hub, tmp_path: Path) -> idf.Feeds:  # noqa: F811
    return idf.Feeds(staff_hub, tmp_path)


@pytest.fixture
def client(staff_hub: Hub) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(hub=staff_hub), raise_server_exceptions=False) as test_client:
        yield test_client


def _twins(feeds: idf.Feeds) -> None:
    """Twins: the hub links after the commit, holding them apart and queueing the pair for review."""
    feeds.ingest([idf.upsert("T1", idf.TWIN_A), idf.upsert("T2", idf.TWIN_B)])


def _steward(hub: Hub) -> dict[str, str]:
    return headers(staff(hub, "steward-1", "data_steward"), PURPOSE)


def _entries(hub: Hub) -> list[tuple[str, str | None, str | None]]:
    """(outcome, action, target) of each audit entry, oldest first."""
    return [
        (e.event.outcome.value, e.event.action, e.event.target) for e in reversed(hub.audit_log.search(AuditFilter()))
    ]


def test_the_steward_lists_pending_pairs_as_labels_and_a_band_only(feeds: idf.Feeds, client: TestClient) -> None:
    _twins(feeds)
    response = client.get("/v1/review/pairs", headers=_steward(feeds.hub))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    [pair] = body["items"]
    assert {(r["partner"], r["record_id"]) for r in pair["records"]} == {("WMP", "T1"), ("WMP", "T2")}
    assert {"field": "first name", "level": "different"} in pair["agreement"]
    assert pair["confidence"] in {"high", "medium", "low"}
    assert set(pair) == {"pair_id", "records", "agreement", "confidence"}
    assert set(pair["records"][0]) == {"partner", "record_id", "flag", "interaction_date", "person_id"}
    # The steward's role sees no category: the police flag is masked, the partner and date are shown.
    assert [r["flag"] for r in pair["records"]] == [None, None]
    assert "POLICE_DV" not in response.text
    for hidden in ("bf_", "tk_", "weight", "score", '"enc'):
        assert hidden not in response.text, hidden
    [entry] = feeds.hub.audit_log.search(AuditFilter())
    assert (entry.event.action, entry.event.purpose, entry.event.counts) == (
        "review_links",
        PURPOSE,
        {"results": 1, "pending": 1},
    )


def test_rejecting_keeps_the_twins_apart_and_a_second_decision_is_refused(feeds: idf.Feeds, client: TestClient) -> None:
    _twins(feeds)
    steward = _steward(feeds.hub)
    [pair] = client.get("/v1/review/pairs", headers=steward).json()["items"]
    url = f"/v1/review/pairs/{pair['pair_id']}"
    rejected = client.post(f"{url}/reject", headers=steward, json={"note": "twins"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json() == {"pair_id": pair["pair_id"], "status": "rejected"}
    again = client.post(f"{url}/accept", headers=steward, json={})
    assert again.status_code == 422
    assert "is rejected, not pending" in again.json()["detail"]
    assert client.get("/v1/review/pairs", headers=steward).json()["total"] == 0
    feeds.identity.link()
    assert person_of(feeds.hub, "WMP", "T1") != person_of(feeds.hub, "WMP", "T2")
    assert _entries(feeds.hub)[1:] == [
        ("allowed", "review_links", f"link:pair-{pair['pair_id']}"),
        ("allowed", "review_links", f"link:pair-{pair['pair_id']}"),
        ("zero_result", "review_links", None),
    ]
    [failed] = [e for e in feeds.hub.audit_log.search(AuditFilter()) if e.event.reasons[-1].startswith("failed")]
    assert failed.event.reasons[-1] == "failed: InputError"


def test_accept_merges_and_undo_restores_both_persons(feeds: idf.Feeds, client: TestClient) -> None:
    _twins(feeds)
    hub = feeds.hub
    steward = _steward(hub)
    a, b = person_of(hub, "WMP", "T1"), person_of(hub, "WMP", "T2")
    [pair] = client.get("/v1/review/pairs", headers=steward).json()["items"]
    accepted = client.post(f"/v1/review/pairs/{pair['pair_id']}/accept", headers=steward, json={"note": "same"})
    assert accepted.status_code == 200, accepted.text
    change = accepted.json()
    assert (change["status"], change["person_id"], change["other_person_id"]) == ("accepted", min(a, b), max(a, b))
    assert person_of(hub, "WMP", "T1") == person_of(hub, "WMP", "T2") == min(a, b)
    undone = client.post(f"/v1/review/events/{change['event_id']}/undo", headers=steward)
    assert undone.status_code == 200, undone.text
    assert {person_of(hub, "WMP", "T1"), person_of(hub, "WMP", "T2")} == {a, b}
    twice = client.post(f"/v1/review/events/{change['event_id']}/undo", headers=steward)
    assert twice.status_code == 422
    assert "already undone" in twice.json()["detail"]
    assert client.post("/v1/review/events/99999/undo", headers=steward).status_code == 404


def test_split_moves_records_out_and_errors_are_clear(feeds: idf.Feeds, client: TestClient) -> None:
    feeds.ingest([idf.upsert("W1", idf.ALICE), idf.upsert("W2", idf.ALICE_TYPO), idf.upsert("W3", idf.BOB)])
    hub = feeds.hub
    steward = _steward(hub)
    alice = person_of(hub, "WMP", "W1")
    assert person_of(hub, "WMP", "W2") == alice
    url = f"/v1/review/persons/{alice}/split"
    split = client.post(url, headers=steward, json={"records": [{"partner": "WMP", "record_id": "W2"}]})
    assert split.status_code == 200, split.text
    moved_to = split.json()["other_person_id"]
    assert person_of(hub, "WMP", "W2") == moved_to != alice
    feeds.identity.link()
    assert person_of(hub, "WMP", "W2") == moved_to, "a later run keeps the steward's split"
    cases = [
        ({"records": [{"partner": "WMP", "record_id": "W1"}]}, 422, "at least one record"),
        ({"records": [{"partner": "WMP", "record_id": "W3"}]}, 422, "not in person"),
        ({"records": [{"partner": "WMP", "record_id": "NOPE"}]}, 404, "no record NOPE from partner WMP"),
        ({"records": []}, 422, "the request is not valid"),
        ({"records": [{"partner": "WMP"}]}, 422, "the request is not valid"),
    ]
    for body, status, detail in cases:
        response = client.post(url, headers=steward, json=body)
        assert response.status_code == status, (body, response.text)
        assert detail in response.json()["detail"], (body, response.text)
    missing = client.post("/v1/review/persons/99999/split", headers=steward, json=cases[0][0])
    assert missing.status_code == 404
    assert client.post("/v1/review/pairs/99999/accept", headers=steward, json={}).status_code == 404
    assert _entries(hub)[0] == ("allowed", "review_links", f"person:{alice}")


@pytest.mark.parametrize(
    ("role", "purpose", "status"),
    [
        pytest.param("data_steward", PURPOSE, 200, id="data steward, data quality: allowed"),
        pytest.param("data_steward", "mash_screening", 403, id="data steward, another purpose: denied"),
        pytest.param("data_steward", None, 403, id="data steward, no purpose: denied"),
        pytest.param("mash_officer", PURPOSE, 403, id="MASH officer: denied"),
        pytest.param("safeguarding_lead", PURPOSE, 403, id="safeguarding lead: denied"),
        pytest.param("dpo", PURPOSE, 403, id="DPO: denied"),
    ],
)
def test_only_the_data_steward_works_the_queue(
    feeds: idf.Feeds, client: TestClient, role: str, purpose: str | None, status: int
) -> None:
    _twins(feeds)
    hub = feeds.hub
    token = staff(hub, "someone", role)
    listing = client.get("/v1/review/pairs", headers=headers(token, purpose))
    assert listing.status_code == status, listing.text
    outcome = "allowed" if status == 200 else "denied"
    assert _entries(hub) == [(outcome, "review_links", None)]
    if status == 403:
        pair_id = hub.identity.review.queue().items[0].pair_id
        refused = client.post(f"/v1/review/pairs/{pair_id}/accept", headers=headers(token, purpose), json={})
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"
        assert hub.identity.review.queue().total == 1, "a refused request changes nothing"
        assert _entries(hub)[-1] == ("denied", "review_links", None)
    assert client.get("/v1/review/pairs").status_code == 401
    assert hub.audit_log.verify().ok
