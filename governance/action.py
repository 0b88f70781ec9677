"""The actions a hub request can ask to perform, registered as data.

Every hub endpoint names one of these actions when it asks the policy for a decision. What an action needs — a
purpose, a case reference, a partner agreement — and whether it reveals flags by category or one person's data is a
property of the action, written here once, not re-decided in each endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from governance.errors import UnknownActionError


@dataclass(frozen=True)
class ActionSpec:
    """What one action is and what a request for it must carry.

    Attributes:
        name: the action's name, used in policy grants and audit events.
        description: one line a DPO can read.
        needs_purpose: the request must declare a purpose from the policy's controlled list.
        needs_case_reference: the request must carry a non-empty case reference.
        shows_categories: the response shows flags, masked by data category.
        person_scoped: the request reads one person's data, so a break-glass grant for that person can apply.
        needs_agreement: the subject's organisation must have a data-sharing agreement in force.
    """

    name: str
    description: str
    needs_purpose: bool = False
    needs_case_reference: bool = False
    shows_categories: bool = False
    person_scoped: bool = False
    needs_agreement: bool = False


class ActionRegistry(Mapping[str, ActionSpec]):
    """A read-only name -> :class:`ActionSpec` mapping; looking up an unknown name raises a helpful error."""

    def __init__(self, specs: Iterable[ActionSpec]) -> None:
        self._specs: dict[str, ActionSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"action {spec.name!r} is registered twice")
            self._specs[spec.name] = spec

    def __getitem__(self, name: str) -> ActionSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs))
            raise UnknownActionError(f"unknown action {name!r}; the registered actions are: {known}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)


BREAK_GLASS = "break_glass"
"""The action of asking for a break-glass grant; the policy's ``break_glass.roles`` grant it, not role grants."""

DEFAULT_ACTIONS = ActionRegistry(
    [
        ActionSpec(
            "search",
            "search for a person and see which partners reported activity, and when",
            needs_purpose=True,
            needs_case_reference=True,
            shows_categories=True,
            person_scoped=True,
        ),
        ActionSpec(
            "view_person",
            "open one person's summary: partners, dates, flags, lead contacts",
            needs_purpose=True,
            needs_case_reference=True,
            shows_categories=True,
            person_scoped=True,
        ),
        ActionSpec(
            "view_timeline",
            "open one person's timeline of interactions",
            needs_purpose=True,
            needs_case_reference=True,
            shows_categories=True,
            person_scoped=True,
        ),
        ActionSpec(
            "list_alerts", "see the alert list and each alert's evidence", needs_purpose=True, shows_categories=True
        ),
        ActionSpec("update_alert", "acknowledge, assign, snooze, close or re-open an alert", needs_purpose=True),
        ActionSpec("manage_watchlist", "add to, renew or remove from the watch list", needs_purpose=True),
        ActionSpec("review_links", "resolve uncertain identity links and split wrong ones", needs_purpose=True),
        ActionSpec("read_audit", "read the audit log", needs_purpose=True),
        ActionSpec("review_break_glass", "work the DPO's break-glass review queue", needs_purpose=True),
        ActionSpec(
            "export_sar",
            "export everything held about a person for a subject access request",
            needs_purpose=True,
            needs_case_reference=True,
        ),
        ActionSpec("read_transparency", "read the transparency report (small counts suppressed)"),
        ActionSpec(BREAK_GLASS, "open a time-limited break-glass grant for one person", needs_case_reference=True),
        ActionSpec("push_feed", "push a partner's nightly feed, corrections and deletions", needs_agreement=True),
        ActionSpec("manage_users", "create, suspend and re-activate accounts, and assign roles"),
        ActionSpec("approve_rules", "approve event-recognition rules before they go live"),
    ]
)
"""The hub's actions; the hub asks for a decision on exactly one of these on every endpoint."""
