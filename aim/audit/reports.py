"""Reports built from the stored data and audit log: a subject access export and the transparency report.

Neither contains an encoding: the hub holds no plaintext identifiers, so the export lists what each partner
reported (partner, its record reference, flag, date, lead contact), the identity links, and every audit entry
about the person — who looked, when, for what purpose and case, and why it was allowed or refused.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from aim.alerts.service import closed_outcomes
from aim.audit import store
from aim.errors import NotFoundError
from aim.storage.database import Database
from aim.storage.governance_tables import audit_log, break_glass_grants, restricted_persons
from aim.storage.tables import links, partners, persons, records
from governance import AuditEvent, TransparencyReport, event_to_record, transparency_report


def subject_access(*, database: Database, person_id: str, at: datetime) -> dict[str, Any]:
    """Everything held about one person (by the hub's person id), and who viewed it and why."""
    if not person_id.isdigit():
        raise NotFoundError(f"person id {person_id!r} is not a hub person id (a whole number)")
    pk = int(person_id)
    with database.read() as conn:
        if conn.execute(select(persons.c.pk).where(persons.c.pk == pk)).first() is None:
            raise NotFoundError(f"no person {person_id} is held (never linked, or purged)")
        held = conn.execute(
            select(
                partners.c.code,
                records.c.record_id,
                records.c.flag,
                records.c.interaction_date,
                records.c.lead_contact,
                links.c.method,
                links.c.confidence,
                links.c.created_at,
            )
            .join(links, links.c.record_pk == records.c.pk)
            .join(partners, partners.c.pk == records.c.partner_pk)
            .where(links.c.person_pk == pk)
            .order_by(records.c.interaction_date, partners.c.code)
        ).all()
        restricted = conn.execute(
            select(restricted_persons.c.marked_at).where(restricted_persons.c.person_pk == pk)
        ).first()
        grants = conn.execute(select(break_glass_grants).where(break_glass_grants.c.person_id == person_id)).all()
        viewed = list(
            store.iter_entries(
                conn,
                select(audit_log).where(audit_log.c.target == f"person:{person_id}").order_by(audit_log.c.sequence),
            )
        )
    return {
        "person_id": person_id,
        "exported_at": at.isoformat(),
        "restricted": restricted is not None,
        "records": [
            {
                "partner": r.code,
                "record_id": r.record_id,
                "flag": r.flag,
                "interaction_date": r.interaction_date.isoformat(),
                "lead_contact": r.lead_contact,
                "link": {"method": r.method, "confidence": r.confidence, "linked_at": r.created_at.isoformat()},
            }
            for r in held
        ],
        "break_glass_grants": [
            {
                "grant_id": g.grant_id,
                "user": g.user_id,
                "case_reference": g.case_reference,
                "justification": g.justification,
                "granted_at": g.granted_at.isoformat(),
                "expires_at": g.expires_at.isoformat(),
            }
            for g in grants
        ],
        "accesses": [{"sequence": e.sequence, **event_to_record(e.event)} for e in viewed],
    }


def transparency(*, database: Database, period_start: date, period_end: date) -> TransparencyReport:
    """The transparency report for a period from the stored audit log and the alerts closed in it (counts under 5
    suppressed)."""
    with database.read() as conn:
        events: list[AuditEvent] = [entry.event for entry in store.iter_entries(conn)]
        alerts = closed_outcomes(conn, period_start=period_start, period_end=period_end)
    return transparency_report(events=events, alerts=alerts, period_start=period_start, period_end=period_end)
