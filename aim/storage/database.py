"""The database handle services use: read and write transactions, and a try-lock for in-flight duplicates."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from aim.storage.engine import WRITE_OPTION


class Database:
    """Wraps an engine; one per hub, built in :mod:`aim.bootstrap`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction (a consistent snapshot on both databases)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def try_lock(self, conn: Connection, key: str) -> bool:
        """Try to take a lock on ``key`` for the rest of this transaction; False if another transaction holds it.

        PostgreSQL: a transaction-scoped advisory lock, released on commit, rollback or a dropped connection, so a
        killed server never leaves it behind. SQLite: write transactions are already serialised by
        ``BEGIN IMMEDIATE``, so there is nothing to take.
        """
        if self.backend != "postgresql":
            return True
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": number}).scalar())

    def dispose(self) -> None:
        self.engine.dispose()
