"""The feed file: what a partner's agent sends to the hub, and the one parser both sides use.

A feed is UTF-8 JSON Lines. Line 1 is the manifest; every further line is one row::

    {"format": "aim-feed", "schema_version": 1, "partner": "WMP", "feed_id": "WMP-20261123",
     "key_id": "k-3f9c...", "encoding": "aim-enc-1", "created": "2026-11-23T02:00:00Z",
     "row_count": 2, "rows_sha256": "<hex sha256 of every byte after the manifest line>"}
    {"record_id": "R1", "op": "upsert", "enc": {"bf_first": "...", "tk_dob": "..."}, "flag": "POLICE_DV",
     "interaction_date": "2026-11-20", "lead_contact": "DS Ward, mash@wmp.example", "display": null}
    {"record_id": "R0", "op": "delete"}

No plaintext identifier of the subject appears anywhere: names, dates of birth, addresses and postcodes travel only
as keyed encodings (:mod:`linkage.schema`), or inside the optional ``display`` block, which is AES-GCM ciphertext
under a key the hub does not hold. ``lead_contact`` is the partner's staff contact, not the subject's.

Parsing is strict: duplicate keys, NaN/Infinity, unknown fields, wrong types, impossible or future dates and unknown
flags are problems with a reason, reported per row; the offending value is never echoed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from aim.errors import InputError
from aim.vocabulary import default_vocabulary
from linkage.schema import ENCODING_PROFILE, validate_encoded

FEED_FORMAT = "aim-feed"
SCHEMA_VERSION = 1
MAX_RECORD_ID = 64
MAX_LEAD_CONTACT = 200
MAX_DISPLAY = 4096
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
_PARTNER_CODE_RE = re.compile(r"[A-Z][A-Z0-9_]{1,31}")

Op = Literal["upsert", "delete"]

MANIFEST_FIELDS = frozenset(
    {"format", "schema_version", "partner", "feed_id", "key_id", "encoding", "created", "row_count", "rows_sha256"}
)
ROW_FIELDS = frozenset({"record_id", "op", "enc", "flag", "interaction_date", "lead_contact", "display"})


class JSONProblem(ValueError):
    """Raised by :func:`strict_loads` for JSON that is valid to Python but not to AIM."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JSONProblem(f"duplicate key {key!r}: each key may appear once per object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise JSONProblem(f"{name} is not a number JSON allows: send a finite number or null")


def strict_loads(text: str | bytes) -> Any:
    """Parse JSON, refusing duplicate keys and NaN/Infinity (which Python's parser accepts by default)."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def canonical_dumps(obj: Any) -> str:
    """One compact JSON line with sorted keys, as the agent writes it."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class Manifest:
    partner: str
    feed_id: str
    key_id: str
    created: datetime
    row_count: int
    rows_sha256: str
    encoding: str = ENCODING_PROFILE
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FEED_FORMAT,
            "schema_version": self.schema_version,
            "partner": self.partner,
            "feed_id": self.feed_id,
            "key_id": self.key_id,
            "encoding": self.encoding,
            "created": self.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "row_count": self.row_count,
            "rows_sha256": self.rows_sha256,
        }


@dataclass(frozen=True)
class Row:
    record_id: str
    op: Op
    enc: dict[str, Any] = field(default_factory=dict)
    flag: str | None = None
    interaction_date: date | None = None
    lead_contact: str | None = None
    display: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.op == "delete":
            return {"record_id": self.record_id, "op": "delete"}
        return {
            "record_id": self.record_id,
            "op": self.op,
            "enc": self.enc,
            "flag": self.flag,
            "interaction_date": self.interaction_date.isoformat() if self.interaction_date else None,
            "lead_contact": self.lead_contact,
            "display": self.display,
        }


@dataclass(frozen=True)
class RowProblem:
    """A row that cannot be accepted: where it is and every reason why."""

    line: int
    record_id: str | None
    reasons: tuple[str, ...]


def _check_id(value: object, what: str, limit: int) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{what} is required and must be a string"
    if len(value) > limit or not _ID_RE.match(value):
        return f"{what} must be 1-{limit} characters of letters, digits and . _ : / - (starting with a letter or digit)"
    return None


def check_record_id(value: str, limit: int = MAX_RECORD_ID) -> str | None:
    """Why ``value`` cannot be a record id, or ``None``; never echoes it."""
    problem = _check_id(value, "", limit)
    return problem.strip() if problem else None


def check_partner_code(value: object) -> str | None:
    """Why ``value`` cannot be a partner code (the rule the hub registers partners by), or ``None``."""
    if isinstance(value, str) and _PARTNER_CODE_RE.fullmatch(value):
        return None
    return "the partner code must be 2-32 capital letters, digits or _, starting with a letter (as registered: WMP)"


def parse_manifest(obj: object) -> Manifest:
    """Validate a manifest object; raise :class:`InputError` listing every problem."""
    if not isinstance(obj, dict):
        raise InputError("feed manifest must be a JSON object on the first line")
    problems: list[str] = []
    unknown = sorted(set(obj) - MANIFEST_FIELDS)
    if unknown:
        problems.append(f"unknown manifest fields {unknown}: only {sorted(MANIFEST_FIELDS)} are allowed")
    missing = sorted(MANIFEST_FIELDS - set(obj))
    if missing:
        problems.append(f"missing manifest fields {missing}")
    if obj.get("format") != FEED_FORMAT:
        problems.append(f"format must be {FEED_FORMAT!r}")
    if obj.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema_version must be {SCHEMA_VERSION}; re-encode with this version of the agent")
    if obj.get("encoding") != ENCODING_PROFILE:
        problems.append(f"encoding must be {ENCODING_PROFILE!r}; re-encode with this version of the agent")
    named = [check_partner_code(obj.get("partner")), _check_id(obj.get("feed_id"), "feed_id", 128)]
    problems += [p for p in (*named, _check_id(obj.get("key_id"), "key_id", 64)) if p]
    row_count = obj.get("row_count")
    if not isinstance(row_count, int) or isinstance(row_count, bool) or row_count < 0:
        problems.append("row_count must be a whole number, 0 or more")
    digest = obj.get("rows_sha256")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        problems.append("rows_sha256 must be 64 lower-case hex characters")
    created = None
    try:
        created = datetime.strptime(str(obj.get("created")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        problems.append("created must be a UTC time like 2026-11-23T02:00:00Z")
    if problems:
        raise InputError("invalid feed manifest: " + "; ".join(problems))
    assert created is not None
    return Manifest(
        partner=obj["partner"],
        feed_id=obj["feed_id"],
        key_id=obj["key_id"],
        created=created,
        row_count=row_count,  # type: ignore[arg-type]
        rows_sha256=digest,  # type: ignore[arg-type]
    )


def _parse_date(value: object, today: date) -> tuple[date | None, str | None]:
    if not isinstance(value, str):
        return None, "interaction_date is required, as YYYY-MM-DD"
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None, "interaction_date is not a real date in the form YYYY-MM-DD"
    if len(value) != 10:
        return None, "interaction_date must be written YYYY-MM-DD"
    if parsed > today:
        return None, "interaction_date is in the future: send the date the service had contact"
    return parsed, None


def _upsert_reasons(obj: dict[str, Any], today: date) -> list[str]:
    """Every reason an upsert row's payload (encodings, flag, date, contact, display) cannot be accepted."""
    reasons: list[str] = []
    enc = obj.get("enc")
    if not isinstance(enc, dict) or not enc:
        reasons.append("enc is required for an upsert and must be an object of encoded fields")
    else:
        reasons.extend(validate_encoded(enc))
    flag = obj.get("flag")
    if not isinstance(flag, str) or flag not in default_vocabulary().flags:
        reasons.append("flag must be one of the agreed vocabulary's flags (docs/feed-format.md)")
    _, problem = _parse_date(obj.get("interaction_date"), today)
    if problem:
        reasons.append(problem)
    lead = obj.get("lead_contact")
    if not isinstance(lead, str) or not lead.strip() or len(lead) > MAX_LEAD_CONTACT:
        reasons.append(f"lead_contact is required: the partner's staff contact, 1-{MAX_LEAD_CONTACT} characters")
    display = obj.get("display")
    if display is not None and (not isinstance(display, str) or len(display) > MAX_DISPLAY):
        reasons.append(f"display must be null or an encrypted block of at most {MAX_DISPLAY} characters")
    return reasons


def parse_row(obj: object, *, today: date) -> Row | list[str]:
    """Validate one row object; return the row, or every reason it cannot be accepted."""
    if not isinstance(obj, dict):
        return ["a row must be a JSON object"]
    reasons: list[str] = []
    unknown = sorted(set(obj) - ROW_FIELDS)
    if unknown:
        reasons.append(f"unknown fields {unknown}: only the minimum data set is accepted")
    record_id = obj.get("record_id")
    problem = _check_id(record_id, "record_id", MAX_RECORD_ID)
    if problem:
        reasons.append(problem)
    op = obj.get("op")
    if op == "delete":
        extra = sorted(set(obj) - {"record_id", "op"})
        if extra and not unknown:
            reasons.append(f"a delete carries only record_id and op, not {extra}")
        return reasons or Row(record_id=record_id, op="delete")  # type: ignore[arg-type]
    if op != "upsert":
        reasons.append("op must be 'upsert' or 'delete'")
    reasons.extend(_upsert_reasons(obj, today))
    if reasons:
        return reasons
    return Row(
        record_id=record_id,  # type: ignore[arg-type]
        op="upsert",
        enc=obj["enc"],
        flag=obj["flag"],
        interaction_date=date.fromisoformat(obj["interaction_date"]),
        lead_contact=obj["lead_contact"].strip(),
        display=obj.get("display"),
    )


def row_lines(rows: Iterable[Row]) -> Iterator[bytes]:
    """Each row as the exact bytes of its line in a feed (newline included)."""
    for row in rows:
        yield (canonical_dumps(row.to_json()) + "\n").encode("utf-8")


def write_feed(
    path: Path, *, partner: str, feed_id: str, key_id: str, rows: Iterable[Row], created: datetime | None = None
) -> Manifest:
    """Write a feed file atomically (temporary file, then rename) and return its manifest."""
    body = bytearray()
    count = 0
    for line in row_lines(rows):
        body += line
        count += 1
    manifest = Manifest(
        partner=partner,
        feed_id=feed_id,
        key_id=key_id,
        created=created or datetime.now(UTC),
        row_count=count,
        rows_sha256=hashlib.sha256(body).hexdigest(),
    )
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write((canonical_dumps(manifest.to_json()) + "\n").encode("utf-8"))
        fh.write(body)
    tmp.replace(path)
    return manifest


@dataclass
class ParsedFeed:
    manifest: Manifest
    rows: list[tuple[int, Row]]
    problems: list[RowProblem]


def read_feed(path: Path, *, today: date | None = None) -> ParsedFeed:
    """Read and check a whole feed file: manifest, checksum, row count, then every row."""
    data = path.read_bytes()
    head, _, body = data.partition(b"\n")
    try:
        manifest = parse_manifest(strict_loads(head))
    except (JSONProblem, ValueError) as exc:
        raise InputError(f"{path}: line 1: the manifest is not valid JSON: {exc}") from None
    if hashlib.sha256(body).hexdigest() != manifest.rows_sha256:
        raise InputError(f"{path}: rows_sha256 does not match the rows: the file is incomplete or was altered")
    lines = body.splitlines()
    if len(lines) != manifest.row_count:
        raise InputError(f"{path}: the manifest says {manifest.row_count} rows but the file has {len(lines)}")
    today = today or datetime.now(UTC).date()
    parsed = ParsedFeed(manifest=manifest, rows=[], problems=[])
    for number, raw in enumerate(lines, start=2):
        try:
            result = parse_row(strict_loads(raw), today=today)
        except (JSONProblem, ValueError) as exc:
            result = [f"not valid JSON: {exc}"]
        if isinstance(result, Row):
            parsed.rows.append((number, result))
        else:
            parsed.problems.append(RowProblem(line=number, record_id=None, reasons=tuple(result)))
    return parsed
