"""The partner's nightly job: encode the configured extract and push it to the hub (APScheduler).

Configured by a YAML file (``docs/ingest-api.md`` lists every field)::

    hub_url: https://hub.example.org
    partner: WMP
    token_file: /etc/aim/hub-token
    signing_key: /etc/aim/signing-key.pem
    keys: /etc/aim/keys
    extract: /data/exports/wmp-nightly.csv
    out_dir: /var/aim/feeds
    at: "02:00"

The feed id is ``<PARTNER>-<YYYYMMDD>`` (local date). A run encodes the extract only if that night's feed file does
not exist yet, then pushes it; a re-run after a failure pushes the same file again, which the hub answers with the
first result. The receipt is written beside the feed as ``<feed id>.receipt.json``. A night whose push failed is
pushed by the next run, before that night's own feed (:func:`run_once`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from aim.agent.encode import encode_extract
from aim.agent.push import HubClient, PushError, push_feed
from aim.errors import ConfigError, InputError
from aim.partner.credentials import load_signing_key

log = logging.getLogger("aim.agent.schedule")
REFUSED = 422  # the hub's answer to an invalid feed: recorded, never sent again
_AT_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

# (config, extract file, feed path, feed id) -> writes the feed file.
Encoder = Callable[["ScheduleConfig", Path, str], None]


@dataclass(frozen=True)
class ScheduleConfig:
    hub_url: str
    partner: str
    token_file: Path
    signing_key: Path
    keys: Path
    extract: Path
    out_dir: Path
    at: str = "02:00"
    timezone: str = "Europe/London"
    mapping: Path | None = None
    deletes: Path | None = None
    display: bool = False
    batch_rows: int = 5_000

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base: Path = Path()) -> ScheduleConfig:
        """Build the configuration, collecting every problem; relative paths are relative to ``base``."""
        names = {f.name: f for f in fields(cls)}
        problems = [f"unknown field {k!r}" for k in sorted(set(data) - set(names))]
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        problems += [f"missing field {k!r}" for k in required if k not in data]
        if problems:
            raise ConfigError("schedule configuration: " + "; ".join(problems))
        values = dict(data)
        for key in ("token_file", "signing_key", "keys", "extract", "out_dir", "mapping", "deletes"):
            if values.get(key) is not None:
                values[key] = base / Path(str(values[key]))
        config = cls(**values)
        config.check()
        return config

    @classmethod
    def load(cls, path: Path) -> ScheduleConfig:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the schedule configuration {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the schedule configuration must be a mapping of field: value")
        return cls.from_dict(data, base=path.parent)

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    def check(self) -> None:
        problems: list[str] = []
        if not _AT_RE.match(str(self.at)):
            problems.append("at must be a 24-hour time HH:MM, e.g. '02:00'")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append("timezone must be an IANA zone such as Europe/London")
        if not str(self.hub_url).startswith(("http://", "https://")):
            problems.append("hub_url must start with https:// (or http:// on one machine)")
        if not isinstance(self.batch_rows, int) or self.batch_rows < 1:
            problems.append("batch_rows must be a whole number, 1 or more")
        if problems:
            raise ConfigError("schedule configuration: " + "; ".join(problems))


def encode_with_agent(config: ScheduleConfig, feed: Path, feed_id: str) -> None:
    """The real encoder: ``aim agent encode`` with the configured key set, mapping and deletions."""
    encode_extract(
        keys_dir=config.keys,
        partner=config.partner,
        raw=config.extract,
        out=feed,
        mapping=config.mapping,
        feed_id=feed_id,
        display=config.display,
        deletes=config.deletes,
    )


def client_for(config: ScheduleConfig) -> HubClient:
    try:
        token = config.token_file.read_text(encoding="utf-8").strip()
        key = load_signing_key(config.signing_key.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read the agent's credentials: {exc.strerror} ({exc.filename})") from None
    return HubClient(base_url=config.hub_url, token=token, signing_key=key)


def run_once(
    config: ScheduleConfig,
    *,
    now: datetime,
    encoder: Encoder = encode_with_agent,
    client: HubClient | None = None,
) -> dict[str, Any]:
    """One night's run; returns tonight's receipt.

    Encodes tonight's extract (unless already done tonight), then pushes every earlier night's feed in ``out_dir``
    that has neither a receipt nor a refusal yet, oldest first (a night whose push failed is finished before the
    next is applied), then tonight's. Each receipt is written beside its feed (``<feed id>.receipt.json``). A feed
    the hub refuses as invalid (422: no retry or setting can change that), or a file that is not a whole feed, gets
    ``<feed id>.refused.json`` with the reason and is not pushed again; an earlier night's refusal is logged and
    the run goes on, tonight's is raised. Any other failure (retries run out, credentials refused, a batch too
    large) raises at once, and the next run starts with that feed again.
    """
    local = now.astimezone(ZoneInfo(config.timezone))
    feed_id = f"{config.partner}-{local:%Y%m%d}"
    config.out_dir.mkdir(parents=True, exist_ok=True)
    feed = config.out_dir / f"{feed_id}.feed"
    if not feed.exists():
        encoder(config, feed, feed_id)
    own_client = client is None
    hub = client or client_for(config)
    try:
        for earlier in unfinished_feeds(config, before=feed_id):
            try:
                _push(earlier, hub, config)
            except InputError:  # the file itself cannot be sent (see its refusal): the run goes on
                log.error("feed %s cannot be sent: see %s", earlier.stem, _refused(earlier))
            except PushError as exc:
                if exc.status != REFUSED:  # retries ran out, or a cause to fix (credentials, sizes): stop here
                    raise
                log.error("feed %s refused by the hub (%s): see %s", earlier.stem, exc.status, _refused(earlier))
        return _push(feed, hub, config)
    finally:
        if own_client:
            hub.close()


def unfinished_feeds(config: ScheduleConfig, *, before: str) -> list[Path]:
    """This partner's nightly feeds in ``out_dir`` from before feed ``before`` with no receipt and no refusal,
    oldest first."""
    named = re.compile(re.escape(config.partner) + r"-\d{8}")
    return sorted(
        path
        for path in config.out_dir.glob(f"{config.partner}-*.feed")
        if named.fullmatch(path.stem)
        and path.stem < before
        and not _receipt(path).exists()
        and not _refused(path).exists()
    )


def _push(feed: Path, hub: HubClient, config: ScheduleConfig) -> dict[str, Any]:
    try:
        receipt = push_feed(feed, client=hub, batch_rows=config.batch_rows)
    except InputError as exc:  # the file cannot be read or is not a whole feed: kept, so it is not tried again
        _refused(feed).write_text(json.dumps({"feed": feed.name, "status": None, "error": str(exc)}, indent=2))
        raise
    except PushError as exc:
        if exc.status == REFUSED:  # the feed itself is wrong: kept, so it is not sent again
            answer = {"feed": feed.name, "status": exc.status, "error": str(exc), "body": exc.body}
            _refused(feed).write_text(json.dumps(answer, indent=2), encoding="utf-8")
        raise
    _receipt(feed).write_text(json.dumps(receipt, indent=2), encoding="utf-8")
    log.info("feed %s pushed: %s accepted, %s rejected", feed.stem, receipt.get("accepted"), receipt.get("rejected"))
    return receipt


def _receipt(feed: Path) -> Path:
    return feed.with_name(feed.stem + ".receipt.json")


def _refused(feed: Path) -> Path:
    return feed.with_name(feed.stem + ".refused.json")


def build_scheduler(
    config: ScheduleConfig, *, scheduler: BaseScheduler | None = None, job: Callable[[], object] | None = None
) -> BaseScheduler:
    """A scheduler with the nightly job at ``config.at`` local time; missed runs (machine asleep) run once late."""
    zone = ZoneInfo(config.timezone)
    hour, minute = (int(part) for part in config.at.split(":"))
    sched = scheduler or BlockingScheduler(timezone=zone)

    def nightly() -> None:
        try:
            run_once(config, now=datetime.now(zone))
        except Exception:  # a failed night must not stop the scheduler; the next night retries
            log.exception("nightly push failed")

    sched.add_job(
        job or nightly,
        CronTrigger(hour=hour, minute=minute, timezone=zone),
        id="aim-nightly-push",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=6 * 3600,
    )
    return sched
