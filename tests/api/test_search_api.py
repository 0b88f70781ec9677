"""Search API on SQLite and PostgreSQL: the portal's encoded query finds the right person (typo, day/month swap),
twins stay two persons, flags are masked by role, restricted subjects hidden, every search audited (zero-result and
denied ones too), and no response ever carries an encoding."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from aim.audit.log import AuditFilter
from aim.bootstrap import Hub
from aim.feed import Row
from aim.search import encode_query
from api.hub.app import create_app
from linkage.encoder import RawIdentity
from tests import factories as f
from tests.api.staff import headers, staff
from tests.asgi import TestClient
from tests.identity_factories import KEYS, TWIN_A, TWIN_B, Feeds, encode

AMELIA = RawIdentity("Amelia", "Clarke", "2011-04-09", "F", "4 Birch Avenue Wolverhampton", "WV1 1AB")
NOAH = RawIdentity("Noah", "Patel", "1990-12-01", "M", "22 Oak Lane Solihull", "B91 3QT")
ENCODINGS: list[str] = []


def _row(record_id: str, who: RawIdentity, partner: str, flag: str, day: date) -> Row:
    enc = encode(who, partner)
    for value in enc.values():
        ENCODINGS.extend(value if isinstance(value, list) else [value])
    return Row(
        record_id=record_id, op="upsert", enc=enc, flag=flag, interaction_date=day, lead_contact=f"{partner} duty desk"
    )


@pytest.fixture
def searchable(staff_hub: Hub, tmp_path: Path) -> Hub:
    feeds = Feeds(staff_hub, tmp_path)
    feeds.ingest(
        [
            _row("W1", AMELIA, "WMP", "POLICE_DV", date(2026, 10, 1)),
            _row("W2", TWIN_A, "WMP", "POLICE_WELFARE", date(2026, 9, 1)),
            _row("W3", TWIN_B, "WMP", "POLICE_WELFARE", date(2026, 9, 2)),
            _row("W4", NOAH, "WMP", "POLICE_ASB", date(2026, 8, 1)),
        ],
        "WMP",
    )
    feeds.ingest(
        [_row("A1", replace(AMELIA, address="4 Birch Ave"), "CITYHOSP_AE", "AE_INJURY", date(2026, 11, 2))],
        "CITYHOSP_AE",
    )
    feeds.ingest([_row("S1", AMELIA, "SCHOOLS", "SCHOOL_ABSENCE", date(2026, 11, 10))], "SCHOOLS")
    feeds.identity.link()
    return staff_hub


@pytest.fixture
def client(searchable: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(hub=searchable), raise_server_exceptions=False) as test_client:
        yield test_client


def _query(**raw: str) -> dict[str, Any]:
    return encode_query(KEYS, today=f.TODAY, **raw).to_json()


def _search(client: TestClient, token: str, body: dict[str, Any], purpose: str = "mash_screening") -> Any:
    return client.post("/v1/search", json=body, headers=headers(token, purpose, "CASE-7"))


def _no_encodings(text: str) -> None:
    assert not any(value in text for value in ENCODINGS)
    assert not re.search(r"[A-Za-z0-9+/_\-]{22,}", text), "something shaped like an encoding came back"
    assert "weight" not in text
    assert "score" not in text


def test_search_finds_the_person_despite_a_typo_and_a_day_month_swap(searchable: Hub, client: TestClient) -> None:
    token = staff(searchable, "m.officer", "mash_officer")
    body = _query(first_name="Amelai", last_name="Clarke", date_of_birth="2011-09-04", gender="F")
    response = _search(client, token, body)
    assert response.status_code == 200, response.text
    _no_encodings(response.text)
    persons = response.json()["persons"]
    assert persons, "the person was not found"
    top = persons[0]
    assert top["confidence"] in {"strong", "possible"}
    assert top["partners_count"] == 3
    assert top["interactions"] == 3
    assert (top["first_interaction"], top["last_interaction"]) == ("2026-10-01", "2026-11-10")
    assert {p["partner"]: p["latest_flag"] for p in top["partners"]} == {
        "WMP": "POLICE_DV",
        "CITYHOSP_AE": "AE_INJURY",
        "SCHOOLS": "SCHOOL_ABSENCE",
    }
    exact = _search(client, token, _query(first_name="Amelia", last_name="Clarke", date_of_birth="2011-04-09"))
    assert exact.json()["persons"][0]["person_id"] == top["person_id"]
    assert exact.json()["persons"][0]["confidence"] == "strong"


def test_twins_come_back_as_two_persons(searchable: Hub, client: TestClient) -> None:
    token = staff(searchable, "m.officer", "mash_officer")
    body = _query(first_name="Oliver", last_name="Smith", date_of_birth="2015-05-05", postcode="WS1 1AA")
    persons = _search(client, token, body).json()["persons"]
    assert len(persons) == 2
    assert len({p["person_id"] for p in persons}) == 2
    assert persons[0]["confidence"] == "strong"
    assert persons[1]["confidence"] == "possible"


def test_a_practitioner_never_sees_police_flags(searchable: Hub, client: TestClient) -> None:
    officer = staff(searchable, "m.officer", "mash_officer")
    practitioner = staff(searchable, "s.prac", "safeguarding_practitioner")
    body = _query(first_name="Amelia", last_name="Clarke", date_of_birth="2011-04-09")
    response = _search(client, practitioner, body, purpose="early_help_triage")
    assert response.status_code == 200, response.text
    [person] = response.json()["persons"]
    flags = {p["partner"]: p["latest_flag"] for p in person["partners"]}
    assert flags == {"WMP": None, "CITYHOSP_AE": "AE_INJURY", "SCHOOLS": "SCHOOL_ABSENCE"}
    person_id = person["person_id"]
    hdrs = headers(practitioner, "early_help_triage", "CASE-7")
    timeline = client.get(f"/v1/persons/{person_id}/timeline", headers=hdrs)
    assert timeline.status_code == 200, timeline.text
    items = timeline.json()["items"]
    assert [i["date"] for i in items] == ["2026-11-10", "2026-11-02", "2026-10-01"]
    assert [i["flag"] for i in items] == ["SCHOOL_ABSENCE", "AE_INJURY", None]
    assert all(i["confidence"] in {"confirmed", "strong", "possible", "first record"} for i in items)
    assert "POLICE" not in timeline.text + client.get(f"/v1/persons/{person_id}", headers=hdrs).text
    officer_view = client.get(f"/v1/persons/{person_id}", headers=headers(officer, "mash_screening", "CASE-7"))
    assert {p["latest_flag"] for p in officer_view.json()["partners"]} >= {"POLICE_DV"}
    _no_encodings(timeline.text + officer_view.text)


def test_timeline_pages(searchable: Hub, client: TestClient) -> None:
    token = staff(searchable, "m.officer", "mash_officer")
    body = _query(first_name="Amelia", last_name="Clarke", date_of_birth="2011-04-09")
    person_id = _search(client, token, body).json()["persons"][0]["person_id"]
    hdrs = headers(token, "mash_screening", "CASE-7")
    page = client.get(f"/v1/persons/{person_id}/timeline?limit=2&offset=2", headers=hdrs).json()
    assert (page["total"], len(page["items"]), page["items"][0]["date"]) == (3, 1, "2026-10-01")


def test_zero_result_and_denied_searches_are_audited(searchable: Hub, client: TestClient) -> None:
    officer = staff(searchable, "m.officer", "mash_officer")
    steward = staff(searchable, "d.steward", "data_steward")
    nobody = _query(first_name="Zebedee", last_name="Quartermaine", date_of_birth="1950-01-01")
    response = _search(client, officer, nobody)
    assert (response.status_code, response.json()["persons"]) == (200, [])
    assert _search(client, steward, nobody).status_code == 403
    entries = searchable.audit_log.search(AuditFilter())
    assert [e.event.outcome.value for e in reversed(entries)] == ["zero_result", "denied"]
    assert all(e.event.action == "search" for e in entries)
    assert all((e.event.target or "").startswith("query:") for e in entries[1:])
    assert entries[1].event.counts == {"results": 0}


def test_restricted_subjects_are_hidden_from_all_but_named_roles(searchable: Hub, client: TestClient) -> None:
    officer = staff(searchable, "m.officer", "mash_officer")
    lead = staff(searchable, "s.lead", "safeguarding_lead")
    body = _query(first_name="Noah", last_name="Patel", date_of_birth="1990-12-01")
    [person] = _search(client, officer, body).json()["persons"]
    searchable.access.break_glass.restrict(str(person["person_id"]), marked_by="dpo")
    assert _search(client, officer, body).json()["persons"] == []
    assert [p["person_id"] for p in _search(client, lead, body).json()["persons"]] == [person["person_id"]]
    hdrs = headers(officer, "mash_screening", "CASE-7")
    assert client.get(f"/v1/persons/{person['person_id']}", headers=hdrs).status_code == 403


@pytest.mark.parametrize(
    ("case", "body", "needle"),
    [
        ("a surname alone is too thin", {"last_name": "Clarke"}, "too thin"),
        ("both names alone are too thin", {"first_name": "Amelia", "last_name": "Clarke"}, "too thin"),
    ],
)
def test_thin_queries_are_refused(
    searchable: Hub, client: TestClient, case: str, body: dict[str, str], needle: str
) -> None:
    token = staff(searchable, "m.officer", "mash_officer")
    raw = encode(RawIdentity(**body))
    response = _search(client, token, {"key_id": KEYS.key_id, "enc": raw})
    assert response.status_code == 422, case
    assert needle in response.json()["detail"]


def test_bad_input_is_refused_clearly(searchable: Hub, client: TestClient) -> None:
    token = staff(searchable, "m.officer", "mash_officer")
    good = _query(first_name="Amelia", last_name="Clarke", date_of_birth="2011-04-09")
    extra = _search(client, token, {**good, "first_name": "Amelia"})
    assert extra.status_code == 422
    assert ["body", "first_name"] in [p["location"] for p in extra.json()["problems"]]
    unknown = _search(client, token, {**good, "enc": {**good["enc"], "name": "Amelia"}})
    assert unknown.status_code == 422
    assert "unknown encoded field 'name'" in unknown.json()["detail"]
    assert "Amelia" not in unknown.text
    assert client.get("/v1/persons/abc", headers=headers(token, "mash_screening", "C")).status_code == 422
    assert client.get("/v1/persons/999999", headers=headers(token, "mash_screening", "C")).status_code == 404
