"""Incremental identity resolution: read the record changes after the cursor, link each new or changed record
against every record already known, and keep person ids persistent.

One run, in one write transaction (so a crash changes nothing and a re-run carries on from the same cursor); on a
large hub, in parts of ``PART_SIZE`` (100) changes, each its own transaction with its own cursor (see ``run``), whose
reads (step 3, the scoring of step 4, the records of the persons reached) are done beforehand in a read transaction,
used if nothing they were read from has changed (see ``_Plan``):

1. the changes after the cursor; each touched record is detached from its person (ingest already removed the
   links of changed and deleted records; the open history row says where each was);
2. a person that lost a record is checked again: if what remains no longer holds together (a chain through the
   removed record), it is split, the largest part keeping the id;
3. the changed and new records are blocked against all known records: the hub's blocking-key index (the search
   read model, brought up to date in the same transaction) finds every record sharing a blocking key with them
   (without it, the ``(field, token)`` index finds every record sharing a token on a rule's field), then the
   model's rules decide the candidate pairs;
4. pairs are scored and judged (:mod:`aim.identity.pairs`); link edges, the edges holding existing persons
   together and the chaining guard give the new grouping (:mod:`aim.identity.graph`);
5. each group becomes one person: a group touching one person joins it; touching several merges them, the oldest
   id surviving and the merge recorded; touching none takes the record's former person if it is now empty, or a
   new id. Pairs between the thresholds go to the review queue.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aim.clock import Clock
from aim.identity import pairs, store
from aim.identity.candidates import DETERMINISTIC_RULES, BlockingIndex, anchors, filed_candidates
from aim.identity.errors import IdentityBusyError
from aim.identity.graph import Scorer, regroup, steward_decisions
from aim.storage.database import Database
from aim.storage.records import changes_after, latest_change
from aim.storage.tables import record_changes
from linkage.batch import RecordBatch
from linkage.blocking import block
from linkage.fellegi_sunter import TermFrequencies
from linkage.model import LinkageModel
from linkage.scoring import ScoredPairs, score_pairs, tf_fields

LOCK = "identity-resolution"
STRONG_EDGE = 1e6
# New records up to which candidates are looked up by token; more, and every linked record is read (_candidates).
LOOKUP_LIMIT = 2_000
# Candidates come by blocking key once the hub holds this many linked records for each new one. Filing the new
# records first costs about as much as linking them into a small hub; past this, lookups by token (which grow with
# the hub) cost far more. Below it the read model is left for the next search to bring up to date.
KEYED_FROM = 10
# Changes linked in one transaction when a run finds its candidates by blocking key (see run()); their reads are done
# before it, so a search's audit entry waits for the writing alone (a few hundredths of a second on a million records).
PART_SIZE = 100
Frequencies = Mapping[str, TermFrequencies]


@dataclass
class LinkRun:
    """What one run did."""

    changes: int = 0
    records_linked: int = 0
    records_unlinked: int = 0
    new_persons: int = 0
    joined: int = 0
    merges: int = 0
    splits: int = 0
    reviews_queued: int = 0
    candidate_pairs: int = 0
    cursor: int = 0
    parts: int = 0  # transactions the run committed (one, unless a large hub's changes were linked in parts)
    methods: dict[str, int] = field(default_factory=dict)


class _Stale(Exception):
    """Pairs read beforehand no longer hold: a candidate's link has gone since (a purge)."""


@dataclass(frozen=True)
class _Pairs:
    """The records to link, their candidates and the scored candidate pairs (rows of ``combined``: the new records,
    then the candidates). ``person_of_known`` is ``None`` when they were read before the part's transaction."""

    new: store.Loaded
    known: store.Loaded
    person_of_known: dict[int, int] | None
    combined: RecordBatch
    combined_pks: NDArray[np.int64]
    scored: ScoredPairs
    held: store.Loaded | None = None  # read beforehand: the records of the persons the pairs judged links reach


@dataclass(frozen=True)
class _Plan:
    """A part's pairs read before its write transaction, with what they were read at: identity resolution's cursor
    and the last record change. They stand while both are the same (no other run linked, no commit changed a record)
    and the part's records are the same; a purge meanwhile (which adds no change) is found by the candidates whose
    link is gone."""

    cursor: int
    latest: int
    pairs: _Pairs


class IdentityResolver:
    """Links the hub's records into persons; see the module docstring."""

    def __init__(
        self,
        *,
        database: Database,
        clock: Clock,
        model: LinkageModel,
        lookup_limit: int = LOOKUP_LIMIT,
        index: BlockingIndex | None = None,
        keyed_from: int = KEYED_FROM,
        part_size: int | None = PART_SIZE,
    ) -> None:
        self._db = database
        self._clock = clock
        self.model = model
        self.lookup_limit = lookup_limit
        self.index = index
        self.keyed_from = keyed_from
        self.part_size = part_size
        self._counted: tuple[int, Frequencies] | None = None

    def run(self) -> LinkRun:
        """Process every change after the cursor; a run with nothing to do changes nothing.

        On a large hub the changes are linked in parts of ``part_size`` (see :meth:`_part`), each its own
        transaction, so that other writers (a search's audit entry) wait for one part, not the whole run. A crash
        keeps the parts already committed; a re-run carries on from the cursor with the same parts.

        Raises:
            IdentityBusyError: another run holds the lock (PostgreSQL; SQLite serialises writers anyway).
        """
        report = LinkRun()
        in_parts: bool | None = None  # decided once: a run in parts stays in parts (linked records only grow)
        while True:
            in_parts = self._before_part(in_parts)
            plan = self._plan() if in_parts else None
            with self._db.write() as conn:
                if not self._db.try_lock(conn, LOCK):
                    if report.parts:
                        return report  # another run took over between two parts and carries on from our cursor
                    raise IdentityBusyError("identity resolution is already running: retry when it has finished")
                more = self._run(conn, report, plan)
            if not more:
                return report

    def _before_part(self, in_parts: bool | None) -> bool:
        """What a part would otherwise do first inside its write transaction, done before it so that other writers
        (on SQLite every writer, a search's audit entry too) do not wait for it: the term totals are counted in a
        read and, for a run in parts (each finding its candidates by blocking key), the records changed since the
        read model's cursor are filed in small transactions of their own. The part files whatever changed in
        between, and counts again only if records changed meanwhile. (A run in one go, a feed large for its hub,
        reads every linked record instead and leaves the read model to the search.)"""
        with self._db.read() as conn:
            self._frequencies(conn)
            if in_parts is None:
                in_parts = self._part(conn, store.cursor(conn)) is not None
        index = self._keyed_index() if in_parts else None
        if index is not None:
            index.catch_up()
        return in_parts

    def _keyed_index(self) -> BlockingIndex | None:
        """The blocking-key index, if it files records under this model's blocking rules (else it cannot be used)."""
        if self.index is not None and tuple(self.index.rules) == (*self.model.blocking, *DETERMINISTIC_RULES):
            return self.index
        return None

    def _plan(self) -> _Plan | None:
        """A part's reads, done in a read transaction before its write transaction: the records to link, their
        candidates (by blocking key), the scored pairs and the records of the persons they reach: most of a part's
        time on a large hub. ``None`` when the part would not find its candidates by blocking key, or the read model
        is not filed up to date."""
        index = self._keyed_index()
        if index is None or self.part_size is None:
            return None
        with self._db.read() as conn:
            # What the reads are checked against, read first: on PostgreSQL each statement of a read transaction sees
            # what was committed before it, so a commit during the reads leaves the part to read them again.
            cursor, latest = store.cursor(conn), latest_change(conn)
            if not index.filed_through(conn):
                return None
            # a part, or the rest when no more than a part is left (the transaction then takes all there is)
            part = self._part(conn, cursor) or self.part_size
            changes = changes_after(conn, after_seq=cursor, limit=part)
            touched = {int(c["record_pk"]) for c in changes if c["record_pk"] is not None}
            new = store.load_records(conn, store.existing(conn, touched))
            if not len(new.pks) or store.linked_count(conn) < self.keyed_from * len(new.pks):
                return None
            known, _ = filed_candidates(conn, index, new)
            frequencies = self._frequencies(conn)
            planned = self._pairs(new, known, None, frequencies)
            try:
                _, verdicts, person_of_known = self._judged(conn, None, frequencies, planned)
            except _Stale:
                return None
            linked_to = planned.scored.j[verdicts.link]
            reached = {person_of_known[int(planned.combined_pks[x])] for x in linked_to if x >= len(new.pks)}
            members = store.members_of(conn, reached)
            held = store.load_records(conn, sorted({pk for pks in members.values() for pk in pks}))
        return _Plan(cursor, latest, dataclasses.replace(planned, held=held))

    def _part(self, conn: Connection, after_seq: int) -> int | None:
        """How many changes this transaction takes: ``None`` (all of them), unless there are more than
        ``part_size`` and every one will find its candidates by blocking key (the hub holds ``keyed_from`` linked
        records for each: see :meth:`_candidates`). Decided from the database alone, so a re-run after a crash cuts
        the same parts: the linked records only grow and the changes left only shrink."""
        if self.index is None or self.part_size is None:
            return None
        pending = conn.execute(
            select(func.count()).select_from(record_changes).where(record_changes.c.seq > after_seq)
        ).scalar_one()
        if pending <= self.part_size or store.linked_count(conn) < self.keyed_from * pending:
            return None
        return self.part_size

    def _run(self, conn: Connection, report: LinkRun, plan: _Plan | None = None) -> bool:
        """Link one part of the changes into ``report``; True if changes are left after it. ``plan`` (the part's
        pairs, read beforehand) is used only if nothing it was read from has changed since."""
        report.cursor = store.cursor(conn)
        if plan is not None and (plan.cursor, plan.latest) != (report.cursor, latest_change(conn)):
            plan = None  # another run linked, or a commit changed records, since it was read
        part = self._part(conn, report.cursor)
        touched: set[int] = set()
        taken = 0
        while part is None or taken < part:
            page = 50_000 if part is None else min(50_000, part - taken)
            batch = changes_after(conn, after_seq=report.cursor, limit=page)
            if not batch:
                break
            taken += len(batch)
            report.cursor = int(batch[-1]["seq"])
            touched.update(int(c["record_pk"]) for c in batch if c["record_pk"] is not None)
        if not taken:
            return False
        report.changes += taken
        report.parts += 1
        now = self._clock.now()
        present = store.existing(conn, touched)
        gone = sorted(touched - present)
        previous = store.detach(conn, gone, reason="deleted", now=now)
        report.records_unlinked += len(previous)
        previous.update(store.detach(conn, sorted(present), reason="changed", now=now))
        store.supersede_reviews(conn, sorted(present), now=now)
        frequencies = self._frequencies(conn)
        self._recheck(conn, set(previous.values()), frequencies, report)
        if present:
            planned = plan.pairs if plan is not None and plan.pairs.new.pks.tolist() == sorted(present) else None
            self._link(conn, sorted(present), previous, frequencies, report, planned=planned)
        store.set_cursor(conn, report.cursor, model_version=self.model.version, now=now)
        return part is not None and bool(changes_after(conn, after_seq=report.cursor, limit=1))

    def _frequencies(self, conn: Connection) -> Frequencies:
        """The term frequencies over every record, counted again only when records have changed since (the parts
        of one run share them: counting takes a few tenths of a second on a hub of a million records)."""
        latest = latest_change(conn)
        if self._counted is None or self._counted[0] != latest:
            self._counted = (latest, store.term_frequencies(conn, tf_fields(self.model)))
        return self._counted[1]

    def _recheck(self, conn: Connection, persons: set[int], frequencies: Frequencies, report: LinkRun) -> None:
        """Split a person whose remaining records no longer hold together."""
        for person, members in sorted(store.members_of(conn, persons).items()):
            if len(members) < 2:
                continue
            nodes = store.load_records(conn, members)
            scorer = Scorer(conn, self.model, nodes, frequencies)
            a, b = np.triu_indices(len(nodes.pks), k=1)
            a, b = a.astype(np.int64), b.astype(np.int64)
            scored, verdicts = scorer.judge(a, b)
            keep = verdicts.link
            labels = regroup(scorer, np.full(len(nodes.pks), -1), a[keep], b[keep], scored.weight[keep])
            groups = _groups(labels)
            if len(groups) < 2:
                continue
            groups.sort(key=lambda g: (-len(g), int(nodes.pks[g].min())))
            for group in groups[1:]:
                moved = nodes.pks[group].tolist()
                target = store.new_person(conn, now=self._clock.now())
                store.move_records(conn, moved, to_person=target, reason="split", now=self._clock.now())
                store.record_event(
                    conn,
                    kind="split",
                    person_pk=person,
                    other_person_pk=target,
                    record_pks=moved,
                    reason="a record that held this person together was corrected or deleted",
                    actor="resolver",
                    model_version=self.model.version,
                    now=self._clock.now(),
                )
                report.splits += 1

    def _candidates(self, conn: Connection, new: store.Loaded) -> tuple[store.Loaded, dict[int, int]]:
        """The known (linked) records that may pair with ``new``, and their persons.

        With the hub's blocking-key index (brought up to date first, in this transaction), once the hub holds
        ``keyed_from`` linked records for each new one: exactly the records that share a blocking key with a new
        record, a few for each however large the hub. Otherwise a few new records look theirs up by token; past
        ``lookup_limit`` new records every linked record is read instead: an anchor such as a first name is shared
        by a share of the whole hub, so the lookups would read about (new records) x (hub records per name), which
        overtakes one pass over the hub at a few thousand new records and grows with the square of the hub. All
        three give the same candidate pairs: a record in a block with a new record is filed under the block's key,
        and shares the block's anchor token with it.
        """
        rules = (*self.model.blocking, *DETERMINISTIC_RULES)
        index = self._keyed_index()
        if (
            index is not None
            and store.linked_count(conn) >= self.keyed_from * len(new.pks)
            and index.file_in(conn) is not None
        ):
            return filed_candidates(conn, index, new)
        looked_up = anchors(rules)
        if looked_up is None or len(new.pks) > self.lookup_limit:
            linked, person_of_linked = store.load_linked(conn)
            rows = np.flatnonzero(~np.isin(linked.pks, new.pks))  # none should be linked yet; never pair with itself
            return store.Loaded(linked.pks[rows], linked.batch.take(rows)), person_of_linked
        pool = store.records_sharing(conn, new.pks.tolist(), looked_up)
        pool -= set(new.pks.tolist())
        person_of = store.persons_of(conn, pool)
        return store.load_records(conn, person_of), person_of

    def _pairs(
        self, new: store.Loaded, known: store.Loaded, person_of_known: dict[int, int] | None, frequencies: Frequencies
    ) -> _Pairs:
        """The candidate pairs the blocking rules find between ``new`` and ``new`` + ``known``, scored."""
        model = self.model
        combined = RecordBatch.concat([new.batch, known.batch])
        combined_pks = np.concatenate([new.pks, known.pks])
        found = block(
            (*model.blocking, *DETERMINISTIC_RULES), new.batch, combined, max_block_pairs=model.max_block_pairs
        )
        keep = (found.j >= len(new.pks)) | (new.pks[found.i] < combined_pks[found.j])
        i, j = found.i[keep], found.j[keep]
        scored = score_pairs(model, new.batch, combined, i, j, frequencies=frequencies)
        return _Pairs(new, known, person_of_known, combined, combined_pks, scored)

    def _judged(
        self, conn: Connection, new_pks: list[int] | None, frequencies: Frequencies, planned: _Pairs | None
    ) -> tuple[_Pairs, pairs.Verdicts, dict[int, int]]:
        """The part's scored pairs (read here unless ``planned``), the verdict on each under the steward's decisions,
        and the person of each known record in a pair judged a link (and, for pairs read beforehand, a review).

        Raises:
            _Stale: a candidate of ``planned`` is no longer linked and ``new_pks`` is ``None`` (while planning), so
                the pairs cannot be read again here.
        """
        if planned is None:
            assert new_pks is not None, "pairs to judge, or the records to read them for"
            new = store.load_records(conn, new_pks)
            planned = self._pairs(new, *self._candidates(conn, new), frequencies)
        new, scored, combined_pks = planned.new, planned.scored, planned.combined_pks
        decisions = steward_decisions(conn, new.pks[scored.i], combined_pks[scored.j])
        verdicts = pairs.judge(self.model, new.batch, planned.combined, scored, decisions)
        if planned.person_of_known is not None:
            return planned, verdicts, planned.person_of_known
        wanted = {int(combined_pks[x]) for x in scored.j[verdicts.link | verdicts.review] if x >= len(new.pks)}
        person_of_known = store.persons_of(conn, wanted)
        if len(person_of_known) < len(wanted):  # purged since the pairs were read: read them again, here
            if new_pks is None:
                raise _Stale
            return self._judged(conn, new_pks, frequencies, None)
        return planned, verdicts, person_of_known

    def _link(
        self,
        conn: Connection,
        new_pks: list[int],
        previous: dict[int, int],
        frequencies: Frequencies,
        report: LinkRun,
        *,
        planned: _Pairs | None = None,
    ) -> None:
        model = self.model
        planned, verdicts, person_of_known = self._judged(conn, new_pks, frequencies, planned)
        new, scored, combined_pks = planned.new, planned.scored, planned.combined_pks
        n_new = len(new.pks)
        i, j = scored.i, scored.j
        report.candidate_pairs += len(i)

        # The nodes: the new records, then every record of each person a link edge reaches.
        reached = {person_of_known[int(combined_pks[x])] for x in j[verdicts.link] if x >= n_new}
        members = store.members_of(conn, reached)
        held = _held(conn, sorted({pk for pks in members.values() for pk in pks}), planned.held)
        nodes = store.Loaded(np.concatenate([new.pks, held.pks]), RecordBatch.concat([new.batch, held.batch]))
        index = {int(pk): n for n, pk in enumerate(nodes.pks)}
        person_of_node = np.full(len(nodes.pks), -1, dtype=np.int64)
        for person, pks in members.items():
            for pk in pks:
                person_of_node[index[pk]] = person
        link_rows = np.flatnonzero(verdicts.link)
        edge_a = np.array([index[int(new.pks[i[r]])] for r in link_rows], dtype=np.int64)
        edge_b = np.array([index[int(combined_pks[j[r]])] for r in link_rows], dtype=np.int64)
        # Deterministic and steward edges are kept before any probabilistic one when the guard rebuilds a group.
        strong = np.isin(
            verdicts.method[link_rows], [pairs.DETERMINISTIC_LOCAL, pairs.DETERMINISTIC_NHS, pairs.STEWARD]
        )
        edge_w = scored.weight[link_rows] + np.where(strong, STRONG_EDGE, 0.0)
        scorer = Scorer(conn, model, nodes, frequencies)
        labels = regroup(scorer, person_of_node, edge_a, edge_b, edge_w)

        best = _best_edges(labels, edge_a, edge_b, scored.weight[link_rows], verdicts.method[link_rows])
        free = store.empty_unmerged(conn, (previous[pk] for pk in new_pks if pk in previous))
        placed: list[tuple[list[int], int | None, bool]] = []
        for group in _groups(labels):
            persons_here = sorted({int(p) for p in person_of_node[group] if p >= 0})
            fresh = [int(x) for x in group if person_of_node[x] < 0]
            survivor = self._survivor(
                conn, persons_here=persons_here, fresh=fresh, nodes=nodes, previous=previous, free=free, report=report
            )
            placed.append((fresh, survivor, bool(persons_here)))
        # Groups that become a new person get theirs in one statement (a first load makes hundreds of thousands).
        created = iter(store.new_persons(conn, sum(s is None for _, s, _ in placed), now=self._clock.now()))
        made: list[store.NewLink] = []
        for members_fresh, maybe_survivor, joined in placed:
            survivor = next(created) if maybe_survivor is None else maybe_survivor
            for x in members_fresh:
                method, weight = best.get(x, (pairs.SINGLETON, None))
                conf = None if weight is None else float(pairs.confidence(np.array([weight]))[0])
                made.append(store.NewLink(int(nodes.pks[x]), survivor, method, weight, conf))
                report.methods[method] = report.methods.get(method, 0) + 1
                if joined:
                    report.joined += 1
        store.insert_links(conn, made, model_version=model.version, now=self._clock.now())
        report.records_linked += len(made)
        final_person = {link.record_pk: link.person_pk for link in made}
        self._queue(
            conn,
            new=new,
            combined_pks=combined_pks,
            scored=scored,
            verdicts=verdicts,
            final_person=final_person,
            report=report,
        )

    def _survivor(
        self,
        conn: Connection,
        *,
        persons_here: list[int],
        fresh: list[int],
        nodes: store.Loaded,
        previous: dict[int, int],
        free: set[int],
        report: LinkRun,
    ) -> int | None:
        """The person a group becomes: the oldest it touches (merging the others into it), a former person now
        empty, or ``None`` for a new one (created by the caller, all at once)."""
        now = self._clock.now()
        if persons_here:
            survivor = persons_here[0]
            members = store.members_of(conn, persons_here[1:]) if len(persons_here) > 1 else {}
            for absorbed in persons_here[1:]:
                moved = members.get(absorbed, [])
                store.move_records(conn, moved, to_person=survivor, reason="merged", now=now)
                store.set_merged_into(conn, absorbed, survivor)
                store.record_event(
                    conn,
                    kind="merge",
                    person_pk=survivor,
                    other_person_pk=absorbed,
                    record_pks=moved,
                    reason="a new or corrected record links both",
                    actor="resolver",
                    model_version=self.model.version,
                    now=now,
                )
                report.merges += 1
            return survivor
        former = sorted({previous[int(nodes.pks[x])] for x in fresh if int(nodes.pks[x]) in previous} & free)
        if former:
            free.discard(former[0])
            return former[0]
        report.new_persons += 1
        return None

    def _queue(
        self,
        conn: Connection,
        *,
        new: store.Loaded,
        combined_pks: NDArray[np.int64],
        scored: ScoredPairs,
        verdicts: pairs.Verdicts,
        final_person: dict[int, int],
        report: LinkRun,
    ) -> None:
        """Queue the pairs between the thresholds whose records did not end up in one person anyway."""
        i, j = scored.i, scored.j
        current = store.persons_of(conn, [int(combined_pks[x]) for x in j[verdicts.review]])
        pending = []
        for r in np.flatnonzero(verdicts.review):
            a, b = int(new.pks[i[r]]), int(combined_pks[j[r]])
            if final_person.get(a) is not None and final_person.get(a) == final_person.get(b, current.get(b)):
                continue
            pending.append(
                {
                    "record_a_pk": min(a, b),
                    "record_b_pk": max(a, b),
                    "levels": json.dumps(pairs.level_labels(self.model, scored.gamma[r])),
                    "weight": float(scored.weight[r]),
                    "model_version": self.model.version,
                }
            )
        report.reviews_queued += store.queue_reviews(conn, pending, now=self._clock.now())


def _held(conn: Connection, member_pks: list[int], read: store.Loaded | None) -> store.Loaded:
    """The records ``member_pks``: taken from those ``read`` beforehand if they are all there (records do not change
    while the last record change is the same), else read now."""
    if read is not None and member_pks:
        rows = np.searchsorted(read.pks, member_pks)
        if rows.max() < len(read.pks) and np.array_equal(read.pks[rows], member_pks):
            return store.Loaded(read.pks[rows], read.batch.take(rows))
    return store.load_records(conn, member_pks)


def _groups(labels: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1], True])
    return [order[bounds[k] : bounds[k + 1]] for k in range(len(bounds) - 1)]


def _best_edges(
    labels: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, method: np.ndarray
) -> dict[int, tuple[str, float | None]]:
    """For each node, the strongest kept edge (same final group) by method rank, then weight."""
    best: dict[int, tuple[int, float, str]] = {}
    for x, y, weight, how in zip(a.tolist(), b.tolist(), w.tolist(), method.tolist(), strict=True):
        if labels[x] != labels[y]:
            continue
        key = (pairs.METHOD_RANK.get(how, 0), weight, how)
        for node in (x, y):
            if node not in best or key[:2] > best[node][:2]:
                best[node] = key
    return {node: (how, float(weight)) for node, (_, weight, how) in best.items()}
