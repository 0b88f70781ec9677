"""The DPO's policy document: purposes, categories, roles and their grants, break-glass, restricted subjects,
retention and partners' agreements.

Plain frozen dataclasses with no I/O. Reading and writing the YAML file is :mod:`governance.policy_file`; deciding a
request is :mod:`governance.decision`; comparing two policies is :mod:`governance.policy_diff`.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

BREAK_GLASS_CEILING = timedelta(hours=4)
"""No policy may let a break-glass grant last longer than this."""

MIN_JUSTIFICATION_FLOOR = 20
"""No policy may accept a break-glass justification shorter than this many characters."""


@dataclass(frozen=True)
class Purpose:
    """One purpose from the controlled list a search or view must declare."""

    id: str
    description: str


@dataclass(frozen=True)
class Grant:
    """What a role may do: these actions, for these purposes, seeing flags of these categories.

    Attributes:
        actions: action names from the registry (:mod:`governance.action`).
        purposes: the purposes the actions may be used for; empty for a grant of actions that take no purpose.
        categories: data categories whose flags are visible when the actions are used for these purposes.
            Partner and date are always visible to a role that may search; only flags are masked.
        own_organisation_only: the request's resource must belong to the subject's own organisation
            (a partner pushing its own feed, a partner admin managing its own staff).
    """

    actions: tuple[str, ...]
    purposes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    own_organisation_only: bool = False


@dataclass(frozen=True)
class Role:
    """A named role and its grants; a user holds one or more roles."""

    id: str
    description: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class BreakGlassRules:
    """Who may override the policy for one person, for how long, and with how much written justification.

    Attributes:
        roles: the only roles that may open a break-glass grant.
        max_duration: the longest a grant may last (never above :data:`BREAK_GLASS_CEILING`).
        min_justification_length: the fewest characters a written justification may have.
        categories: the categories whose flags a break-glass view shows.
    """

    roles: tuple[str, ...]
    max_duration: timedelta
    min_justification_length: int
    categories: tuple[str, ...]


@dataclass(frozen=True)
class RestrictedSubjects:
    """Subjects marked restricted (e.g. a protected address) are visible only to these roles."""

    visible_to: tuple[str, ...]


class RetentionUnit(StrEnum):
    """The unit of a retention period."""

    DAYS = "days"
    MONTHS = "months"
    YEARS = "years"


@dataclass(frozen=True)
class RetentionPeriod:
    """How long an interaction of one category is kept after its interaction date, e.g. ``6 years``."""

    amount: int
    unit: RetentionUnit

    def expires_on(self, interaction_date: date) -> date:
        """The first day on which an interaction of this date is expired (calendar months; the 31st clamps)."""
        if self.unit is RetentionUnit.DAYS:
            return interaction_date + timedelta(days=self.amount)
        months = self.amount * (12 if self.unit is RetentionUnit.YEARS else 1)
        return add_months(interaction_date, months)

    def __str__(self) -> str:
        unit = self.unit.value[:-1] if self.amount == 1 else self.unit.value
        return f"{self.amount} {unit}"


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months; a day past the target month's end clamps to its last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


class AgreementStatus(StrEnum):
    """The state of a partner's data-sharing agreement."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


@dataclass(frozen=True)
class Agreement:
    """A partner's data-sharing agreement: in force while active and between its dates (both inclusive)."""

    reference: str
    status: AgreementStatus
    valid_from: date
    valid_until: date | None

    def in_force(self, on: date) -> bool:
        """Whether feeds from the partner are accepted on ``on``."""
        if self.status is not AgreementStatus.ACTIVE or on < self.valid_from:
            return False
        return self.valid_until is None or on <= self.valid_until


@dataclass(frozen=True)
class Partner:
    """A registered partner organisation, the categories it reports, and its agreement."""

    code: str
    name: str
    categories: tuple[str, ...]
    agreement: Agreement


@dataclass(frozen=True)
class Policy:
    """The whole policy document; load it with :func:`governance.policy_file.load_policy`."""

    version: int
    partnership: str
    purposes: tuple[Purpose, ...]
    categories: tuple[str, ...]
    roles: tuple[Role, ...]
    break_glass: BreakGlassRules
    restricted_subjects: RestrictedSubjects
    retention: Mapping[str, RetentionPeriod]
    partners: tuple[Partner, ...]

    @property
    def purpose_ids(self) -> tuple[str, ...]:
        """The controlled list of purposes, in file order."""
        return tuple(purpose.id for purpose in self.purposes)

    @property
    def role_ids(self) -> tuple[str, ...]:
        """Every role the policy defines, in file order."""
        return tuple(role.id for role in self.roles)

    def role(self, role_id: str) -> Role | None:
        """The role called ``role_id``, or ``None`` when the policy does not define it."""
        return next((role for role in self.roles if role.id == role_id), None)

    def partner(self, code: str) -> Partner | None:
        """The partner with this code, or ``None`` when it is not registered."""
        return next((partner for partner in self.partners if partner.code == code), None)
