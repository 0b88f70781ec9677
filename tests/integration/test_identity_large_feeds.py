"""A feed too large to look its candidates up by token has every linked record read instead (one pass over the
records and their tokens): the same candidate pairs as the lookups by token. With the hub's blocking-key index (the
search read model), candidates are the records filed under the new records' keys: the same pairs again, from far
fewer records. Records read in bulk (all, or by key) have the encodings the library builds from the stored bytes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection

from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.fixtures import DEFAULT_AS_OF
from aim.identity import store
from aim.identity.candidates import DETERMINISTIC_RULES
from aim.identity.resolver import IdentityResolver
from aim.identity.service import IdentityService
from aim.settings import Settings
from aim.storage.tables import links, record_tokens, records
from linkage.batch import RecordBatch
from linkage.blocking import block
from linkage.stored import batch_from_stored
from tests.identity_factories import last_feed_waiting, population_feeds

NOW = datetime.combine(DEFAULT_AS_OF, time(23, 0), tzinfo=UTC)
FIRST, LAST = ("WMP", "CITYHOSP_AE", "BCHC", "SCHOOLS", "CHILDRENS_SC", "ADULT_SC", "FIRE"), "HOUSING"


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("population")
    return population_feeds(root, people=800, seed=3, partners=(*FIRST, LAST), now=NOW)


@pytest.fixture
def hub(database_url: str, feeds: dict[str, Path]) -> Iterator[Hub]:
    """Every partner's feed but the last linked; the last ingested and waiting to be linked."""
    built = bootstrap(
        Settings(database_url=database_url), clock=FixedClock(NOW), migrate_schema=True, link_after_commit=False
    )
    try:
        last_feed_waiting(built, feeds, FIRST, LAST)
        yield built
    finally:
        built.close()


def _rows(loaded: store.Loaded) -> dict[int, tuple[object, ...]]:
    """Each record's columns, token lists as sorted tuples (their slot order is not meaningful)."""
    batch = loaded.batch
    out: dict[int, tuple[object, ...]] = {}
    for n, pk in enumerate(loaded.pks.tolist()):
        blooms = tuple(batch.blooms[k][n].tobytes() for k in sorted(batch.blooms))
        tokens = tuple(int(batch.tokens[k][n]) for k in sorted(batch.tokens))
        lists = tuple(tuple(sorted(int(v) for v in batch.token_lists[k][n])) for k in sorted(batch.token_lists))
        out[pk] = (blooms, tokens, lists)
    return out


def _reference(conn: Connection, pks: list[int]) -> store.Loaded:
    """The records ``pks`` as the library builds them from stored bytes (``linkage.stored.batch_from_stored``)."""
    position = {pk: n for n, pk in enumerate(pks)}
    columns = (records.c.pk, records.c.bf_first, records.c.bf_last, records.c.bf_address)
    rows = {r.pk: r for r in conn.execute(select(*columns))}
    blooms = {name: [rows[pk]._mapping[name] for pk in pks] for name in ("bf_first", "bf_last", "bf_address")}
    query = select(record_tokens.c.record_pk, record_tokens.c.field, record_tokens.c.token)
    tokens = [(position[r.record_pk], r.field, bytes(r.token)) for r in conn.execute(query) if r.record_pk in position]
    return store.Loaded(np.array(pks, dtype=np.int64), batch_from_stored(len(pks), blooms, tokens))


def test_reading_records_in_bulk_gives_the_encodings_the_library_builds_from_the_stored_bytes(hub: Hub) -> None:
    with hub.database.read() as conn:
        everything, person_of = store.load_linked(conn)
        linked = conn.execute(select(links.c.record_pk, links.c.person_pk).order_by(links.c.record_pk)).all()
        pks = [r.record_pk for r in linked]
        by_key = store.load_records(conn, pks)
        some = store.load_records(conn, pks[::7])
        reference = _reference(conn, pks)
    assert len(everything.pks) == len(linked) > 500
    assert person_of == {r.record_pk: r.person_pk for r in linked}
    assert _rows(everything) == _rows(reference)
    assert _rows(by_key) == _rows(reference)
    assert _rows(some) == {pk: row for pk, row in _rows(reference).items() if pk in set(pks[::7])}


def _candidate_pairs(hub: Hub, resolver: IdentityResolver) -> set[tuple[int, int]]:
    """The (new record, known record) pairs the blocking rules make from the resolver's candidates."""
    rules = (*resolver.model.blocking, *DETERMINISTIC_RULES)
    with hub.database.write() as conn:  # the index files what changed in the resolver's transaction
        unlinked = select(records.c.pk).where(~records.c.pk.in_(select(links.c.record_pk)))
        new = store.load_records(conn, conn.execute(unlinked).scalars().all())
        known, _ = resolver._candidates(conn, new)
    combined = RecordBatch.concat([new.batch, known.batch])
    pks = np.concatenate([new.pks, known.pks])
    found = block(rules, new.batch, combined, max_block_pairs=resolver.model.max_block_pairs)
    return {(int(new.pks[i]), int(pks[j])) for i, j in zip(found.i, found.j, strict=True) if j >= len(new.pks)}


def test_a_large_feed_finds_the_same_candidate_pairs_by_reading_everything_as_by_token(hub: Hub) -> None:
    model = IdentityService(database=hub.database, clock=hub.clock).model

    def resolver(lookup_limit: int) -> IdentityResolver:
        return IdentityResolver(database=hub.database, clock=hub.clock, model=model, lookup_limit=lookup_limit)

    by_token, by_reading = _candidate_pairs(hub, resolver(1_000_000)), _candidate_pairs(hub, resolver(0))
    assert len(by_token) > 20
    assert by_reading == by_token


def test_candidates_found_by_blocking_key_make_the_same_pairs_from_far_fewer_records(hub: Hub) -> None:
    model = IdentityService(database=hub.database, clock=hub.clock).model
    by_token = IdentityResolver(database=hub.database, clock=hub.clock, model=model, lookup_limit=1_000_000)
    by_key = IdentityResolver(database=hub.database, clock=hub.clock, model=model, index=hub.search.index, keyed_from=1)
    assert _candidate_pairs(hub, by_key) == _candidate_pairs(hub, by_token)
    with hub.database.write() as conn:
        unlinked = select(records.c.pk).where(~records.c.pk.in_(select(links.c.record_pk)))
        new = store.load_records(conn, conn.execute(unlinked).scalars().all())
        keyed, _ = by_key._candidates(conn, new)
        tokened, _ = by_token._candidates(conn, new)
        read_by_key = store.load_records(conn, keyed.pks.tolist())
    assert set(keyed.pks.tolist()) < set(tokened.pks.tolist())
    assert len(keyed.pks) < len(tokened.pks) / 2
    assert _rows(keyed) == _rows(read_by_key)  # packed in the read model, as read from record_tokens


def test_a_resolver_with_another_model_than_the_index_looks_up_by_token(hub: Hub) -> None:
    model = IdentityService(database=hub.database, clock=hub.clock).model
    other = replace(model, blocking=model.blocking[:-1])
    resolver = IdentityResolver(
        database=hub.database, clock=hub.clock, model=other, index=hub.search.index, keyed_from=1
    )
    reference = IdentityResolver(database=hub.database, clock=hub.clock, model=other, lookup_limit=1_000_000)
    with hub.database.write() as conn:
        unlinked = select(records.c.pk).where(~records.c.pk.in_(select(links.c.record_pk)))
        new = store.load_records(conn, conn.execute(unlinked).scalars().all())
        assert resolver._candidates(conn, new)[0].pks.tolist() == reference._candidates(conn, new)[0].pks.tolist()


def test_a_feed_large_for_its_hub_is_left_for_the_search_to_file(hub: Hub) -> None:
    model = IdentityService(database=hub.database, clock=hub.clock).model
    resolver = IdentityResolver(database=hub.database, clock=hub.clock, model=model, index=hub.search.index)
    with hub.database.read() as conn:
        linked = store.linked_count(conn)
        new = len(conn.execute(select(records.c.pk).where(~records.c.pk.in_(select(links.c.record_pk)))).all())
    assert linked < resolver.keyed_from * new  # a tenth of the hub's records or more are new
    resolver.run()
    assert hub.search.index.behind()  # not filed by the run: the next search files them


def test_linking_a_large_feed_by_reading_everything_links_every_record(hub: Hub) -> None:
    model = IdentityService(database=hub.database, clock=hub.clock).model
    run = IdentityResolver(database=hub.database, clock=hub.clock, model=model, lookup_limit=0).run()
    with hub.database.read() as conn:
        unlinked = conn.execute(select(records.c.pk).where(~records.c.pk.in_(select(links.c.record_pk)))).all()
    assert run.records_linked > 0
    assert run.joined > 0
    assert unlinked == []
