"""Encoded people for identity tests: raw identities encoded with the real encoder under a test key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aim.agent.encode import encode_extract
from aim.bootstrap import Hub
from aim.feed import Row
from aim.fixtures import generate_fixtures
from aim.identity.service import IdentityService
from aim.ingest.local import ingest_file
from aim.keys import init_keys
from linkage.encoder import RawIdentity, RecordEncoder
from linkage.keyset import FieldKeys
from tests import factories as f

KEYS = FieldKeys("k-test", bytes(range(32)))

ALICE = RawIdentity("Alice", "Morgan", "2012-03-23", "F", "12 Acacia Road Birmingham", "B15 2TT")
ALICE_TYPO = replace(ALICE, first_name="Alise", address="12 Acacia Rd Birmingham")
BOB = RawIdentity("Robert", "Khan", "1980-07-01", "M", "3 Elm Street Coventry", "CV1 2AB")
BOB_NICK = replace(BOB, first_name="Bob")
TWIN_A = RawIdentity("Oliver", "Smith", "2015-05-05", "M", "7 Cedar Close Walsall", "WS1 1AA")
TWIN_B = replace(TWIN_A, first_name="Harry")
PARENT = RawIdentity("James", "Wright", "1975-02-14", "M", "9 Beech Way Dudley", "DY1 4QQ")
CHILD = replace(PARENT, date_of_birth="2008-09-30")


def encode(identity: RawIdentity, partner: str = "WMP") -> dict[str, Any]:
    result = RecordEncoder(KEYS, partner=partner, today=f.TODAY).encode(identity)
    assert not isinstance(result, list), result
    return dict(result)


def upsert(record_id: str, identity: RawIdentity, partner: str = "WMP") -> Row:
    return Row(
        record_id=record_id,
        op="upsert",
        enc=encode(identity, partner),
        flag="POLICE_DV",
        interaction_date=date(2026, 11, 1),
        lead_contact="Duty desk, mash@partner.example",
    )


def population_feeds(root: Path, *, people: int, seed: int, partners: Sequence[str], now: datetime) -> dict[str, Path]:
    """Generated fixtures for ``people``, each partner's extract encoded under a new key set: partner -> feed."""
    generate_fixtures(people=people, seed=seed, out=root / "fixtures")
    init_keys(directory=root / "keys")
    out = {}
    for partner in partners:
        out[partner] = root / f"{partner}.feed"
        raw = root / "fixtures" / "raw" / f"{partner}.csv"
        encode_extract(keys_dir=root / "keys", partner=partner, raw=raw, out=out[partner], now=now)
    return out


def last_feed_waiting(hub: Hub, feeds: dict[str, Path], first: Sequence[str], last: str) -> None:
    """Register every partner, ingest and link the ``first`` partners' feeds, then ingest ``last``'s unlinked."""
    for partner in (*first, last):
        f.register(hub, partner)
    for partner in first:
        ingest_file(feeds[partner], ingest=hub.ingest, partners=hub.partners)
    IdentityService(database=hub.database, clock=hub.clock).link()
    ingest_file(feeds[last], ingest=hub.ingest, partners=hub.partners)


class Feeds:
    """Ingests feeds into a hub, numbering them per partner, and links after each."""

    def __init__(self, hub: Hub, tmp_path: Path) -> None:
        self.hub = hub
        self.tmp_path = tmp_path
        self.count: dict[str, int] = {}
        self.identity = IdentityService(database=hub.database, clock=hub.clock)
        self.registered: set[str] = set()

    def ingest(self, rows: list[Row], partner: str = "WMP") -> None:
        if partner not in self.registered:
            f.register(self.hub, partner)
            self.registered.add(partner)
        n = self.count.get(partner, 0) + 1
        self.count[partner] = n
        path = self.tmp_path / f"{partner}-{n}.feed"
        f.write_feed(path, partner=partner, feed_id=f"{partner}-{n}", key_id="k-test", rows=rows, created=f.NOW)
        ingest_file(path, ingest=self.hub.ingest, partners=self.hub.partners)
