"""API tests: the hub's FastAPI app over a fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aim.bootstrap import Hub
from api.hub.app import create_app
from tests.api.staff import staff_hub  # noqa: F401
from tests.asgi import TestClient
from tests.databases import *  # noqa: F403


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(hub=hub), raise_server_exceptions=False) as test_client:
        yield test_client
