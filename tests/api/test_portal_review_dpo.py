"""The portal's review queue and transparency report, in process, against a real hub app (SQLite and PostgreSQL):
what the steward sees (labels and a band, never an encoding or a score), accept, reject, split and undo with the
purpose declared; the DPO's report tables with suppression, charts described for screen readers, the period
chooser; refusals and the menu for each role."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from aim.alerts import AlertFilter
from aim.audit.log import AuditFilter
from aim.bootstrap import Hub
from aim.keys import init_keys
from api.hub.app import create_app as create_hub_app
from api.portal.app import create_app as create_portal_app
from api.portal.session import COOKIE
from api.portal.settings import PortalSettings
from tests import identity_factories as idf
from tests.api.staff import DEMO_POLICY, staff, staff_hub  # noqa: F401
from tests.asgi import TestClient
from tests.factories import TODAY
from tests.integration.test_identity import person_of
from tests.rules_factories import World, rule

USERS = {
    "steward": "data_steward",
    "dpo": "dpo",
    "officer": "mash_officer",
}


@dataclass
class Site:
    hub: Hub
    app: FastAPI
    portal: TestClient

    def sign_in(self, user_id: str) -> None:
        self.portal.cookies.clear()
        response = self.portal.post("/signin", data={"demo_user": user_id}, follow_redirects=False)
        assert response.status_code == 303, response.text

    def csrf(self) -> str:
        session = self.app.state.sessions.get(self.portal.cookies.get(COOKIE))
        return str(session.csrf)

    def post(self, path: str, **data: str) -> httpx.Response:
        response: httpx.Response = self.portal.post(path, data={"csrf": self.csrf(), **data})
        return response


@pytest.fixture
def site(staff_hub: Hub, tmp_path: Path) -> Iterator[Site]:  # noqa: F811
    init_keys(directory=tmp_path / "keys")
    tokens = {user: staff(staff_hub, user, role) for user, role in USERS.items()}
    users = tmp_path / "demo-users.json"
    users.write_text(
        json.dumps([{"user_id": u, "name": f"Test {r}", "role": r, "token": tokens[u]} for u, r in USERS.items()]),
        encoding="utf-8",
    )
    settings = PortalSettings(keys_dir=str(tmp_path / "keys"), policy_path=str(DEMO_POLICY), demo_users_path=str(users))
    with TestClient(create_hub_app(hub=staff_hub), raise_server_exceptions=False) as hub_http:
        portal_app = create_portal_app(settings, http=hub_http)
        with TestClient(portal_app, raise_server_exceptions=False) as portal:
            yield Site(staff_hub, portal_app, portal)


@pytest.fixture
def twins(site: Site, tmp_path: Path) -> idf.Feeds:
    """Twins, held apart by the hub and queued for the steward."""
    feeds = idf.Feeds(site.hub, tmp_path)
    feeds.ingest([idf.upsert("T1", idf.TWIN_A), idf.upsert("T2", idf.TWIN_B)])
    return feeds


def _review_entries(hub: Hub) -> list[tuple[str, str | None, str | None]]:
    return [
        (e.event.outcome.value, e.event.purpose, e.event.target)
        for e in reversed(hub.audit_log.search(AuditFilter(action="review_links")))
    ]


def test_the_queue_shows_labels_and_a_band_never_encodings_or_scores(site: Site, twins: idf.Feeds) -> None:
    site.sign_in("steward")
    page = site.portal.get("/review")
    assert page.status_code == 200, page.text
    html = page.text
    assert "1 pair is waiting" in html
    assert "West Midlands Police" in html
    assert "T1" in html
    assert "T2" in html
    assert re.search(r"First name</th><td><span class=\"level level-differ\">different</span>", html)
    assert re.search(r"(High|Medium|Low) confidence", html)
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    for hidden in ("bf_", "tk_", "weight", "score", "probability"):
        assert hidden not in main, hidden
    assert 'href="/review" aria-current="page">Review queue' in html
    assert "Transparency report</a>" not in html, "the steward's role is not granted the report"
    assert _review_entries(site.hub) == [("allowed", "data_quality", None)]


def test_reject_keeps_the_twins_apart(site: Site, twins: idf.Feeds) -> None:
    site.sign_in("steward")
    [pair_id] = re.findall(r'id="pair-(\d+)"', site.portal.get("/review").text)
    page = site.post(f"/review/pairs/{pair_id}", decision="reject", note="Twins: different first names.")
    assert f"Pair {pair_id} rejected" in page.text
    assert "No pairs are waiting for review." in page.text
    assert person_of(site.hub, "WMP", "T1") != person_of(site.hub, "WMP", "T2")
    assert ("allowed", "data_quality", f"link:pair-{pair_id}") in _review_entries(site.hub)


def test_accept_merges_and_undo_restores_both_persons(site: Site, twins: idf.Feeds) -> None:
    hub = site.hub
    a, b = person_of(hub, "WMP", "T1"), person_of(hub, "WMP", "T2")
    site.sign_in("steward")
    [pair_id] = re.findall(r'id="pair-(\d+)"', site.portal.get("/review").text)
    page = site.post(f"/review/pairs/{pair_id}", decision="accept", note="")
    html = page.text
    assert f"AIM person {max(a, b)} merged into AIM person {min(a, b)}" in html
    assert person_of(hub, "WMP", "T1") == person_of(hub, "WMP", "T2") == min(a, b)
    [event_id] = re.findall(r'id="undo-(\d+)"', html)
    undone = site.post(f"/review/events/{event_id}/undo").text
    assert "Merge undone" in undone
    assert {person_of(hub, "WMP", "T1"), person_of(hub, "WMP", "T2")} == {a, b}
    assert f'id="undo-{event_id}"' not in undone
    again = site.post(f"/review/events/{event_id}/undo")
    assert again.status_code == 422
    assert "already undone" in again.text
    assert 'href="/review">Go back' in again.text


SPLIT_PROBLEMS = [
    pytest.param({"person": "", "records": "WMP:W2"}, "Enter the AIM person number", id="no person"),
    pytest.param({"person": "12", "records": ""}, "Enter at least one record", id="no records"),
    pytest.param({"person": "12", "records": "W2"}, "PARTNER:RECORD_ID, one a line (not: W2)", id="no partner"),
]


@pytest.mark.parametrize(("form", "message"), SPLIT_PROBLEMS)
def test_split_form_problems_are_shown_on_the_form(site: Site, form: dict[str, str], message: str) -> None:
    site.sign_in("steward")
    page = site.post("/review/split", **form)
    assert page.status_code == 400
    assert "There is a problem" in page.text
    assert message in page.text


def test_split_moves_a_record_out_and_can_be_undone(site: Site, tmp_path: Path) -> None:
    feeds = idf.Feeds(site.hub, tmp_path)
    feeds.ingest([idf.upsert("W1", idf.ALICE), idf.upsert("W2", idf.ALICE_TYPO)])
    alice = person_of(site.hub, "WMP", "W1")
    site.sign_in("steward")
    wrong = site.post("/review/split", person=str(alice), records="WMP:NOPE")
    assert wrong.status_code == 400
    assert "no record NOPE from partner WMP" in wrong.text
    page = site.post("/review/split", person=str(alice), records="wmp : W2\n")
    moved_to = person_of(site.hub, "WMP", "W2")
    assert moved_to != alice
    assert f"1 record moved out of AIM person {alice} into AIM person {moved_to}." in page.text
    [event_id] = re.findall(r'id="undo-(\d+)"', page.text)
    undone = site.post(f"/review/events/{event_id}/undo")
    assert "Split undone" in undone.text
    assert person_of(site.hub, "WMP", "W2") == alice


def test_other_roles_are_refused_by_the_hub_with_its_reasons(site: Site) -> None:
    site.sign_in("officer")
    page = site.portal.get("/review")
    assert page.status_code == 403
    assert "Access refused by the access policy" in page.text
    assert "review_links" in page.text
    assert "Review queue</a>" not in page.text
    assert "Transparency report</a>" not in page.text
    assert site.portal.get("/transparency").status_code == 403
    site.sign_in("steward")
    forged = site.portal.post("/review/pairs/1", data={"csrf": "not-this-session", "decision": "accept"})
    assert forged.status_code == 400
    assert "This form has expired" in forged.text


def _close_alerts(hub: Hub, count: int, outcome: str) -> None:
    world = World(hub).setup()
    for _ in range(count):
        person = world.person()
        for partner in ("WMP", "CITYHOSP_AE", "SCHOOLS"):
            world.interaction(person, partner, days_ago=1)
    hub.rules.run(as_of=TODAY, rules=[rule(id="three-partners")])
    for index, alert in enumerate(hub.alerts.list_alerts(query=AlertFilter(limit=200)).items):
        hub.alerts.close(
            alert_pk=alert.pk, actor="lead", outcome=outcome if index else "referred_to_mash", note="Reviewed."
        )


def test_the_transparency_report_shows_tables_charts_and_suppression(site: Site) -> None:
    _close_alerts(site.hub, 6, "no_further_action")
    site.sign_in("dpo")
    page = site.portal.get(f"/transparency?from={TODAY.replace(day=1)}&to={TODAY}")
    assert page.status_code == 200, page.text
    html = page.text
    for title in (
        "Searches by purpose and role",
        "Requests refused, by action",
        "Break-glass grants opened and used, by role",
        "Alerts by rule and outcome",
        "Interactions purged, by category",
    ):
        assert f">{title}</h2>" in html, title
    alerts_table = html.split(">Alerts by rule and outcome</h2>")[1].split("</section>")[0]
    assert re.search(r"no further action<span class=\"hint\">Reviewed; no further action needed</span></td>\s*"
                     r"<td class=\"numeric\">5</td>", alerts_table)  # fmt: skip
    assert '<abbr title="fewer than 5">&lt;5</abbr>' in alerts_table  # the single referral
    svg = re.search(r"<svg[^>]*id=\"chart-alerts\".*?</svg>", alerts_table, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0)
    assert 'aria-labelledby="chart-alerts-title chart-alerts-desc"' in svg.group(0)
    assert '<title id="chart-alerts-title">Alerts by rule and outcome</title>' in svg.group(0)
    assert "not to scale" in svg.group(0)
    assert "Transparency report</a>" in html
    assert "Review queue</a>" not in html
    [entry] = site.hub.audit_log.search(AuditFilter(action="read_transparency"))
    assert (entry.event.outcome.value, entry.event.purpose) == ("allowed", "audit")


PERIOD_PROBLEMS = [
    pytest.param("from=2026-10-05&to=2026-10-01", "The last day must be the same as or after", id="ends before"),
    pytest.param("from=yesterday&to=2026-10-01", "Enter the first day of the period as a date", id="not a date"),
    pytest.param("from=2026-10-01", "Enter the last day of the period as a date", id="no last day"),
]


@pytest.mark.parametrize(("query", "message"), PERIOD_PROBLEMS)
def test_a_wrong_period_is_explained_and_the_hub_not_asked(site: Site, query: str, message: str) -> None:
    site.sign_in("dpo")
    page = site.portal.get(f"/transparency?{query}")
    assert page.status_code == 400
    assert message in page.text
    assert not site.hub.audit_log.search(AuditFilter(action="read_transparency"))


def test_a_named_period_is_chosen_from_the_links(site: Site) -> None:
    site.sign_in("dpo")
    page = site.portal.get("/transparency?period=last_year")
    assert page.status_code == 200
    year = date.today().year - 1
    assert f"From {year}-01-01 to {year}-12-31" in page.text
    assert 'href="/transparency?period=last_year" aria-current="true"' in page.text
    default = site.portal.get("/transparency")
    quarter = date.today().replace(month=3 * ((date.today().month - 1) // 3) + 1, day=1)
    assert f"From {quarter} to " in default.text
