"""The identity service the edges call: run resolution, train the model, export links, and the steward's queue
(:mod:`aim.identity.review`). Built from the hub's settings and database in one place."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from sqlalchemy import func, select

from aim.clock import Clock
from aim.errors import InputError
from aim.identity import store
from aim.identity.candidates import BlockingIndex
from aim.identity.errors import IdentityBusyError
from aim.identity.model_file import load_model, write_model
from aim.identity.resolver import IdentityResolver, LinkRun
from aim.identity.review import ReviewService
from aim.identity.thresholds import with_thresholds
from aim.ingest.service import FeedCommitted
from aim.storage.database import Database
from aim.storage.tables import links, partners, records
from linkage.model import LinkageModel
from linkage.training import train

log = logging.getLogger("aim.identity")


@dataclass(frozen=True)
class Trained:
    model: LinkageModel
    path: Path
    records: int


class IdentityService:
    """Identity resolution on one hub."""

    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        model_path: str = "",
        index: Callable[[], BlockingIndex] | None = None,
    ) -> None:
        """``index``: the hub's blocking-key read model (built when first asked for), to find candidates by key."""
        self._db = database
        self._clock = clock
        self.model_path = model_path
        self._model: LinkageModel | None = None
        self._index = index

    @property
    def model(self) -> LinkageModel:
        """The model in use (read once from the settings' file, or the shipped default)."""
        if self._model is None:
            self._model = load_model(self.model_path)
        return self._model

    @property
    def review(self) -> ReviewService:
        """The data steward's queue, judged with the same model."""
        return ReviewService(database=self._db, clock=self._clock, model=self.model)

    def link(self) -> LinkRun:
        """Link every record changed since the last run; see :mod:`aim.identity.resolver`."""
        index = self._index() if self._index is not None else None
        return IdentityResolver(database=self._db, clock=self._clock, model=self.model, index=index).run()

    def after_commit(self, event: FeedCommitted) -> LinkRun | None:
        """The ingest hook: link what the feed changed. A run already under way will be followed by the next
        (ingest or ``aim hub link``); the feed's commit stands either way, so nothing is raised to the partner."""
        try:
            return self.link()
        except IdentityBusyError:
            log.info("identity resolution busy after feed %s; the next run links it", event.feed_pk)
            return None

    def train(self, *, out: str | Path | None = None, seed: int = 0) -> Trained:
        """Re-estimate the model from the hub's own records (EM, no labels) and write it with a new version.

        Raises:
            InputError: no file to write to, or too few records to estimate from.
        """
        target = out or self.model_path
        if not target:
            raise InputError(
                "no file to write the model to: pass --out FILE, or set AIM_LINKAGE_MODEL to the model's path"
            )
        with self._db.read() as conn:
            loaded = store.load_all_records(conn)
        if len(loaded.pks) < 100:
            raise InputError(
                f"the hub holds {len(loaded.pks)} records; training needs at least 100: ingest the feeds first"
            )
        version = "hub-" + self._clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        base = self.model
        result = train(
            loaded.batch,
            version=version,
            comparisons=[c.comparison for c in base.comparisons],
            rules=base.blocking,
            max_block_pairs=base.max_block_pairs,
            seed=seed,
            metadata={"data": "the hub's records", "previous_version": base.version},
        )
        model, _ = with_thresholds(result.model, loaded.batch)
        path = write_model(model, target)
        if str(target) == str(self.model_path):
            self._model = model
        return Trained(model, path, len(loaded.pks))

    def export_links(self, out: str | Path) -> int:
        """Write ``partner,record_id,person_id`` for every record; returns the number of rows.

        Raises:
            InputError: some records are not linked yet (run ``aim hub link`` first).
        """
        with self._db.read() as conn:
            unlinked = conn.execute(
                select(func.count())
                .select_from(records.outerjoin(links, links.c.record_pk == records.c.pk))
                .where(links.c.pk.is_(None))
            ).scalar_one()
            if unlinked:
                raise InputError(f"{unlinked} records are not linked yet: run 'aim hub link' first, then export")
            query = (
                select(partners.c.code, records.c.record_id, links.c.person_pk)
                .select_from(records.join(partners).join(links, links.c.record_pk == records.c.pk))
                .order_by(partners.c.code, records.c.record_id)
            )
            rows = conn.execute(query).all()
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["partner", "record_id", "person_id"])
            writer.writerows((r.code, r.record_id, r.person_pk) for r in rows)
        return len(rows)
