"""The API's response shapes. Nothing here carries an encoding or a submitted value."""

from __future__ import annotations

from pydantic import BaseModel


class FeedOut(BaseModel):
    feed_id: str
    status: str
    row_count: int
    replayed: bool


class RejectionOut(BaseModel):
    position: int
    record_id: str | None
    reasons: list[str]


class BatchOut(BaseModel):
    feed_id: str
    seq: int
    rows: int
    valid: int
    rejected: int
    rejections: list[RejectionOut]
    replayed: bool


class RejectedRowOut(BaseModel):
    line: int | None
    batch: int
    position: int
    record_id: str | None
    reasons: list[str]


class ReceiptOut(BaseModel):
    partner: str
    feed_id: str
    status: str
    row_count: int
    rows_received: int
    batches_received: int
    accepted: int
    rejected: int
    inserted: int
    replaced: int
    deleted: int
    opened_at: str
    committed_at: str | None
    rejections: list[RejectedRowOut]


class ErrorOut(BaseModel):
    error: str
    detail: str
    problems: list[object]
