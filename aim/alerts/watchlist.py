"""The watch list and its notifications.

An entry names a person, the owning team, a reason and a review date; it expires after the review date unless
renewed. New activity reported on a watched person (a record linked to them after they were added) notifies the
owning team. A notification's text carries no personal data: person id, partner, date and category only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection

from aim.clock import Clock, local_today
from aim.errors import NotFoundError
from aim.rules import store
from aim.rules.errors import LifecycleConflictError, LifecycleError
from aim.storage.database import Database
from aim.storage.rules_tables import notifications, watchlist
from aim.storage.tables import links, partners, persons, records
from aim.vocabulary import default_vocabulary


@dataclass(frozen=True)
class WatchEntry:
    pk: int
    person_pk: int
    team: str
    reason: str
    review_date: date
    status: str
    added_by: str
    added_at: datetime
    end_reason: str | None


@dataclass(frozen=True)
class Notification:
    pk: int
    team: str
    person_pk: int
    partner: str
    interaction_date: date
    category: str
    text: str
    created_at: datetime
    read: bool


class WatchlistService:
    def __init__(self, *, database: Database, clock: Clock, zone: ZoneInfo) -> None:
        self._db = database
        self._clock = clock
        self._zone = zone

    def today(self) -> date:
        return local_today(self._clock, self._zone)

    def add(
        self, *, person_pk: int, team: str, reason: str, review_date: date, actor: str, alert_pk: int | None = None
    ) -> WatchEntry:
        """Watch a person for ``team`` until ``review_date``; one active entry per person and team."""
        self._check(team=team, reason=reason, review_date=review_date)
        with self._db.write() as conn:
            if conn.execute(select(persons.c.pk).where(persons.c.pk == person_pk)).first() is None:
                raise NotFoundError(f"no person {person_pk}: give a person id from an alert or a search")
            active = conn.execute(
                select(watchlist.c.pk).where(
                    watchlist.c.person_pk == person_pk, watchlist.c.team == team, watchlist.c.status == "active"
                )
            ).first()
            if active is not None:
                raise LifecycleConflictError(
                    f"person {person_pk} is already on {team}'s watch list (entry {active[0]}): renew it"
                )
            pk = conn.execute(
                insert(watchlist)
                .values(
                    person_pk=person_pk,
                    team=team,
                    reason=reason.strip(),
                    review_date=review_date,
                    status="active",
                    added_by=actor,
                    added_at=self._clock.now(),
                    alert_pk=alert_pk,
                )
                .returning(watchlist.c.pk)
            ).scalar_one()
            return _entry(self._row(conn, pk))

    def renew(self, *, entry_pk: int, review_date: date, actor: str) -> WatchEntry:
        if review_date <= self.today():
            raise LifecycleError(f"review date {review_date} is not in the future: give a date after {self.today()}")
        return self._change(entry_pk, {"review_date": review_date, "renewed_at": self._clock.now()}, allow_expired=True)

    def remove(self, *, entry_pk: int, reason: str, actor: str) -> WatchEntry:
        if not reason or not reason.strip():
            raise LifecycleError("a reason is required to remove a person from the watch list")
        now = self._clock.now()
        return self._change(
            entry_pk, {"status": "removed", "ended_at": now, "ended_by": actor, "end_reason": reason.strip()}
        )

    def list_entries(
        self, *, team: str | None = None, status: str | None = "active", limit: int = 50, offset: int = 0
    ) -> tuple[list[WatchEntry], int]:
        conditions = []
        if team is not None:
            conditions.append(watchlist.c.team == team)
        if status is not None:
            conditions.append(watchlist.c.status == status)
        with self._db.read() as conn:
            total = conn.execute(select(func.count()).select_from(watchlist).where(*conditions)).scalar_one()
            rows = conn.execute(
                select(watchlist).where(*conditions).order_by(watchlist.c.pk.desc()).limit(limit).offset(offset)
            ).mappings()
            return [_entry(r) for r in rows], total

    def get(self, *, entry_pk: int) -> WatchEntry:
        with self._db.read() as conn:
            return _entry(self._row(conn, entry_pk))

    def expire(self, *, today: date | None = None) -> int:
        """Expire active entries whose review date has passed (nightly; safe to re-run)."""
        today = today or self.today()
        with self._db.write() as conn:
            result = conn.execute(
                update(watchlist)
                .where(watchlist.c.status == "active", watchlist.c.review_date < today)
                .values(
                    status="expired", ended_at=self._clock.now(), ended_by="system", end_reason="review date passed"
                )
            )
            return int(result.rowcount or 0)

    def notifications(
        self, *, team: str | None, unread_only: bool = False, limit: int = 50, offset: int = 0
    ) -> tuple[list[Notification], int]:
        conditions = []
        if team is not None:
            conditions.append(notifications.c.team == team)
        if unread_only:
            conditions.append(notifications.c.read_at.is_(None))
        with self._db.read() as conn:
            total = conn.execute(select(func.count()).select_from(notifications).where(*conditions)).scalar_one()
            rows = conn.execute(
                select(notifications).where(*conditions).order_by(notifications.c.pk.desc()).limit(limit).offset(offset)
            ).mappings()
            return [_notification(r) for r in rows], total

    def mark_read(self, *, team: str | None, notification_pks: list[int] | None = None) -> int:
        """Mark the team's notifications read: those given, or every unread one; returns how many changed.

        Raises:
            LifecycleError: no team is named (a staff account without a team must name one).
            NotFoundError: an id given is not one of the team's notifications (nothing is marked).
        """
        if not team:
            raise LifecycleError("name the team whose notifications to mark read: the account has no team")
        conditions = [notifications.c.team == team]
        with self._db.write() as conn:
            if notification_pks is not None:
                wanted = sorted(set(notification_pks))
                mine = select(notifications.c.pk).where(*conditions, notifications.c.pk.in_(wanted))
                found = set(conn.execute(mine).scalars())
                missing = [pk for pk in wanted if pk not in found]
                if missing:
                    raise NotFoundError(
                        f"no notification {', '.join(map(str, missing[:10]))} for team {team}: list the team's "
                        "notifications to find their ids"
                    )
                conditions.append(notifications.c.pk.in_(wanted))
            result = conn.execute(
                update(notifications)
                .where(*conditions, notifications.c.read_at.is_(None))
                .values(read_at=self._clock.now())
            )
            return int(result.rowcount or 0)

    def notify(self, conn: Connection, person_pks: list[int] | None) -> int:
        """Notify owning teams of records linked to watched persons since they were added (idempotent).

        Runs inside the rules run's transaction (its ``after_run`` hook)."""
        conditions = [
            watchlist.c.status == "active",
            records.c.created_at >= watchlist.c.added_at,
            ~select(notifications.c.pk)
            .where(and_(notifications.c.watch_pk == watchlist.c.pk, notifications.c.record_pk == records.c.pk))
            .exists(),
        ]
        statement = (
            select(watchlist.c.pk, watchlist.c.team, watchlist.c.person_pk, records.c.pk, partners.c.code)
            .add_columns(records.c.interaction_date, records.c.flag)
            .select_from(
                watchlist.join(links, links.c.person_pk == watchlist.c.person_pk)
                .join(records, records.c.pk == links.c.record_pk)
                .join(partners, partners.c.pk == records.c.partner_pk)
            )
            .where(*conditions)
        )
        flags = default_vocabulary().flags
        now = self._clock.now()
        rows: list[Any] = []
        if person_pks is None:
            rows = list(conn.execute(statement))
        else:
            for chunk in store.chunks(person_pks):
                rows += list(conn.execute(statement.where(watchlist.c.person_pk.in_(chunk))))
        values = [
            {
                "watch_pk": watch_pk,
                "team": team,
                "person_pk": person_pk,
                "record_pk": record_pk,
                "partner_code": partner,
                "interaction_date": day,
                "category": flags.get(flag, "unknown"),
                "text": notification_text(person_pk, partner, day, flags.get(flag, "unknown")),
                "created_at": now,
            }
            for watch_pk, team, person_pk, record_pk, partner, day, flag in rows
        ]
        if values:
            conn.execute(insert(notifications), values)
        return len(values)

    def _check(self, *, team: str, reason: str, review_date: date) -> None:
        problems = []
        if not team or not team.strip() or len(team) > 64:
            problems.append(f"team {team!r} must name the owning team (1-64 characters)")
        if not reason or not reason.strip():
            problems.append("a reason is required: say why the person is watched")
        elif len(reason) > 500:
            problems.append(f"the reason has {len(reason)} characters: keep it to 500")
        if review_date <= self.today():
            problems.append(f"review date {review_date} is not in the future: give a date after {self.today()}")
        if problems:
            raise LifecycleError("cannot add to the watch list: " + "; ".join(problems))

    def _change(self, entry_pk: int, values: dict[str, Any], *, allow_expired: bool = False) -> WatchEntry:
        allowed = ("active", "expired") if allow_expired else ("active",)
        with self._db.write() as conn:
            row = self._row(conn, entry_pk)
            if row["status"] not in allowed:
                raise LifecycleConflictError(
                    f"watch-list entry {entry_pk} is {row['status']}: only {' or '.join(allowed)} ones"
                )
            if allow_expired:
                values = {**values, "status": "active", "ended_at": None, "ended_by": None, "end_reason": None}
            conn.execute(update(watchlist).where(watchlist.c.pk == entry_pk).values(**values))
            return _entry(self._row(conn, entry_pk))

    def _row(self, conn: Connection, entry_pk: int) -> Any:
        row = conn.execute(select(watchlist).where(watchlist.c.pk == entry_pk)).mappings().first()
        if row is None:
            raise NotFoundError(f"no watch-list entry {entry_pk}")
        return row


def notification_text(person_pk: int, partner: str, day: date, category: str) -> str:
    """The only words a notification carries: person id, partner, date, category."""
    return f"New activity on watched person {person_pk}: {partner} on {day.isoformat()} ({category})"


def _entry(row: Any) -> WatchEntry:
    return WatchEntry(
        pk=row["pk"],
        person_pk=row["person_pk"],
        team=row["team"],
        reason=row["reason"],
        review_date=row["review_date"],
        status=row["status"],
        added_by=row["added_by"],
        added_at=row["added_at"],
        end_reason=row["end_reason"],
    )


def _notification(row: Any) -> Notification:
    return Notification(
        pk=row["pk"],
        team=row["team"],
        person_pk=row["person_pk"],
        partner=row["partner_code"],
        interaction_date=row["interaction_date"],
        category=row["category"],
        text=row["text"],
        created_at=row["created_at"],
        read=row["read_at"] is not None,
    )
