"""Partner endpoints: open a feed, put its batches, commit it, fetch its receipt."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from aim.ingest.batches import MAX_BATCH_SEQ
from aim.ingest.receipt import Receipt
from api.hub.deps import HubDep, SignedBatch, SignedEmpty, SignedManifest
from api.hub.schemas import BatchOut, ErrorOut, FeedOut, ReceiptOut, RejectionOut

router = APIRouter(prefix="/v1")

FeedId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Seq = Annotated[int, Path(ge=1, le=MAX_BATCH_SEQ)]
ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorOut} for code in (401, 403, 404, 409, 413, 415, 422)}


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/feeds", status_code=201, response_model=FeedOut, responses=ERRORS)
def open_feed(signed: SignedManifest, hub: HubDep, response: Response) -> FeedOut:
    """Open a feed with its manifest (201); the same manifest again answers 200 and changes nothing."""
    opened = hub.ingest.open_feed(partner=signed.partner, manifest_body=signed.body)
    response.status_code = 201 if opened.created else 200
    return FeedOut(
        feed_id=opened.feed_id, status=opened.status, row_count=opened.row_count, replayed=not opened.created
    )


@router.put("/feeds/{feed_id}/batches/{seq}", status_code=201, response_model=BatchOut, responses=ERRORS)
def put_batch(feed_id: FeedId, seq: Seq, signed: SignedBatch, hub: HubDep, response: Response) -> BatchOut:
    """Store batch ``seq`` of the feed (201); the same bytes again answer 200 with the first result."""
    stored = hub.ingest.put_batch(partner=signed.partner, feed_id=feed_id, seq=seq, body=signed.body)
    response.status_code = 201 if stored.created else 200
    return BatchOut(
        feed_id=feed_id,
        seq=stored.seq,
        rows=stored.rows,
        valid=stored.valid,
        rejected=len(stored.rejections),
        rejections=[
            RejectionOut(position=r.position, record_id=r.record_id, reasons=list(r.reasons)) for r in stored.rejections
        ],
        replayed=not stored.created,
    )


@router.post("/feeds/{feed_id}/commit", response_model=ReceiptOut, responses=ERRORS)
def commit_feed(feed_id: FeedId, signed: SignedEmpty, hub: HubDep) -> ReceiptOut:
    """Check the whole feed and apply it; answers the receipt (again, unchanged, on a repeat)."""
    return _receipt_out(hub.ingest.commit_feed(partner=signed.partner, feed_id=feed_id))


@router.get("/feeds/{feed_id}/receipt", response_model=ReceiptOut, responses=ERRORS)
def get_receipt(feed_id: FeedId, signed: SignedEmpty, hub: HubDep) -> ReceiptOut:
    """The receipt of one of the calling partner's own feeds; another partner's feed is not found (404)."""
    return _receipt_out(hub.ingest.receipt(partner=signed.partner, feed_id=feed_id))


def _receipt_out(receipt: Receipt) -> ReceiptOut:
    return ReceiptOut.model_validate(receipt.to_json())
