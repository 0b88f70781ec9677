"""Hostile input: schemathesis generates requests for every operation of the hub's OpenAPI schema and sends them to
the app in-process (ASGI). Staff operations carry a token of a role the policy allows for them, with a purpose and
a case reference, so requests reach the routes and services rather than stopping at the policy; partner feed
operations carry the partner's token and a valid signature of the exact request (tests/factories.py), so they get
past authentication too.

Every response is checked: no 5xx, the status code and body conform to the schema the operation declares, the
content type is the declared one. The hub runs with its rate limits off (one fuzzer is one caller), over SQLite
with a small linked population so searches, persons, alerts and review pairs exist. The CI variant makes a few
hundred requests; the one behind ``-m slow`` many more. The module prints one result line with the totals.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from aim.bootstrap import Hub
from api.hub.app import create_app
from tests import factories as f
from tests.api.staff import headers, staff
from tests.hostile.population import build_population_hub

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, response_headers_conformance]
EXAMPLES = int(os.environ.get("AIM_FUZZ_EXAMPLES", "8"))
TALLY: Counter[str] = Counter()
OPERATIONS: set[str] = set()

# Which role, purpose and case reference a staff operation is asked with (the policy's grants, fixtures/policy).
STAFF_ROLES: list[tuple[str, str, str | None]] = [
    ("/v1/search", "mash_officer", "mash_screening"),
    ("/v1/persons/{person_id}/split", "data_steward", "data_quality"),
    ("/v1/persons/", "mash_officer", "mash_screening"),
    ("/v1/alerts", "safeguarding_lead", "watchlist_review"),
    ("/v1/watchlist", "safeguarding_lead", "watchlist_review"),
    ("/v1/notifications", "safeguarding_lead", "watchlist_review"),
    ("/v1/audit", "dpo", "audit"),
    ("/v1/break-glass/reviews", "dpo", "audit"),
    ("/v1/break-glass", "safeguarding_lead", "section_47_enquiry"),
    ("/v1/transparency", "dpo", None),
    ("/v1/subject-access", "dpo", "subject_access"),
    ("/v1/pairs", "data_steward", "data_quality"),
    ("/v1/events", "data_steward", "data_quality"),
]


class Credentials:
    """A staff token per role and the partner's keys."""

    def __init__(self, hub: Hub, partner: f.PartnerKeys) -> None:
        self.partner = partner
        roles = {role for _, role, _ in STAFF_ROLES}
        self.tokens = {role: staff(hub, f"fuzz-{role}", role, organisation="MASH") for role in sorted(roles)}

    def for_case(self, case: Any) -> dict[str, str]:
        path: str = case.operation.path
        if path.startswith("/v1/feeds"):
            return self._signed(case)
        for prefix, role, purpose in STAFF_ROLES:
            if path.startswith(prefix):
                return headers(self.tokens[role], purpose, "FUZZ-1" if purpose else None)
        return {}

    def _signed(self, case: Any) -> dict[str, str]:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        body = kwargs.get("content") or kwargs.get("data") or b""
        if isinstance(body, str):
            body = body.encode()
        raw_path = urlsplit(kwargs["url"]).path
        return self.partner.headers(case.method.upper(), raw_path, body)


@pytest.fixture(scope="module")
def fuzz_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, Credentials]]:
    hub, partner = build_population_hub(tmp_path_factory.mktemp("fuzz"))
    try:
        yield hub, Credentials(hub, partner)
    finally:
        hub.close()
        print(
            f"\nschemathesis: {TALLY['requests']} requests over {len(OPERATIONS)} operations, 5xx {TALLY['5xx']}, "
            f"schema violations {TALLY['violations']}"
        )


@pytest.fixture(scope="module")
def api_schema(fuzz_hub: tuple[Hub, Credentials]) -> Any:
    hub, _ = fuzz_hub
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(hub=hub))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_hub_operation_answers_hostile_input_without_5xx_or_schema_violation(
    case: Any, fuzz_hub: tuple[Hub, Credentials]
) -> None:
    _, credentials = fuzz_hub
    extra = credentials.for_case(case)
    TALLY["requests"] += 1
    try:
        response = case.call(headers=extra)
    except Exception:  # the in-process client re-raises what the app did not handle: a 500 to a real client
        TALLY["5xx"] += 1
        raise
    TALLY["violations"] += 0
    TALLY["5xx"] += int(response.status_code >= 500)
    OPERATIONS.add(f"{case.operation.method.upper()} {case.operation.path}")
    try:
        case.validate_response(response, checks=CHECKS, headers=extra)
    except Exception:
        TALLY["violations"] += 1
        raise


def test_population_has_something_to_find(fuzz_hub: tuple[Hub, Credentials]) -> None:
    hub, _ = fuzz_hub
    with hub.database.read() as conn:
        persons = conn.exec_driver_sql("SELECT count(*) FROM persons").scalar_one()
    assert persons > 0
    assert Path(hub.settings.database_url.removeprefix("sqlite:///")).exists()


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        pytest.param("GET", "/v1/alerts", {"person_id": str(10**30)}, id="query id past 64 bits"),
        pytest.param("GET", "/v1/alerts/99999999999999999999999", None, id="path id past 64 bits"),
    ],
)
def test_a_number_past_64_bits_is_refused_not_a_500(
    fuzz_hub: tuple[Hub, Credentials], method: str, path: str, params: dict[str, str] | None
) -> None:
    from tests.asgi import TestClient

    hub, credentials = fuzz_hub
    with TestClient(create_app(hub=hub), raise_server_exceptions=False) as client:
        response = client.request(
            method,
            path,
            params=params,
            headers=headers(credentials.tokens["safeguarding_lead"], "watchlist_review", "FUZZ-2"),
        )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"
