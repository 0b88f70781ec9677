"""The data steward's review queue: pending pairs with per-field agreement levels, accept or reject; split a person;
undo a merge or a split. Every change is an event in ``identity_events`` and can itself be undone.

What leaves this module for a screen is :meth:`PendingPair.to_public`: partners, record references, dates, flags
masked by the categories the request may see (a steward judging a link needs neither), person ids, a confidence
band and the level labels. Never an encoding, never a weight.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from aim.clock import Clock
from aim.errors import InputError, NotFoundError
from aim.identity import pairs, store
from aim.identity.errors import IdentityBusyError
from aim.identity.resolver import LOCK
from aim.storage.database import Database
from aim.storage.identity_tables import identity_events, review_pairs
from aim.storage.tables import links, partners, persons, records
from aim.vocabulary import default_vocabulary
from governance import mask_flag
from linkage.model import LinkageModel


@dataclass(frozen=True)
class RecordRef:
    """One side of a pair as the steward sees it."""

    partner: str
    record_id: str
    flag: str
    interaction_date: date
    person_id: int | None


@dataclass(frozen=True)
class PendingPair:
    pair_id: int
    a: RecordRef
    b: RecordRef
    levels: tuple[tuple[str, str], ...]
    band: str

    def to_public(self, visible: frozenset[str]) -> dict[str, Any]:
        """The pair for a screen or an API response; a flag whose category is not in ``visible`` is ``None``."""
        flags = default_vocabulary().flags
        return {
            "pair_id": self.pair_id,
            "records": [
                {
                    "partner": ref.partner,
                    "record_id": ref.record_id,
                    "flag": mask_flag(ref.flag, flags.get(ref.flag, "unknown"), visible),
                    "interaction_date": ref.interaction_date.isoformat(),
                    "person_id": ref.person_id,
                }
                for ref in (self.a, self.b)
            ],
            "agreement": [{"field": name, "level": level} for name, level in self.levels],
            "confidence": self.band,
        }


@dataclass(frozen=True)
class Queue:
    """A page of the queue: the oldest pending pairs and how many are pending in all."""

    items: list[PendingPair]
    total: int


@dataclass(frozen=True)
class Change:
    """What a steward's action did: the event written and the persons involved."""

    event_id: int | None
    person_id: int
    other_person_id: int | None


class ReviewService:
    """The steward's actions; each runs in one write transaction under the resolver's lock."""

    def __init__(self, *, database: Database, clock: Clock, model: LinkageModel) -> None:
        self._db = database
        self._clock = clock
        self._model = model

    def _locked(self, conn: Connection) -> None:
        if not self._db.try_lock(conn, LOCK):
            raise IdentityBusyError("identity resolution is running: retry when it has finished")

    def pending(self, *, limit: int = 100) -> list[PendingPair]:
        """The oldest pending pairs first."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(review_pairs).where(review_pairs.c.status == "pending").order_by(review_pairs.c.pk).limit(limit)
            ).mappings()
            items = list(rows)
            refs = _refs(conn, [r["record_a_pk"] for r in items] + [r["record_b_pk"] for r in items])
        return [
            PendingPair(
                pair_id=r["pk"],
                a=refs[r["record_a_pk"]],
                b=refs[r["record_b_pk"]],
                levels=tuple((name, level) for name, level in json.loads(r["levels"] or "[]")),
                band=pairs.band(r["weight"], self._model),
            )
            for r in items
        ]

    def queue(self, *, limit: int = 100) -> Queue:
        """The oldest pending pairs first, with the number pending."""
        with self._db.read() as conn:
            total = conn.execute(
                select(func.count()).select_from(review_pairs).where(review_pairs.c.status == "pending")
            ).scalar_one()
        return Queue(self.pending(limit=limit), int(total))

    def accept(self, *, pair_id: int, actor: str, note: str | None = None) -> Change:
        """Link the pair's records: their persons merge, the older id surviving."""
        with self._db.write() as conn:
            self._locked(conn)
            pair = self._pending(conn, pair_id)
            a, b = pair["record_a_pk"], pair["record_b_pk"]
            self._decide(conn, pair_id, "accepted", actor, note)
            current = store.persons_of(conn, [a, b])
            if a not in current or b not in current:
                raise InputError(f"pair {pair_id}: a record is not linked yet: run 'aim hub link', then accept")
            survivor, absorbed = min(current[a], current[b]), max(current[a], current[b])
            moved_record = b if current[b] == absorbed else a
            conn.execute(update(links).where(links.c.record_pk == moved_record).values(method=pairs.STEWARD))
            if survivor == absorbed:
                return Change(None, survivor, None)
            event = self._merge(conn, survivor, absorbed, actor=actor, reason=f"steward accepted pair {pair_id}")
            return Change(event, survivor, absorbed)

    def reject(self, *, pair_id: int, actor: str, note: str | None = None) -> Change:
        """Keep the pair's records apart, now and in every later run."""
        with self._db.write() as conn:
            self._locked(conn)
            pair = self._pending(conn, pair_id)
            current = store.persons_of(conn, [pair["record_a_pk"], pair["record_b_pk"]])
            a, b = current.get(pair["record_a_pk"]), current.get(pair["record_b_pk"])
            if a is not None and a == b:
                raise InputError(
                    f"pair {pair_id}: both records are already in person {a} through other links: "
                    f"split the person with 'aim hub split {a} --record PARTNER:RECORD_ID' instead"
                )
            self._decide(conn, pair_id, "rejected", actor, note)
            return Change(None, a or 0, b)

    def split(self, *, person_id: int, records: Sequence[tuple[str, str]], actor: str) -> Change:
        """Move ``records`` (``(partner, record_id)``) out of ``person_id`` into a person of their own (restoring
        the person they came from, if they are exactly what a merge brought in); they stay apart from then on."""
        with self._db.write() as conn:
            self._locked(conn)
            pks = _record_pks(conn, records)
            members = store.members_of(conn, [person_id]).get(person_id, [])
            if not members:
                raise NotFoundError(f"person {person_id} has no records: check the id with 'aim hub export-links'")
            outside = sorted(set(pks) - set(members))
            if outside:
                raise InputError(f"{len(outside)} of the records given are not in person {person_id}")
            if set(pks) == set(members):
                raise InputError("a split must leave at least one record in the person: give fewer records")
            return self._split(conn, person_id, pks, members, actor=actor, reason="steward split", reverses=None)

    def undo(self, *, event_id: int, actor: str) -> Change:
        """Reverse a merge (split it back, restoring the absorbed id) or a split (merge the two back)."""
        with self._db.write() as conn:
            self._locked(conn)
            event = conn.execute(select(identity_events).where(identity_events.c.pk == event_id)).mappings().first()
            if event is None:
                raise NotFoundError(f"no identity event {event_id}: list them with 'aim hub review list'")
            if event["reversed_by_pk"] is not None:
                raise InputError(f"event {event_id} was already undone by event {event['reversed_by_pk']}")
            moved = json.loads(event["record_pks"])
            if event["kind"] == "merge":
                survivor = event["person_pk"]
                members = store.members_of(conn, [survivor]).get(survivor, [])
                still = sorted(set(moved) & set(members))
                if not still or set(still) == set(members):
                    raise InputError(f"event {event_id} cannot be undone: its records have moved on since")
                return self._split(
                    conn, survivor, still, members, actor=actor, reason=f"undo merge {event_id}", reverses=event_id
                )
            source, target = event["person_pk"], event["other_person_pk"]
            _forget_split(conn, source, target)
            new_event = self._merge(
                conn,
                min(source, target),
                max(source, target),
                actor=actor,
                reason=f"undo split {event_id}",
                reverses=event_id,
            )
            return Change(new_event, min(source, target), max(source, target))

    def _pending(self, conn: Connection, pair_id: int) -> Any:
        pair = conn.execute(select(review_pairs).where(review_pairs.c.pk == pair_id)).mappings().first()
        if pair is None:
            raise NotFoundError(f"no review pair {pair_id}: list pending pairs with 'aim hub review list'")
        if pair["status"] != "pending":
            raise InputError(f"pair {pair_id} is {pair['status']}, not pending: only pending pairs can be decided")
        return pair

    def _decide(self, conn: Connection, pair_id: int, status: str, actor: str, note: str | None) -> None:
        now = self._clock.now()
        conn.execute(
            update(review_pairs)
            .where(review_pairs.c.pk == pair_id)
            .values(status=status, decided_at=now, decided_by=actor, note=note)
        )

    def _merge(
        self, conn: Connection, survivor: int, absorbed: int, *, actor: str, reason: str, reverses: int | None = None
    ) -> int:
        now = self._clock.now()
        moved = store.members_of(conn, [absorbed]).get(absorbed, [])
        store.move_records(conn, moved, to_person=survivor, reason="merged", now=now)
        store.set_merged_into(conn, absorbed, survivor)
        return store.record_event(
            conn,
            kind="merge",
            person_pk=survivor,
            other_person_pk=absorbed,
            record_pks=moved,
            reason=reason,
            actor=actor,
            model_version=self._model.version,
            now=now,
            reverses_pk=reverses,
        )

    def _split(
        self,
        conn: Connection,
        person_id: int,
        moved: list[int],
        members: list[int],
        *,
        actor: str,
        reason: str,
        reverses: int | None,
    ) -> Change:
        now = self._clock.now()
        target = _restorable(conn, person_id, moved)
        if target is None:
            target = store.new_person(conn, now=now)
        else:
            store.set_merged_into(conn, target, None)
        store.move_records(conn, moved, to_person=target, reason="split", now=now)
        staying = sorted(set(members) - set(moved))
        _keep_apart(conn, moved, staying, actor=actor, now=now)
        event = store.record_event(
            conn,
            kind="split",
            person_pk=person_id,
            other_person_pk=target,
            record_pks=moved,
            reason=reason,
            actor=actor,
            model_version=self._model.version,
            now=now,
            reverses_pk=reverses,
        )
        return Change(event, person_id, target)


def _restorable(conn: Connection, person_id: int, moved: list[int]) -> int | None:
    """The person a merge into ``person_id`` absorbed with exactly ``moved``, if there is one."""
    merges = conn.execute(
        select(identity_events.c.other_person_pk, identity_events.c.record_pks)
        .where(
            identity_events.c.kind == "merge",
            identity_events.c.person_pk == person_id,
            identity_events.c.reversed_by_pk.is_(None),
        )
        .order_by(identity_events.c.pk.desc())
    ).all()
    for absorbed, record_pks in merges:
        if sorted(json.loads(record_pks)) == sorted(moved):
            still_merged = conn.execute(select(persons.c.merged_into).where(persons.c.pk == absorbed)).scalar()
            if still_merged == person_id:
                return int(absorbed)
    return None


def _keep_apart(conn: Connection, moved: list[int], staying: list[int], *, actor: str, now: Any) -> None:
    """Record a rejection between every moved and every staying record, so no later run joins them again."""
    wanted = {(min(a, b), max(a, b)) for a in moved for b in staying}
    existing = {}
    for chunk in store.chunks(sorted({a for a, _ in wanted})):
        for r in conn.execute(
            select(review_pairs.c.pk, review_pairs.c.record_a_pk, review_pairs.c.record_b_pk).where(
                review_pairs.c.record_a_pk.in_(chunk)
            )
        ):
            existing[(r.record_a_pk, r.record_b_pk)] = r.pk
    for key in sorted(wanted):
        values = {"status": "rejected", "decided_at": now, "decided_by": actor, "note": "split"}
        if key in existing:
            conn.execute(update(review_pairs).where(review_pairs.c.pk == existing[key]).values(**values))
        else:
            conn.execute(
                review_pairs.insert().values(
                    record_a_pk=key[0], record_b_pk=key[1], source="split", created_at=now, attempts=1, **values
                )
            )


def _forget_split(conn: Connection, source: int, target: int) -> None:
    """Withdraw the rejections a split recorded between two persons' records (when the split is undone)."""
    members = store.members_of(conn, [source, target])
    a, b = members.get(source, []), members.get(target, [])
    if not a or not b:
        return
    conn.execute(
        update(review_pairs)
        .where(
            review_pairs.c.note == "split",
            or_(
                and_(review_pairs.c.record_a_pk.in_(a), review_pairs.c.record_b_pk.in_(b)),
                and_(review_pairs.c.record_a_pk.in_(b), review_pairs.c.record_b_pk.in_(a)),
            ),
        )
        .values(status="superseded")
    )


def _refs(conn: Connection, record_pks: list[int]) -> dict[int, RecordRef]:
    out: dict[int, RecordRef] = {}
    for chunk in store.chunks(sorted(set(record_pks))):
        query = (
            select(
                records.c.pk,
                partners.c.code,
                records.c.record_id,
                records.c.flag,
                records.c.interaction_date,
                links.c.person_pk,
            )
            .select_from(records.join(partners).outerjoin(links, links.c.record_pk == records.c.pk))
            .where(records.c.pk.in_(chunk))
        )
        for r in conn.execute(query):
            out[r.pk] = RecordRef(r.code, r.record_id, r.flag, r.interaction_date, r.person_pk)
    return out


def _record_pks(conn: Connection, refs: Sequence[tuple[str, str]]) -> list[int]:
    found: list[int] = []
    for partner, record_id in refs:
        pk = conn.execute(
            select(records.c.pk)
            .select_from(records.join(partners))
            .where(partners.c.code == partner, records.c.record_id == record_id)
        ).scalar()
        if pk is None:
            raise NotFoundError(f"no record {record_id} from partner {partner}: give records as PARTNER:RECORD_ID")
        found.append(int(pk))
    return found
