"""The receipt a partner fetches for its feed: counts, and every rejected row with its line and reasons.

``accepted + rejected == row_count`` once the feed is committed. Lines count as in the feed file: the manifest is
line 1, so the first row is line 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aim.storage.feeds import BatchRow, FeedRow, StoredRejection


@dataclass(frozen=True)
class RejectedRow:
    line: int | None
    batch: int
    position: int
    record_id: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Receipt:
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
    rejections: tuple[RejectedRow, ...]

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["rejections"] = [dict(r.__dict__, reasons=list(r.reasons)) for r in self.rejections]
        return data


def build_receipt(
    *, partner_code: str, feed: FeedRow, batches: list[BatchRow], rejections: list[StoredRejection]
) -> Receipt:
    """Assemble the receipt; line numbers are given where every earlier batch has arrived."""
    first_line: dict[int, int] = {}
    line = 2
    for expected, batch in enumerate(batches, start=1):
        if batch.seq != expected:
            break
        first_line[batch.seq] = line
        line += batch.row_count
    rejected_rows = tuple(
        RejectedRow(
            line=first_line[r.seq] + r.position - 1 if r.seq in first_line else None,
            batch=r.seq,
            position=r.position,
            record_id=r.record_id,
            reasons=r.reasons,
        )
        for r in rejections
    )
    received = sum(b.row_count for b in batches)
    committed = feed.status == "committed"
    return Receipt(
        partner=partner_code,
        feed_id=feed.feed_id,
        status=feed.status,
        row_count=feed.row_count,
        rows_received=received,
        batches_received=len(batches),
        accepted=feed.accepted if committed else received - len(rejected_rows),
        rejected=feed.rejected if committed else len(rejected_rows),
        inserted=feed.inserted,
        replaced=feed.replaced,
        deleted=feed.deleted,
        opened_at=feed.opened_at.isoformat(),
        committed_at=feed.committed_at.isoformat() if feed.committed_at else None,
        rejections=rejected_rows,
    )
