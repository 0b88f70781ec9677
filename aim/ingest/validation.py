"""Checking a batch's rows with the feed parser, and converting accepted rows to their stored shape.

Pure: no database. The same bytes and the same ``today`` always give the same result, which is why a batch can be
checked when it arrives and checked again, identically, when it is applied at commit.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import date

from aim.feed import JSONProblem, Row, check_record_id, parse_row, strict_loads
from aim.ingest.batches import row_lines
from linkage.schema import BLOOM_BITS, FIELDS_BY_NAME, TOKEN_BYTES

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class StoredRow:
    """An accepted row in the shape it is stored: encodings decoded to bytes."""

    position: int
    record_id: str
    op: str
    flag: str | None = None
    interaction_date: date | None = None
    lead_contact: str | None = None
    display: str | None = None
    blooms: dict[str, bytes] = field(default_factory=dict)
    tokens: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Rejection:
    """A row that cannot be accepted: its 1-based position in its batch, its record id if readable, and why."""

    position: int
    record_id: str | None
    reasons: tuple[str, ...]


@dataclass
class CheckedBatch:
    rows: list[StoredRow]
    rejections: list[Rejection]
    row_count: int
    ends_with_newline: bool


def check_batch(body: bytes, *, today: date) -> CheckedBatch:
    """Parse and check every row line of a batch; nothing is echoed but the record id of a rejected row."""
    lines = row_lines(body)
    checked = CheckedBatch(rows=[], rejections=[], row_count=len(lines), ends_with_newline=body.endswith(b"\n"))
    for position, line in enumerate(lines, start=1):
        obj: object = None
        try:
            obj = strict_loads(line)
            result = parse_row(obj, today=today)
        except (JSONProblem, ValueError, RecursionError) as exc:
            result = [_json_reason(exc)]
        if isinstance(result, Row):
            stored = _stored(position, result)
            if isinstance(stored, StoredRow):
                checked.rows.append(stored)
                continue
            result = stored
        checked.rejections.append(Rejection(position, _readable_record_id(obj), tuple(result)))
    return checked


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, JSONProblem):
        return f"not valid JSON: {exc}"
    if isinstance(exc, UnicodeDecodeError):
        return "not valid JSON: the line is not UTF-8"
    if isinstance(exc, RecursionError):
        return "not valid JSON: nested too deeply"
    # json's own messages give a position, never the text.
    return f"not valid JSON: {str(exc).split(':')[0]}"


def _readable_record_id(obj: object) -> str | None:
    """The row's record id, only if it is a well-formed one (so nothing else can be echoed in its place)."""
    if not isinstance(obj, dict):
        return None
    value = obj.get("record_id")
    return value if isinstance(value, str) and check_record_id(value) is None else None


def _stored(position: int, row: Row) -> StoredRow | list[str]:
    if row.op == "delete":
        return StoredRow(position=position, record_id=row.record_id, op="delete")
    blooms: dict[str, bytes] = {}
    tokens: list[tuple[str, bytes]] = []
    reasons: list[str] = []
    for name, value in row.enc.items():
        kind = FIELDS_BY_NAME[name].kind
        values = value if kind == "tokens" else [value]
        for item in values:
            raw = _decode(kind, item)
            if raw is None:
                reasons.append(f"encoded field {name!r} is not valid {'base64' if kind == 'bloom' else 'base64url'}")
                break
            if kind == "bloom":
                blooms[name] = raw
            else:
                tokens.append((name, raw))
    if reasons:
        return reasons
    return StoredRow(
        position=position,
        record_id=row.record_id,
        op="upsert",
        flag=row.flag,
        interaction_date=row.interaction_date,
        lead_contact=row.lead_contact,
        display=row.display,
        blooms=blooms,
        tokens=tuple(sorted(set(tokens))),
    )


def _decode(kind: str, value: str) -> bytes | None:
    try:
        if kind == "bloom":
            raw = base64.b64decode(value, validate=True)
            return raw if len(raw) == BLOOM_BITS // 8 else None
        if not _TOKEN_RE.match(value):
            return None
        raw = base64.urlsafe_b64decode(value + "==")
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == TOKEN_BYTES else None
