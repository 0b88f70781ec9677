"""Database fixtures: every storage, ingest and API test runs once on SQLite and once on PostgreSQL, each on a
fresh database (a temporary file; a newly created PostgreSQL database, dropped afterwards).

Import the fixtures into a directory's ``conftest.py``: ``from tests.databases import *``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.settings import Settings
from tests.factories import NOW

__all__ = ["database_url", "fresh_postgres", "hub", "sqlite_url"]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server; dropped (connections and all) afterwards."""
    admin = make_url(os.environ["AIM_TEST_POSTGRES_URL"])
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"aim_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield _sqlite(tmp_path)
    else:
        with fresh_postgres() as url:
            yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return _sqlite(tmp_path)


@pytest.fixture
def hub(database_url: str) -> Iterator[Hub]:
    """A migrated hub on a fresh database, with a fixed clock (:data:`tests.factories.NOW`)."""
    built = bootstrap(Settings(database_url=database_url), clock=FixedClock(NOW), migrate_schema=True)
    try:
        yield built
    finally:
        built.close()
