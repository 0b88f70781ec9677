"""The DPO's endpoints end to end: break-glass opened with a justification and used for one person, each use in
the review queue until marked reviewed; restricted subjects; subject access listing who looked; transparency;
audit search and verify. Every request here is itself audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import insert

from aim.bootstrap import Hub
from aim.storage.tables import persons
from api.hub.access import Access, authorise
from api.hub.app import create_app
from tests.api.staff import headers, staff
from tests.asgi import TestClient

JUSTIFICATION = "Child at A&E overnight, MASH closed, duty lead needs the history now"


def _app(hub: Hub) -> Any:
    app = create_app(hub=hub)
    router = APIRouter()
    checked = Depends(authorise("view_person", person="person_id"))

    def view(person_id: str, access: Access = checked) -> dict[str, object]:
        access.record(results=1)
        return {"person": person_id, "categories": sorted(access.visible_categories)}

    router.add_api_route("/probe/persons/{person_id}", view, methods=["GET"])
    app.include_router(router)
    return app


@pytest.fixture
def client(staff_hub: Hub) -> Iterator[TestClient]:
    with staff_hub.database.write() as conn:
        for pk in (42, 43):
            conn.execute(insert(persons).values(pk=pk, created_at=staff_hub.clock.now()))
    with TestClient(_app(staff_hub), raise_server_exceptions=False) as test_client:
        yield test_client


def test_break_glass_is_justified_used_and_reviewed(staff_hub: Hub, client: TestClient) -> None:
    lead, dpo = staff(staff_hub, "lead", "safeguarding_lead"), staff(staff_hub, "dpo", "dpo")
    quality = headers(lead, "data_quality", "CASE-9")
    assert client.get("/probe/persons/42", headers=quality).status_code == 403  # not granted for this purpose
    short = client.post("/v1/break-glass", json={"person_id": "42", "justification": "urgent"}, headers=quality)
    assert short.status_code == 422
    assert "at least 40" in short.json()["detail"]
    opened = client.post("/v1/break-glass", json={"person_id": "42", "justification": JUSTIFICATION}, headers=quality)
    assert opened.status_code == 201, opened.json()
    assert client.get("/probe/persons/42", headers=quality).status_code == 200
    assert client.get("/probe/persons/43", headers=quality).status_code == 403  # one person only
    officer = staff(staff_hub, "officer", "mash_officer")
    refused = client.post(
        "/v1/break-glass", json={"person_id": "42", "justification": JUSTIFICATION}, headers=headers(officer, None, "C")
    )
    assert refused.status_code == 403

    audit = headers(dpo, "audit")
    [use] = client.get("/v1/break-glass/reviews", headers=audit).json()["uses"]
    assert (use["user"], use["person_id"], use["action"]) == ("lead", "42", "view_person")
    assert (
        client.post(f"/v1/break-glass/reviews/{use['use_id']}", json={"note": "justified"}, headers=audit).status_code
        == 200
    )
    assert client.get("/v1/break-glass/reviews", headers=audit).json()["uses"] == []
    assert (
        client.post(f"/v1/break-glass/reviews/{use['use_id']}", json={"note": "again"}, headers=audit).status_code
        == 404
    )


def test_restricted_subjects_subject_access_and_reports(staff_hub: Hub, client: TestClient) -> None:
    officer, lead = staff(staff_hub, "officer", "mash_officer"), staff(staff_hub, "lead", "safeguarding_lead")
    dpo, auditor = staff(staff_hub, "dpo", "dpo"), staff(staff_hub, "auditor", "auditor")
    staff_hub.access.break_glass.restrict("43", marked_by="dpo")
    hidden = client.get("/probe/persons/43", headers=headers(officer, "mash_screening", "C-1"))
    assert hidden.status_code == 403
    assert "restricted_subject" in [p["code"] for p in hidden.json()["problems"]]
    assert client.get("/probe/persons/43", headers=headers(lead, "mash_screening", "C-1")).status_code == 200

    sar = client.get("/v1/subject-access/43", headers=headers(dpo, "subject_access", "SAR-1"))
    assert sar.status_code == 200
    looked = [(a["actor"], a["outcome"], a["case_reference"]) for a in sar.json()["accesses"]]
    assert looked == [("officer", "denied", "C-1"), ("lead", "allowed", "C-1")]
    assert sar.json()["restricted"] is True
    assert client.get("/v1/subject-access/43", headers=headers(officer, "subject_access", "SAR-1")).status_code == 403

    report = client.get("/v1/transparency?from=2026-01-01&to=2026-12-31", headers=headers(auditor))
    assert report.status_code == 200
    assert {t["title"] for t in report.json()["tables"]} >= {"requests refused, by action"}
    found = client.get("/v1/audit?target=person:43", headers=headers(auditor, "audit")).json()["entries"]
    assert len(found) == 4  # two views, the export, and the officer's refused export
    verified = client.get("/v1/audit/verify", headers=headers(auditor, "audit")).json()
    assert verified["ok"] is True
    assert verified["entries"] == staff_hub.audit_log.count() - 1  # the verify request is written after it
