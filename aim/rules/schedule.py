"""The nightly rules job (APScheduler): expire watch-list entries, re-check open alerts, run every rule for everyone.

One instance at a time: the job is registered with ``max_instances=1`` and ``coalesce=True`` in a process, and the
run itself takes the rules lock in the database, so two hubs sharing a database never run it side by side. A re-run
raises nothing new.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from aim.alerts.watchlist import WatchlistService
from aim.errors import ConfigError
from aim.identity.schedule import schedule_nightly_link
from aim.retention.purge import purge_job, schedule_nightly_purge
from aim.rules.service import RulesService, RunReport
from aim.settings import Settings

if TYPE_CHECKING:
    from aim.bootstrap import Hub

log = logging.getLogger("aim.rules.schedule")
JOB_ID = "aim-rules-nightly"
_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _Hub(Protocol):
    settings: Settings
    rules: RulesService
    watchlist: WatchlistService


def nightly_job(hub: _Hub) -> list[RunReport]:
    """One nightly run; safe to repeat."""
    expired = hub.watchlist.expire()
    reports = hub.rules.nightly()
    log.info("watch-list entries expired: %d", expired)
    for report in reports:
        log.info(report.line())
    return reports


def schedule_nightly(hub: _Hub, *, at: str = "01:30", scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """Register the nightly job at local time ``at`` (HH:MM) on ``scheduler`` (a blocking one by default)."""
    match = _AT.match(at)
    if match is None:
        raise ConfigError(f"--at {at!r} is not a time: give HH:MM in 24-hour time, e.g. 01:30")
    scheduler = scheduler or BlockingScheduler(timezone=hub.settings.zone)
    scheduler.add_job(
        nightly_job,
        CronTrigger(hour=int(match[1]), minute=int(match[2]), timezone=hub.settings.zone),
        args=[hub],
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=3600,
    )
    return scheduler


def nightly_scheduler(hub: Hub) -> BackgroundScheduler:
    """Every nightly job of the hub on one background scheduler, not yet started (``aim hub serve`` starts it).

    Local time: linking at 01:00 (new and corrected records), the rules at 01:30 (they read the links), the
    retention purge at 02:30. Each job is ``max_instances=1`` and coalesced in the process, and takes its own lock in
    the database, so two hubs on one database never run the same job side by side."""
    scheduler = BackgroundScheduler(timezone=hub.settings.zone)
    schedule_nightly_link(hub, scheduler=scheduler)
    schedule_nightly(hub, scheduler=scheduler)
    schedule_nightly_purge(scheduler, purge_job(database=hub.database, policy=hub.policy, clock=hub.clock))
    return scheduler
