"""The nightly linking job (APScheduler): link every record changed since the last run.

Feeds are linked as they commit; the nightly run picks up whatever a failed or busy run after a feed left behind
(and corrections from any other path), before the rules' nightly run (01:30 by default) reads the links. One
instance at a time: the job is registered with ``max_instances=1`` and ``coalesce=True`` in a process, and the run
itself takes the identity lock in the database, so two hubs sharing a database never link side by side (the second
logs that it was busy and does nothing). Safe to repeat: a run with nothing to do writes nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from aim.errors import ConfigError
from aim.identity.errors import IdentityBusyError
from aim.identity.resolver import LinkRun
from aim.identity.service import IdentityService
from aim.settings import Settings

log = logging.getLogger("aim.identity.schedule")
JOB_ID = "aim-identity-nightly"
DEFAULT_AT = "01:00"
_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _Hub(Protocol):
    settings: Settings
    identity: IdentityService


def nightly_link_job(hub: _Hub) -> LinkRun | None:
    """One nightly run; ``None`` when another run held the lock (it links the same changes)."""
    try:
        run = hub.identity.link()
    except IdentityBusyError:
        log.info("identity resolution already running elsewhere; this nightly run did nothing")
        return None
    log.info(
        "nightly linking: %d changes, %d records linked, %d new persons, %d merges, %d splits, %d queued for review",
        run.changes,
        run.records_linked,
        run.new_persons,
        run.merges,
        run.splits,
        run.reviews_queued,
    )
    return run


def schedule_nightly_link(hub: _Hub, *, at: str = DEFAULT_AT, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """Register the nightly linking job at local time ``at`` (HH:MM) on ``scheduler`` (a blocking one by default).

    Raises:
        ConfigError: ``at`` is not a 24-hour HH:MM time.
    """
    match = _AT.match(at)
    if match is None:
        raise ConfigError(f"--at {at!r} is not a time: give HH:MM in 24-hour time, e.g. {DEFAULT_AT}")
    scheduler = scheduler or BlockingScheduler(timezone=hub.settings.zone)
    scheduler.add_job(
        nightly_link_job,
        CronTrigger(hour=int(match[1]), minute=int(match[2]), timezone=hub.settings.zone),
        args=[hub],
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        misfire_grace_time=3600,
    )
    return scheduler
