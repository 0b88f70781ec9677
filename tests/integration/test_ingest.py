"""The ingest service on SQLite and PostgreSQL: batches, replays, conflicts, corrections, deletions, receipts."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aim.bootstrap import Hub
from aim.errors import InputError, NotFoundError
from aim.ingest import commit as commit_module
from aim.ingest.batches import split_feed, split_rows
from aim.ingest.errors import FeedConflictError
from aim.ingest.local import ingest_file
from aim.ingest.plan import NOTHING_TO_DELETE, Plan
from aim.ingest.service import IngestService
from aim.partner.errors import NotPermittedError
from aim.partner.model import Partner
from aim.storage import records as records_store
from aim.storage.records import changes_after
from aim.storage.tables import batch_progress, feed_batches, links, persons, record_tokens, records
from tests import factories as f


def _count(hub: Hub, table: object) -> int:
    with hub.database.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _push(hub: Hub, partner: Partner, path: Path, *, max_rows: int = 40) -> list[bytes]:
    feed = split_feed(path.read_bytes())
    hub.ingest.open_feed(partner=partner, manifest_body=feed.manifest_line)
    batches = split_rows(feed.body, max_rows=max_rows)
    for seq, batch in enumerate(batches, start=1):
        hub.ingest.put_batch(partner=partner, feed_id=feed.manifest.feed_id, seq=seq, body=batch)
    return batches


@pytest.fixture
def wmp(hub: Hub) -> Partner:
    f.register(hub, "WMP")
    return hub.partners.get("WMP")


def test_a_feed_in_batches_is_stored_once_with_its_tokens(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    rows = f.rows(100)
    f.feed(tmp_path / "a.feed", rows)
    _push(hub, wmp, tmp_path / "a.feed")
    assert _count(hub, records) == 0, "nothing is visible before the commit"
    receipt = hub.ingest.commit_feed(partner=wmp, feed_id="WMP-1")
    assert (receipt.status, receipt.accepted, receipt.rejected, receipt.inserted) == ("committed", 100, 0, 100)
    assert _count(hub, records) == 100
    assert _count(hub, record_tokens) == sum(f.tokens_of(r) for r in rows)
    with hub.database.read() as conn:
        bodies = conn.execute(select(feed_batches.c.body)).scalars().all()
    assert bodies == [None, None, None], "raw batch bytes are dropped once applied"


def test_replays_return_the_first_result_and_add_nothing(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    manifest = f.feed(tmp_path / "a.feed", f.rows(50))
    batches = _push(hub, wmp, tmp_path / "a.feed")
    again = hub.ingest.open_feed(partner=wmp, manifest_body=f.manifest_line(manifest))
    assert not again.created
    first = hub.ingest.put_batch(partner=wmp, feed_id="WMP-1", seq=1, body=batches[0])
    assert not first.created
    assert first.rows == 40
    receipt = hub.ingest.commit_feed(partner=wmp, feed_id="WMP-1")
    assert hub.ingest.commit_feed(partner=wmp, feed_id="WMP-1") == receipt
    assert not hub.ingest.put_batch(partner=wmp, feed_id="WMP-1", seq=2, body=batches[1]).created
    assert _count(hub, records) == 50


def test_same_keys_with_different_content_are_conflicts(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    f.feed(tmp_path / "a.feed", f.rows(50))
    batches = _push(hub, wmp, tmp_path / "a.feed")
    other = f.feed(tmp_path / "b.feed", f.rows(50, seed=2))
    with pytest.raises(FeedConflictError, match="different manifest"):
        hub.ingest.open_feed(partner=wmp, manifest_body=f.manifest_line(other))
    with pytest.raises(FeedConflictError, match=r"batch 2 .* different content"):
        hub.ingest.put_batch(partner=wmp, feed_id="WMP-1", seq=2, body=batches[0])
    hub.ingest.commit_feed(partner=wmp, feed_id="WMP-1")
    with pytest.raises(FeedConflictError, match="already committed"):
        hub.ingest.put_batch(partner=wmp, feed_id="WMP-1", seq=3, body=batches[0])


def test_corrections_replace_and_deletions_remove_everything_derived(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    # The ingest step alone, without the hub's after-commit linking, so the links below are the test's own.
    ingest = IngestService(database=hub.database, clock=hub.clock, zone=hub.settings.zone)
    f.feed(tmp_path / "a.feed", f.rows(10))
    ingest_file(tmp_path / "a.feed", ingest=ingest, partners=hub.partners)
    with hub.database.write() as conn:
        person = conn.execute(persons.insert().values(created_at=f.NOW)).inserted_primary_key[0]  # type: ignore[index]
        pks = conn.execute(select(records.c.pk).order_by(records.c.pk)).scalars().all()
        conn.execute(
            links.insert(), [{"person_pk": person, "record_pk": pk, "method": "t", "created_at": f.NOW} for pk in pks]
        )
    corrected = f.upsert("R3", day=f.TODAY)
    f.feed(tmp_path / "b.feed", [corrected, f.delete("R4"), f.delete("R-none")], feed_id="WMP-2")
    receipt = ingest_file(tmp_path / "b.feed", ingest=ingest, partners=hub.partners)
    assert (receipt.accepted, receipt.rejected, receipt.replaced, receipt.deleted) == (2, 1, 1, 1)
    assert receipt.rejections[0].reasons == (NOTHING_TO_DELETE,)
    assert receipt.rejections[0].line == 4
    with hub.database.read() as conn:
        held = dict(conn.execute(select(records.c.record_id, records.c.interaction_date)).all())
        r3 = conn.execute(select(records.c.pk).where(records.c.record_id == "R3")).scalar_one()
        r3_tokens = conn.execute(select(func.count()).where(record_tokens.c.record_pk == r3)).scalar_one()
        linked = conn.execute(select(func.count()).select_from(links)).scalar_one()
        changes = changes_after(conn, after_seq=0)
    assert "R4" not in held
    assert held["R3"] == f.TODAY
    assert r3_tokens == f.tokens_of(corrected)
    assert linked == 8, "the corrected and the deleted record lose their links; the linkage step relinks"
    assert [(c["record_id"], c["change"]) for c in changes[-2:]] == [("R3", "upsert"), ("R4", "delete")]


@pytest.mark.parametrize("apply_rows", [100, 2, 1])  # the batch in one transaction, or cut between any two rows
def test_rows_of_one_batch_apply_in_order(
    hub: Hub, wmp: Partner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apply_rows: int
) -> None:
    monkeypatch.setattr(commit_module, "APPLY_ROWS", apply_rows)
    seq = [f.upsert("A"), f.upsert("A", day=f.TODAY), f.upsert("B"), f.delete("B"), f.delete("B"), f.upsert("C")]
    f.feed(tmp_path / "a.feed", seq)
    receipt = ingest_file(tmp_path / "a.feed", ingest=hub.ingest, partners=hub.partners)
    assert (receipt.inserted, receipt.replaced, receipt.deleted, receipt.rejected) == (3, 1, 1, 1)
    assert receipt.accepted + receipt.rejected == receipt.row_count == 6
    with hub.database.read() as conn:
        assert set(conn.execute(select(records.c.record_id)).scalars()) == {"A", "C"}


@pytest.mark.parametrize("apply_rows", [100, 1])
def test_a_record_deleted_and_sent_again_in_one_batch_stays_the_same_record(
    hub: Hub, wmp: Partner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apply_rows: int
) -> None:
    # Cut between its delete and its upsert, the record would be deleted with what derives from it (its links, the
    # steward's decisions on its pairs, alert evidence) and come back as a new one.
    monkeypatch.setattr(commit_module, "APPLY_ROWS", apply_rows)
    f.feed(tmp_path / "a.feed", [f.upsert("A"), f.upsert("B")])
    ingest_file(tmp_path / "a.feed", ingest=hub.ingest, partners=hub.partners)
    query = select(records.c.record_id, records.c.pk).order_by(records.c.record_id)
    with hub.database.read() as conn:
        before = {row.record_id: row.pk for row in conn.execute(query)}
    again = [f.delete("A"), f.upsert("C"), f.upsert("A", day=f.TODAY), f.upsert("D")]
    f.feed(tmp_path / "b.feed", again, feed_id="WMP-2")
    receipt = ingest_file(tmp_path / "b.feed", ingest=hub.ingest, partners=hub.partners)
    assert (receipt.inserted, receipt.replaced, receipt.deleted, receipt.rejected) == (3, 0, 1, 0)
    with hub.database.read() as conn:
        after = {row.record_id: row.pk for row in conn.execute(query)}
    assert (after["A"], after["B"]) == (before["A"], before["B"])
    assert sorted(after) == ["A", "B", "C", "D"]


def test_invalid_rows_are_rejected_with_line_and_reason(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    path = tmp_path / "a.feed"
    f.feed(path, f.rows(3))
    lines = path.read_bytes().splitlines(keepends=True)
    bad = b'{"record_id":"R9","op":"upsert","flag":"NOPE"}\n'
    body = b"".join([lines[1], bad, lines[2], b"not json\n", lines[3]])
    manifest = f.feed(tmp_path / "x.feed", [])  # a manifest for the body above
    import hashlib
    import json

    head = json.loads(f.manifest_line(manifest))
    head.update(row_count=5, rows_sha256=hashlib.sha256(body).hexdigest())
    path.write_bytes(json.dumps(head).encode() + b"\n" + body)
    receipt = ingest_file(path, ingest=hub.ingest, partners=hub.partners)
    assert (receipt.accepted, receipt.rejected) == (3, 2)
    assert [(r.line, r.record_id) for r in receipt.rejections] == [(3, "R9"), (5, None)]
    assert all(r.reasons for r in receipt.rejections)


@pytest.mark.parametrize(
    ("description", "batches", "message"),
    [
        ("a missing batch", [1, 3], r"batches \[2\] have not arrived"),
        ("too few rows", [1], "manifest says 100 rows but the batches hold 40"),
    ],
)
def test_commit_refuses_an_incomplete_feed(
    hub: Hub, wmp: Partner, tmp_path: Path, description: str, batches: list[int], message: str
) -> None:
    f.feed(tmp_path / "a.feed", f.rows(100))
    feed = split_feed((tmp_path / "a.feed").read_bytes())
    hub.ingest.open_feed(partner=wmp, manifest_body=feed.manifest_line)
    parts = split_rows(feed.body, max_rows=40)
    for seq in batches:
        hub.ingest.put_batch(partner=wmp, feed_id="WMP-1", seq=seq, body=parts[seq - 1])
    with pytest.raises(InputError, match=message):
        hub.ingest.commit_feed(partner=wmp, feed_id="WMP-1")
    assert _count(hub, records) == 0, description


def test_commit_refuses_batches_that_do_not_match_the_checksum(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    f.feed(tmp_path / "a.feed", f.rows(80))
    feed = split_feed((tmp_path / "a.feed").read_bytes())
    hub.ingest.open_feed(partner=wmp, manifest_body=feed.manifest_line)
    parts = split_rows(feed.body, max_rows=40)
    hub.ingest.put_batch(partner=wmp, feed_id="WMP-1", seq=1, body=parts[1])
    hub.ingest.put_batch(partner=wmp, feed_id="WMP-1", seq=2, body=parts[0])
    with pytest.raises(InputError, match="rows_sha256 does not match"):
        hub.ingest.commit_feed(partner=wmp, feed_id="WMP-1")


def test_more_rows_than_the_manifest_are_refused_at_once(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    f.feed(tmp_path / "a.feed", f.rows(10))
    f.feed(tmp_path / "b.feed", f.rows(20))
    small = split_feed((tmp_path / "a.feed").read_bytes())
    hub.ingest.open_feed(partner=wmp, manifest_body=small.manifest_line)
    with pytest.raises(InputError, match="more rows than the manifest"):
        hub.ingest.put_batch(
            partner=wmp, feed_id="WMP-1", seq=1, body=split_feed((tmp_path / "b.feed").read_bytes()).body
        )


def test_a_commit_interrupted_after_some_batches_resumes(
    hub: Hub, wmp: Partner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aim.storage import feeds as feeds_repo

    monkeypatch.setattr(commit_module, "APPLY_ROWS", 100)  # each 40-row batch in one transaction
    f.feed(tmp_path / "a.feed", f.rows(100))
    _push(hub, wmp, tmp_path / "a.feed")
    with hub.database.write() as conn:
        feed = feeds_repo.feed_row(conn, partner_pk=wmp.pk, feed_id="WMP-1")
        assert feed is not None
        commit_module.verify_feed(conn, feed)
        feeds_repo.update_feed(conn, feed.pk, status="applying")
    calls = 0

    class Crash(Exception):
        pass

    def crashing_now() -> object:
        nonlocal calls
        calls += 1
        if calls == 3:  # during the second batch's transaction
            raise Crash
        return f.NOW

    with pytest.raises(Crash):
        commit_module.apply_batches(hub.database, feed, now=crashing_now)  # type: ignore[arg-type]
    assert _count(hub, records) == 40, "the first batch is in, the second rolled back whole"
    receipt = hub.ingest.commit_feed(partner=wmp, feed_id="WMP-1")
    assert (receipt.accepted, receipt.inserted, _count(hub, records)) == (100, 100, 100)


def test_a_commit_interrupted_inside_a_batch_carries_on_after_its_last_applied_rows(
    hub: Hub, wmp: Partner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commit_module, "APPLY_ROWS", 30)  # the one 100-row batch in four transactions
    f.feed(tmp_path / "a.feed", f.rows(100))
    _push(hub, wmp, tmp_path / "a.feed", max_rows=100)
    apply_plan, calls = records_store.apply_plan, itertools.count(1)

    def crashing(*args: Any, **kwargs: Any) -> None:
        if next(calls) == 3:
            raise OSError("the hub was killed")
        apply_plan(*args, **kwargs)

    monkeypatch.setattr(records_store, "apply_plan", crashing)
    with pytest.raises(OSError, match="killed"):
        hub.ingest.commit_feed(partner=wmp, feed_id="WMP-1")
    with hub.database.read() as conn:
        applied = conn.execute(select(batch_progress.c.applied_rows, batch_progress.c.inserted)).one()
    assert (tuple(applied), _count(hub, records)) == ((60, 60), 60), "two transactions stand, the third rolled back"
    monkeypatch.setattr(records_store, "apply_plan", apply_plan)
    receipt = hub.ingest.commit_feed(partner=wmp, feed_id="WMP-1")
    assert (receipt.accepted, receipt.inserted, receipt.rejected) == (100, 100, 0)
    with hub.database.read() as conn:
        assert len(changes_after(conn, after_seq=0)) == _count(hub, records) == 100  # none applied twice
    assert _count(hub, batch_progress) == 0  # kept only while a batch is part-applied


def test_partners_see_only_their_own_feeds(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    f.register(hub, "FIRE")
    fire = hub.partners.get("FIRE")
    f.feed(tmp_path / "a.feed", f.rows(5))
    ingest_file(tmp_path / "a.feed", ingest=hub.ingest, partners=hub.partners)
    with pytest.raises(NotFoundError):
        hub.ingest.receipt(partner=fire, feed_id="WMP-1")
    manifest = split_feed((tmp_path / "a.feed").read_bytes()).manifest_line
    with pytest.raises(NotPermittedError, match="another partner"):
        hub.ingest.open_feed(partner=fire, manifest_body=manifest)


def test_same_record_ids_from_two_partners_are_two_records(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    f.register(hub, "FIRE")
    f.feed(tmp_path / "a.feed", f.rows(5))
    f.feed(tmp_path / "b.feed", f.rows(5), partner="FIRE", feed_id="FIRE-1")
    for name in ("a.feed", "b.feed"):
        ingest_file(tmp_path / name, ingest=hub.ingest, partners=hub.partners)
    f.feed(tmp_path / "c.feed", [f.delete("R1")], partner="FIRE", feed_id="FIRE-2")
    ingest_file(tmp_path / "c.feed", ingest=hub.ingest, partners=hub.partners)
    assert _count(hub, records) == 9


def test_an_empty_feed_commits(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    f.feed(tmp_path / "a.feed", [])
    receipt = ingest_file(tmp_path / "a.feed", ingest=hub.ingest, partners=hub.partners)
    assert (receipt.status, receipt.row_count, receipt.accepted) == ("committed", 0, 0)


def test_a_suspended_partner_cannot_ingest_locally(hub: Hub, wmp: Partner, tmp_path: Path) -> None:
    hub.partners.suspend("WMP", reason="review")
    f.feed(tmp_path / "a.feed", f.rows(2))
    with pytest.raises(NotPermittedError, match="suspended"):
        ingest_file(tmp_path / "a.feed", ingest=hub.ingest, partners=hub.partners)


def test_a_feed_partly_pushed_in_other_batches_is_finished_on_the_hub_where_the_push_cut_it(
    hub: Hub, wmp: Partner, tmp_path: Path
) -> None:
    # The agent pushed with --batch-rows 7 and stopped after two batches; the operator ingests the file on the hub.
    f.feed(tmp_path / "a.feed", f.rows(30))
    feed = split_feed((tmp_path / "a.feed").read_bytes())
    hub.ingest.open_feed(partner=wmp, manifest_body=feed.manifest_line)
    for seq, batch in enumerate(split_rows(feed.body, max_rows=7)[:2], start=1):
        hub.ingest.put_batch(partner=wmp, feed_id="WMP-1", seq=seq, body=batch)
    receipt = ingest_file(tmp_path / "a.feed", ingest=hub.ingest, partners=hub.partners)
    assert (receipt.status, receipt.accepted, receipt.rejected) == ("committed", 30, 0)
    with hub.database.read() as conn:
        rows = list(conn.execute(select(feed_batches.c.row_count).order_by(feed_batches.c.seq)).scalars())
    assert rows == [7, 7, 16]
    again = ingest_file(tmp_path / "a.feed", ingest=hub.ingest, partners=hub.partners)
    assert again == receipt


def test_changes_become_visible_in_the_order_they_are_numbered(
    hub: Hub, wmp: Partner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Identity resolution and the read model carry on from a cursor over record_changes: a commit that numbered its
    # changes first but committed after another partner's would be passed over for good, its records never linked.
    f.register(hub, "FIRE")
    f.feed(tmp_path / "a.feed", f.rows(5, prefix="W"))
    f.feed(tmp_path / "b.feed", f.rows(5, prefix="F"), partner="FIRE", feed_id="FIRE-1")
    _push(hub, wmp, tmp_path / "a.feed")
    _push(hub, hub.partners.get("FIRE"), tmp_path / "b.feed")
    applied, release = threading.Event(), threading.Event()
    apply_plan = records_store.apply_plan

    def held_open(conn: Connection, plan: Plan, **kwargs: Any) -> None:
        apply_plan(conn, plan, **kwargs)
        if kwargs["partner_pk"] == wmp.pk:  # WMP's changes are numbered; its transaction stays open
            applied.set()
            release.wait(30)

    monkeypatch.setattr(records_store, "apply_plan", held_open)
    first = threading.Thread(target=hub.ingest.commit_feed, kwargs={"partner": wmp, "feed_id": "WMP-1"})
    second = threading.Thread(
        target=hub.ingest.commit_feed, kwargs={"partner": hub.partners.get("FIRE"), "feed_id": "FIRE-1"}
    )
    first.start()
    assert applied.wait(30)
    second.start()
    second.join(timeout=2)  # FIRE's commit: done, or waiting for WMP's
    with hub.database.read() as conn:
        seen = [change["seq"] for change in changes_after(conn, after_seq=0)]
    release.set()
    first.join(30)
    second.join(30)
    with hub.database.read() as conn:
        every = [change["seq"] for change in changes_after(conn, after_seq=0)]
    assert len(every) == 10
    hub.identity.link()
    with hub.database.read() as conn:
        linked = conn.execute(select(func.count()).select_from(links)).scalar_one()
    assert linked == 10, "the records of the commit numbered first and committed last were never linked"
    assert seen == every[: len(seen)], f"changes {seen} were visible before {sorted(set(every) - set(seen))}"
