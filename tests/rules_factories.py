"""Factories for event-recognition tests: partners, records, persons and links written straight into the tables
(identity resolution is not needed to test the rules)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import insert, select, update

from aim.bootstrap import Hub
from aim.rules.loader import parse_rule
from aim.rules.model import Rule
from aim.storage.tables import feeds, links, partners, persons, records
from aim.vocabulary import default_vocabulary
from tests.factories import NOW, TODAY

PARTNER_FLAG = {
    "WMP": "POLICE_DV",
    "CITYHOSP_AE": "AE_ATTENDANCE",
    "BCHC": "COMMUNITY_NURSE",
    "SCHOOLS": "SCHOOL_CONCERN",
    "CHILDRENS_SC": "CSC_CONTACT",
    "ADULT_SC": "ASC_CONTACT",
    "FIRE": "FIRE_HOME_SAFETY",
    "HOUSING": "HOUSING_ARREARS",
}


def rule(**changes: object) -> Rule:
    """The default alert rule (3 partners, 30 days), with fields changed as given (``window_days=...``)."""
    fields: dict[str, object] = {
        "id": "three-partners",
        "version": 1,
        "title": "Three partners",
        "status": "active",
        "window_days": 30,
        "distinct_by": "partner",
        "threshold": 3,
        "action": "alert",
        "severity": "high",
        "queue": "safeguarding",
        "flags": [],
        "categories": [],
        "cooldown_days": 0,
        "skip_if_open": False,
        "skip_if_watched": False,
    }
    fields.update(changes)
    text = f"""
id: {fields["id"]}
version: {fields["version"]}
title: {fields["title"]}
status: {fields["status"]}
window: {{days: {fields["window_days"]}}}
distinct_by: {fields["distinct_by"]}
threshold: {fields["threshold"]}
filter: {{flags: {fields["flags"]}, categories: {fields["categories"]}}}
action: {fields["action"]}
severity: {fields["severity"]}
queue: {fields["queue"]}
suppression:
  cooldown_days: {fields["cooldown_days"]}
  skip_if_open: {str(fields["skip_if_open"]).lower()}
  skip_if_watched: {str(fields["skip_if_watched"]).lower()}
"""
    return parse_rule(text)


@dataclass
class World:
    """A hub with the demo partners registered and helpers to add people and their interactions."""

    hub: Hub
    partner_pk: dict[str, int] = field(default_factory=dict)
    feed_pk: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def setup(self) -> World:
        with self.hub.database.write() as conn:
            for code, partner in default_vocabulary().partners.items():
                pk = conn.execute(
                    insert(partners)
                    .values(
                        code=code,
                        name=partner.name,
                        partner_type=partner.type,
                        agreement_ref=f"DSA-{code}",
                        agreement_from=date(2024, 1, 1),
                        agreement_until=date(2030, 1, 1),
                        status="active",
                        created_at=NOW,
                        updated_at=NOW,
                    )
                    .returning(partners.c.pk)
                ).scalar_one()
                self.partner_pk[code] = pk
                self.feed_pk[code] = conn.execute(
                    insert(feeds)
                    .values(
                        partner_pk=pk,
                        feed_id=f"{code}-1",
                        manifest="{}",
                        manifest_sha256="0" * 64,
                        key_id="k",
                        row_count=0,
                        rows_sha256="0" * 64,
                        status="committed",
                        accepted=0,
                        rejected=0,
                        inserted=0,
                        replaced=0,
                        deleted=0,
                        opened_at=NOW,
                    )
                    .returning(feeds.c.pk)
                ).scalar_one()
        return self

    def person(self) -> int:
        with self.hub.database.write() as conn:
            return int(conn.execute(insert(persons).values(created_at=NOW).returning(persons.c.pk)).scalar_one())

    def interaction(self, person_pk: int | None, partner: str, *, days_ago: int = 0, flag: str | None = None) -> int:
        """One interaction ``days_ago`` days before :data:`TODAY`, linked to ``person_pk`` (unless None)."""
        number = next(self._ids)
        with self.hub.database.write() as conn:
            record_pk = conn.execute(
                insert(records)
                .values(
                    partner_pk=self.partner_pk[partner],
                    record_id=f"{partner}-{number}",
                    key_id="k",
                    flag=flag or PARTNER_FLAG[partner],
                    interaction_date=TODAY - timedelta(days=days_ago),
                    lead_contact="Duty desk",
                    feed_pk=self.feed_pk[partner],
                    created_at=self.hub.clock.now(),
                    updated_at=self.hub.clock.now(),
                )
                .returning(records.c.pk)
            ).scalar_one()
            if person_pk is not None:
                conn.execute(
                    insert(links).values(
                        person_pk=person_pk, record_pk=record_pk, method="test", created_at=self.hub.clock.now()
                    )
                )
        return int(record_pk)

    def relink(self, record_pk: int, person_pk: int) -> None:
        """Move a record to another person (what a split does)."""
        with self.hub.database.write() as conn:
            conn.execute(update(links).where(links.c.record_pk == record_pk).values(person_pk=person_pk))

    def linked_person(self, record_pk: int) -> int | None:
        with self.hub.database.read() as conn:
            return conn.execute(select(links.c.person_pk).where(links.c.record_pk == record_pk)).scalar()
