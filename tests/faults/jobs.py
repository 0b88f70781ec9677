"""A hub job run as the real CLI in a child process, watched until it is inside its write transaction, and killed
there with SIGKILL.

Inside the transaction means, on SQLite, that the child holds SQLite's WAL write lock (a POSIX lock on byte 120 of
the ``-shm`` file, which ``/proc/locks`` lists with the holder's pid); on PostgreSQL, that an advisory lock is
granted in the database (linking and the rules each take theirs first thing in their transaction). On PostgreSQL a
point inside the transaction can also be made exact: the test holds a table in SHARE mode, the job blocks on its
first write to that table, and is killed while it waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

SHM_WRITE_LOCK = "120 120"  # SQLite's WAL_WRITE_LOCK: byte 120 of the wal-index


def aim_command(*args: str) -> list[str]:
    """The ``aim`` command run by this interpreter (so it is the installed project, in or out of a venv)."""
    return [sys.executable, "-c", "import sys; from aim.cli import main; sys.exit(main(prog_name='aim'))", *args]


def conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Job:
    """One CLI command against one hub database."""

    args: tuple[str, ...]
    database_url: str
    log: Path
    extra_env: tuple[tuple[str, str], ...] = ()

    def start(self) -> subprocess.Popen[bytes]:
        env = os.environ | {"AIM_DATABASE_URL": self.database_url, "AIM_TIMEZONE": "UTC"} | dict(self.extra_env)
        with self.log.open("ab") as log:
            return subprocess.Popen(aim_command(*self.args), env=env, stdout=log, stderr=subprocess.STDOUT)

    def run(self, timeout: float = 300) -> str:
        """Run to completion; the output of this run (the job must succeed)."""
        before = self.log.stat().st_size if self.log.exists() else 0
        process = self.start()
        code = process.wait(timeout=timeout)
        output = self.log.read_bytes()[before:].decode(errors="replace")
        assert code == 0, f"{' '.join(self.args)} failed ({code}):\n{output}"
        return output


class TransactionWatch:
    """Is a job's write transaction open on this database? (see the module docstring)"""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.backend = url.get_backend_name()
        self._shm = Path(f"{url.database}-shm") if self.backend == "sqlite" else None
        self._conn = None if self.backend == "sqlite" else psycopg.connect(conninfo(database_url), autocommit=True)

    def held_by(self, pid: int) -> bool:
        if self._shm is not None:
            try:
                inode = self._shm.stat().st_ino
            except FileNotFoundError:
                return False
            needle = f"WRITE {pid} "
            with open("/proc/locks", encoding="ascii") as locks:
                return any(needle in line and f":{inode} {SHM_WRITE_LOCK}" in line for line in locks)
        assert self._conn is not None
        query = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        row = self._conn.execute(query).fetchone()
        return bool(row and row[0])

    def wait_idle(self, timeout: float = 60) -> None:
        """Until no other session is connected (PostgreSQL: a killed client's server process has ended)."""
        if self._conn is None:
            return
        deadline = time.monotonic() + timeout
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        while (row := self._conn.execute(query).fetchone()) and row[0]:
            assert time.monotonic() < deadline, "a killed job's database session did not end"
            time.sleep(0.05)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@dataclass(frozen=True)
class Kill:
    """Where one SIGKILL landed."""

    point: str
    alive: bool  # the job was still running when killed (not already finished)


def kill_inside(job: Job, watch: TransactionWatch, *, after_s: float, point: str, timeout: float = 120) -> Kill:
    """Start ``job``, wait until it is inside its write transaction, wait ``after_s`` more, SIGKILL it."""
    process = job.start()
    deadline = time.monotonic() + timeout
    try:
        while not watch.held_by(process.pid):
            assert process.poll() is None, f"{point}: the job ended before its transaction was seen; see {job.log}"
            assert time.monotonic() < deadline, f"{point}: the job's transaction never began; see {job.log}"
            time.sleep(0.002)
        time.sleep(after_s)
        alive = process.poll() is None
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    watch.wait_idle()
    return Kill(point, alive)


@contextmanager
def table_held(database_url: str, table: str) -> Iterator[psycopg.Connection]:
    """PostgreSQL: hold ``table`` in SHARE mode (a writer to it waits) until the block ends."""
    with psycopg.connect(conninfo(database_url)) as conn:
        conn.execute(f"LOCK TABLE {table} IN SHARE MODE")  # a table name from the test's own list
        try:
            yield conn
        finally:
            conn.rollback()


def kill_at_table(job: Job, watch: TransactionWatch, *, table: str, timeout: float = 120) -> Kill:
    """PostgreSQL: start ``job`` with ``table`` held, SIGKILL it while it waits to write there, then let go."""
    with table_held(job.database_url, table) as holder:
        process = job.start()
        deadline = time.monotonic() + timeout
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass"
        try:
            while not ((row := holder.execute(waiting, (table,)).fetchone()) and row[0]):
                assert process.poll() is None, f"{table}: the job ended without writing to it; see {job.log}"
                assert time.monotonic() < deadline, f"{table}: the job never reached it; see {job.log}"
                time.sleep(0.01)
            alive = process.poll() is None
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    watch.wait_idle()
    return Kill(f"at its first write to {table}", alive)
