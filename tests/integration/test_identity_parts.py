"""On a large hub the resolver links a feed in parts, each its own transaction, so that a search's audit entry
waits for one part rather than the whole feed: the persons made (on this population) are those of one transaction,
a crash between parts keeps what was committed and a re-run finishes with the same persons, and another writer of
the same process gets its turn between two parts."""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, update

from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.fixtures import DEFAULT_AS_OF
from aim.identity import store
from aim.identity.resolver import IdentityResolver
from aim.identity.service import IdentityService
from aim.ingest.local import ingest_file
from aim.retention.purge import _delete_derived
from aim.search.index import SearchIndex
from aim.settings import Settings
from aim.storage.engine import WRITE_OPTION
from aim.storage.search_tables import search_cursor
from aim.storage.tables import links, partners, record_changes, records
from tests import factories as f
from tests.databases import BACKENDS, fresh_postgres
from tests.identity_factories import last_feed_waiting, population_feeds

NOW = datetime.combine(DEFAULT_AS_OF, time(23, 0), tzinfo=UTC)
FIRST, LAST = ("WMP", "CITYHOSP_AE", "BCHC", "SCHOOLS", "CHILDRENS_SC", "ADULT_SC", "FIRE"), "HOUSING"
PART = 15
Partition = set[frozenset[tuple[str, str]]]


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("population")
    return population_feeds(root, people=800, seed=5, partners=(*FIRST, LAST), now=NOW)


@pytest.fixture(params=BACKENDS)
def new_hub(request: pytest.FixtureRequest, tmp_path: Path, feeds: dict[str, Path]) -> Iterator[Callable[[], Hub]]:
    """Builds hubs on fresh databases of the test's backend: every partner's feed but the last linked (in one
    transaction), the last ingested and waiting to be linked."""
    with _hubs(request.param, tmp_path, feeds) as make:
        yield make


@contextmanager
def _hubs(backend: str, tmp_path: Path, feeds: dict[str, Path]) -> Iterator[Callable[[], Hub]]:
    numbers = itertools.count()
    with ExitStack() as stack:

        def make() -> Hub:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path / f'hub{next(numbers)}.db'}"
            else:
                url = stack.enter_context(fresh_postgres())
            settings = Settings(database_url=url)
            hub = bootstrap(settings, clock=FixedClock(NOW), migrate_schema=True, link_after_commit=False)
            stack.callback(hub.close)
            last_feed_waiting(hub, feeds, FIRST, LAST)
            return hub

        yield make


def _resolver(hub: Hub, part_size: int | None) -> IdentityResolver:
    model = IdentityService(database=hub.database, clock=hub.clock).model
    return IdentityResolver(
        database=hub.database, clock=hub.clock, model=model, index=hub.search.index, keyed_from=1, part_size=part_size
    )


def _persons(hub: Hub) -> Partition:
    """Which records are one person, named by partner and record id (person ids are the hub's own)."""
    query = select(links.c.person_pk, partners.c.code, records.c.record_id).select_from(
        links.join(records, records.c.pk == links.c.record_pk).join(partners)
    )
    groups: dict[int, set[tuple[str, str]]] = {}
    with hub.database.read() as conn:
        for person, code, record_id in conn.execute(query):
            groups.setdefault(person, set()).add((code, record_id))
    return {frozenset(g) for g in groups.values()}


def _unlinked(hub: Hub) -> int:
    with hub.database.read() as conn:
        query = select(records.c.pk).where(~records.c.pk.in_(select(links.c.record_pk)))
        return len(conn.execute(query).all())


def test_a_feed_linked_in_parts_makes_the_persons_one_transaction_makes(new_hub: Callable[[], Hub]) -> None:
    whole_hub, parts_hub = new_hub(), new_hub()
    waiting = _unlinked(parts_hub)
    assert waiting > 3 * PART
    whole = _resolver(whole_hub, None).run()
    parted = _resolver(parts_hub, PART).run()
    assert whole.parts == 1
    assert parted.parts == -(-parted.changes // PART) > 3
    assert parted.changes == whole.changes
    assert parted.cursor == whole.cursor
    assert parted.records_linked == whole.records_linked == waiting
    assert parted.new_persons == whole.new_persons > 0
    assert parted.candidate_pairs == whole.candidate_pairs
    assert _unlinked(parts_hub) == 0
    assert _persons(parts_hub) == _persons(whole_hub)


def test_a_feed_large_for_its_hub_is_linked_in_one_transaction(new_hub: Callable[[], Hub]) -> None:
    hub = new_hub()
    resolver = _resolver(hub, PART)
    with hub.database.read() as conn:
        linked = store.linked_count(conn)
    resolver.keyed_from = linked // _unlinked(hub) + 1  # fewer than keyed_from linked records for each waiting
    assert resolver.run().parts == 1
    assert _unlinked(hub) == 0


def test_a_crash_between_parts_keeps_those_committed_and_a_re_run_finishes_with_the_same_persons(
    new_hub: Callable[[], Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_hub, crashed_hub = new_hub(), new_hub()
    _resolver(clean_hub, PART).run()
    waiting = _unlinked(crashed_hub)
    real, calls = store.set_cursor, []

    def set_cursor(*args: object, **kwargs: object) -> None:
        calls.append(args)
        if len(calls) == 3:
            raise OSError("the hub was killed")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "set_cursor", set_cursor)
    with pytest.raises(OSError, match="killed"):
        _resolver(crashed_hub, PART).run()
    monkeypatch.setattr(store, "set_cursor", real)
    left = _unlinked(crashed_hub)
    assert 0 < waiting - left <= 2 * PART  # the first two parts stand, the third was rolled back
    rerun = _resolver(crashed_hub, PART).run()
    assert rerun.records_linked == left
    assert _unlinked(crashed_hub) == 0
    assert _persons(crashed_hub) == _persons(clean_hub)


def test_another_writer_of_the_process_gets_its_turn_between_two_parts(
    tmp_path: Path, feeds: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the parts are for: a search's audit entry, asked for while the resolver writes, waits for one part.
    with _hubs("sqlite", tmp_path, feeds) as make:
        hub = make()
        gate = hub.database._gate
        assert gate is not None
        seen: list[int] = []

        def writer() -> None:
            with hub.database.write() as conn:
                seen.append(store.cursor(conn))

        real, thread = store.set_cursor, threading.Thread(target=writer)

        def set_cursor(*args: object, **kwargs: object) -> None:
            real(*args, **kwargs)  # type: ignore[arg-type]
            if not thread.is_alive() and not seen:  # during the first part: ask to write, and wait in turn
                thread.start()
                while not gate._waiting:
                    thread.join(0.001)

        with hub.database.read() as conn:
            start = store.cursor(conn)
            query = select(record_changes.c.seq).where(record_changes.c.seq > start).order_by(record_changes.c.seq)
            first_part_end = conn.execute(query.limit(PART)).scalars().all()[-1]
        monkeypatch.setattr(store, "set_cursor", set_cursor)
        run = _resolver(hub, PART).run()
        thread.join()
        assert run.parts > 3
        assert seen == [first_part_end]  # it wrote after the first part, not after the whole run


def test_a_run_in_parts_files_the_read_model_and_counts_the_totals_before_each_part_not_inside_it(
    new_hub: Callable[[], Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A part's write transaction used to file every record changed since the read model's cursor (a whole batch of a
    # nightly feed) and count the term totals (half a second on a million records) while every other writer waited.
    hub = new_hub()
    hub.search.refresh()
    with hub.database.write() as conn:  # the read model as it was before the waiting feed came
        conn.execute(update(search_cursor).values(last_seq=store.cursor(conn)))
    index = SearchIndex(database=hub.database, clock=hub.clock, rules=hub.search.index.rules)  # not looked yet
    inside: list[tuple[int, int]] = []  # (limit or 0, records filed) of each filing inside a transaction
    real_file_in, real_count = index.file_in, store.term_frequencies
    counted_in: list[bool] = []

    def file_in(conn: Any, *, limit: int | None = None) -> Any:
        filed = real_file_in(conn, limit=limit)
        inside.append((limit or 0, filed.records if filed else -1))
        return filed

    def term_frequencies(conn: Any, fields: Any) -> Any:
        counted_in.append(bool(conn.get_execution_options().get(WRITE_OPTION)))
        return real_count(conn, fields)

    monkeypatch.setattr(index, "file_in", file_in)
    monkeypatch.setattr(store, "term_frequencies", term_frequencies)
    catch_up = functools.partial(index.catch_up, part=10)
    monkeypatch.setattr(index, "catch_up", catch_up)
    model = IdentityService(database=hub.database, clock=hub.clock).model
    resolver = IdentityResolver(
        database=hub.database, clock=hub.clock, model=model, index=index, keyed_from=1, part_size=PART
    )
    run = resolver.run()
    assert run.parts > 3
    in_parts = [filed for limit, filed in inside if limit == 0]
    caught_up = [filed for limit, filed in inside if limit == 10]
    assert not in_parts, "the parts read their candidates beforehand, so file nothing in their transactions"
    assert sum(caught_up) == run.records_linked, "the waiting feed's records were filed beforehand"
    assert max(caught_up) <= 10
    assert counted_in
    assert not any(counted_in), "the totals were counted in a read, never inside a write"
    assert not index.behind()


def test_a_part_reads_its_candidates_before_its_write_transaction(
    new_hub: Callable[[], Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading a part's candidates is most of its time on a large hub: read in a write transaction, every other writer
    # (on SQLite a search's audit entry) waited for it.
    hub = new_hub()
    index = hub.search.index
    inside: list[bool] = []
    real = index.filed_under

    def filed_under(conn: Any, batch: Any) -> Any:
        inside.append(bool(conn.get_execution_options().get(WRITE_OPTION)))
        return real(conn, batch)

    monkeypatch.setattr(index, "filed_under", filed_under)
    run = _resolver(hub, PART).run()
    assert run.parts > 3
    assert inside == [False] * run.parts
    assert _unlinked(hub) == 0


def _interrupted(hub: Hub, monkeypatch: pytest.MonkeyPatch, act: Callable[[Hub, Any], None], *, planned: bool) -> int:
    """Link the waiting feed in parts, doing ``act(hub, plan)`` between the second part's reads and its transaction;
    ``planned`` False: every part reads its pairs again inside its transaction, as it did before it could read them
    beforehand. Returns how many times the candidates were read inside a transaction."""
    resolver = _resolver(hub, PART)
    real_plan, real_candidates, calls, inside = resolver._plan, resolver._candidates, itertools.count(1), []

    def plan() -> Any:
        made = real_plan()
        if next(calls) == 2:
            act(hub, made)
        return made if planned else None

    def candidates(*args: Any) -> Any:
        inside.append(1)
        return real_candidates(*args)

    monkeypatch.setattr(resolver, "_plan", plan)
    monkeypatch.setattr(resolver, "_candidates", candidates)
    assert resolver.run().parts > 3
    return len(inside)


def _strongest_candidates(hub: Hub, plan: Any, count: int) -> list[tuple[str, str]]:
    """The ``count`` known records in the plan's best-scored pairs, as (partner, record id)."""
    known_rows = plan.pairs.scored.j >= len(plan.pairs.new.pks)
    order = np.argsort(-plan.pairs.scored.weight[known_rows], kind="stable")
    pks = list(dict.fromkeys(plan.pairs.combined_pks[plan.pairs.scored.j[known_rows]][order].tolist()))[:count]
    query = select(partners.c.code, records.c.record_id).join(partners).where(records.c.pk.in_(pks))
    with hub.database.read() as conn:
        return sorted((code, record_id) for code, record_id in conn.execute(query))


def _late_commit(hub: Hub, plan: Any, tmp_path: Path) -> None:
    """A partner's commit: new records, so the totals the pairs were scored with have changed."""
    path = tmp_path / f"late-{id(hub)}.feed"
    f.feed(path, [f.upsert(f"LATE{n}", day=NOW.date()) for n in range(5)], partner="WMP", feed_id="WMP-LATE")
    assert ingest_file(path, ingest=hub.ingest, partners=hub.partners).accepted == 5


def _purge_candidates(hub: Hub, plan: Any, tmp_path: Path) -> None:
    """A purge of the best-scored candidates, as a purge does it: the records and what derives from them, with no
    change recorded."""
    gone = _strongest_candidates(hub, plan, 3)
    with hub.database.write() as conn:
        _delete_derived(conn, [pk for code, rid in gone for pk in _record_pks(conn, code, rid)])


@pytest.mark.parametrize("meanwhile", [_late_commit, _purge_candidates], ids=["commit", "purge"])
def test_a_write_between_a_parts_reads_and_its_transaction_makes_it_read_them_again(
    new_hub: Callable[[], Hub], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, meanwhile: Callable[..., None]
) -> None:
    def act(hub: Hub, plan: Any) -> None:
        meanwhile(hub, plan, tmp_path)

    read_again, as_before = new_hub(), new_hub()
    inside = _interrupted(read_again, monkeypatch, act, planned=True)
    assert inside == 1, "the interrupted part read its candidates again in its transaction"
    _interrupted(as_before, monkeypatch, act, planned=False)
    assert _unlinked(read_again) == _unlinked(as_before) == 0
    assert _persons(read_again) == _persons(as_before)


def _record_pks(conn: Any, code: str, record_id: str) -> list[int]:
    query = select(records.c.pk).join(partners).where(partners.c.code == code, records.c.record_id == record_id)
    return list(conn.execute(query).scalars())
