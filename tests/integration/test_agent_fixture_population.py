"""Every demo partner's extract of a 20,000-person synthetic population encodes, every rejected row is explained,
and no raw identifier of the extract survives into the feed's bytes (synthetic people only)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from aim.agent.encode import EncodeSummary, encode_extract
from aim.feed import read_feed
from aim.fixtures import DEFAULT_AS_OF, generate_fixtures
from aim.keys import init_keys
from aim.vocabulary import default_vocabulary

PEOPLE = 20_000
NOW = datetime.combine(DEFAULT_AS_OF, time(23, 0), tzinfo=UTC)
PARTNERS = sorted(default_vocabulary().partners)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, EncodeSummary]]:
    root = tmp_path_factory.mktemp("population")
    generate_fixtures(people=PEOPLE, seed=1, out=root / "fixtures")
    init_keys(directory=root / "keys")
    return {
        partner: (
            root / "fixtures" / "raw" / f"{partner}.csv",
            encode_extract(
                keys_dir=root / "keys",
                partner=partner,
                raw=root / "fixtures" / "raw" / f"{partner}.csv",
                out=root / f"{partner}.feed",
                now=NOW,
            ),
        )
        for partner in PARTNERS
    }


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("partner", PARTNERS)
def test_every_row_is_encoded_or_explained(encoded: dict[str, tuple[Path, EncodeSummary]], partner: str) -> None:
    raw, summary = encoded[partner]
    rows = _rows(raw)
    assert summary.read == len(rows) > 0
    assert summary.accepted + summary.rejected == summary.read
    assert summary.accepted >= 0.95 * summary.read, "the generator's errors are realistic, not mostly unusable"
    rejects = _rows(summary.rejects) if summary.rejected else []
    rejected_lines = {int(r["line"]) for r in rejects}
    assert len(rejected_lines) == summary.rejected, "one or more explained problems for every rejected row"
    for reject in rejects:
        assert reject["column"], reject
        assert reject["reason"].strip(), reject
    feed = read_feed(summary.feed, today=NOW.date())
    assert feed.problems == []
    assert len(feed.rows) == feed.manifest.row_count == summary.accepted


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _phrases(text: str, longest: int = 8) -> set[tuple[str, ...]]:
    """Every run of up to ``longest`` consecutive words of ``text``, casefolded."""
    words = re.findall(r"[\w'-]+", text.casefold())
    return {tuple(words[i : i + n]) for n in range(1, longest + 1) for i in range(len(words) - n + 1)}


@pytest.mark.parametrize("partner", PARTNERS)
def test_no_raw_identifier_of_the_extract_is_in_the_feed(
    encoded: dict[str, tuple[Path, EncodeSummary]], partner: str
) -> None:
    raw, summary = encoded[partner]
    strings: set[str] = set()  # every JSON string in the feed, encodings included, casefolded
    phrases: set[tuple[str, ...]] = set()  # the words of everything but the encodings and the interaction date
    for line in summary.feed.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        strings.update(s.casefold() for s in _strings(item))
        item.pop("enc", None)
        item.pop("interaction_date", None)  # an allowed field; it may equal someone's date of birth
        for text in _strings(item):
            phrases |= _phrases(text)
    needles: set[str] = set()
    for row in _rows(raw):
        for column in ("first_name", "last_name", "address", "postcode", "date_of_birth", "nhs_number", "local_id"):
            value = row.get(column, "").strip().casefold()
            needles.update({value, re.sub(r"\s+", "", value)})
            needles.update(part for part in re.split(r"[\s,]+", value) if len(part) >= 3 and not part.isdigit())
    needles.discard("")
    in_words = sorted(n for n in needles if (w := tuple(re.findall(r"[\w'-]+", n))) and w in phrases)
    assert in_words == []
    dates = re.compile(r"\d{4}-\d{2}-\d{2}")  # interaction dates are values of their own
    assert sorted(n for n in needles & strings if not dates.fullmatch(n)) == []
