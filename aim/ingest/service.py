"""The ingest service: open a feed, put its batches, commit it, and read its receipt.

Idempotency keys are the partner's feed id and each batch's number. A key seen again with the same content returns
the first result and writes nothing; with different content it is a :class:`FeedConflictError`; while the first
request is still running it is an :class:`InFlightError`.

Atomicity: a batch is stored (raw bytes, digest, counts, rejected rows) in one transaction. Commit first checks the
whole feed (every batch 1..N present, row count and ``rows_sha256`` over the batches in order), then applies the
batches in order, a few rows a transaction together with how far the batch has got (:func:`aim.ingest.commit.
apply_batches`), so a crash at any point leaves each row either applied or not, and a retried commit carries on where
it stopped. The applying may run in another process (``apply``: the API runs it in the after-commit child process,
:mod:`aim.after_commit`, so that it does not share the GIL of the process answering searches).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from aim.clock import Clock, local_today
from aim.errors import InputError, NotFoundError
from aim.feed import JSONProblem, canonical_dumps, parse_manifest, strict_loads
from aim.ingest import checking, commit
from aim.ingest.batches import MAX_BATCH_SEQ
from aim.ingest.checking import BatchCheck
from aim.ingest.errors import FeedConflictError, InFlightError
from aim.ingest.inflight import InFlight
from aim.ingest.receipt import Receipt, build_receipt
from aim.ingest.validation import Rejection
from aim.partner.errors import NotPermittedError
from aim.partner.model import Partner
from aim.storage import feeds as repo
from aim.storage.database import Database


@dataclass(frozen=True)
class FeedOpened:
    created: bool
    feed_id: str
    status: str
    row_count: int


@dataclass(frozen=True)
class BatchStored:
    created: bool
    seq: int
    rows: int
    valid: int
    rejections: tuple[Rejection, ...]


@dataclass(frozen=True)
class FeedCommitted:
    """Handed to the ``on_committed`` hook: the feed whose changes are now in ``record_changes``."""

    partner: Partner
    feed_pk: int
    receipt: Receipt


class IngestService:
    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        zone: ZoneInfo,
        inflight: InFlight | None = None,
        on_committed: Callable[[FeedCommitted], None] | None = None,
        apply: Callable[[repo.FeedRow], object] | None = None,
        check: Callable[[bytes, date], BatchCheck] | None = None,
    ) -> None:
        """``apply`` and ``check`` may apply a feed being committed and check a batch's rows elsewhere (the API runs
        them in child processes: :mod:`aim.after_commit`, :mod:`aim.ingest.checking`); by default, here."""
        self._db = database
        self._clock = clock
        self._zone = zone
        self.inflight = inflight or InFlight()
        self._on_committed = on_committed
        self._apply = apply or self.apply_batches
        self._check = check or checking.check

    def today(self) -> date:
        return local_today(self._clock, self._zone)

    def open_feed(self, *, partner: Partner, manifest_body: bytes) -> FeedOpened:
        """Register a feed from its manifest; the same manifest again returns the same feed."""
        try:
            obj = strict_loads(manifest_body)
        except (JSONProblem, ValueError, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, JSONProblem) else "it does not parse"
            raise InputError(f"the manifest is not valid JSON: {reason}") from None
        manifest = parse_manifest(obj)
        if "/" in manifest.feed_id:
            raise InputError("feed_id must not contain '/': it is part of the hub's URLs")
        if manifest.partner != partner.code:
            raise NotPermittedError("the manifest names another partner: a partner may send only its own feeds")
        canonical = canonical_dumps(obj)
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        key = f"feed:{partner.pk}:{manifest.feed_id}"
        with self.inflight.hold(key, "this feed's manifest"), self._db.write() as conn:
            self._lock(conn, key, "this feed's manifest")
            existing = repo.feed_row(conn, partner_pk=partner.pk, feed_id=manifest.feed_id)
            if existing is not None:
                if existing.manifest_sha256 != digest:
                    raise FeedConflictError(
                        f"feed {manifest.feed_id} was already opened with a different manifest: "
                        "a changed feed needs a new feed_id"
                    )
                return FeedOpened(False, existing.feed_id, existing.status, existing.row_count)
            repo.insert_feed(
                conn,
                partner_pk=partner.pk,
                feed_id=manifest.feed_id,
                manifest=canonical,
                manifest_sha256=digest,
                key_id=manifest.key_id,
                row_count=manifest.row_count,
                rows_sha256=manifest.rows_sha256,
                status="open",
                opened_at=self._clock.now(),
            )
        return FeedOpened(True, manifest.feed_id, "open", manifest.row_count)

    def put_batch(self, *, partner: Partner, feed_id: str, seq: int, body: bytes) -> BatchStored:
        """Store batch ``seq`` of a feed; the same bytes again return the first result."""
        if not 1 <= seq <= MAX_BATCH_SEQ:
            raise InputError(f"the batch number must be 1-{MAX_BATCH_SEQ}")
        if not body:
            raise InputError("a batch must carry at least one row")
        digest = hashlib.sha256(body).hexdigest()
        today = self.today()
        checked = self._check(body, today)
        key = f"batch:{partner.pk}:{feed_id}:{seq}"
        with self.inflight.hold(key, f"batch {seq}"), self._db.write() as conn:
            self._lock(conn, key, f"batch {seq}")
            feed = self._feed(conn, partner, feed_id)
            existing = repo.batch_row(conn, feed_pk=feed.pk, seq=seq)
            if existing is not None:
                if existing.body_sha256 != digest:
                    raise FeedConflictError(
                        f"batch {seq} of feed {feed_id} was already received with different content: "
                        "a changed feed needs a new feed_id"
                    )
                return self._stored(conn, existing, created=False)
            if feed.status != "open":
                raise FeedConflictError(f"feed {feed_id} is already committed: it takes no new batches")
            if repo.rows_received(conn, feed.pk) + checked.row_count > feed.row_count:
                raise InputError(f"the batches now hold more rows than the manifest's row_count ({feed.row_count})")
            batch_pk = repo.insert_batch(
                conn,
                feed_pk=feed.pk,
                seq=seq,
                body_sha256=digest,
                body=body,
                size_bytes=len(body),
                ends_with_newline=int(checked.ends_with_newline),
                row_count=checked.row_count,
                valid_rows=checked.valid_rows,
                received_on=today,
                received_at=self._clock.now(),
            )
            repo.insert_rejections(conn, batch_pk, checked.rejections, stage="validate")
        return BatchStored(True, seq, checked.row_count, checked.valid_rows, checked.rejections)

    def commit_feed(self, *, partner: Partner, feed_id: str) -> Receipt:
        """Check the whole feed, then apply its batches in order; a repeated commit returns the same receipt."""
        key = f"commit:{partner.pk}:{feed_id}"
        with self.inflight.hold(key, f"the commit of feed {feed_id}"):
            with self._db.write() as conn:
                self._lock(conn, key, f"the commit of feed {feed_id}")
                feed = self._feed(conn, partner, feed_id)
                if feed.status == "committed":
                    return self._receipt(conn, partner, feed)
                if feed.status == "open":
                    commit.verify_feed(conn, feed)
                    repo.update_feed(conn, feed.pk, status="applying")
            self._apply(feed)
            with self._db.write() as conn:
                commit.finish(conn, feed, now=self._clock.now())
                receipt = self._receipt(conn, partner, self._feed(conn, partner, feed_id))
        if self._on_committed is not None:
            self._on_committed(FeedCommitted(partner=partner, feed_pk=feed.pk, receipt=receipt))
        return receipt

    def apply_batches(self, feed: repo.FeedRow) -> None:
        """Apply the unapplied batches of a feed being committed (its commit's checks passed): what ``commit_feed``
        runs, here or in another process."""
        commit.apply_batches(self._db, feed, now=self._clock.now)

    def stored_batch_sizes(self, *, partner: Partner, feed_id: str) -> list[int]:
        """The sizes in bytes of batch 1, 2, ... of a feed as already stored, up to the first one missing (none for a
        feed not yet opened): where an earlier push cut the feed."""
        with self._db.read() as conn:
            feed = repo.feed_row(conn, partner_pk=partner.pk, feed_id=feed_id)
            stored = [] if feed is None else repo.batches_of(conn, feed.pk)
        sizes: list[int] = []
        for batch in stored:
            if batch.seq != len(sizes) + 1:
                break
            sizes.append(batch.size_bytes)
        return sizes

    def receipt(self, *, partner: Partner, feed_id: str) -> Receipt:
        """The partner's receipt for one of its own feeds (another partner's feed is simply not found)."""
        with self._db.read() as conn:
            return self._receipt(conn, partner, self._feed(conn, partner, feed_id))

    def _feed(self, conn: Connection, partner: Partner, feed_id: str) -> repo.FeedRow:
        feed = repo.feed_row(conn, partner_pk=partner.pk, feed_id=feed_id)
        if feed is None:
            raise NotFoundError(f"no feed {feed_id} from partner {partner.code}: open it with its manifest first")
        return feed

    def _lock(self, conn: Connection, key: str, what: str) -> None:
        if not self._db.try_lock(conn, key):
            raise InFlightError(f"{what} is being processed by another request: retry in a few seconds")

    def _stored(self, conn: Connection, batch: repo.BatchRow, *, created: bool) -> BatchStored:
        rejections = tuple(repo.batch_rejections(conn, batch.pk, stage="validate"))
        return BatchStored(created, batch.seq, batch.row_count, batch.valid_rows, rejections)

    def _receipt(self, conn: Connection, partner: Partner, feed: repo.FeedRow) -> Receipt:
        return build_receipt(
            partner_code=partner.code,
            feed=feed,
            batches=repo.batches_of(conn, feed.pk),
            rejections=repo.rejections_of(conn, feed.pk),
        )
