"""Identity resolution in the hub's composition root (SQLite and PostgreSQL): each committed feed is linked before
the rules run, a linking failure never loses the committed feed (the next run links it), and the nightly job."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from aim.bootstrap import Hub
from aim.errors import ConfigError
from aim.identity.schedule import JOB_ID, nightly_link_job, schedule_nightly_link
from aim.storage.tables import links, records
from tests import identity_factories as idf
from tests.integration.test_identity import person_of


def _counts(hub: Hub) -> tuple[int, int]:
    with hub.database.read() as conn:
        return (
            conn.execute(select(func.count()).select_from(records)).scalar_one(),
            conn.execute(select(func.count()).select_from(links)).scalar_one(),
        )


def test_each_committed_feed_is_linked_at_once(hub: Hub, tmp_path: Path) -> None:
    feeds = idf.Feeds(hub, tmp_path)
    feeds.ingest([idf.upsert("W1", idf.ALICE), idf.upsert("W2", idf.BOB)])
    assert _counts(hub) == (2, 2)
    feeds.ingest([idf.upsert("A1", idf.ALICE_TYPO, "CITYHOSP_AE")], partner="CITYHOSP_AE")
    assert person_of(hub, "CITYHOSP_AE", "A1") == person_of(hub, "WMP", "W1")
    assert hub.identity.link().changes == 0, "nothing left for the next run"


def test_a_linking_failure_keeps_the_feed_and_the_next_run_links_it(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("Alice Morgan 2012-03-23")  # personal data in a message must never reach the log

    monkeypatch.setattr(hub.identity, "link", broken)
    feeds = idf.Feeds(hub, tmp_path)
    with caplog.at_level(logging.ERROR, logger="aim.bootstrap"):
        feeds.ingest([idf.upsert("W1", idf.ALICE), idf.upsert("W2", idf.ALICE_TYPO)])
    assert _counts(hub) == (2, 0), "the feed is committed, unlinked"
    assert "identity resolution failed after feed" in caplog.text
    assert "RuntimeError" in caplog.text
    assert "Alice" not in caplog.text
    assert "2012" not in caplog.text
    monkeypatch.undo()
    run = nightly_link_job(hub)
    assert run is not None
    assert run.records_linked == 2
    assert person_of(hub, "WMP", "W1") == person_of(hub, "WMP", "W2")
    assert nightly_link_job(hub) is not None
    assert _counts(hub) == (2, 2)


def test_the_nightly_job_runs_one_at_a_time(hub: Hub) -> None:
    scheduler = BackgroundScheduler(timezone=hub.settings.zone)
    schedule_nightly_link(hub, at="01:00", scheduler=scheduler)
    job = scheduler.get_job(JOB_ID)
    assert job is not None
    assert (job.max_instances, job.coalesce) == (1, True)
    assert str(job.trigger.fields[5]) == "1"
    assert str(job.trigger.fields[6]) == "0"
    with pytest.raises(ConfigError, match="is not a time"):
        schedule_nightly_link(hub, at="1am", scheduler=scheduler)


def test_a_rules_failure_keeps_the_feed_and_logs_no_personal_data(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_event: object) -> None:
        raise RuntimeError("Alice Morgan 2012-03-23")

    monkeypatch.setattr(hub.rules, "after_ingest", broken)
    feeds = idf.Feeds(hub, tmp_path)
    with caplog.at_level(logging.ERROR, logger="aim.bootstrap"):
        feeds.ingest([idf.upsert("W1", idf.ALICE), idf.upsert("W2", idf.ALICE_TYPO)])
    assert _counts(hub) == (2, 2), "the feed is committed and linked"
    assert "the rules failed after feed" in caplog.text
    assert "Alice" not in caplog.text
    assert "2012" not in caplog.text
