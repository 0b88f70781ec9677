"""The retention purge on SQLite and PostgreSQL: an expired record leaves no trace in any table (its reference,
its encodings, its tokens, its links, a person left with nothing), kept records stay whole, the purge is one audit
entry with counts only, a dry run changes nothing, and the chain still verifies."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select

from aim.audit.log import AuditFilter
from aim.bootstrap import Hub
from aim.clock import FixedClock
from aim.feed import Row
from aim.ingest.local import ingest_file
from aim.retention.purge import purge, purge_job
from aim.storage.governance_tables import restricted_persons
from aim.storage.schema import metadata
from aim.storage.tables import links, persons, record_changes, records
from tests import factories as f
from tests.api.staff import build_staff_hub

AS_OF = date(2026, 11, 23)
ROWS = [  # police and health keep 2 years, fire 12 months, housing 18 months
    ("OLD-DV", "POLICE_DV", date(2024, 11, 1), True),
    ("NEW-DV", "POLICE_DV", date(2026, 6, 1), False),
    ("EDGE-DV", "POLICE_DV", date(2024, 11, 23), True),  # expires on the day of the purge
    ("DAY-AFTER", "POLICE_WELFARE", date(2024, 11, 24), False),
    ("OLD-FIRE", "FIRE_HOME_SAFETY", date(2025, 10, 1), True),
    ("NEW-FIRE", "FIRE_INCIDENT", date(2026, 1, 1), False),
    ("OLD-HOUSE", "HOUSING_ARREARS", date(2025, 5, 1), True),
]


@pytest.fixture
def purge_hub(database_url: str, tmp_path: Path) -> Iterator[Hub]:
    built = build_staff_hub(database_url, tmp_path)
    try:
        yield built
    finally:
        built.close()


def _load(hub: Hub, tmp_path: Path) -> dict[str, dict[str, Any]]:
    f.register(hub, "WMP")
    rng = random.Random(7)
    feed_rows = [
        Row(record_id=rid, op="upsert", enc=f.encoded(rng), flag=flag, interaction_date=day, lead_contact="Duty desk")
        for rid, flag, day, _expired in ROWS
    ]
    f.feed(tmp_path / "wmp.feed", feed_rows)
    ingest_file(tmp_path / "wmp.feed", ingest=hub.ingest, partners=hub.partners)
    now = hub.clock.now()
    with hub.database.write() as conn:
        pks = {r.record_id: r.pk for r in conn.execute(select(records.c.record_id, records.c.pk))}
        # The hub may already have linked the feed; these tests set their own persons up.
        conn.execute(delete(links).where(links.c.record_pk.in_(list(pks.values()))))
        both = conn.execute(insert(persons).values(created_at=now)).inserted_primary_key[0]
        only_old = conn.execute(insert(persons).values(created_at=now)).inserted_primary_key[0]
        for rid in ("OLD-DV", "NEW-DV", "OLD-FIRE"):
            conn.execute(insert(links).values(person_pk=both, record_pk=pks[rid], method="test", created_at=now))
        conn.execute(insert(links).values(person_pk=only_old, record_pk=pks["OLD-HOUSE"], method="t", created_at=now))
        conn.execute(insert(restricted_persons).values(person_pk=only_old, marked_by="dpo", marked_at=now))
    return {row.record_id: {"row": row, "pk": pks[row.record_id]} for row in feed_rows} | {
        "persons": {"both": both, "only_old": only_old}
    }


def _traces(row: Row) -> list[bytes]:
    """Every value of the record that must not survive: its reference and each encoding's bytes."""
    values = [row.record_id.encode()]
    for value in row.enc.values():
        for item in value if isinstance(value, list) else [value]:
            padded = item + "=" * (-len(item) % 4)
            values.append(base64.urlsafe_b64decode(padded) if "-" in item or "_" in item else base64.b64decode(padded))
    return values


def _everything(hub: Hub) -> list[bytes]:
    """Every cell of every table, as bytes."""
    cells = []
    with hub.database.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        cells.append(bytes(value))
                    elif value is not None:
                        cells.append(str(value).encode())
    return cells


def test_a_purge_leaves_no_trace_of_expired_records(purge_hub: Hub, tmp_path: Path) -> None:
    held = _load(purge_hub, tmp_path)
    purge_hub.audit_log.checkpoint()
    dry = purge(database=purge_hub.database, policy=purge_hub.policy, clock=purge_hub.clock, as_of=AS_OF, dry_run=True)
    assert dry.report.total_interactions == 4
    with purge_hub.database.read() as conn:
        assert conn.execute(select(func.count()).select_from(records)).scalar_one() == len(ROWS)

    done = purge(database=purge_hub.database, policy=purge_hub.policy, clock=purge_hub.clock, as_of=AS_OF)

    assert dict(done.report.interactions) == {"police": 2, "fire": 1, "housing": 1}
    assert done.report.derived["links"] == 3
    assert done.report.derived["persons"] >= 1
    cells = _everything(purge_hub)
    for rid, _flag, _day, expired in ROWS:
        found = [trace for trace in _traces(held[rid]["row"]) if any(trace in cell for cell in cells)]
        if expired:
            assert not found, f"{rid}: {len(found)} value(s) still held after the purge"
        else:
            assert len(found) == len(_traces(held[rid]["row"])), f"{rid} was kept only in part"
    with purge_hub.database.read() as conn:
        left = set(conn.execute(select(persons.c.pk)).scalars())
        assert held["persons"]["both"] in left
        assert held["persons"]["only_old"] not in left
        assert conn.execute(select(func.count()).select_from(restricted_persons)).scalar_one() == 0
    [entry] = purge_hub.audit_log.search(AuditFilter(action="retention_purge"))
    assert entry.event.counts["interactions.police"] == 2
    assert not any(rid.encode() in str(entry.event).encode() for rid, *_ in ROWS)
    purge_hub.audit_log.checkpoint()
    report = purge_hub.audit_log.verify()
    assert report.ok, report.render()


def test_purging_twice_removes_nothing_more(purge_hub: Hub, tmp_path: Path) -> None:
    _load(purge_hub, tmp_path)
    purge(database=purge_hub.database, policy=purge_hub.policy, clock=purge_hub.clock, as_of=AS_OF)
    again = purge(database=purge_hub.database, policy=purge_hub.policy, clock=purge_hub.clock, as_of=AS_OF)
    assert again.report.total_interactions == 0
    assert purge_hub.audit_log.verify().ok


def test_the_nightly_job_purges_once_a_day(purge_hub: Hub, tmp_path: Path) -> None:
    """Two hubs' schedulers fire the nightly purge on one database: the second finds the day's purge and does
    nothing (tests/faults/test_scheduler_twice.py runs it with two real hubs); a purge by hand still runs."""
    _load(purge_hub, tmp_path)
    job = purge_job(database=purge_hub.database, policy=purge_hub.policy, clock=FixedClock(f.NOW))
    first, second = job(), job()
    assert (first.ran, first.report.total_interactions) == (True, 4)
    assert (second.ran, second.audit_sequence) == (False, None)
    by_hand = purge(database=purge_hub.database, policy=purge_hub.policy, clock=purge_hub.clock, as_of=f.TODAY)
    assert (by_hand.ran, by_hand.report.total_interactions) == (True, 0)
    assert len(purge_hub.audit_log.search(AuditFilter(action="retention_purge"))) == 2
    tomorrow = purge_job(database=purge_hub.database, policy=purge_hub.policy, clock=FixedClock(f.NOW + timedelta(1)))
    assert tomorrow().ran


def test_a_record_sent_after_a_purge_is_linked(purge_hub: Hub, tmp_path: Path) -> None:
    # The purge removes the expired records' entries in record_changes, here the newest of them. Were the next
    # change numbered from the highest entry left, it would sit at or before identity resolution's cursor, and its
    # record would never be linked (nor filed for search).
    _load(purge_hub, tmp_path)
    purge_hub.identity.link()
    with purge_hub.database.read() as conn:
        newest = conn.execute(select(func.max(record_changes.c.seq))).scalar_one()
    purge(database=purge_hub.database, policy=purge_hub.policy, clock=purge_hub.clock, as_of=AS_OF)
    enc = f.encoded(random.Random(9))
    row = Row(
        record_id="LATE", op="upsert", enc=enc, flag="POLICE_DV", interaction_date=AS_OF, lead_contact="Duty desk"
    )
    f.feed(tmp_path / "late.feed", [row], feed_id="WMP-2")
    ingest_file(tmp_path / "late.feed", ingest=purge_hub.ingest, partners=purge_hub.partners)
    purge_hub.identity.link()
    with purge_hub.database.read() as conn:
        late = conn.execute(select(records.c.pk).where(records.c.record_id == "LATE")).scalar_one()
        seq = conn.execute(select(record_changes.c.seq).where(record_changes.c.record_pk == late)).scalar_one()
        linked = conn.execute(select(func.count()).select_from(links).where(links.c.record_pk == late)).scalar_one()
    assert (seq > newest, linked) == (True, 1)
