"""Reading a raw extract: the CSV streamed row by row, and the checks on the columns that are not identifiers.

Identifiers (names, date of birth, address, ...) are checked by :mod:`linkage.normalise` as they are encoded; this
module checks the rest of the minimum data set (``record_id``, ``flag``, ``interaction_date``, ``lead_contact``).
A problem names the line, the column and the rule, never the value.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from aim.agent.mapping import resolve_header
from aim.errors import InputError
from aim.feed import MAX_LEAD_CONTACT, check_record_id
from aim.vocabulary import default_vocabulary
from linkage.encoder import IDENTITY_COLUMNS, RawIdentity
from linkage.errors import NormalisationError
from linkage.normalise import parse_date


@dataclass(frozen=True)
class Problem:
    """One reason a row is rejected: where (line and column) and why. Never the value."""

    line: int
    column: str
    reason: str


@dataclass(frozen=True)
class ExtractRow:
    """A row of the extract whose non-identifier columns are valid; its identity is still raw."""

    line: int
    record_id: str
    identity: RawIdentity
    flag: str
    interaction_date: date
    lead_contact: str
    address: str


def count_rows(path: Path) -> int:
    """The number of lines after the header (an estimate of the rows when a field spans lines), for progress."""
    with path.open("rb") as fh:
        return max(sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)


def open_extract(path: Path, mapping: dict[str, str]) -> Iterator[Problem | tuple[int, dict[str, str]]]:
    """Open an extract and check its header now; then stream its rows as ``(line, canonical -> text)``.

    A row with the wrong number of fields comes out as a :class:`Problem`; blank lines are skipped.

    Raises:
        InputError: the file is missing, empty, not UTF-8, or its header cannot be used (raised by this call), or
            the file turns out not to be UTF-8 or CSV further on (raised while streaming).
    """
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(f"{path} does not exist: give the path of the partner's extract") from None
    try:
        reader = csv.reader(fh)
        header = _guard(path, lambda: next(reader, None))
        if header is None:
            raise InputError(f"{path} is empty: an extract starts with a header row")
        positions = resolve_header(header, mapping)
    except BaseException:
        fh.close()
        raise
    return _rows(path, fh, reader, positions, len(header))


def _guard(path: Path, step: Callable[[], list[str] | None]) -> list[str] | None:
    try:
        return step()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 (near byte {exc.start}): export the extract as UTF-8 CSV") from None
    except csv.Error as exc:
        raise InputError(f"{path} is not a readable CSV file: {exc}") from None


def _rows(
    path: Path, fh: TextIO, reader: Any, positions: dict[str, int], width: int
) -> Iterator[Problem | tuple[int, dict[str, str]]]:
    with fh:
        while (fields := _guard(path, lambda: next(reader, None))) is not None:
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != width:
                yield Problem(reader.line_num, "*", f"has {len(fields)} fields but the header has {width}")
                continue
            yield reader.line_num, {name: fields[i].strip() for name, i in positions.items()}


class RowChecker:
    """Checks the non-identifier columns of each row, remembering record ids to refuse duplicates."""

    def __init__(self, *, today: date) -> None:
        self.today = today
        self._flags = frozenset(default_vocabulary().flags)
        self._seen: set[str] = set()

    def check(self, line: int, values: dict[str, str]) -> ExtractRow | list[Problem]:
        """The row, or every problem with its record id, flag, interaction date and lead contact."""
        problems: list[Problem] = []
        record_id = values.get("record_id", "")
        reason = check_record_id(record_id)
        if reason is None and record_id in self._seen:
            reason = "appears on an earlier line: each row needs its own record_id"
        if reason:
            problems.append(Problem(line, "record_id", reason))
        flag = values.get("flag", "").upper()
        if flag not in self._flags:
            problems.append(Problem(line, "flag", "is not a flag of the agreed vocabulary (docs/feed-format.md)"))
        when = self._interaction_date(values.get("interaction_date", ""))
        if isinstance(when, str):
            problems.append(Problem(line, "interaction_date", when))
        lead = values.get("lead_contact", "")
        if not lead or len(lead) > MAX_LEAD_CONTACT:
            problems.append(
                Problem(line, "lead_contact", f"is required: a staff contact of 1-{MAX_LEAD_CONTACT} characters")
            )
        if problems or isinstance(when, str):
            return problems
        self._seen.add(record_id)
        identity = RawIdentity(**{c: values.get(c, "") for c in IDENTITY_COLUMNS})
        return ExtractRow(line, record_id, identity, flag, when, lead, values.get("address", ""))

    def _interaction_date(self, raw: str) -> date | str:
        try:
            when = parse_date(raw)
        except NormalisationError as exc:
            return str(exc)
        if when is None:
            return "is required: the date the service had contact"
        if when > self.today:
            return "is in the future: give the date the service had contact"
        return when
