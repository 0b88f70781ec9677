"""Checking a batch's rows when it arrives: in a child process of the one answering requests, when the API runs.

Parsing and validating a batch is pure Python (about 60 ms of CPU for 1,000 rows). In the process answering searches
it held the GIL while a partner's batches came in, and each search thread waited for it again after every database
call: during the upload of a nightly feed searches took 0.3 to 1.4 s at the median. In a child process
(:mod:`aim.child`) only the summary comes back: the counts and the rejected rows. Checking depends on nothing but the
batch's bytes and the day, so a check the child cannot make (it died twice, or the hub is stopping) is made here.
"""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date

from aim.child import ChildClosedError, ChildProcess
from aim.ingest.validation import Rejection, check_batch


@dataclass(frozen=True)
class BatchCheck:
    """What storing a batch needs of its check (the rows themselves are checked again when the feed is applied)."""

    row_count: int
    valid_rows: int
    rejections: tuple[Rejection, ...]
    ends_with_newline: bool


def check(body: bytes, today: date) -> BatchCheck:
    """Check a batch's rows, in this process."""
    checked = check_batch(body, today=today)
    return BatchCheck(checked.row_count, len(checked.rows), tuple(checked.rejections), checked.ends_with_newline)


class BatchChecker:
    """Checks batches in a child process, one at a time (a 1,000-row batch in about 60 ms)."""

    def __init__(self) -> None:
        self._child = ChildProcess()

    def start(self) -> None:
        self._child.start()

    def check(self, body: bytes, today: date) -> BatchCheck:
        try:
            return self._child.call(check, body, today)
        except (BrokenProcessPool, ChildClosedError):
            return check(body, today)

    def close(self) -> None:
        self._child.close()
