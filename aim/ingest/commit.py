"""Committing a feed: check it whole, then apply its batches in order, a few rows a transaction, then close it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Connection

from aim.errors import InputError
from aim.ingest.plan import plan_batch
from aim.ingest.validation import StoredRow, check_batch
from aim.storage import feeds as repo
from aim.storage import records
from aim.storage.database import Database


def verify_feed(conn: Connection, feed: repo.FeedRow) -> None:
    """Every batch 1..N present, the rows add up to the manifest's count, and ``rows_sha256`` matches."""
    batches = repo.batches_of(conn, feed.pk)
    seqs = [b.seq for b in batches]
    if seqs != list(range(1, len(batches) + 1)):
        missing = sorted(set(range(1, (max(seqs) if seqs else 0) + 1)) - set(seqs))
        raise InputError(f"batches {missing[:20]} have not arrived: send them, then commit again")
    received = sum(b.row_count for b in batches)
    if received != feed.row_count:
        raise InputError(
            f"the manifest says {feed.row_count} rows but the batches hold {received}: send the missing batches, "
            "or a corrected feed under a new feed_id"
        )
    for batch in batches[:-1]:
        if not batch.ends_with_newline:
            raise InputError(f"batch {batch.seq} does not end with a newline: only the last batch may")
    digest = hashlib.sha256()
    for batch in batches:
        body = repo.batch_body(conn, batch.pk)
        assert body is not None, "an unapplied batch keeps its bytes"
        digest.update(body)
    if digest.hexdigest() != feed.rows_sha256:
        raise InputError(
            "rows_sha256 does not match the batches received: the feed was altered or split wrongly; "
            "send it again under a new feed_id"
        )


# Valid rows applied in one write transaction: about 0.02 s of writing on a hub of 1.6 million records, which is what
# another writer (a search's audit entry on SQLite) may wait for. A 5,000-row batch took 4.1 s of writing in all this
# way, 3.4 s at 100 rows a transaction (0.06 s each), and 2.8 s in one transaction.
APPLY_ROWS = 25


def apply_batches(database: Database, feed: repo.FeedRow, *, now: Callable[[], datetime]) -> None:
    """Apply each unapplied batch in order, about ``APPLY_ROWS`` rows a transaction (see :func:`_cuts`), each together
    with how far the batch is applied (so a commit interrupted part-way through a batch carries on after its last
    applied rows).

    A batch's rows are parsed and checked before its write transactions (they depend only on its stored bytes and the
    day it was received), so other writers (a search's audit entry) wait only for the records to be written.
    """
    with database.read() as conn:
        pending = [b.seq for b in repo.batches_of(conn, feed.pk) if b.applied_at is None]
    for seq in pending:
        with database.read() as conn:
            stored = repo.batch_row(conn, feed_pk=feed.pk, seq=seq)
            body = None if stored is None or stored.applied_at is not None else repo.batch_body(conn, stored.pk)
        if stored is None or body is None:
            continue  # applied meanwhile by a concurrent commit in another process (its body is then let go)
        rows = check_batch(body, today=stored.received_on).rows
        cuts = _cuts(rows, APPLY_ROWS)
        done = False
        while not done:
            with database.write() as conn:
                batch = repo.batch_row(conn, feed_pk=feed.pk, seq=seq, for_update=True)
                if batch is None or batch.applied_at is not None:
                    break  # applied meanwhile by a concurrent commit in another process
                so_far = repo.progress(conn, batch.pk)  # (which may also have applied some of its rows meanwhile)
                end = next((cut for cut in cuts if cut > so_far.applied_rows), len(rows))
                part = rows[so_far.applied_rows : end]
                existing = records.existing_pks(
                    conn, partner_pk=feed.partner_pk, record_ids=(r.record_id for r in part)
                )
                plan = plan_batch(part, existing)
                records.apply_plan(
                    conn, plan, partner_pk=feed.partner_pk, feed_pk=feed.pk, key_id=feed.key_id, now=now()
                )
                repo.insert_rejections(conn, batch.pk, plan.rejections, stage="apply")
                applied = repo.Progress(
                    so_far.applied_rows + len(part),
                    so_far.inserted + plan.inserted,
                    so_far.replaced + plan.replaced,
                    so_far.deleted + plan.deleted,
                )
                done = applied.applied_rows >= len(rows)
                if done:
                    repo.mark_applied(conn, batch.pk, now=now(), done=applied)
                else:
                    repo.record_progress(conn, batch.pk, applied)


def _cuts(rows: list[StoredRow], size: int) -> list[int]:
    """Where a batch's transactions end: once ``size`` rows or more are taken, after the first row past which no
    record id taken comes again. Rows about one record stay in one transaction, as in one batch: a record deleted and
    sent again would otherwise lose what derives from it (its links, review decisions, alert evidence) and come back
    as a new record."""
    last = {row.record_id: n for n, row in enumerate(rows)}
    cuts: list[int] = []
    reach = 0
    for n, row in enumerate(rows):
        reach = max(reach, last[row.record_id])
        if n == reach and (n + 1 - (cuts[-1] if cuts else 0) >= size or n + 1 == len(rows)):
            cuts.append(n + 1)
    return cuts


def finish(conn: Connection, feed: repo.FeedRow, *, now: datetime) -> None:
    """Close the feed with its totals (a no-op if a concurrent commit closed it first)."""
    current = repo.feed_row(conn, partner_pk=feed.partner_pk, feed_id=feed.feed_id)
    if current is None or current.status == "committed":
        return
    batches = repo.batches_of(conn, feed.pk)
    valid = sum(b.valid_rows for b in batches)
    accepted = valid - repo.apply_rejection_count(conn, feed.pk)
    repo.update_feed(
        conn,
        feed.pk,
        status="committed",
        batch_count=len(batches),
        accepted=accepted,
        rejected=feed.row_count - accepted,
        inserted=sum(b.inserted for b in batches),
        replaced=sum(b.replaced for b in batches),
        deleted=sum(b.deleted for b in batches),
        committed_at=now,
    )
