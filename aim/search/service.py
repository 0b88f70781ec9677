"""The hub's search service: ``search_persons`` (encoded query in, persons ranked with a band out), ``person`` and
``timeline``. What leaves it is public: partners, dates, flags masked by the request's visible categories, lead
contacts and confidence bands; never an encoding, a weight or a score.

Restricted subjects (``restricted_persons``) are left out of search results unless the policy lets the request's
role see them; a person view or timeline of one is decided by the access dependency itself (it knows the person).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from aim.access.service import Access
from aim.clock import Clock
from aim.errors import NotFoundError
from aim.identity.candidates import DETERMINISTIC_RULES
from aim.identity.model_file import load_model
from aim.search import matching
from aim.search.index import SearchIndex
from aim.search.query import EncodedQuery, check_query
from aim.search.views import (
    CONFIRMED,
    FIRST_RECORD,
    POSSIBLE,
    STRONG,
    Interaction,
    PartnerActivity,
    PersonSummary,
    SearchResult,
    TimelinePage,
)
from aim.storage.database import Database
from aim.storage.governance_tables import restricted_persons
from aim.storage.tables import links, partners, persons, records
from aim.vocabulary import default_vocabulary
from governance import AccessRequest, PolicyDecider, Resource, mask_flag
from linkage.model import LinkageModel

MAX_RESULTS = 50
_CONFIRMED_METHODS = {"deterministic_local_id", "deterministic_nhs", "steward"}


class SearchService:
    """Search, person view and timeline over one hub."""

    def __init__(self, *, database: Database, clock: Clock, decider: PolicyDecider, model_path: str = "") -> None:
        self._db = database
        self._clock = clock
        self._decider = decider
        self._model_path = model_path
        self._model: LinkageModel | None = None
        self._index: SearchIndex | None = None
        self._counts = matching.TermCounts()
        self._counted_to = -1

    @property
    def model(self) -> LinkageModel:
        if self._model is None:
            self._model = load_model(self._model_path)
        return self._model

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            rules = (*self.model.blocking, *DETERMINISTIC_RULES)
            self._index = SearchIndex(database=self._db, clock=self._clock, rules=rules)
        return self._index

    def refresh(self, *, wait: bool = True, through: int | None = None) -> int:
        """Bring the read model up to date now (otherwise the next search does), up to change ``through`` if given;
        returns the records filed.

        A search, once the read model is built, files only changes identity resolution has linked (``through`` its
        cursor): the records of later ones are not linked to a person it could show, and the linking files them
        itself, before each of its parts (a feed large for its hub is linked in one go without filing, and the next
        search files it). And it does not ``wait``: while another writer holds the database (SQLite) the read model
        is left as it is, so a search never queues behind a feed's commit (see :meth:`SearchIndex.refresh`).
        """
        filed = self.index.refresh(wait=wait, through=through)
        if filed:
            self._counts.invalidate()
        return filed

    def search_persons(self, *, query: EncodedQuery, access: Access, limit: int = 10) -> SearchResult:
        """Persons matching an encoded query, best first, each with a band and an activity summary.

        Raises:
            QueryError: the query is not valid or too thin to search with.
        """
        check_query(query)
        if self.index.behind():
            if not self.index.built:
                self.refresh()  # the first build (or a rebuild for new rules): nothing to search without it
            elif self.index.unfiled_links:
                self.refresh(wait=False, through=self.index.linked_to)
        if self._counted_to != self.index.current_to:  # records changed, filed here or by identity resolution
            self._counts.invalidate()
            self._counted_to = self.index.current_to
        limit = max(1, min(limit, MAX_RESULTS))
        with self._db.read() as conn:
            found = matching.find_matches(
                conn, model=self.model, rules=self.index.rules, query=query, counts=self._counts
            )
            best: dict[int, str] = {}
            for match in found:  # best first, so a person's first match is their best
                best.setdefault(match.person_pk, match.band)
            hidden = set() if self._may_see_restricted(access) else _restricted(conn, best)
            ranked = [pk for pk in best if pk not in hidden]
            shown = ranked[:limit]
            summaries = _summaries(conn, shown, access.visible_categories)
        persons_out = tuple(dataclasses.replace(summaries[pk], band=best[pk]) for pk in shown if pk in summaries)
        return SearchResult(persons=persons_out, total=len(ranked))

    def person(self, *, person_id: int, access: Access) -> PersonSummary:
        """One person's activity summary, per partner.

        Raises:
            NotFoundError: no such person, or it was merged into another (the message names which).
        """
        with self._db.read() as conn:
            _check_person(conn, person_id)
            summary = _summaries(conn, [person_id], access.visible_categories).get(person_id)
        if summary is None:
            raise NotFoundError(f"person {person_id} has no interactions held: search again")
        return summary

    def timeline(self, *, person_id: int, access: Access, limit: int = 50, offset: int = 0) -> TimelinePage:
        """A page of one person's interactions, newest first.

        Raises:
            NotFoundError: no such person, or it was merged into another.
        """
        upper = self.model.thresholds.upper
        with self._db.read() as conn:
            _check_person(conn, person_id)
            rows = _person_rows(conn, [person_id])
        rows.sort(key=lambda r: (r.interaction_date, r.pk), reverse=True)
        items = tuple(
            Interaction(
                partner=r.code,
                partner_name=r.name,
                interaction_date=r.interaction_date,
                flag=_mask(r.flag, access.visible_categories),
                lead_contact=r.lead_contact,
                confidence=_link_band(r.method, r.weight, upper),
            )
            for r in rows[offset : offset + limit]
        )
        return TimelinePage(person_id=person_id, items=items, total=len(rows), limit=limit, offset=offset)

    def _may_see_restricted(self, access: Access) -> bool:
        """Whether the policy would allow this request for a restricted subject (the policy's named roles)."""
        probe: AccessRequest = dataclasses.replace(access.request, resource=Resource(person_id=None, restricted=True))
        return self._decider.decide(probe).allowed


def _mask(flag: str, visible: frozenset[str]) -> str | None:
    category = default_vocabulary().flags.get(flag, "unknown")
    return mask_flag(flag, category, visible)


def _link_band(method: str, weight: float | None, upper: float) -> str:
    if method in _CONFIRMED_METHODS:
        return CONFIRMED
    if method == "singleton":
        return FIRST_RECORD
    return STRONG if weight is None or weight >= upper else POSSIBLE


def _check_person(conn: Connection, person_id: int) -> None:
    row = conn.execute(select(persons.c.merged_into).where(persons.c.pk == person_id)).first()
    if row is None:
        raise NotFoundError(f"no person {person_id}: search again for the current person id")
    if row.merged_into is not None:
        raise NotFoundError(f"person {person_id} was merged into person {row.merged_into}: view that person")


def _restricted(conn: Connection, person_pks: Iterable[int]) -> set[int]:
    wanted = list(person_pks)
    if not wanted:
        return set()
    query = select(restricted_persons.c.person_pk).where(restricted_persons.c.person_pk.in_(wanted))
    return {int(pk) for pk in conn.execute(query).scalars()}


def _person_rows(conn: Connection, person_pks: Sequence[int]) -> list[Any]:
    if not person_pks:
        return []
    query = (
        select(
            links.c.person_pk,
            links.c.method,
            links.c.weight,
            records.c.pk,
            records.c.flag,
            records.c.interaction_date,
            records.c.lead_contact,
            partners.c.code,
            partners.c.name,
        )
        .select_from(links.join(records, records.c.pk == links.c.record_pk))
        .join(partners, partners.c.pk == records.c.partner_pk)
        .where(links.c.person_pk.in_(list(person_pks)))
    )
    return list(conn.execute(query))


def _summaries(conn: Connection, person_pks: Sequence[int], visible: frozenset[str]) -> dict[int, PersonSummary]:
    by_person: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for row in _person_rows(conn, person_pks):
        by_person[int(row.person_pk)][row.code].append(row)
    out = {}
    for pk, by_partner in by_person.items():
        activity = []
        for code, rows in by_partner.items():
            rows.sort(key=lambda r: (r.interaction_date, r.pk))
            latest = rows[-1]
            activity.append(
                PartnerActivity(
                    partner=code,
                    partner_name=latest.name,
                    interactions=len(rows),
                    first_date=rows[0].interaction_date,
                    last_date=latest.interaction_date,
                    latest_flag=_mask(latest.flag, visible),
                    lead_contact=latest.lead_contact,
                )
            )
        activity.sort(key=lambda a: (a.last_date, a.partner), reverse=True)
        dates: list[date] = [a.first_date for a in activity] + [a.last_date for a in activity]
        out[pk] = PersonSummary(
            person_id=pk,
            band=None,
            interactions=sum(a.interactions for a in activity),
            partners_count=len(activity),
            first_date=min(dates),
            last_date=max(dates),
            partners=tuple(activity),
        )
    return out
