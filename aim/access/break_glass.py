"""Break-glass grants and restricted subjects in the database, and the DPO's review queue of break-glass uses.

Opening a grant is checked by :func:`governance.open_break_glass` against the policy's rules; each request a grant
allows is recorded as a *use* that waits in the DPO's queue until marked reviewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from aim.clock import Clock
from aim.errors import InputError, NotFoundError
from aim.storage.database import Database
from aim.storage.governance_tables import break_glass_grants, break_glass_uses, restricted_persons
from governance import BreakGlassError, BreakGlassGrant, Policy, open_break_glass


@dataclass(frozen=True)
class BreakGlassUse:
    """One request a break-glass grant allowed, as the DPO's queue shows it."""

    use_id: int
    grant_id: str
    user_id: str
    person_id: str
    case_reference: str
    justification: str
    action: str
    used_at: datetime
    audit_sequence: int
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


def _grant(row: object) -> BreakGlassGrant:
    m = row._mapping  # type: ignore[attr-defined]
    return BreakGlassGrant(
        m["grant_id"], m["user_id"], m["person_id"], m["case_reference"], m["justification"], m["granted_at"],
        m["expires_at"],
    )  # fmt: skip


def _use(r: Any) -> BreakGlassUse:
    return BreakGlassUse(
        use_id=r.pk,
        grant_id=r.grant_id,
        user_id=r.user_id,
        person_id=r.person_id,
        case_reference=r.case_reference,
        justification=r.justification,
        action=r.action,
        used_at=r.used_at,
        audit_sequence=int(r.audit_sequence),
        reviewed_at=r.reviewed_at,
        reviewed_by=r.reviewed_by,
        review_note=r.review_note,
    )


class BreakGlassStore:
    """Grants, their uses and restricted persons."""

    def __init__(self, *, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def open(
        self,
        policy: Policy,
        *,
        user_id: str,
        roles: frozenset[str],
        person_id: str,
        case_reference: str,
        justification: str,
        minutes: int | None = None,
    ) -> BreakGlassGrant:
        """Open and store a grant; refusals name every broken rule (:class:`InputError`)."""
        try:
            grant = open_break_glass(
                policy,
                user_id=user_id,
                roles=roles,
                person_id=person_id,
                case_reference=case_reference,
                justification=justification,
                at=self._clock.now(),
                duration=None if minutes is None else timedelta(minutes=minutes),
            )
        except BreakGlassError as exc:
            raise InputError(str(exc)) from None
        with self._db.write() as conn:
            # The grant id is a digest of user, person, case and time: the same grant asked for twice at one instant.
            taken = select(break_glass_grants.c.grant_id).where(break_glass_grants.c.grant_id == grant.grant_id)
            if conn.execute(taken).first() is not None:
                raise InputError(
                    f"break-glass grant {grant.grant_id} for this person and case was opened at this instant already: "
                    "use it, or ask again later"
                )
            conn.execute(
                insert(break_glass_grants).values(
                    grant_id=grant.grant_id,
                    user_id=grant.user_id,
                    person_id=grant.person_id,
                    case_reference=grant.case_reference,
                    justification=grant.justification,
                    granted_at=grant.granted_at,
                    expires_at=grant.expires_at,
                )
            )
        return grant

    def active_for(self, user_id: str) -> tuple[BreakGlassGrant, ...]:
        now = self._clock.now()
        t = break_glass_grants.c
        with self._db.read() as conn:
            rows = conn.execute(select(break_glass_grants).where(t.user_id == user_id, t.expires_at > now))
            return tuple(_grant(row) for row in rows)

    def record_use(self, *, grant_id: str, action: str, audit_sequence: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                insert(break_glass_uses).values(
                    grant_id=grant_id, action=action, audit_sequence=audit_sequence, used_at=self._clock.now()
                )
            )

    def queue(self, *, include_reviewed: bool = False) -> list[BreakGlassUse]:
        """Uses waiting for the DPO's review (oldest first), or all of them."""
        u, g = break_glass_uses.c, break_glass_grants.c
        query = (
            select(break_glass_uses, g.user_id, g.person_id, g.case_reference, g.justification)
            .join(break_glass_grants, g.grant_id == u.grant_id)
            .order_by(u.pk)
        )
        if not include_reviewed:
            query = query.where(u.reviewed_at.is_(None))
        with self._db.read() as conn:
            return [_use(row) for row in conn.execute(query)]

    def mark_reviewed(self, use_id: int, *, reviewer: str, note: str) -> None:
        if not note.strip():
            raise InputError("a review note is required: say what was checked and the conclusion")
        with self._db.write() as conn:
            done = conn.execute(
                update(break_glass_uses)
                .where(break_glass_uses.c.pk == use_id, break_glass_uses.c.reviewed_at.is_(None))
                .values(reviewed_at=self._clock.now(), reviewed_by=reviewer, review_note=note.strip())
            )
        if done.rowcount != 1:
            raise NotFoundError(f"no break-glass use {use_id} waiting for review: see the review queue")

    def is_restricted(self, person_id: str | None) -> bool:
        if person_id is None or not person_id.isdigit():
            return False
        with self._db.read() as conn:
            found = conn.execute(
                select(restricted_persons.c.person_pk).where(restricted_persons.c.person_pk == int(person_id))
            ).first()
        return found is not None

    def restrict(self, person_id: str, *, marked_by: str) -> None:
        """Mark a person restricted (e.g. a protected address): hidden from all but the policy's named roles."""
        if not person_id.isdigit():
            raise InputError(f"person id {person_id!r} must be the hub's numeric person id")
        with self._db.write() as conn:
            if not self.is_restricted(person_id):
                conn.execute(
                    insert(restricted_persons).values(
                        person_pk=int(person_id), marked_by=marked_by, marked_at=self._clock.now()
                    )
                )
