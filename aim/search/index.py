"""Keeping the search read model current: file new and corrected records under their blocking keys, with their
token columns packed (``search_tokens``) for scoring.

The step reads ``record_changes`` after its cursor (as identity resolution does) and files each record still there;
deleted, corrected and purged records have already lost their keys with the rest of their derived data. A change
of the model's blocking rules (a retrained model) files every record again. It runs before a search when the
read model is behind, and can be run on its own (:meth:`SearchIndex.refresh`).

Identity resolution uses the same keys to find a new record's candidates (:meth:`SearchIndex.filed_under`): it
brings the read model up to date inside its own transaction (:meth:`SearchIndex.file_in`), then reads exactly the
records that share a blocking key with the new ones, however common their first name or surname.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, delete, insert, select
from sqlalchemy.engine import Connection

from aim.clock import Clock
from aim.identity import store
from aim.search.keys import lookup_keys, record_keys, signature
from aim.storage import bulk
from aim.storage.database import Database
from aim.storage.records import latest_change
from aim.storage.search_tables import search_cursor, search_keys, search_tokens
from aim.storage.tables import record_changes, records
from linkage.batch import RecordBatch
from linkage.blocking import BlockingRule
from linkage.stored import batch_from_packed, pack_tokens

CURSOR = "search"
LOCK = "aim-search-index"
_BATCH = 5_000
CATCH_UP_PART = 50  # record changes filed in one transaction by catch_up: 0.02 to 0.03 s on 1.7M records (200: 0.06)


@dataclass(frozen=True)
class Filed:
    """What bringing the read model up to date did: records filed, the last change it now covers, and whether that
    is the last change there was."""

    records: int
    latest: int
    complete: bool = True


@functools.cache
def _filed_under(postgres: bool) -> Select[Any]:
    return select(search_keys.c.record_pk).distinct().where(bulk.among_param(postgres, search_keys.c.key, "keys"))


@functools.cache
def _filed_records(postgres: bool) -> Select[Any]:
    return (
        select(records.c.pk, search_tokens.c.tokens, *(records.c[name] for name in store.BLOOM_FIELDS))
        .join(search_tokens, search_tokens.c.record_pk == records.c.pk)
        .where(bulk.among_param(postgres, records.c.pk, "pks"))
    )


class SearchIndex:
    """The search read model of one hub, for one set of blocking rules."""

    def __init__(self, *, database: Database, clock: Clock, rules: Sequence[BlockingRule]) -> None:
        self._db = database
        self._clock = clock
        self.rules = tuple(rules)
        self.signature = signature(self.rules)
        self._seen = -1
        self._built = False  # the read model was seen filed under these rules
        self._filed_to = -1  # the change its cursor was seen at
        self._linked_to = -1  # the change identity resolution's cursor was seen at

    @property
    def current_to(self) -> int:
        """The last record change the read model was seen to cover (-1 before the first look)."""
        return self._seen

    @property
    def built(self) -> bool:
        """Whether the read model was seen filed under these blocking rules (it may still be behind by changes)."""
        return self._built

    @property
    def linked_to(self) -> int:
        """Identity resolution's cursor as :meth:`behind` last saw it: changes after it are not linked yet."""
        return self._linked_to

    @property
    def unfiled_links(self) -> bool:
        """Whether :meth:`behind` found changes already linked but not filed (a feed linked in one go)."""
        return self._built and self._linked_to > self._filed_to

    def behind(self) -> bool:
        """Whether records have changed since the read model was last brought up to date (one cheap query)."""
        with self._db.read() as conn:
            latest = latest_change(conn)
            if latest == self._seen:
                return False
            row = conn.execute(select(search_cursor).where(search_cursor.c.name == CURSOR)).first()
            self._linked_to = store.cursor(conn)
        # nosemgrep: aim-secret-compared-with-eq -- a fingerprint of the blocking configuration, not a secret
        self._built = row is not None and row.blocking == self.signature
        self._filed_to = int(row.last_seq) if row is not None and self._built else -1
        if self._built and row is not None and row.last_seq >= latest:
            self._seen = int(latest)
            return False
        return True

    def refresh(self, *, wait: bool = True, through: int | None = None) -> int:
        """File every record changed since the cursor, up to change ``through`` if given (every record, when the rules
        changed); returns how many.

        Another process already refreshing (PostgreSQL) is left to finish: this returns 0 and the search goes on
        with the read model as it is. Without ``wait``, so does another writer holding or awaiting the database
        (SQLite), for the search not to queue behind a feed's batches or its linking.
        """
        written = self._db.write() if wait else self._db.write_if_free()
        with written as conn:
            filed = None if conn is None else self.file_in(conn, through=through)
            if filed is None:
                return 0
        self._seen = filed.latest
        self._built = True
        return filed.records

    def catch_up(self, *, part: int = CATCH_UP_PART) -> int:
        """Bring the read model up to date in write transactions of at most ``part`` record changes each (a rebuild
        in one), so that other writers wait for one of them at a time; returns the records filed. Another process
        filing (PostgreSQL) is left to finish it."""
        total = 0
        if not self.behind():  # one cheap read: no write transaction when there is nothing to file
            return total
        while True:
            with self._db.write() as conn:
                filed = self.file_in(conn, limit=part)
            if filed is None:
                return total
            total += filed.records
            self._seen = filed.latest
            self._built = True
            if filed.complete:
                return total

    def file_in(self, conn: Connection, *, limit: int | None = None, through: int | None = None) -> Filed | None:
        """:meth:`refresh` inside the caller's write transaction (committed or rolled back with it), for at most
        ``limit`` record changes and none after change ``through``; ``None`` if another process is refreshing
        (PostgreSQL), when the read model may be behind. A rebuild (new blocking rules) files every record."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be 1 or more, not {limit}")
        if not self._db.try_lock(conn, LOCK):
            return None
        row = conn.execute(select(search_cursor).where(search_cursor.c.name == CURSOR)).first()
        latest = latest_change(conn)
        upto = latest if through is None else min(latest, through)
        # nosemgrep: aim-secret-compared-with-eq -- a fingerprint of the blocking configuration, not a secret
        if row is None or row.blocking != self.signature:
            upto = latest
            conn.execute(delete(search_keys))
            conn.execute(delete(search_tokens))
            pks = list(conn.execute(select(records.c.pk).order_by(records.c.pk)).scalars())
        elif row.last_seq >= upto:
            return Filed(0, max(int(row.last_seq), upto), complete=row.last_seq >= latest)
        else:
            if limit is not None:
                after = select(record_changes.c.seq).where(record_changes.c.seq > row.last_seq)
                last = conn.execute(after.order_by(record_changes.c.seq).offset(limit - 1).limit(1)).scalar()
                upto = upto if last is None else min(upto, int(last))
            changed = select(record_changes.c.record_pk).where(
                record_changes.c.seq > row.last_seq, record_changes.c.seq <= upto
            )
            pks = sorted(store.existing(conn, set(conn.execute(changed).scalars()) - {None}))
        for start in range(0, len(pks), _BATCH):
            self._file(conn, pks[start : start + _BATCH])
        self._set_cursor(conn, row is None, upto)
        return Filed(len(pks), upto, complete=upto >= latest)

    def filed_through(self, conn: Connection) -> bool:
        """Whether the read model is filed under these rules up to the last record change of ``conn``'s snapshot (a
        read: :meth:`filed_under` is then exact without :meth:`file_in`)."""
        row = conn.execute(select(search_cursor).where(search_cursor.c.name == CURSOR)).first()
        latest = latest_change(conn)
        # nosemgrep: aim-secret-compared-with-eq -- a fingerprint of the blocking configuration, not a secret
        return row is not None and row.blocking == self.signature and row.last_seq >= latest

    def filed_under(self, conn: Connection, batch: RecordBatch) -> set[int]:
        """The records filed under a key that a record of ``batch`` looks up: every record a blocking rule pairs
        one of them with (a hash collision adds a record the rules then leave out). Current once :meth:`file_in`
        has run in the same transaction, or :meth:`filed_through` says so."""
        keys = lookup_keys(batch, self.rules)
        found: set[int] = set()
        for chunk in bulk.chunks(conn, keys):
            found.update(conn.execute(_filed_under(bulk.is_postgres(conn)), {"keys": list(chunk)}).scalars())
        return found

    def load(self, conn: Connection, record_pks: Iterable[int]) -> store.Loaded:
        """The encodings of ``record_pks`` (those that still exist), ordered by pk, read one row per record: as
        :func:`aim.identity.store.load_records` reads them, once :meth:`file_in` has run in the same transaction."""
        statement = _filed_records(bulk.is_postgres(conn))
        rows: list[Any] = []
        for chunk in bulk.chunks(conn, sorted(set(record_pks))):
            rows.extend(conn.execute(statement, {"pks": list(chunk)}))
        rows.sort(key=lambda r: r[0])
        blooms = {name: [getattr(r, name) for r in rows] for name in store.BLOOM_FIELDS}
        batch = batch_from_packed(blooms, [r.tokens for r in rows])
        return store.Loaded(np.array([r.pk for r in rows], dtype=np.int64), batch)

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
