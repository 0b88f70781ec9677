"""Feeds written from real encodings parse back strictly, and the checksum catches any change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aim.errors import InputError
from aim.feed import Manifest, Row, parse_manifest, read_feed, write_feed
from aim.partner.registry import _partner_problems
from linkage.encoder import RawIdentity, RecordEncoder
from linkage.keyset import FieldKeys

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _rows() -> list[Row]:
    encoder = RecordEncoder(FieldKeys("k-aaaaaaaaaaaa", bytes(32)), partner="WMP", today=NOW.date())
    results = encoder.encode_many([RawIdentity("Ada", "Quenby", "2001-02-03"), RawIdentity(last_name="Vell")])
    return [
        Row(f"R{i}", "upsert", dict(enc), "POLICE_DV", date(2026, 11, 1), "Duty Officer")
        for i, enc in enumerate(results)
        if not isinstance(enc, list)
    ]


def test_encoded_rows_round_trip(tmp_path: Path) -> None:
    rows = _rows()
    manifest = write_feed(
        tmp_path / "f", partner="WMP", feed_id="WMP-1", key_id="k-aaaaaaaaaaaa", rows=rows, created=NOW
    )
    feed = read_feed(tmp_path / "f", today=NOW.date())
    assert feed.manifest == manifest
    assert [row for _, row in feed.rows] == rows


def test_a_changed_byte_fails_the_checksum(tmp_path: Path) -> None:
    write_feed(tmp_path / "f", partner="WMP", feed_id="WMP-1", key_id="k-aaaaaaaaaaaa", rows=_rows(), created=NOW)
    data = bytearray((tmp_path / "f").read_bytes())
    data[-10] = ord("A") if data[-10] != ord("A") else ord("B")
    (tmp_path / "f").write_bytes(bytes(data))
    with pytest.raises(InputError, match="rows_sha256"):
        read_feed(tmp_path / "f", today=NOW.date())


_MANIFEST = Manifest(
    partner="WMP", feed_id="WMP-1", key_id="k-aaaaaaaaaaaa", created=NOW, row_count=0, rows_sha256="0" * 64
).to_json()


@pytest.mark.parametrize("code", ["wmp", "W", "9FIRE", "WMP-1", "CITY.HOSP", "A" * 33, 7])
def test_a_manifest_must_name_its_partner_by_a_code_the_hub_could_register(code: object) -> None:
    with pytest.raises(InputError, match="partner code must be 2-32 capital letters"):
        parse_manifest(dict(_MANIFEST, partner=code))
    if isinstance(code, str):
        assert any("partner code must be 2-32 capital letters" in p for p in _partner_problems(code, "A", "DSA-1"))


def test_the_codes_the_hub_registers_pass_the_manifest() -> None:
    for code in ("WMP", "CITYHOSP_AE", "B2", "A" * 32):
        assert parse_manifest(dict(_MANIFEST, partner=code)).partner == code
        assert _partner_problems(code, "A partner", "DSA-1") == []
