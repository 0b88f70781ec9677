"""Ingesting a feed file on the hub itself (``aim hub ingest``): the API's code path, without HTTP.

The file is split into the same batches the agent would push and goes through the same service calls (open, put
each batch, commit), so a file and a push are accepted or rejected alike and are idempotent with each other. Batches
a push already stored (with another ``--batch-rows``, say) are cut where that push cut them; the rest as the agent
would by default.
"""

from __future__ import annotations

from pathlib import Path

from aim.errors import InputError
from aim.ingest.batches import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS, split_feed, split_rows
from aim.ingest.receipt import Receipt
from aim.ingest.service import IngestService
from aim.partner.errors import NotPermittedError
from aim.partner.registry import PartnerRegistry


def ingest_file(
    path: Path,
    *,
    ingest: IngestService,
    partners: PartnerRegistry,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> Receipt:
    """Ingest one feed file for the partner its manifest names, which must be registered with an active agreement."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the feed {path}: {exc.strerror}") from None
    feed = split_feed(data)
    partner = partners.get(feed.manifest.partner)
    refusal = partner.refusal(partners.today())
    if refusal:
        raise NotPermittedError(refusal)
    ingest.open_feed(partner=partner, manifest_body=feed.manifest_line)
    batches, cut = [], 0
    for size in ingest.stored_batch_sizes(partner=partner, feed_id=feed.manifest.feed_id):
        if cut >= len(feed.body):
            break
        batches.append(feed.body[cut : cut + size])
        cut += size
    batches += split_rows(feed.body[cut:], max_rows=batch_rows, max_bytes=batch_bytes) if cut < len(feed.body) else []
    for seq, batch in enumerate(batches, start=1):
        ingest.put_batch(partner=partner, feed_id=feed.manifest.feed_id, seq=seq, body=batch)
    return ingest.commit_feed(partner=partner, feed_id=feed.manifest.feed_id)
