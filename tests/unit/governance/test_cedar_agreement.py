"""Differential check: the engine agrees with the demo policy compiled to Cedar (cedarpy), cell for cell.

Skipped when cedarpy is not installed; it is the measurement behind the engine choice in docs/policy.md.
"""

from __future__ import annotations

import json

import pytest

from governance.decision import decide
from tests.unit.governance.factories import demo_policy
from tests.unit.governance.test_access_grid import GRID

cedarpy = pytest.importorskip("cedarpy")

from tests.unit.governance.cedar_oracle import cedar_entities, cedar_request, compile_policy  # noqa: E402


def test_cedar_and_the_engine_agree_on_every_grid_cell() -> None:
    policy = demo_policy()
    policies = cedarpy.PolicySet.from_str(compile_policy(policy))
    entities: dict[tuple[str, bool], object] = {}
    disagreements = []
    for kind, _who, req in GRID:
        key = (kind, req.resource.restricted)
        if key not in entities:
            entities[key] = cedarpy.Entities.from_json_str(json.dumps(cedar_entities(policy, req)))
        cedar = cedarpy.is_authorized(cedar_request(policy, req), policies, entities[key])
        if cedar.allowed != decide(policy, req).allowed:
            disagreements.append((kind, req.action, req.purpose, req.category, req.resource.restricted))
    assert disagreements == [], f"{len(disagreements)} of {len(GRID)} cells disagree, e.g. {disagreements[:5]}"
