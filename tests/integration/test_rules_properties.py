"""Invariants of rule evaluation on a real database: the order interactions arrive in does not matter, and a second
run creates nothing new."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from aim.bootstrap import Hub
from aim.storage.rules_tables import alert_events, alert_evidence, alerts
from tests.factories import TODAY
from tests.rules_factories import World, rule

PARTNERS = ["WMP", "BCHC", "FIRE", "SCHOOLS", "HOUSING", "CITYHOSP_AE"]
interactions = st.lists(
    st.tuples(st.sampled_from(PARTNERS), st.integers(min_value=0, max_value=45)), min_size=1, max_size=10
)
RULES = [rule(), rule(id="two", threshold=2, action="watchlist_suggestion", skip_if_open=True)]


@pytest.fixture
def world(hub: Hub) -> World:
    return World(hub).setup()


def _summary(hub: Hub, person: int) -> list[tuple[object, ...]]:
    with hub.database.read() as conn:
        rows = conn.execute(
            select(
                alerts.c.rule_id, alerts.c.status, alerts.c.window_start, alerts.c.seen, alert_evidence.c.partner_code
            )
            .add_columns(alert_evidence.c.interaction_date)
            .join(alert_evidence, alert_evidence.c.alert_pk == alerts.c.pk)
            .where(alerts.c.person_pk == person)
        )
        return sorted(tuple(r) for r in rows)


def _counts(hub: Hub) -> tuple[int, ...]:
    with hub.database.read() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (alerts, alert_evidence, alert_events)
        )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=interactions, seed=st.integers(0, 1000))
def test_order_does_not_matter_and_a_rerun_adds_nothing(world: World, rows: list[tuple[str, int]], seed: int) -> None:
    first, second = world.person(), world.person()
    for partner, days in rows:
        world.interaction(first, partner, days_ago=days)
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    for partner, days in shuffled:
        world.interaction(second, partner, days_ago=days)
    world.hub.rules.run(as_of=TODAY, person_pks=[first, second], rules=RULES)
    assert _summary(world.hub, first) == _summary(world.hub, second)
    before = _counts(world.hub)
    world.hub.rules.run(as_of=TODAY, person_pks=[first, second], rules=RULES)
    world.hub.rules.run(as_of=TODAY, rules=RULES)
    assert _counts(world.hub) == before
