"""Idempotency as a property: any sequence of new, replayed, altered and concurrent pushes leaves the hub holding
exactly what a simple model of "apply each committed feed once, in order" says, on SQLite and on PostgreSQL.

The model: a dict ``record_id -> content``; a committed feed applies its rows once, in order (an upsert inserts or
replaces, a delete removes or is rejected when nothing is held). Replays answer the first receipt and change nothing;
a different manifest or batch under an id already used is refused as a conflict and changes nothing; two pushes of
the same feed racing each other apply it once and both get the same receipt.
"""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.feed import Row
from aim.ingest.batches import split_feed, split_rows
from aim.ingest.errors import FeedConflictError, InFlightError
from aim.ingest.receipt import Receipt
from aim.partner.model import Partner
from aim.settings import Settings
from aim.storage.tables import record_changes, record_tokens, records
from tests import factories as f

RECORD_IDS = [f"R{i}" for i in range(12)]


@dataclass
class PushedFeed:
    feed_id: str
    path: Path
    rows: list[Row]
    receipt: Receipt | None = None  # set once committed
    max_rows: int = 3  # how the first push cut it into batches: a replay cuts it the same way


def _content(row: Row) -> tuple[str, str, str]:
    return (row.flag or "", str(row.interaction_date), row.lead_contact or "")


class IngestMachine(RuleBasedStateMachine):
    """One hub per example, copied from a migrated template database so examples stay cheap."""

    template: str = ""  # set by the test: a SQLite file path or a PostgreSQL template database name
    workdir: Path = Path()
    admin_conninfo: str = ""
    admin_url: str = ""

    feeds = Bundle("feeds")
    committed = Bundle("committed")

    def __init__(self) -> None:
        super().__init__()
        self.example = uuid.uuid4().hex[:12]
        if self.admin_url:
            self.db_name = f"aim_prop_{self.example}"
            with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.db_name}" TEMPLATE "{self.template}"')
            url = make_url(self.admin_url).set(database=self.db_name).render_as_string(hide_password=False)
        else:
            copy = self.workdir / f"{self.example}.db"
            shutil.copyfile(self.template, copy)
            url = f"sqlite:///{copy}"
        self.hub: Hub = bootstrap(Settings(database_url=url), clock=FixedClock(f.NOW))
        self.partner: Partner = self.hub.partners.get("WMP")
        self.model: dict[str, tuple[str, str, str]] = {}
        self.changes_held = 0  # outbox rows after the last commit that applied something
        self.serial = 0

    def teardown(self) -> None:
        self.hub.close()
        if self.admin_url:
            with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # -- helpers -----------------------------------------------------------------------------------------------

    def _write(self, rows: list[Row]) -> PushedFeed:
        self.serial += 1
        feed_id = f"WMP-{self.serial}"
        path = self.workdir / f"{self.example}-{feed_id}.feed"
        f.feed(path, rows, feed_id=feed_id)
        return PushedFeed(feed_id=feed_id, path=path, rows=rows)

    def _push(self, feed: PushedFeed) -> Receipt:
        max_rows = feed.max_rows
        split = split_feed(feed.path.read_bytes())
        self.hub.ingest.open_feed(partner=self.partner, manifest_body=split.manifest_line)
        for seq, body in enumerate(split_rows(split.body, max_rows=max_rows), start=1):
            self.hub.ingest.put_batch(partner=self.partner, feed_id=feed.feed_id, seq=seq, body=body)
        return self.hub.ingest.commit_feed(partner=self.partner, feed_id=feed.feed_id)

    def _apply_to_model(self, feed: PushedFeed, receipt: Receipt) -> None:
        inserted = replaced = deleted = rejected = 0
        before = dict(self.model)
        for row in feed.rows:
            if row.op == "delete":
                if row.record_id in self.model:
                    del self.model[row.record_id]
                    deleted += 1
                else:
                    rejected += 1
            else:
                if row.record_id in self.model:
                    replaced += 1
                else:
                    inserted += 1
                self.model[row.record_id] = _content(row)
        # The outbox holds one row per record changed by a batch: at least one per record whose state the feed
        # changed, at most one per applied row.
        changed = {rid for rid in before.keys() | self.model.keys() if before.get(rid) != self.model.get(rid)}
        changes = self._count_changes()
        assert len(changed) <= changes - self.changes_held <= inserted + replaced + deleted
        self.changes_held = changes
        assert (receipt.inserted, receipt.replaced, receipt.deleted, receipt.rejected) == (
            inserted,
            replaced,
            deleted,
            rejected,
        )
        assert receipt.accepted + receipt.rejected == receipt.row_count == len(feed.rows)
        feed.receipt = receipt

    def _count_changes(self) -> int:
        with self.hub.database.read() as conn:
            return int(conn.execute(select(func.count()).select_from(record_changes)).scalar_one())

    # -- rules -------------------------------------------------------------------------------------------------

    @rule(
        target=feeds,
        ops=st.lists(
            st.tuples(st.sampled_from(RECORD_IDS), st.booleans(), st.integers(0, 2**16)), min_size=0, max_size=8
        ),
    )
    def write_feed(self, ops: list[tuple[str, bool, int]]) -> PushedFeed:
        rows = [f.delete(rid) if is_delete else f.upsert(rid, random.Random(seed)) for rid, is_delete, seed in ops]
        return self._write(rows)

    @rule(target=committed, feed=consumes(feeds))
    def push_new_feed(self, feed: PushedFeed) -> PushedFeed:
        self._apply_to_model(feed, self._push(feed))
        return feed

    @rule(target=committed, feed=consumes(feeds))
    def push_the_same_feed_twice_at_once(self, feed: PushedFeed) -> PushedFeed:
        feed.max_rows = 2
        receipts: list[Receipt] = []
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def push() -> None:
            # As the agent does: a request refused because the other racer holds the feed is retried shortly.
            start.wait()
            for _ in range(200):
                try:
                    receipts.append(self._push(feed))
                    return
                except InFlightError:
                    time.sleep(0.01)
                except BaseException as exc:  # reported below, with the other thread's outcome
                    errors.append(exc)
                    return

        threads = [threading.Thread(target=push) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert len(receipts) == 2, "both racers finish within their retries"
        assert receipts[0] == receipts[1], "both racers get the same receipt"
        self._apply_to_model(feed, receipts[0])
        return feed

    @rule(feed=committed)
    def replay_a_committed_feed(self, feed: PushedFeed) -> None:
        assert feed.receipt is not None
        assert self._push(feed) == feed.receipt

    @rule(feed=committed, ops=st.lists(st.sampled_from(RECORD_IDS), min_size=1, max_size=4))
    def alter_a_committed_feed(self, feed: PushedFeed, ops: list[str]) -> None:
        altered = PushedFeed(feed_id=feed.feed_id, path=feed.path.with_suffix(".altered"), rows=[])
        altered.rows = [f.upsert(rid, random.Random(f"{rid}-altered")) for rid in ops]
        f.feed(altered.path, altered.rows, feed_id=feed.feed_id)
        with pytest.raises(FeedConflictError):
            self._push(altered)

    @rule(feed=committed)
    def change_a_batch_of_a_committed_feed(self, feed: PushedFeed) -> None:
        body = b'{"record_id":"X1","op":"delete"}\n'
        with pytest.raises(FeedConflictError):
            self.hub.ingest.put_batch(partner=self.partner, feed_id=feed.feed_id, seq=1, body=body)

    # -- the invariant -------------------------------------------------------------------------------------------

    @invariant()
    def the_hub_holds_exactly_the_model(self) -> None:
        with self.hub.database.read() as conn:
            held = {
                rid: (flag, str(day), lead)
                for rid, flag, day, lead in conn.execute(
                    select(records.c.record_id, records.c.flag, records.c.interaction_date, records.c.lead_contact)
                )
            }
            tokens = conn.execute(select(func.count()).select_from(record_tokens)).scalar_one()
        assert held == self.model
        assert self._count_changes() == self.changes_held, "replays and conflicts add no change"
        assert (tokens == 0) == (not held)


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hub.db"
    hub = bootstrap(Settings(database_url=f"sqlite:///{path}"), clock=FixedClock(f.NOW), migrate_schema=True)
    f.register(hub, "WMP")
    hub.close()
    return path


@pytest.fixture(scope="module")
def postgres_template() -> Iterator[tuple[str, str, str]]:
    admin = make_url(os.environ["AIM_TEST_POSTGRES_URL"])
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"aim_tmpl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        hub = bootstrap(Settings(database_url=url), clock=FixedClock(f.NOW), migrate_schema=True)
        f.register(hub, "WMP")
        hub.close()
        yield name, conninfo, admin.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn, suppress(psycopg.Error):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_pushes_in_any_order_apply_each_feed_exactly_once_sqlite(sqlite_template: Path, tmp_path: Path) -> None:
    machine = type("SQLiteIngest", (IngestMachine,), {"template": str(sqlite_template), "workdir": tmp_path})
    run_state_machine_as_test(machine, settings=settings(max_examples=40, stateful_step_count=12, deadline=None))


@pytest.mark.postgres
def test_pushes_in_any_order_apply_each_feed_exactly_once_postgres(
    postgres_template: tuple[str, str, str], tmp_path: Path
) -> None:
    name, conninfo, admin_url = postgres_template
    attributes = {"template": name, "workdir": tmp_path, "admin_conninfo": conninfo, "admin_url": admin_url}
    machine = type("PostgresIngest", (IngestMachine,), attributes)
    run_state_machine_as_test(machine, settings=settings(max_examples=15, stateful_step_count=10, deadline=None))
