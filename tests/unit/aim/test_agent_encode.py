"""``aim agent encode`` end to end on a small synthetic extract (invented names, never real people's data)."""

from __future__ import annotations

import csv
import random
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from aim.agent.display import open_display
from aim.agent.encode import encode_extract
from aim.agent.mapping import resolve_header
from aim.errors import ConfigError, InputError
from aim.feed import read_feed
from aim.keys import init_keys, load_keys

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
HEADER = [
    "record_id", "local_id", "nhs_number", "first_name", "last_name", "date_of_birth", "gender", "address",
    "postcode", "flag", "interaction_date", "lead_contact",
]  # fmt: skip
FIRST = ["Aurelio", "Brisa", "Caspian", "Delphine", "Evander", "Florentyna", "Gwendolen", "Horatio", "Ismay", "Jovan"]
LAST = ["Quenby", "Ravensworth", "Stellmach", "Tarrant-Vell", "Ulverscroft", "Vantongeren", "O'Wyndham", "Yarrowby"]
STREETS = ["Quillon Way", "Marrowfield Close", "Brackenbury Rise", "Pellinore Avenue"]
POSTCODES = ["B15 2TT", "B12 9QL", "B29 6BD", "WS1 1AA", "DY4 7HQ"]


def synthetic_rows(n: int, seed: int = 7) -> list[dict[str, str]]:
    """Invented people, with both date formats and the postcode in any case and spacing."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(25_000))
        postcode = rng.choice(POSTCODES)
        rows.append(
            {
                "record_id": f"R{i}",
                "local_id": f"L{i % 7}",
                "nhs_number": "943 476 5919" if i % 5 == 0 else "",
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "date_of_birth": born.isoformat() if i % 2 else born.strftime("%d/%m/%Y"),
                "gender": rng.choice(["M", "F", "Female", "male", "U"]),
                "address": f"{rng.randrange(1, 200)} {rng.choice(STREETS)}, Birmingham",
                "postcode": postcode.lower().replace(" ", "") if i % 3 else postcode,
                "flag": rng.choice(["POLICE_DV", "AE_ATTENDANCE", "SCHOOL_CONCERN"]),
                "interaction_date": (NOW.date() - timedelta(days=rng.randrange(60))).isoformat(),
                "lead_contact": "Duty Officer, mash@partner.example",
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    init_keys(directory=tmp_path / "keys")
    return tmp_path / "keys"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def test_no_raw_identifier_appears_in_the_feed(tmp_path: Path, keys_dir: Path) -> None:
    rows = synthetic_rows(300)
    raw = write_csv(tmp_path / "raw.csv", rows)
    summary = encode_extract(
        keys_dir=keys_dir, partner="WMP", raw=raw, out=tmp_path / "wmp.feed", now=NOW, display=True
    )
    assert summary.accepted == 300
    feed = _squash((tmp_path / "wmp.feed").read_text(encoding="utf-8"))
    needles: set[str] = set()
    for row in rows:
        needles.update({row["first_name"], row["last_name"], row["address"], row["postcode"], row["nhs_number"]})
        born = date.fromisoformat(row["date_of_birth"]) if "-" in row["date_of_birth"] else None
        born = born or datetime.strptime(row["date_of_birth"], "%d/%m/%Y").date()
        needles.update({born.isoformat(), born.strftime("%d/%m/%Y"), born.strftime("%Y%m%d")})
        needles.add(row["last_name"].replace("'", ""))
        needles.add(row["address"].split(",")[0])
    found = sorted(n for n in needles if n and len(_squash(n)) >= 4 and _squash(n) in feed)
    assert found == []


def test_counts_add_up_and_every_rejected_row_is_explained(tmp_path: Path, keys_dir: Path) -> None:
    rows = synthetic_rows(40)
    rows[3]["date_of_birth"] = "31/04/2012"
    rows[5]["flag"] = "NOT_A_FLAG"
    rows[7]["interaction_date"] = "2031-01-01"
    rows[9]["first_name"] = rows[9]["last_name"] = ""
    rows[11]["record_id"] = "R10"
    rows[13]["postcode"] = "ZZ99 ZZZ9"
    raw = write_csv(tmp_path / "raw.csv", rows)
    summary = encode_extract(keys_dir=keys_dir, partner="WMP", raw=raw, out=tmp_path / "wmp.feed", now=NOW)
    assert (summary.read, summary.accepted, summary.rejected) == (40, 34, 6)
    with summary.rejects.open(encoding="utf-8") as fh:
        rejects = list(csv.DictReader(fh))
    explained = {(int(r["line"]), r["column"]) for r in rejects}
    assert explained == {
        (5, "date_of_birth"),
        (7, "flag"),
        (9, "interaction_date"),
        (11, "first_name"),
        (13, "record_id"),
        (15, "postcode"),
    }
    text = summary.rejects.read_text(encoding="utf-8")
    for value in ("31/04/2012", "NOT_A_FLAG", "2031-01-01", "ZZ99 ZZZ9"):
        assert value not in text
    feed = read_feed(tmp_path / "wmp.feed", today=NOW.date())
    assert feed.problems == []
    assert len(feed.rows) == 34
    assert feed.manifest.row_count == 34


def test_the_manifest_describes_the_feed(tmp_path: Path, keys_dir: Path) -> None:
    raw = write_csv(tmp_path / "raw.csv", synthetic_rows(5))
    summary = encode_extract(keys_dir=keys_dir, partner="FIRE", raw=raw, out=tmp_path / "f.feed", now=NOW)
    manifest = read_feed(tmp_path / "f.feed", today=NOW.date()).manifest
    assert manifest.partner == "FIRE"
    assert manifest.feed_id == "FIRE-20261123T020000Z"
    assert manifest.key_id == load_keys(directory=keys_dir).key_id
    assert manifest.created == NOW
    assert summary.manifest == manifest


def test_a_mapping_renames_partner_headers(tmp_path: Path, keys_dir: Path) -> None:
    renamed = {"first_name": "Forename", "last_name": "Surname", "record_id": "Ref", "date_of_birth": "DOB"}
    rows = [{renamed.get(k, k): v for k, v in row.items()} for row in synthetic_rows(10)]
    raw = write_csv(tmp_path / "raw.csv", rows, [renamed.get(h, h) for h in HEADER])
    mapping = tmp_path / "map.yaml"
    mapping.write_text("".join(f"{k}: {v}\n" for k, v in renamed.items()))
    summary = encode_extract(
        keys_dir=keys_dir, partner="WMP", raw=raw, out=tmp_path / "w.feed", mapping=mapping, now=NOW
    )
    assert summary.accepted == 10


def test_an_extra_column_is_refused_with_the_fix(tmp_path: Path, keys_dir: Path) -> None:
    rows = [{**row, "religion": "x"} for row in synthetic_rows(3)]
    raw = write_csv(tmp_path / "raw.csv", rows, [*HEADER, "religion"])
    with pytest.raises(InputError, match=r"column 'religion' is not in the minimum data set: map it .* or drop it"):
        encode_extract(keys_dir=keys_dir, partner="WMP", raw=raw, out=tmp_path / "w.feed", now=NOW)
    assert not (tmp_path / "w.feed").exists()


def test_header_problems_are_reported_together() -> None:
    with pytest.raises(InputError) as caught:
        resolve_header(["record_id", "first_name", "first_name", "shoe_size"], {})
    message = str(caught.value)
    for part in ("shoe_size", "appears twice", "'flag'", "'interaction_date'", "'lead_contact'"):
        assert part in message


def test_a_bad_mapping_file_is_refused(tmp_path: Path, keys_dir: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("forename: First\nlast_name: First\n")
    raw = write_csv(tmp_path / "raw.csv", synthetic_rows(1))
    with pytest.raises(ConfigError, match="not a canonical column"):
        encode_extract(keys_dir=keys_dir, partner="WMP", raw=raw, out=tmp_path / "w.feed", mapping=mapping, now=NOW)


def test_the_display_block_opens_only_for_its_row(tmp_path: Path, keys_dir: Path) -> None:
    rows = synthetic_rows(2)
    raw = write_csv(tmp_path / "raw.csv", rows)
    encode_extract(keys_dir=keys_dir, partner="WMP", raw=raw, out=tmp_path / "w.feed", display=True, now=NOW)
    feed = read_feed(tmp_path / "w.feed", today=NOW.date())
    key = load_keys(directory=keys_dir).display_key()
    (_, first), (_, second) = feed.rows
    assert first.display
    assert second.display
    assert open_display(key=key, partner="WMP", record_id=first.record_id, block=first.display) == {
        "address": rows[0]["address"]
    }
    with pytest.raises(InputError, match="does not open"):
        open_display(key=key, partner="WMP", record_id=second.record_id, block=first.display)


def test_deletions_travel_in_the_same_feed(tmp_path: Path, keys_dir: Path) -> None:
    raw = write_csv(tmp_path / "raw.csv", synthetic_rows(2))
    deletes = tmp_path / "deletes.txt"
    deletes.write_text("OLD-1\nOLD-2\n")
    summary = encode_extract(
        keys_dir=keys_dir, partner="WMP", raw=raw, out=tmp_path / "w.feed", deletes=deletes, now=NOW
    )
    ops = [row.op for _, row in read_feed(tmp_path / "w.feed", today=NOW.date()).rows]
    assert ops == ["upsert", "upsert", "delete", "delete"]
    assert summary.deletes == 2


def test_the_command_prints_the_counts(tmp_path: Path, keys_dir: Path) -> None:
    from aim.cli.agent import agent

    rows = synthetic_rows(12)
    rows[0]["gender"] = "Q"
    raw = write_csv(tmp_path / "raw.csv", rows)
    out = tmp_path / "w.feed"
    result = CliRunner().invoke(
        agent, ["encode", "--keys", str(keys_dir), "--partner", "WMP", "--in", str(raw), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "read 12, accepted 11, rejected 1" in result.output
