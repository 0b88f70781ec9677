"""Engines for the two supported databases.

SQLite (the embedded default) gets, on every connection: WAL journal, ``synchronous=FULL`` (a committed batch
survives power loss), a busy timeout (writers queue instead of failing), foreign keys on and a 64 MiB page cache.
Transactions are begun by us, not by the driver, so a write transaction can be ``BEGIN IMMEDIATE``: it takes the
write lock up front and waits for it under the busy timeout, instead of failing half-way when a read lock cannot be
upgraded.

PostgreSQL is chosen by URL (``AIM_DATABASE_URL=postgresql+psycopg://...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url

from aim.errors import ConfigError

WRITE_OPTION = "aim_write"


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, connections: int = 10) -> Engine:
    """Create the engine for ``url``; refuse anything but a SQLite file or PostgreSQL.

    ``connections`` are kept open in the pool (more are opened when needed and closed when given back): as many as
    the threads that use the database at once. On SQLite a connection opened anew starts with an empty page cache,
    so a pool smaller than the hub's request threads reads the same pages from the file again and again.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError("the SQLite database must be a file: sqlite:///PATH")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, connect_args={"timeout": busy_timeout_ms / 1000}, pool_size=connections, max_overflow=10
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, pool_size=max(10, connections), max_overflow=20)
    raise ConfigError(f"unsupported database {backend!r}: use sqlite:///PATH or postgresql+psycopg://...")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions on its own: we emit BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # nosemgrep: aim-sql-built-from-strings -- PRAGMA takes no bound parameters; the value is an int()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 64 MiB of page cache per connection instead of 2 MiB: a hub of millions of records inserts into token
        # indexes at random places, and each page missed is read again from disk.
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
