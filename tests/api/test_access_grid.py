"""The access grid over HTTP, generated from the demo policy file: every role (and no token, and a suspended user)
x every registered action's endpoint (and an unregistered one) x every purpose (none, and one off the list) x with
and without a case reference. The expected outcome comes from reading the YAML directly, not from the decider; each
request must leave exactly one audit entry saying the same thing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute

from aim.audit.log import AuditFilter
from aim.bootstrap import Hub
from api.hub.access import Access, authorise
from api.hub.app import create_app
from governance import DEFAULT_ACTIONS
from tests.api.staff import DEMO_POLICY, headers, staff
from tests.asgi import TestClient

RAW = yaml.safe_load(DEMO_POLICY.read_text(encoding="utf-8"))
ROLES = list(RAW["roles"])
PURPOSES = [*RAW["purposes"], None, "idle_curiosity"]
ACTIONS = [*DEFAULT_ACTIONS, "drop_tables"]
SUBJECTS = [*ROLES, "(no token)", "(suspended mash_officer)", "(suspended dpo)"]


def expected(subject: str, action: str, purpose: str | None, case: bool) -> tuple[int, frozenset[str]]:
    """The status and visible categories the policy file says, read without the decider."""
    if subject == "(no token)":
        return 401, frozenset()
    if subject.startswith("(suspended"):
        return 403, frozenset()
    spec = DEFAULT_ACTIONS.get(action)
    if spec is None:
        return 403, frozenset()
    if spec.needs_purpose and purpose not in RAW["purposes"]:
        return 403, frozenset()
    if spec.needs_case_reference and not case:
        return 403, frozenset()
    if action == "break_glass":
        return (200 if subject in RAW["break_glass"]["roles"] else 403), frozenset()
    matching = [
        grant
        for grant in RAW["roles"][subject]["grants"]
        if action in grant["actions"]
        and (not spec.needs_purpose or purpose in grant.get("purposes", []))
        and not grant.get("own_organisation_only", False)  # the probe names no organisation: never one's own
    ]
    if not matching:
        return 403, frozenset()
    shown = frozenset(c for g in matching for c in g.get("categories", [])) if spec.shows_categories else frozenset()
    return 200, shown


def _probe(action: str) -> Any:
    checked = Depends(authorise(action))

    def probe(access: Access = checked) -> dict[str, object]:
        return {"categories": sorted(access.visible_categories), "role": access.role}

    return probe


def _probe_app(hub: Hub) -> Any:
    app = create_app(hub=hub)
    router = APIRouter()
    for action in ACTIONS:
        router.add_api_route(f"/grid/{action}", _probe(action), methods=["GET"])
    app.include_router(router)
    return app


@pytest.fixture
def grid(staff_hub: Hub) -> Iterator[tuple[Hub, TestClient, dict[str, str | None]]]:
    tokens: dict[str, str | None] = {role: staff(staff_hub, role.replace("_", "-"), role) for role in ROLES}
    tokens["(no token)"] = None
    tokens["(suspended mash_officer)"] = staff(staff_hub, "s-officer", "mash_officer", suspended=True)
    tokens["(suspended dpo)"] = staff(staff_hub, "s-dpo", "dpo", suspended=True)
    with TestClient(_probe_app(staff_hub), raise_server_exceptions=False) as client:
        yield staff_hub, client, tokens


def test_every_cell_of_the_grid_is_as_the_policy_says_and_audited(
    grid: tuple[Hub, TestClient, dict[str, str | None]],
) -> None:
    hub, client, tokens = grid
    cells = list(itertools.product(SUBJECTS, ACTIONS, PURPOSES, (True, False)))
    wrong: list[str] = []
    for number, (subject, action, purpose, case) in enumerate(cells):
        status, shown = expected(subject, action, purpose, case)
        request_headers = headers(tokens[subject], purpose, "CASE-7" if case else None)
        request_headers["X-AIM-Request-Id"] = f"grid-{number}"
        response = client.get(f"/grid/{action}", headers=request_headers)
        [entry] = hub.audit_log.search(AuditFilter(limit=1))
        event = entry.event
        cell = f"{subject} / {action} / {purpose} / case={case}"
        if response.status_code != status:
            wrong.append(f"{cell}: HTTP {response.status_code}, policy says {status}: {response.json()}")
        elif status == 200 and frozenset(response.json()["categories"]) != shown:
            wrong.append(f"{cell}: shows {response.json()['categories']}, policy says {sorted(shown)}")
        audited_outcome = "denied" if status != 200 else "allowed"
        if (entry.sequence, event.request_id, event.outcome.value) != (number + 1, f"grid-{number}", audited_outcome):
            wrong.append(f"{cell}: audit entry {entry.sequence} {event.request_id} {event.outcome.value}")
        if event.action != action or (event.purpose != purpose and purpose is not None):
            wrong.append(f"{cell}: audited as {event.action} / {event.purpose}")
        if status != 200 and not response.json()["problems"]:
            wrong.append(f"{cell}: refused without reasons")
    assert not wrong, f"{len(wrong)} of {len(cells)} cells wrong:\n" + "\n".join(wrong[:40])
    assert hub.audit_log.count() == len(cells)  # completeness: one entry per request, denied ones included
    assert hub.audit_log.verify().ok


def test_every_staff_route_checks_the_policy(staff_hub: Hub) -> None:
    """Walk the real app's route table: each /v1 route is either allow-listed below or depends on authorise()."""
    partner_routes = {"/v1/health", "/v1/feeds", "/v1/feeds/{feed_id}/batches/{seq}", "/v1/feeds/{feed_id}/commit"}
    partner_routes |= {"/v1/feeds/{feed_id}", "/v1/feeds/{feed_id}/receipt"}
    # Signing in and out issue and revoke the very token authorise() checks: before signing in there is nobody for
    # the policy to decide on, and signing out only revokes the token presented. Neither reads anything about people,
    # and both audit every attempt themselves (api/hub/sign_in.py, aim/access/sign_in.py).
    partner_routes |= {"/v1/sign-in", "/v1/sign-out"}
    unchecked = []
    for route in create_app(hub=staff_hub).routes:
        if not isinstance(route, APIRoute) or route.path in partner_routes:
            continue
        names = {getattr(dep.call, "__name__", "") for dep in route.dependant.dependencies}
        if not any(name.startswith("authorise_") for name in names):
            unchecked.append(f"{sorted(route.methods)} {route.path}")
    assert not unchecked, "routes without a policy check: " + ", ".join(unchecked)
