"""Identical copies of a hub's database, to run a job cleanly on one and with faults on another: a SQLite file copied
with SQLite's backup API, a PostgreSQL database created from another as its template."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url


class Copies:
    """Makes databases of one backend under ``folder`` (SQLite) or on the test server (PostgreSQL); drops them all
    when closed."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self.folder = folder
        self._made: list[str] = []

    def new(self, name: str) -> str:
        """The URL of a new, empty database."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder / f'{name}-{uuid.uuid4().hex[:8]}.db'}"
        database = f"aim_faults_{name}_{uuid.uuid4().hex[:10]}"
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        self._made.append(database)
        return _with_database(database)

    def copy(self, source_url: str, name: str) -> str:
        """The URL of a new database holding exactly what ``source_url`` holds (nothing may be connected to it)."""
        if self.backend == "sqlite":
            target = self.folder / f"{name}-{uuid.uuid4().hex[:8]}.db"
            src, dst = sqlite3.connect(_sqlite_path(source_url)), sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
            return f"sqlite:///{target}"
        database = f"aim_faults_{name}_{uuid.uuid4().hex[:10]}"
        template = make_url(source_url).database
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        self._made.append(database)
        return _with_database(database)

    def close(self) -> None:
        if not self._made:
            return
        with _admin() as conn:
            for database in self._made:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self._made.clear()


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    assert path, url
    return path


def _with_database(database: str) -> str:
    return make_url(os.environ["AIM_TEST_POSTGRES_URL"]).set(database=database).render_as_string(hide_password=False)


@contextmanager
def _admin() -> Iterator[psycopg.Connection]:
    admin = make_url(os.environ["AIM_TEST_POSTGRES_URL"]).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        yield conn
