"""The composition root: the one place that chooses real or fake collaborators and wires the hub's services.

Nothing here runs at import. The CLI, the API's app factory and the tests call :func:`bootstrap`; tests pass a
:class:`~aim.clock.FixedClock` (and later a static policy decider and an in-memory audit sink).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aim.alerts import AlertService, WatchlistService
from aim.clock import Clock, SystemClock
from aim.ingest.inflight import InFlight
from aim.ingest.service import FeedCommitted, IngestService
from aim.partner.registry import PartnerRegistry
from aim.rules.service import RulesService
from aim.settings import Settings
from aim.storage import migrate
from aim.storage.database import Database
from aim.storage.engine import make_engine


@dataclass
class Hub:
    """Everything the hub's edges (API, CLI) need, built once."""

    settings: Settings
    database: Database
    clock: Clock
    partners: PartnerRegistry
    ingest: IngestService
    rules: RulesService
    alerts: AlertService
    watchlist: WatchlistService

    def close(self) -> None:
        self.database.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    migrate_schema: bool = False,
    on_committed: Callable[[FeedCommitted], None] | None = None,
) -> Hub:
    """Build the hub from ``settings`` (read from the environment when not given).

    ``migrate_schema`` brings the database up to the latest migration first (``aim hub serve`` and ``init-db``).
    ``on_committed`` is called after each feed commit: the hook the linkage step attaches to.
    """
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if migrate_schema:
        migrate.upgrade(engine)
    database = Database(engine)
    rules = RulesService(database=database, clock=clock, zone=settings.zone, rules_dir=Path(settings.rules_dir))
    watchlist = WatchlistService(database=database, clock=clock, zone=settings.zone)
    rules.after_run.append(watchlist.notify)

    def committed(event: FeedCommitted) -> None:
        if on_committed is not None:
            on_committed(event)  # identity resolution first: the rules read the links it writes
        rules.after_ingest(event)

    return Hub(
        settings=settings,
        database=database,
        clock=clock,
        partners=PartnerRegistry(database=database, clock=clock, zone=settings.zone),
        ingest=IngestService(
            database=database, clock=clock, zone=settings.zone, inflight=InFlight(), on_committed=committed
        ),
        rules=rules,
        alerts=AlertService(database=database, clock=clock, zone=settings.zone),
        watchlist=watchlist,
    )
