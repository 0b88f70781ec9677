"""The transparency report's "alerts by rule and outcome" on SQLite and PostgreSQL: the live alerts closed with an
outcome code in the period, per rule, small counts suppressed; open, re-opened, withdrawn, shadow and out-of-period
alerts not counted. The same table reaches the DPO through ``GET /v1/transparency``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from aim.audit.reports import transparency
from aim.bootstrap import Hub
from aim.storage.rules_tables import alerts
from api.hub.app import create_app
from governance.transparency import ALERTS
from tests.api.staff import headers, staff, staff_hub  # noqa: F401
from tests.asgi import TestClient
from tests.factories import TODAY
from tests.rules_factories import World, rule

PERIOD_START, PERIOD_END = TODAY - timedelta(days=30), TODAY


def _raise(world: World, persons: int, *rules: object) -> list[int]:
    """``persons`` people each with activity from three partners, and the rules run over them."""
    for _ in range(persons):
        person = world.person()
        for partner in ("WMP", "CITYHOSP_AE", "SCHOOLS"):
            world.interaction(person, partner, days_ago=2)
    world.hub.rules.run(as_of=TODAY, rules=list(rules))  # type: ignore[arg-type]
    with world.hub.database.read() as conn:
        return list(conn.execute(select(alerts.c.pk).order_by(alerts.c.pk)).scalars())


def _close(hub: Hub, alert_pk: int, outcome: str) -> None:
    hub.alerts.close(alert_pk=alert_pk, actor="lead", outcome=outcome, note="Reviewed with the family's lead worker.")


def _closed_at(hub: Hub, alert_pk: int, at: datetime) -> None:
    with hub.database.write() as conn:
        conn.execute(update(alerts).where(alerts.c.pk == alert_pk).values(closed_at=at))


def _alert_rows(hub: Hub) -> list[dict[str, str]]:
    report = transparency(database=hub.database, period_start=PERIOD_START, period_end=PERIOD_END)
    rows: list[dict[str, str]] = report.table(ALERTS).to_data()["rows"]
    return rows


def test_alerts_closed_in_the_period_are_counted_by_rule_and_outcome(hub: Hub) -> None:
    world = World(hub).setup()
    pks = _raise(world, 10, rule(id="three-partners"), rule(id="shadow-check", status="shadow"))
    live = [pk for pk in pks if _mode(hub, pk) == "live"]
    shadow = [pk for pk in pks if _mode(hub, pk) == "shadow"]
    assert len(live) == len(shadow) == 10
    assert _alert_rows(hub) == [], "nothing closed yet: open alerts have no outcome"

    for pk in live[:6]:
        _close(hub, pk, "no_further_action")
    for pk in live[6:8]:
        _close(hub, pk, "early_help_offered")
    _close(hub, live[8], "referred_to_mash")
    _close(hub, shadow[0], "no_further_action")  # a shadow alert never reached anyone
    _closed_at(hub, live[5], datetime.combine(PERIOD_START, datetime.min.time(), UTC) - timedelta(seconds=1))
    _closed_at(hub, live[4], datetime.combine(PERIOD_START, datetime.min.time(), UTC))  # first moment counts
    _closed_at(hub, live[3], datetime.combine(PERIOD_END, datetime.max.time(), UTC))  # last moment counts
    hub.alerts.reopen(alert_pk=live[8], actor="lead", note="New information from the school.")
    with hub.database.write() as conn:
        conn.execute(update(alerts).where(alerts.c.pk == live[9]).values(status="withdrawn"))

    assert _alert_rows(hub) == [
        {"rule": "three-partners", "outcome": "early_help_offered", "count": "<5"},
        {"rule": "three-partners", "outcome": "no_further_action", "count": "5"},
    ]


def test_the_dpo_endpoint_carries_the_alert_outcomes(staff_hub: Hub) -> None:  # noqa: F811
    world = World(staff_hub).setup()
    pks = _raise(world, 5, rule(id="three-partners"))
    for pk in pks:
        _close(staff_hub, pk, "already_known")
    auditor = staff(staff_hub, "auditor", "auditor")
    with TestClient(create_app(hub=staff_hub), raise_server_exceptions=False) as client:
        response = client.get(f"/v1/transparency?from={PERIOD_START}&to={PERIOD_END}", headers=headers(auditor))
    assert response.status_code == 200, response.text
    [table] = [t for t in response.json()["tables"] if t["title"] == ALERTS]
    assert table["rows"] == [{"rule": "three-partners", "outcome": "already_known", "count": "5"}]


def _mode(hub: Hub, alert_pk: int) -> str:
    with hub.database.read() as conn:
        return str(conn.execute(select(alerts.c.mode).where(alerts.c.pk == alert_pk)).scalar_one())
