"""Where identity resolution looks for a new record's candidates: the deterministic rules that join records with
the same local id or NHS number, the read model of blocking keys it can look them up in (the hub's is the search
read model, ``aim.search.index``), and, without one, the token field each blocking rule is looked up by."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlalchemy.engine import Connection

from aim.identity import store
from linkage.batch import RecordBatch
from linkage.blocking import BlockingRule

DETERMINISTIC_RULES = (
    BlockingRule("same_local_id", on=("tk_local",)),
    BlockingRule("same_nhs_number", on=("tk_nhs",)),
)
# Most selective first: the field a rule's candidates are looked up by in the token index.
_SELECTIVITY = (
    "tk_nhs",
    "tk_local",
    "tk_dob",
    "tk_dob_swap",
    "tk_pc_unit",
    "tk_last",
    "tk_first",
    "tk_first_canon",
    "tk_last_phon",
    "tk_first_phon",
    "tk_dob_md",
    "tk_dob_ym",
    "tk_pc_sector",
    "tk_last_parts",
    "tk_dob_y",
    "tk_pc_district",
    "tk_gender",
)


def anchors(rules: Sequence[BlockingRule]) -> list[tuple[str, str]] | None:
    """For each rule, the ``(left field, right field)`` to look candidates up by; ``None`` if a rule has no token
    field (a Bloom-only rule), when every known record is a candidate."""
    rank = {name: n for n, name in enumerate(_SELECTIVITY)}
    out: set[tuple[str, str]] = set()
    for rule in rules:
        if not rule.on:
            return None
        k = min(range(len(rule.on)), key=lambda n: rank.get(rule.on[n], len(rank)))
        if rule.other:
            out |= {(rule.on[k], rule.other[k]), (rule.other[k], rule.on[k])}
        else:
            out.add((rule.on[k], rule.on[k]))
    return sorted(out)


class BlockingIndex(Protocol):
    """A read model of every record's blocking keys (the hub's is the search read model, ``aim.search.index``)."""

    rules: tuple[BlockingRule, ...]

    def catch_up(self) -> object:
        """Bring the keys up to date in write transactions of its own, a few changes each."""

    def file_in(self, conn: Connection) -> object | None:
        """Bring the keys up to date inside ``conn``'s write transaction; ``None`` if that cannot be done now."""

    def filed_through(self, conn: Connection) -> bool:
        """Whether every record change in ``conn``'s snapshot is filed (a read: no filing is done)."""

    def filed_under(self, conn: Connection, batch: RecordBatch) -> set[int]:
        """Every record filed under a key that a record of ``batch`` looks up."""

    def load(self, conn: Connection, record_pks: Iterable[int]) -> store.Loaded:
        """The filed records ``record_pks``, as :func:`aim.identity.store.load_records` reads them."""


def filed_candidates(conn: Connection, index: BlockingIndex, new: store.Loaded) -> tuple[store.Loaded, dict[int, int]]:
    """The linked records filed under a blocking key of a record of ``new``, and their persons."""
    pool = index.filed_under(conn, new.batch) - set(new.pks.tolist())
    person_of = store.persons_of(conn, pool)
    return index.load(conn, person_of), person_of
