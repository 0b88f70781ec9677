"""Shared builders for the governance tests: the demo policy, a fixed time, subjects and requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from governance.break_glass import BreakGlassGrant, open_break_glass
from governance.decision import AccessRequest, AccountStatus, Resource, Subject
from governance.policy import Policy
from governance.policy_file import load_policy

ROOT = Path(__file__).resolve().parents[3]
DEMO_POLICY_PATH = ROOT / "fixtures" / "policy" / "demo-policy.yaml"
DATA = Path(__file__).resolve().parent / "data"
AT = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)
JUSTIFICATION = "Child reported missing overnight; police and A&E history needed now to locate them."


@cache
def demo_policy() -> Policy:
    """The committed demo policy, loaded once."""
    return load_policy(DEMO_POLICY_PATH)


def subject(
    *roles: str,
    user_id: str | None = "u-1",
    organisation: str | None = "CHILDRENS_SC",
    suspended: bool = False,
    grants: tuple[BreakGlassGrant, ...] = (),
) -> Subject:
    """A subject holding ``roles``."""
    status = AccountStatus.SUSPENDED if suspended else AccountStatus.ACTIVE
    return Subject(user_id, frozenset(roles), organisation, status, grants)


def request(
    who: Subject,
    action: str = "search",
    *,
    purpose: str | None = "mash_screening",
    case_reference: str | None = "MASH-2025-0042",
    category: str | None = None,
    person_id: str | None = "P-1",
    restricted: bool = False,
    resource_organisation: str | None = None,
    at: datetime = AT,
) -> AccessRequest:
    """A request by ``who``; defaults to a MASH screening search."""
    resource = Resource(person_id, restricted, resource_organisation)
    return AccessRequest(who, action, at, purpose, case_reference, category, resource)


def grant_for(
    person_id: str = "P-1", *, user_id: str = "u-1", at: datetime = AT, hours: float = 2, policy: Policy | None = None
) -> BreakGlassGrant:
    """A break-glass grant opened by a safeguarding lead."""
    return open_break_glass(
        policy or demo_policy(),
        user_id=user_id,
        roles=frozenset({"safeguarding_lead"}),
        person_id=person_id,
        case_reference="S47-2025-0007",
        justification=JUSTIFICATION,
        at=at,
        duration=timedelta(hours=hours),
    )
