"""The ``authorise`` dependency on a throwaway route: 401/403 with reasons, one audit entry per request, outcomes
recorded by the route (zero-result searches included), and a route error still audited."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy.exc import OperationalError

from aim.audit.log import AuditFilter
from aim.bootstrap import Hub
from aim.errors import NotFoundError
from api.hub.access import Access, authorise
from api.hub.app import create_app
from tests.api.staff import headers, staff
from tests.asgi import TestClient


def _app(hub: Hub) -> TestClient:
    app = create_app(hub=hub)
    router = APIRouter()

    @router.get("/test/search")
    def search(
        access: Annotated[Access, Depends(authorise("search"), scope="function")], hits: int = 0
    ) -> dict[str, object]:
        access.record(results=hits)
        return {"user": access.user_id, "categories": sorted(access.visible_categories)}

    @router.get("/test/persons/{person_id}")
    def view(
        person_id: str,
        access: Annotated[Access, Depends(authorise("view_person", person="person_id"), scope="function")],
    ) -> None:
        raise NotFoundError(f"no person {person_id}")

    @router.get("/test/bogus")
    def bogus(access: Annotated[Access, Depends(authorise("drop_tables"), scope="function")]) -> None:
        return None

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(staff_hub: Hub) -> Iterator[TestClient]:
    with _app(staff_hub) as test_client:
        yield test_client


def test_allowed_search_is_audited_with_its_result_count(staff_hub: Hub, client: TestClient) -> None:
    token = staff(staff_hub, "o.one", "mash_officer")
    response = client.get("/test/search?hits=3", headers=headers(token, "mash_screening", "CASE-1"))
    assert response.status_code == 200
    assert response.json()["categories"] == ["education", "fire", "health", "housing", "police", "social_care"]
    [entry] = staff_hub.audit_log.search(AuditFilter())
    assert entry.event.outcome.value == "allowed"
    assert entry.event.counts == {"results": 3}
    assert entry.event.case_reference == "CASE-1"


def test_zero_result_search_is_audited(staff_hub: Hub, client: TestClient) -> None:
    token = staff(staff_hub, "o.one", "mash_officer")
    assert client.get("/test/search", headers=headers(token, "mash_screening", "CASE-1")).status_code == 200
    [entry] = staff_hub.audit_log.search(AuditFilter())
    assert entry.event.outcome.value == "zero_result"


@pytest.mark.parametrize(
    ("who", "hdrs", "status", "code"),
    [
        ("nobody", {}, 401, "not_signed_in"),
        ("a wrong token", {"Authorization": "Bearer nope"}, 401, "not_signed_in"),
        ("no purpose", None, 403, "purpose_required"),
    ],
)
def test_refusals_render_reasons_and_are_audited(
    staff_hub: Hub, client: TestClient, who: str, hdrs: dict[str, str] | None, status: int, code: str
) -> None:
    token = staff(staff_hub, "o.one", "mash_officer")
    response = client.get("/test/search", headers=headers(token, None, "CASE-1") if hdrs is None else hdrs)
    assert response.status_code == status, who
    assert code in [p["code"] for p in response.json()["problems"]]
    assert staff_hub.audit_log.count() == 1


def test_unknown_action_is_denied_and_route_errors_are_audited(staff_hub: Hub, client: TestClient) -> None:
    token = staff(staff_hub, "o.one", "mash_officer")
    assert client.get("/test/bogus", headers=headers(token)).status_code == 403
    assert client.get("/test/persons/42", headers=headers(token, "mash_screening", "C-1")).status_code == 404
    entries = staff_hub.audit_log.search(AuditFilter())
    assert [e.event.outcome.value for e in reversed(entries)] == ["denied", "allowed"]
    assert entries[0].event.reasons[-1] == "failed: NotFoundError"
    assert entries[0].event.target == "person:42"
    assert staff_hub.audit_log.verify().ok


class _SinkThatCannotWrite:
    """An audit sink whose writes fail as a full or broken disk would."""

    def append(self, event: object) -> None:
        raise OperationalError("INSERT INTO audit_log ...", {}, sqlite3.OperationalError("disk I/O error"))


def test_an_answer_is_never_sent_when_its_audit_entry_cannot_be_written(
    staff_hub: Hub, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = staff(staff_hub, "o.one", "mash_officer")
    monkeypatch.setattr(staff_hub.access, "audit", _SinkThatCannotWrite())
    response = client.get("/test/search?hits=3", headers=headers(token, "mash_screening", "CASE-1"))
    assert response.status_code == 503
    assert "categories" not in response.json()
    assert response.headers["Retry-After"]
