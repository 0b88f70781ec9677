"""The database handle services use: read and write transactions, and a try-lock for in-flight duplicates."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import TimeoutError as StorageTimeoutError

from aim.storage.engine import WRITE_OPTION
from aim.storage.gate import FileTurn, WriteGate

# Beside a SQLite database, the files whose locks the hub's processes take turns on to write (aim.storage.gate).
TURN_SUFFIX, QUEUE_SUFFIX = "-write.lock", "-write.queue"


class Database:
    """Wraps an engine; one per hub, built in :mod:`aim.bootstrap`."""

    def __init__(self, engine: Engine, *, write_wait_s: float = 30.0) -> None:
        """``write_wait_s``: how long a write transaction waits for its turn on SQLite (the busy timeout)."""
        self.engine = engine
        self.write_wait_s = write_wait_s
        # SQLite: writers take turns in the order they asked, in this process and with the hub's other processes
        # (see aim.storage.gate).
        self._gate: WriteGate | None = None
        if engine.dialect.name == "sqlite" and engine.url.database:
            path = engine.url.database
            self._gate = WriteGate(FileTurn(Path(path + TURN_SUFFIX), Path(path + QUEUE_SUFFIX)))

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        Raises:
            sqlalchemy.exc.TimeoutError: on SQLite, the writers ahead of it took longer than ``write_wait_s``.
        """
        if self._gate is None:
            with self._transaction() as conn:
                yield conn
            return
        if not self._gate.acquire(self.write_wait_s):
            raise StorageTimeoutError(
                f"no turn to write within {self.write_wait_s:g} s: other writes held the database; retry shortly"
            )
        try:
            with self._transaction() as conn:
                yield conn
        finally:
            self._gate.release()

    @contextmanager
    def write_if_free(self) -> Iterator[Connection | None]:
        """A write transaction if no other writer holds or awaits the database now, else ``None`` at once (SQLite;
        on PostgreSQL, whose writers do not take turns, always a transaction)."""
        if self._gate is None:
            with self._transaction() as conn:
                yield conn
            return
        if not self._gate.try_acquire():
            yield None
            return
        try:
            with self._transaction() as conn:
                yield conn
        finally:
            self._gate.release()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction: a snapshot on SQLite; on PostgreSQL (read committed) each statement sees what
        was committed before it."""
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
        if self._gate is not None:
            self._gate.close()
