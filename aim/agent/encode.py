"""``encode_extract``: a partner's raw extract in, a feed and a rejects file out.

Every row read is either accepted (encoded into the feed) or rejected (listed in ``<FEED>.rejects.csv`` with its line,
column and reason, never the value), so ``accepted + rejected == read``. Rows are encoded in chunks, streaming: the
extract is never held in memory whole.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from aim.agent.display import seal_display
from aim.agent.extract import ExtractRow, Problem, RowChecker, count_rows, open_extract
from aim.agent.mapping import load_mapping
from aim.errors import InputError
from aim.feed import Manifest, Row, check_partner_code, check_record_id, write_feed
from aim.keys import load_keys
from linkage.encoder import RecordEncoder
from linkage.keyset import FieldKeys

CHUNK_ROWS = 4096
PROGRESS_MIN_ROWS = 20_000


@dataclass(frozen=True)
class EncodeSummary:
    """What one run of the encoder did."""

    read: int
    accepted: int
    rejected: int
    deletes: int
    manifest: Manifest
    feed: Path
    rejects: Path


class _Run:
    """The state of one encoding run: counts, the rejects file, the encoder."""

    def __init__(self, *, keys: FieldKeys, partner: str, today: date, display: bool, rejects: TextIO) -> None:
        self.keys = keys
        self.partner = partner
        self.display = display
        self.encoder = RecordEncoder(keys, partner=partner, today=today)
        self.checker = RowChecker(today=today)
        self.rejects = csv.writer(rejects)
        self.rejects.writerow(["line", "column", "reason"])
        self.read = self.accepted = self.rejected = 0

    def reject(self, problems: list[Problem]) -> None:
        self.rejected += 1
        for problem in problems:
            self.rejects.writerow([problem.line, problem.column, problem.reason])

    def rows(self, source: Iterator[Problem | tuple[int, dict[str, str]]], bar: tqdm[Any]) -> Iterator[Row]:
        chunk: list[ExtractRow | list[Problem]] = []
        for item in source:
            self.read += 1
            bar.update(1)
            chunk.append([item] if isinstance(item, Problem) else self.checker.check(*item))
            if len(chunk) >= CHUNK_ROWS:
                yield from self._encode(chunk)
                chunk = []
        yield from self._encode(chunk)

    def _encode(self, chunk: list[ExtractRow | list[Problem]]) -> Iterator[Row]:
        """Encode a chunk's valid rows at once; accept or reject every row of the chunk in line order."""
        valid = [row for row in chunk if isinstance(row, ExtractRow)]
        results = iter(self.encoder.encode_many([row.identity for row in valid]))
        for row in chunk:
            if isinstance(row, list):
                self.reject(row)
                continue
            result = next(results)
            if isinstance(result, list):
                self.reject([Problem(row.line, p.column, p.reason) for p in result])
                continue
            self.accepted += 1
            yield Row(
                record_id=row.record_id,
                op="upsert",
                enc=result,
                flag=row.flag,
                interaction_date=row.interaction_date,
                lead_contact=row.lead_contact,
                display=self._display(row),
            )

    def _display(self, row: ExtractRow) -> str | None:
        if not self.display or not row.address:
            return None
        return seal_display(
            key=self.keys.display_key(),
            key_id=self.keys.key_id,
            partner=self.partner,
            record_id=row.record_id,
            fields={"address": row.address},
        )


def _deletes(path: Path | None) -> list[Row]:
    if path is None:
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        record_id = line.strip()
        if not record_id:
            continue
        reason = check_record_id(record_id)
        if reason:
            raise InputError(f"{path}: line {number}: record_id {reason}")
        rows.append(Row(record_id=record_id, op="delete"))
    return rows


def encode_extract(
    *,
    keys_dir: Path,
    partner: str,
    raw: Path,
    out: Path,
    mapping: Path | None = None,
    feed_id: str | None = None,
    display: bool = False,
    deletes: Path | None = None,
    now: datetime | None = None,
    progress: bool = False,
) -> EncodeSummary:
    """Encode a partner's raw extract into a feed, and list every rejected row beside it.

    Args:
        keys_dir: the partnership key directory (the current key set is used).
        partner: the partner's code, e.g. ``WMP``.
        raw: the extract (UTF-8 CSV with a header row).
        out: the feed file to write; the rejects go to ``<out>.rejects.csv``.
        mapping: a YAML column mapping, when the extract's headers are not the canonical names.
        feed_id: the feed's id; ``<PARTNER>-<UTC timestamp>`` by default.
        display: attach the encrypted display block (the address as recorded) to each row.
        deletes: a file of record ids (one a line) to send as deletions in the same feed.
        now: the current time (for tests); interaction dates and dates of birth after it are refused.
        progress: show a progress bar on stderr for a large extract.

    Raises:
        InputError: the extract, mapping or deletes file cannot be used; ConfigError: the keys cannot be used.
    """
    now = now or datetime.now(UTC)
    problem = check_partner_code(partner)
    if problem:
        raise InputError(f"--partner {partner[:40]!r}: {problem}")
    keys = load_keys(directory=keys_dir)
    column_map = load_mapping(mapping) if mapping else {}
    delete_rows = _deletes(deletes)
    source = open_extract(raw, column_map)
    feed_id = feed_id or f"{partner}-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    rejects_path = out.with_name(out.name + ".rejects.csv")
    total = count_rows(raw) if progress else 0
    with (
        rejects_path.open("w", encoding="utf-8", newline="") as rejects,
        tqdm(total=total, unit="rows", file=sys.stderr, disable=total < PROGRESS_MIN_ROWS) as bar,
    ):
        run = _Run(keys=keys, partner=partner, today=now.date(), display=display, rejects=rejects)

        def rows() -> Iterator[Row]:
            yield from run.rows(source, bar)
            yield from delete_rows

        manifest = write_feed(out, partner=partner, feed_id=feed_id, key_id=keys.key_id, rows=rows(), created=now)
    return EncodeSummary(
        read=run.read,
        accepted=run.accepted,
        rejected=run.rejected,
        deletes=len(delete_rows),
        manifest=manifest,
        feed=out,
        rejects=rejects_path,
    )
