"""The search read model on SQLite and PostgreSQL: each record's packed tokens (``search_tokens``) hold exactly the
columns read from ``record_tokens``; a record corrected or deleted takes its packed tokens with it; a read model
built before the packed tokens (an older fingerprint) is rebuilt by the next search, which then finds the person;
and migration 0007 matches the declarations and goes down and up cleanly."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import func, insert, inspect, select, update

from aim.bootstrap import Hub
from aim.cli import main
from aim.feed import Row
from aim.identity import store
from aim.search import EncodedQuery, encode_query
from aim.search.matching import TermCounts
from aim.storage import migrate
from aim.storage.identity_tables import identity_cursor
from aim.storage.schema import metadata
from aim.storage.search_tables import search_cursor, search_keys, search_tokens
from aim.storage.tables import record_changes, records
from api.hub.app import create_app
from linkage.encoder import RawIdentity
from linkage.stored import unpack_tokens
from tests import factories as f
from tests.api.staff import build_staff_hub, headers, staff
from tests.asgi import TestClient
from tests.identity_factories import KEYS, Feeds, encode

PEOPLE = [
    RawIdentity("Amelia", "Clarke-Oduya", "2011-04-09", "F", "4 Birch Avenue Wolverhampton", "WV1 1AB"),
    RawIdentity("Noah", "Patel", "1990-12-01", "M", "22 Oak Lane Solihull", "B91 3QT"),
    RawIdentity("Oliver", "Smith", "2014-07-21", "M", "9 Elm Road Dudley", "DY1 4RT"),
]
SEARCH_TABLES = {"search_keys", "search_tokens", "search_cursor"}


def _rows(prefix: str, people: list[RawIdentity], partner: str = "WMP") -> list[Row]:
    return [
        Row(
            record_id=f"{prefix}{i}",
            op="upsert",
            enc=encode(who, partner),
            flag="POLICE_WELFARE",
            interaction_date=date(2026, 10, 1 + i),
            lead_contact="duty desk",
        )
        for i, who in enumerate(people)
    ]


def _filed(hub: Hub, tmp_path: Path) -> Feeds:
    feeds = Feeds(hub, tmp_path)
    feeds.ingest(_rows("W", PEOPLE))
    feeds.ingest(_rows("H", PEOPLE[:2], "CITYHOSP_AE"), "CITYHOSP_AE")
    feeds.identity.link()
    hub.search.refresh()
    return feeds


def _as_before_0007(hub: Hub) -> None:
    """The read model as a hub from before the packed tokens left it: keys filed, no packed tokens, another
    fingerprint."""
    with hub.database.write() as conn:
        conn.execute(search_tokens.delete())
        conn.execute(update(search_cursor).values(blocking="0" * 64))


def _search(hub: Hub, who: RawIdentity) -> Any:
    token = staff(hub, f"officer.{who.first_name.lower()}", "mash_officer")
    body = encode_query(
        KEYS, first_name=who.first_name, last_name=who.last_name, date_of_birth=who.date_of_birth, today=f.TODAY
    ).to_json()
    with TestClient(create_app(hub=hub), raise_server_exceptions=False) as client:
        response = client.post("/v1/search", json=body, headers=headers(token, "mash_screening", "CASE-1"))
    assert response.status_code == 200, response.text
    return response.json()


def test_packed_tokens_hold_exactly_the_record_tokens(staff_hub: Hub, tmp_path: Path) -> None:
    hub = _filed(staff_hub, tmp_path).hub
    with hub.database.read() as conn:
        pks = list(conn.execute(select(records.c.pk).order_by(records.c.pk)).scalars())
        packed = dict(conn.execute(select(search_tokens.c.record_pk, search_tokens.c.tokens)).all())
        loaded = store.load_records(conn, pks)
    assert sorted(packed) == pks == loaded.pks.tolist()
    tokens, lists = unpack_tokens([packed[pk] for pk in pks])
    for name, column in loaded.batch.tokens.items():
        assert np.array_equal(tokens[name], column), name
    for name, column in loaded.batch.token_lists.items():
        assert np.array_equal(lists[name], column), name
    parts = np.count_nonzero(lists["tk_last_parts"], axis=1).tolist()
    assert sorted(parts) == [1, 1, 1, 2, 2]  # Clarke-Oduya's two parts, from both partners


def test_a_deleted_record_leaves_no_packed_tokens(staff_hub: Hub, tmp_path: Path) -> None:
    feeds = _filed(staff_hub, tmp_path)
    hub = feeds.hub
    feeds.ingest([Row(record_id="W2", op="delete")])
    hub.search.refresh()
    with hub.database.read() as conn:
        held = conn.execute(select(func.count()).select_from(records)).scalar_one()
        packed = conn.execute(select(func.count()).select_from(search_tokens)).scalar_one()
        orphans = conn.execute(
            select(func.count()).select_from(search_tokens).where(~search_tokens.c.record_pk.in_(select(records.c.pk)))
        ).scalar_one()
    assert (held, packed, orphans) == (4, 4, 0)
    assert _search(hub, PEOPLE[2])["persons"] == []


def test_a_read_model_from_before_the_packed_tokens_is_rebuilt_by_the_next_search(
    staff_hub: Hub, database_url: str, tmp_path: Path
) -> None:
    _filed(staff_hub, tmp_path)
    _as_before_0007(staff_hub)
    hub = build_staff_hub(database_url, tmp_path / "upgraded")  # the hub started again after the upgrade
    try:
        found = _search(hub, PEOPLE[0])
        with hub.database.read() as conn:
            packed = conn.execute(select(func.count()).select_from(search_tokens)).scalar_one()
            keyed = conn.execute(select(func.count(func.distinct(search_keys.c.record_pk)))).scalar_one()
            fingerprint = conn.execute(select(search_cursor.c.blocking)).scalar_one()
        signature = hub.search.index.signature
    finally:
        hub.close()
    assert [p["partners_count"] for p in found["persons"]] == [2]
    assert packed == keyed == 5
    assert fingerprint == signature


def test_init_db_files_every_record_again_after_an_upgrade(staff_hub: Hub, database_url: str, tmp_path: Path) -> None:
    _filed(staff_hub, tmp_path)
    _as_before_0007(staff_hub)
    env = {"AIM_DATABASE_URL": database_url, "AIM_AUDIT_KEY_PATH": str(tmp_path / "audit.key")}
    result = CliRunner().invoke(main, ["hub", "init-db"], env=env)
    assert result.exit_code == 0, result.output
    assert "search read model up to date (5 records filed)" in result.output
    with staff_hub.database.read() as conn:
        assert conn.execute(select(func.count()).select_from(search_tokens)).scalar_one() == 5
    again = CliRunner().invoke(main, ["hub", "init-db"], env=env)
    assert "search read model up to date (0 records filed)" in again.output


def test_the_migrated_search_tables_match_the_declarations(staff_hub: Hub) -> None:
    with staff_hub.database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, metadata) if SEARCH_TABLES & set(map(str, _names(d)))]
    assert diffs == []


def test_0007_goes_down_and_up(staff_hub: Hub) -> None:
    engine = staff_hub.database.engine
    command.downgrade(migrate.alembic_config(engine), "0006")
    assert "search_tokens" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert "search_tokens" in inspect(engine).get_table_names()
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def _names(diff: object) -> list[object]:
    """Every table name a compare_metadata diff mentions."""
    out: list[object] = []
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", None)
            out += [getattr(part, "name", None), getattr(table, "name", None)]
            if isinstance(part, str):
                out.append(part)
    return out


def _counting(staff_hub: Hub, tmp_path: Path) -> tuple[Hub, TermCounts, Any, EncodedQuery]:
    """A filed hub, fresh term counts, its linkage model and a query to count for."""
    hub = _filed(staff_hub, tmp_path).hub
    query = encode_query(KEYS, first_name="Noah", last_name="Patel", date_of_birth="1990-12-01", today=f.TODAY)
    return hub, TermCounts(), hub.search.model, query


def test_the_first_count_of_the_totals_is_made_by_one_search_while_the_others_wait(
    staff_hub: Hub, tmp_path: Path, monkeypatch: Any
) -> None:
    # On a hub of a million records the totals take half a second or more to count: every search that found the
    # records changed used to count them at once, and during a nightly feed they queued behind each other's counts.
    hub, counts, model, query = _counting(staff_hub, tmp_path)
    real, counted = TermCounts._count_totals, []

    def slow_count(conn: Any, fields: list[str]) -> dict[str, int]:
        counted.append(threading.get_ident())
        time.sleep(0.3)  # long enough for every other search to arrive while this one counts
        return real(conn, fields)

    monkeypatch.setattr(TermCounts, "_count_totals", staticmethod(slow_count))
    start, results = threading.Barrier(6), []

    def search() -> None:
        with hub.database.read() as conn:
            start.wait()
            results.append(counts.frequencies(conn, model, query))

    threads = [threading.Thread(target=search) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(counted) == 1
    assert len(results) == 6
    assert all(r.keys() == results[0].keys() for r in results)
    assert all(r[name].floor == results[0][name].floor for r in results for name in r)
    counts.invalidate()  # records changed: the next search counts again
    with hub.database.read() as conn:
        counts.frequencies(conn, model, query)
    assert len(counted) == 2


def test_after_the_records_change_the_others_search_with_the_previous_totals_while_one_counts(
    staff_hub: Hub, tmp_path: Path, monkeypatch: Any
) -> None:
    # During a nightly feed the count took seconds on PostgreSQL, and every search of the process waited for it.
    hub, counts, model, query = _counting(staff_hub, tmp_path)
    with hub.database.read() as conn:
        before = counts.frequencies(conn, model, query)  # the first count, waited for
    counts.invalidate()  # the records changed
    real, counted, counting, release = TermCounts._count_totals, [], threading.Event(), threading.Event()

    def held_count(conn: Any, fields: list[str]) -> dict[str, int]:
        counted.append(1)
        counting.set()
        release.wait(30)
        return real(conn, fields)

    monkeypatch.setattr(TermCounts, "_count_totals", staticmethod(held_count))

    def count() -> None:
        with hub.database.read() as conn:
            counts.frequencies(conn, model, query)

    counter = threading.Thread(target=count)
    counter.start()
    assert counting.wait(10)
    found: list[dict[str, Any]] = []

    def search() -> None:
        with hub.database.read() as conn:
            found.append(counts.frequencies(conn, model, query))

    searcher = threading.Thread(target=search)
    searcher.start()
    searcher.join(5)  # the count is held until release: a search that waited for it would still be waiting
    searching = searcher.is_alive()
    release.set()
    counter.join()
    searcher.join()
    assert not searching, "this search went on while the other one was still counting"
    assert all(found[0][name].floor == before[name].floor for name in before), "with the totals from before"
    assert counted == [1]
    with hub.database.read() as conn:
        counts.frequencies(conn, model, query)
    assert counted == [1], "the new totals are kept"


def _changed_again(hub: Hub) -> int:
    """A record changed again (as by a feed's batch); returns the change's number."""
    with hub.database.write() as conn:
        last = conn.execute(select(record_changes).order_by(record_changes.c.seq.desc()).limit(1)).one()
        conn.execute(insert(record_changes).values({**last._asdict(), "seq": None}))
        return int(conn.execute(select(func.max(record_changes.c.seq))).scalar_one())


def _cursors(hub: Hub) -> tuple[int, int]:
    """(the read model's cursor, identity resolution's cursor)."""
    with hub.database.read() as conn:
        return int(conn.execute(select(search_cursor.c.last_seq)).scalar_one()), store.cursor(conn)


def test_a_search_files_only_linked_changes_and_never_queues_behind_a_writer_to_file_them(
    sqlite_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    # During a nightly feed every search that found the read model behind filed the feed's applied batches inside its
    # own request (seconds on a large hub), and on SQLite queued for the write lock behind the feed's writes to do so.
    hub = build_staff_hub(sqlite_url, tmp_path)
    try:
        _filed(hub, tmp_path)
        asked: list[dict[str, Any]] = []
        real = hub.search.index.refresh

        def refresh(**kwargs: Any) -> int:
            asked.append(kwargs)
            return real(**kwargs)

        monkeypatch.setattr(hub.search.index, "refresh", refresh)
        filed_to, linked_to = _cursors(hub)
        waiting = _changed_again(hub)  # not linked yet: the linking files it
        _search(hub, PEOPLE[1])
        assert asked == [], "a change waiting for identity resolution is left for it to file"
        assert _cursors(hub) == (filed_to, linked_to)
        with hub.database.write() as conn:  # linked but not filed, as a feed linked in one go leaves it ...
            conn.execute(update(identity_cursor).values(last_seq=waiting))
        newer = _changed_again(hub)  # ... and the next feed's batch waiting for its linking
        holding, release = threading.Event(), threading.Event()

        def writer() -> None:
            with hub.database.write():
                holding.set()
                release.wait(30)

        held = threading.Thread(target=writer)
        held.start()
        assert holding.wait(10)
        began = time.monotonic()
        assert hub.search.index.behind()
        assert hub.search.index.unfiled_links
        filed = real(wait=False, through=waiting)
        waited = time.monotonic() - began
        release.set()
        held.join()
        assert filed == 0
        assert waited < hub.database.write_wait_s / 2, f"waited {waited:.1f} s for the writer"
        assert _cursors(hub)[0] == filed_to, "left as it was"
        _search(hub, PEOPLE[0])
        assert asked == [{"wait": False, "through": waiting}]
        assert _cursors(hub)[0] == waiting, "filed by the search up to the linked change, once the database was free"
        assert hub.search.index.behind(), f"change {newer} is left for its linking"
    finally:
        hub.close()
