"""Splitting a feed into batches: the part of the protocol both the agent and ``aim hub ingest`` use.

A batch is a run of whole row lines, exactly as they are in the feed file, so the batches concatenated in order are
the bytes the manifest's ``rows_sha256`` covers. Rows are separated by ``\\n``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aim.errors import InputError
from aim.feed import JSONProblem, Manifest, parse_manifest, strict_loads

DEFAULT_BATCH_ROWS = 5_000
DEFAULT_BATCH_BYTES = 8 * 1024 * 1024
MAX_BATCH_SEQ = 100_000


@dataclass(frozen=True)
class FeedBytes:
    """A feed file split into its manifest line and its row bytes, with the manifest parsed."""

    manifest_line: bytes
    body: bytes
    manifest: Manifest


def split_feed(data: bytes) -> FeedBytes:
    """Split a feed file's bytes and check its manifest, checksum and row count before anything is sent."""
    head, _, body = data.partition(b"\n")
    try:
        manifest = parse_manifest(strict_loads(head))
    except (JSONProblem, ValueError) as exc:
        raise InputError(f"line 1: the manifest is not valid JSON: {exc}") from None
    if hashlib.sha256(body).hexdigest() != manifest.rows_sha256:
        raise InputError("rows_sha256 does not match the rows: the file is incomplete or was altered")
    count = count_rows(body)
    if count != manifest.row_count:
        raise InputError(f"the manifest says {manifest.row_count} rows but the file has {count}")
    return FeedBytes(manifest_line=head + b"\n", body=body, manifest=manifest)


def count_rows(body: bytes) -> int:
    """Rows in a run of row lines: one per ``\\n``, plus a last line without one."""
    if not body:
        return 0
    return body.count(b"\n") + (0 if body.endswith(b"\n") else 1)


def row_lines(batch: bytes) -> list[bytes]:
    """The row lines of a batch, without their newlines."""
    lines = batch.split(b"\n")
    if batch.endswith(b"\n"):
        lines.pop()
    return lines


def split_rows(body: bytes, *, max_rows: int = DEFAULT_BATCH_ROWS, max_bytes: int = DEFAULT_BATCH_BYTES) -> list[bytes]:
    """Cut row bytes into batches of whole lines, at most ``max_rows`` rows and (unless one row is larger)
    ``max_bytes`` bytes each."""
    if max_rows < 1 or max_bytes < 1:
        raise InputError("batches need room for at least one row")
    batches: list[bytes] = []
    start = pos = rows = 0
    while pos < len(body):
        end = body.find(b"\n", pos)
        end = len(body) if end < 0 else end + 1
        if rows and (rows == max_rows or end - start > max_bytes):
            batches.append(body[start:pos])
            start, rows = pos, 0
        rows += 1
        pos = end
    if pos > start:
        batches.append(body[start:pos])
    if len(batches) > MAX_BATCH_SEQ:
        raise InputError(f"the feed would need more than {MAX_BATCH_SEQ} batches: send larger batches")
    return batches
