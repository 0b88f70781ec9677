"""The partner's nightly run against the hub's API: a night whose push failed is pushed by the next run, before that
night's own feed; a feed the hub refuses as invalid is recorded and not sent again; a refusal that can be fixed
(a suspended agreement) stops the run, and the feed goes with the next one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from aim.agent.push import HubClient, PushError, RetryPolicy
from aim.agent.schedule import ScheduleConfig, run_once
from aim.bootstrap import Hub
from aim.storage.tables import feeds
from tests import factories as f
from tests.asgi import TestClient

NIGHTS = [datetime(2026, 11, day, 2, 0, tzinfo=UTC) for day in (20, 21, 22)]


def _config(tmp_path: Path) -> ScheduleConfig:
    unused = tmp_path / "unused"  # the credentials, keys and extract are not read: the client and encoder are given
    return ScheduleConfig(
        hub_url="http://testserver",
        partner="WMP",
        token_file=unused,
        signing_key=unused,
        keys=unused,
        extract=unused,
        out_dir=tmp_path / "feeds",
        timezone="UTC",
    )


def _encoder(rows: dict[str, int], partner: str = "WMP"):
    """Writes each night's feed with its own records (``rows[feed_id]`` of them), as ``aim agent encode`` would."""

    def encode(config: ScheduleConfig, feed: Path, feed_id: str) -> None:
        f.feed(feed, f.rows(rows[feed_id], seed=len(feed_id), prefix=feed_id), partner=partner, feed_id=feed_id)

    return encode


def _unreachable() -> HubClient:
    keys = f.new_key()
    retry = RetryPolicy(deadline_s=0.2, first_delay_s=0.01, sleep=lambda _s: None)
    return HubClient(base_url="http://127.0.0.1:9", token="t", signing_key=keys[0], retry=retry)


def _agent(client: TestClient, keys: f.PartnerKeys) -> HubClient:
    return HubClient(base_url="http://testserver", token=keys.token, signing_key=keys.key, http=client)


def _committed(hub: Hub) -> list[str]:
    with hub.database.read() as conn:
        return list(conn.execute(select(feeds.c.feed_id).where(feeds.c.status == "committed").order_by(feeds.c.pk)))


@pytest.mark.parametrize("cause", ["hub unreachable", "agreement suspended"])
def test_a_night_whose_push_failed_is_pushed_by_the_next_run_before_its_own(
    hub: Hub, client: TestClient, tmp_path: Path, cause: str
) -> None:
    keys = f.register(hub)
    config = _config(tmp_path)
    encode = _encoder({"WMP-20261120": 3, "WMP-20261121": 4})
    agent = _agent(client, keys)
    if cause == "hub unreachable":
        down = _unreachable()
        with pytest.raises(PushError, match="gave up"):
            run_once(config, now=NIGHTS[0], encoder=encode, client=down)
        down.close()
    else:  # a refusal the partner can have fixed by the next night: the run stops, nothing is recorded
        hub.partners.suspend("WMP", reason="agreement under review")
        with pytest.raises(PushError, match="403"):
            run_once(config, now=NIGHTS[0], encoder=encode, client=agent)
        hub.partners.reinstate("WMP")
    assert sorted(p.name for p in config.out_dir.iterdir()) == ["WMP-20261120.feed"]
    receipt = run_once(config, now=NIGHTS[1], encoder=encode, client=agent)
    assert (receipt["feed_id"], receipt["accepted"]) == ("WMP-20261121", 4)
    assert [row[0] for row in _committed(hub)] == ["WMP-20261120", "WMP-20261121"]
    earlier = json.loads((config.out_dir / "WMP-20261120.receipt.json").read_text(encoding="utf-8"))
    assert (earlier["status"], earlier["accepted"]) == ("committed", 3)
    again = run_once(config, now=NIGHTS[1], encoder=encode, client=agent)
    assert again == receipt, "the same night again: the hub's first answer"


def test_a_feed_refused_as_invalid_is_recorded_and_the_nights_after_it_go_on(
    hub: Hub, client: TestClient, tmp_path: Path
) -> None:
    keys = f.register(hub)
    config = _config(tmp_path)
    config.out_dir.mkdir()
    # A feed whose id the hub cannot take (a '/' is part of its URLs): refused (422), whatever the retries; and a
    # file cut short, which the agent cannot send.
    f.feed(config.out_dir / "WMP-20261119.feed", f.rows(2), feed_id="WMP/20261119")
    f.feed(config.out_dir / "WMP-20261120.feed", f.rows(2), feed_id="WMP-20261120")
    cut = config.out_dir / "WMP-20261120.feed"
    cut.write_bytes(cut.read_bytes()[:-100])
    agent = _agent(client, keys)
    receipt = run_once(config, now=NIGHTS[1], encoder=_encoder({"WMP-20261121": 5}), client=agent)
    assert receipt["accepted"] == 5
    refused = json.loads((config.out_dir / "WMP-20261119.refused.json").read_text(encoding="utf-8"))
    assert refused["status"] == 422
    assert "feed_id must not contain '/'" in refused["error"]
    unreadable = json.loads((config.out_dir / "WMP-20261120.refused.json").read_text(encoding="utf-8"))
    assert unreadable["status"] is None
    assert not list(config.out_dir.glob("WMP-2026111*.receipt.json"))
    assert not (config.out_dir / "WMP-20261120.receipt.json").exists()
    tonight = run_once(config, now=NIGHTS[2], encoder=_encoder({"WMP-20261122": 1}), client=agent)
    assert tonight["accepted"] == 1
    assert [row[0] for row in _committed(hub)] == ["WMP-20261121", "WMP-20261122"]
