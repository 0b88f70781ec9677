"""In-flight request keys: a duplicate of a request still being processed is refused (409), not queued.

This registry covers one hub process; :meth:`aim.storage.database.Database.try_lock` covers several processes on
PostgreSQL. Neither is needed for correctness (unique constraints and one transaction per batch are); they make a
concurrent duplicate fail fast instead of waiting for the first to finish.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

from aim.ingest.errors import InFlightError


class InFlight:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[Hashable] = set()

    @contextmanager
    def hold(self, key: Hashable, what: str) -> Iterator[None]:
        """Hold ``key`` for the duration of the block; raise :class:`InFlightError` if it is already held."""
        with self._lock:
            if key in self._held:
                raise InFlightError(f"{what} is being processed by another request: retry in a few seconds")
            self._held.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(key)

    def is_held(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._held
