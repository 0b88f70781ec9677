"""Planning a batch's effect on the stored records: pure, so the tricky cases are unit-tested without a database.

Rows apply in order. Within a batch the same record id may appear more than once (an upsert then a correction, an
upsert then a delete); the plan keeps only each record's final state, and counts every row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aim.ingest.validation import Rejection, StoredRow

NOTHING_TO_DELETE = "record_id is not held for this partner, so there is nothing to delete"


@dataclass
class Plan:
    inserts: dict[str, StoredRow] = field(default_factory=dict)
    updates: dict[str, tuple[int, StoredRow]] = field(default_factory=dict)
    deletes: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    inserted: int = 0
    replaced: int = 0
    deleted: int = 0

    @property
    def changed_pks(self) -> list[int]:
        """Existing records whose derived data (tokens, links, ...) must go: replaced or deleted."""
        return [pk for pk, _ in self.updates.values()] + list(self.deletes.values())


def plan_batch(rows: list[StoredRow], existing: dict[str, int]) -> Plan:
    """The net change of ``rows`` given the partner's ``existing`` record ids (record id -> primary key)."""
    plan = Plan()
    final: dict[str, StoredRow | None] = {}
    for row in rows:
        present = final[row.record_id] is not None if row.record_id in final else row.record_id in existing
        if row.op == "upsert":
            if present:
                plan.replaced += 1
            else:
                plan.inserted += 1
            final[row.record_id] = row
        elif present:
            plan.deleted += 1
            final[row.record_id] = None
        else:
            plan.rejections.append(Rejection(row.position, row.record_id, (NOTHING_TO_DELETE,)))
    for record_id, state in final.items():
        pk = existing.get(record_id)
        if state is None:
            if pk is not None:
                plan.deletes[record_id] = pk
        elif pk is not None:
            plan.updates[record_id] = (pk, state)
        else:
            plan.inserts[record_id] = state
    return plan
