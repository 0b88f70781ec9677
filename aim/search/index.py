"""Keeping the search read model current: file new and corrected records under their blocking keys, with their
token columns packed (``search_tokens``) for scoring.

The step reads ``record_changes`` after its cursor (as identity resolution does) and files each record still there;
deleted, corrected and purged records have already lost their keys with the rest of their derived data. A change
of the model's blocking rules (a retrained model) files every record again. It runs before a search when the
read model is behind, and can be run on its own (:meth:`SearchIndex.refresh`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from aim.clock import Clock
from aim.identity import store
from aim.search.keys import record_keys, signature
from aim.storage import bulk
from aim.storage.database import Database
from aim.storage.search_tables import search_cursor, search_keys, search_tokens
from aim.storage.tables import record_changes, records
from linkage.blocking import BlockingRule
from linkage.stored import pack_tokens

CURSOR = "search"
LOCK = "aim-search-index"
_BATCH = 5_000


class SearchIndex:
    """The search read model of one hub, for one set of blocking rules."""

    def __init__(self, *, database: Database, clock: Clock, rules: Sequence[BlockingRule]) -> None:
        self._db = database
        self._clock = clock
        self.rules = tuple(rules)
        self.signature = signature(self.rules)
        self._seen = -1

    def behind(self) -> bool:
        """Whether records have changed since the read model was last brought up to date (one cheap query)."""
        with self._db.read() as conn:
            latest = conn.execute(select(func.max(record_changes.c.seq))).scalar() or 0
            if latest == self._seen:
                return False
            row = conn.execute(select(search_cursor).where(search_cursor.c.name == CURSOR)).first()
        # nosemgrep: aim-secret-compared-with-eq -- a fingerprint of the blocking configuration, not a secret
        if row is not None and row.blocking == self.signature and row.last_seq >= latest:
            self._seen = int(latest)
            return False
        return True

    def refresh(self) -> int:
        """File every record changed since the cursor (every record, when the rules changed); returns how many.

        Another process already refreshing (PostgreSQL) is left to finish: this returns 0 and the search goes on
        with the read model as it is.
        """
        with self._db.write() as conn:
            if not self._db.try_lock(conn, LOCK):
                return 0
            row = conn.execute(select(search_cursor).where(search_cursor.c.name == CURSOR)).first()
            latest = int(conn.execute(select(func.max(record_changes.c.seq))).scalar() or 0)
            # nosemgrep: aim-secret-compared-with-eq -- a fingerprint of the blocking configuration, not a secret
            if row is None or row.blocking != self.signature:
                conn.execute(delete(search_keys))
                conn.execute(delete(search_tokens))
                pks = list(conn.execute(select(records.c.pk).order_by(records.c.pk)).scalars())
            else:
                changed = select(record_changes.c.record_pk).where(
                    record_changes.c.seq > row.last_seq, record_changes.c.seq <= latest
                )
                wanted = set(conn.execute(changed).scalars()) - {None}
                pks = sorted(set(conn.execute(select(records.c.pk).where(records.c.pk.in_(wanted))).scalars()))
            for start in range(0, len(pks), _BATCH):
                self._file(conn, pks[start : start + _BATCH])
            self._set_cursor(conn, row is None, latest)
        self._seen = latest
        return len(pks)

    def _file(self, conn: Connection, pks: Sequence[int]) -> None:
        for chunk in store.chunks(pks):
            conn.execute(delete(search_keys).where(search_keys.c.record_pk.in_(chunk)))
            conn.execute(delete(search_tokens).where(search_tokens.c.record_pk.in_(chunk)))
        loaded = store.load_records(conn, pks)
        rows, keys = record_keys(loaded.batch, self.rules)
        record_pks = loaded.pks[rows]
        keyed = zip(keys.tolist(), record_pks.tolist(), strict=True)
        bulk.insert_rows(conn, search_keys, [{"key": key, "record_pk": pk} for key, pk in keyed])
        packed = zip(loaded.pks.tolist(), pack_tokens(loaded.batch), strict=True)
        bulk.insert_rows(conn, search_tokens, [{"record_pk": pk, "tokens": value} for pk, value in packed])

    def _set_cursor(self, conn: Connection, new: bool, latest: int) -> None:
        values = {"last_seq": latest, "blocking": self.signature, "updated_at": self._clock.now()}
        if new:
            conn.execute(insert(search_cursor).values(name=CURSOR, **values))
        else:
            conn.execute(search_cursor.update().where(search_cursor.c.name == CURSOR).values(**values))
