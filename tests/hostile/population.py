"""A small hub worth attacking: staff policy, audit key, rate limits off, and a few linked people across partners
(one of them with activity from three partners, so an alert exists)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from aim.audit.signing import create_signing_key
from aim.bootstrap import Hub, bootstrap
from aim.clock import FixedClock
from aim.feed import Row
from aim.settings import Settings
from linkage.encoder import RawIdentity
from tests import factories as f
from tests.api.staff import DEMO_POLICY
from tests.identity_factories import TWIN_A, TWIN_B, Feeds, encode

AMELIA = RawIdentity("Amelia", "Clarke", "2011-04-09", "F", "4 Birch Avenue Wolverhampton", "WV1 1AB")
NOAH = RawIdentity("Noah", "Patel", "1990-12-01", "M", "22 Oak Lane Solihull", "B91 3QT")


def _row(record_id: str, who: RawIdentity, partner: str, flag: str, day: date) -> Row:
    return Row(
        record_id=record_id,
        op="upsert",
        enc=encode(who, partner),
        flag=flag,
        interaction_date=day,
        lead_contact=f"{partner} duty desk",
    )


def build_population_hub(tmp_path: Path, database_url: str | None = None) -> tuple[Hub, f.PartnerKeys]:
    """The hub and the credentials of a registered partner (``FUZZ``) whose feeds it accepts."""
    key = tmp_path / "audit.key"
    create_signing_key(key)
    settings = Settings(
        database_url=database_url or f"sqlite:///{tmp_path / 'hub.db'}",
        policy_path=str(DEMO_POLICY),
        audit_key_path=str(key),
        rate_limit="",
        search_rate_limit="",
    )
    hub = bootstrap(settings, clock=FixedClock(f.NOW), migrate_schema=True)
    feeds = Feeds(hub, tmp_path)
    feeds.ingest(
        [
            _row("W1", AMELIA, "WMP", "POLICE_DV", date(2026, 11, 1)),
            _row("W2", TWIN_A, "WMP", "POLICE_WELFARE", date(2026, 9, 1)),
            _row("W3", TWIN_B, "WMP", "POLICE_WELFARE", date(2026, 9, 2)),
            _row("W4", NOAH, "WMP", "POLICE_ASB", date(2026, 8, 1)),
        ],
        "WMP",
    )
    feeds.ingest(
        [_row("A1", replace(AMELIA, address="4 Birch Ave"), "CITYHOSP_AE", "AE_INJURY", date(2026, 11, 2))],
        "CITYHOSP_AE",
    )
    feeds.ingest([_row("S1", AMELIA, "SCHOOLS", "SCHOOL_ABSENCE", date(2026, 11, 10))], "SCHOOLS")
    return hub, f.register(hub, "FUZZ")
