"""Turn a parsed policy document into a :class:`~governance.policy.Policy`, recording every broken rule.

Each section is read on its own, so a mistake in one never hides a mistake in another; references between sections
(a grant naming a purpose, retention naming a category) are checked against what was declared. Only when the log
holds no problem is a policy built.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta

from governance.action import BREAK_GLASS, ActionRegistry
from governance.policy import (
    BREAK_GLASS_CEILING,
    MIN_JUSTIFICATION_FLOOR,
    Agreement,
    AgreementStatus,
    BreakGlassRules,
    Grant,
    Partner,
    Policy,
    Purpose,
    RestrictedSubjects,
    RetentionPeriod,
    RetentionUnit,
    Role,
)
from governance.problem import ProblemLog

_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_PARTNER_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_PERIOD = re.compile(r"^\s*(\d+)\s+(day|days|month|months|year|years)\s*$")
_DURATION = re.compile(r"^\s*(\d+)\s+(minute|minutes|hour|hours)\s*$")
_DOC = "see docs/policy.md"


def parse_retention_period(text: str) -> RetentionPeriod | None:
    """``"6 years"`` -> ``RetentionPeriod(6, YEARS)``; ``None`` unless the text is ``<whole number> <unit>``."""
    match = _PERIOD.match(text)
    if match is None:
        return None
    unit = match.group(2) if match.group(2).endswith("s") else match.group(2) + "s"
    return RetentionPeriod(int(match.group(1)), RetentionUnit(unit))


def parse_duration(text: str) -> timedelta | None:
    """``"4 hours"`` or ``"90 minutes"`` -> a timedelta; ``None`` when the text is neither."""
    match = _DURATION.match(text)
    if match is None:
        return None
    amount = int(match.group(1))
    return timedelta(hours=amount) if match.group(2).startswith("hour") else timedelta(minutes=amount)


class PolicyReader:
    """Reads one policy document section by section into a :class:`Policy`, logging every problem."""

    def __init__(self, log: ProblemLog, actions: ActionRegistry) -> None:
        self.log = log
        self.actions = actions

    def policy(self, data: object, fields: Sequence[str]) -> Policy | None:
        """The whole document; ``None`` when any problem was logged."""
        top = self.mapping(data, "", fields)
        if top is None:
            return None
        version = top.get("version")
        if version != 1:
            self.log.add("version", "the policy format version must be 1", "write `version: 1`", version)
        partnership = self.text(top.get("partnership"), "partnership")
        purposes = self._purposes(top.get("purposes"))
        categories = self._categories(top.get("categories"))
        purpose_ids = tuple(purpose.id for purpose in purposes)
        roles = self._roles(top.get("roles"), purpose_ids, categories)
        role_ids = tuple(role.id for role in roles)
        break_glass = self._break_glass(top.get("break_glass"), role_ids, categories)
        restricted = self._restricted(top.get("restricted_subjects"), role_ids)
        retention = self._retention(top.get("retention"), categories)
        partners = self._partners(top.get("partners"), categories)
        if self.log.problems or partnership is None or break_glass is None or restricted is None:
            return None
        return Policy(1, partnership, purposes, categories, roles, break_glass, restricted, retention, partners)

    # -- primitives ---------------------------------------------------------------------------------------------

    def mapping(
        self, value: object, path: str, fields: Sequence[str], optional: Sequence[str] = ()
    ) -> dict[str, object] | None:
        """A mapping with exactly these fields (plus optional ones); unknown and missing fields are problems."""
        if not isinstance(value, dict):
            what = path or "the document"
            self.log.add(path, f"{what} must be a mapping of `field: value`", f"write it as a mapping ({_DOC})", value)
            return None
        allowed = (*fields, *optional)
        for key in value:
            if key not in allowed:
                where = _join(path, str(key))
                fix = f"remove it, or use one of: {', '.join(allowed)}"
                self.log.add(where, f"`{key}` is not a field here", fix, key)
        for key in fields:
            if key not in value:
                self.log.add(_join(path, key), f"the field `{key}` is required", f"add `{key}:` ({_DOC})", missing=True)
        return {str(key): item for key, item in value.items()}

    def text(self, value: object, path: str) -> str | None:
        """A non-empty string."""
        if isinstance(value, str) and value.strip():
            return value
        if value is not None or path in self.log.locations:
            self.log.add(path, "must be non-empty text", "write a short description in words", value)
        return None

    def identifier(self, value: object, path: str, pattern: re.Pattern[str], shape: str) -> str | None:
        """A name matching ``pattern`` (snake_case ids, UPPER_CASE partner codes)."""
        if isinstance(value, str) and pattern.match(value):
            return value
        self.log.add(path, f"a name must be {shape}", f"rename it, e.g. {_example(shape)}", value)
        return None

    def names(self, value: object, path: str, known: Sequence[str], what: str, *, declare_in: str) -> tuple[str, ...]:
        """A list of names, each of which must be one of ``known`` and none repeated."""
        if value is None and path not in self.log.locations:
            return ()
        if not isinstance(value, list):
            self.log.add(path, f"must be a list of {what}s", f"write it as `[a, b]` using: {', '.join(known)}", value)
            return ()
        seen: list[str] = []
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if item not in known:
                fix = f"use one of: {', '.join(known)}" if known else "declare it first"
                self.log.add(where, f"`{item}` is not a declared {what}", f"{fix} (from {declare_in})", item)
            elif item in seen:
                self.log.add(where, f"the {what} `{item}` is listed twice", "list it once", item)
            else:
                seen.append(str(item))
        return tuple(seen)

    # -- sections -----------------------------------------------------------------------------------------------

    def _purposes(self, value: object) -> tuple[Purpose, ...]:
        section = self.mapping_of_entries(value, "purposes")
        purposes = []
        for key, entry in section.items():
            path = f"purposes.{key}"
            name = self.identifier(key, path, _SNAKE, "snake_case")
            body = self.mapping(entry, path, ("description",))
            description = self.text(body.get("description"), f"{path}.description") if body else None
            if name and description:
                purposes.append(Purpose(name, description))
        if isinstance(value, dict) and not section:
            self.log.add("purposes", "at least one purpose is required", "declare the purposes staff may declare")
        return tuple(purposes)

    def _categories(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.log.add("categories", "must be a non-empty list of data categories", "e.g. `[police, health]`", value)
            return ()
        categories: list[str] = []
        for index, item in enumerate(value):
            name = self.identifier(item, f"categories[{index}]", _SNAKE, "snake_case")
            if name in categories:
                self.log.add(f"categories[{index}]", f"the category `{name}` is listed twice", "list it once", name)
            elif name:
                categories.append(name)
        return tuple(categories)

    def mapping_of_entries(self, value: object, path: str) -> dict[str, object]:
        """A mapping keyed by names (roles, purposes, partners); a problem when it is anything else."""
        if isinstance(value, dict):
            return {str(key): item for key, item in value.items()}
        if value is not None or path in self.log.locations:
            self.log.add(path, f"`{path}` must be a mapping keyed by name", f"write `{path}:` then `name: ...`", value)
        return {}

    def _roles(self, value: object, purposes: Sequence[str], categories: Sequence[str]) -> tuple[Role, ...]:
        roles = []
        for key, entry in self.mapping_of_entries(value, "roles").items():
            path = f"roles.{key}"
            name = self.identifier(key, path, _SNAKE, "snake_case")
            body = self.mapping(entry, path, ("description", "grants"))
            if body is None:
                continue
            description = self.text(body.get("description"), f"{path}.description")
            grants_value = body.get("grants")
            if not isinstance(grants_value, list):
                self.log.add(f"{path}.grants", "must be a list of grants", "write `grants: []` for none", grants_value)
                continue
            grants = [
                self._grant(item, f"{path}.grants[{index}]", purposes, categories)
                for index, item in enumerate(grants_value)
            ]
            if name and description:
                roles.append(Role(name, description, tuple(grant for grant in grants if grant is not None)))
        return tuple(roles)

    def _grant(self, value: object, path: str, purposes: Sequence[str], categories: Sequence[str]) -> Grant | None:
        body = self.mapping(value, path, ("actions",), ("purposes", "categories", "own_organisation_only"))
        if body is None:
            return None
        known = list(self.actions)
        actions = self.names(
            body.get("actions"),
            f"{path}.actions",
            known,
            "action",
            declare_in="the action registry, listed in docs/policy.md",
        )
        if BREAK_GLASS in actions:
            raw = body.get("actions")
            index = raw.index(BREAK_GLASS) if isinstance(raw, list) else 0
            self.log.add(
                f"{path}.actions[{index}]",
                "`break_glass` is granted by `break_glass.roles`, not in a grant",
                "remove it here and list the role under `break_glass.roles`",
                BREAK_GLASS,
            )
            actions = tuple(name for name in actions if name != BREAK_GLASS)
        grant_purposes = self.names(
            body.get("purposes"), f"{path}.purposes", purposes, "purpose", declare_in="`purposes`"
        )
        grant_categories = self.names(
            body.get("categories"), f"{path}.categories", categories, "category", declare_in="`categories`"
        )
        own = body.get("own_organisation_only", False)
        if not isinstance(own, bool):
            self.log.add(f"{path}.own_organisation_only", "must be true or false", "write `true` or `false`", own)
        self._grant_shape(path, actions, grant_purposes, grant_categories)
        return Grant(actions, grant_purposes, grant_categories, own is True)

    def _grant_shape(
        self, path: str, actions: Sequence[str], purposes: Sequence[str], categories: Sequence[str]
    ) -> None:
        specs = [self.actions[name] for name in actions]
        need = [spec.name for spec in specs if spec.needs_purpose]
        free = [spec.name for spec in specs if not spec.needs_purpose]
        if need and not purposes:
            self.log.add(
                f"{path}.purposes",
                f"{', '.join(need)} must be used for a declared purpose",
                "add `purposes: [...]` to this grant",
                missing=True,
            )
        if purposes and free:
            self.log.add(
                f"{path}.purposes",
                f"{', '.join(free)} take no purpose, so cannot share a grant with purposes",
                "move them to a grant without `purposes`",
                list(purposes),
            )
        if categories and not any(spec.shows_categories for spec in specs):
            showing = ", ".join(name for name, spec in self.actions.items() if spec.shows_categories)
            self.log.add(
                f"{path}.categories",
                "categories only apply to actions that show flags",
                f"remove `categories`, or grant one of: {showing}",
                list(categories),
            )

    def _break_glass(self, value: object, roles: Sequence[str], categories: Sequence[str]) -> BreakGlassRules | None:
        fields = ("roles", "max_duration", "min_justification_length", "categories")
        body = self.mapping(value, "break_glass", fields)
        if body is None:
            return None
        bg_roles = self.names(body.get("roles"), "break_glass.roles", roles, "role", declare_in="`roles`")
        duration = self._duration(body.get("max_duration"), "break_glass.max_duration")
        length = body.get("min_justification_length")
        if not isinstance(length, int) or isinstance(length, bool) or length < MIN_JUSTIFICATION_FLOOR:
            self.log.add(
                "break_glass.min_justification_length",
                f"must be a whole number of characters, at least {MIN_JUSTIFICATION_FLOOR}",
                "write e.g. `min_justification_length: 40`",
                length,
            )
            length = MIN_JUSTIFICATION_FLOOR
        bg_categories = self.names(
            body.get("categories"), "break_glass.categories", categories, "category", declare_in="`categories`"
        )
        return BreakGlassRules(bg_roles, duration, length, bg_categories)

    def _duration(self, value: object, path: str) -> timedelta:
        parsed = parse_duration(value) if isinstance(value, str) else None
        ceiling = int(BREAK_GLASS_CEILING.total_seconds() // 3600)
        if parsed is None or not timedelta(0) < parsed <= BREAK_GLASS_CEILING:
            self.log.add(
                path,
                f"must be `<n> minutes` or `<n> hours`, more than 0 and at most {ceiling} hours",
                "write e.g. `max_duration: 4 hours`",
                value,
            )
            return BREAK_GLASS_CEILING
        return parsed

    def _restricted(self, value: object, roles: Sequence[str]) -> RestrictedSubjects | None:
        body = self.mapping(value, "restricted_subjects", ("visible_to",))
        if body is None:
            return None
        visible = self.names(
            body.get("visible_to"), "restricted_subjects.visible_to", roles, "role", declare_in="`roles`"
        )
        return RestrictedSubjects(visible)

    def _retention(self, value: object, categories: Sequence[str]) -> dict[str, RetentionPeriod]:
        section = self.mapping_of_entries(value, "retention")
        periods: dict[str, RetentionPeriod] = {}
        for key, text in section.items():
            path = f"retention.{key}"
            if key not in categories:
                self.log.add(path, f"`{key}` is not a declared category", f"use one of: {', '.join(categories)}", key)
                continue
            period = parse_retention_period(text) if isinstance(text, str) else None
            if period is None or period.amount < 1:
                self.log.add(
                    path,
                    "a retention period is `<n> days`, `<n> months` or `<n> years`, n at least 1",
                    "write e.g. `6 years`",
                    text,
                )
                continue
            periods[key] = period
        for category in categories:
            if category not in section and isinstance(value, dict):
                self.log.add(
                    f"retention.{category}",
                    f"the category `{category}` has no retention period",
                    f"add `{category}: <n> years` under `retention`",
                    missing=True,
                )
        return {category: periods[category] for category in categories if category in periods}

    def _partners(self, value: object, categories: Sequence[str]) -> tuple[Partner, ...]:
        partners = []
        for key, entry in self.mapping_of_entries(value, "partners").items():
            path = f"partners.{key}"
            code = self.identifier(key, path, _PARTNER_CODE, "UPPER_CASE")
            body = self.mapping(entry, path, ("name", "categories", "agreement"))
            if body is None:
                continue
            name = self.text(body.get("name"), f"{path}.name")
            reported = self.names(
                body.get("categories"), f"{path}.categories", categories, "category", declare_in="`categories`"
            )
            agreement = self._agreement(body.get("agreement"), f"{path}.agreement")
            if code and name and agreement:
                partners.append(Partner(code, name, reported, agreement))
        return tuple(partners)

    def _agreement(self, value: object, path: str) -> Agreement | None:
        body = self.mapping(value, path, ("reference", "status", "valid_from", "valid_until"))
        if body is None:
            return None
        reference = self.text(body.get("reference"), f"{path}.reference")
        status = body.get("status")
        statuses = [item.value for item in AgreementStatus]
        if status not in statuses:
            self.log.add(f"{path}.status", "unknown agreement status", f"use one of: {', '.join(statuses)}", status)
        valid_from, valid_until = body.get("valid_from"), body.get("valid_until")
        if not _is_date(valid_from):
            self.log.add(f"{path}.valid_from", "must be a date", "write it as `2024-04-01`", valid_from)
        if valid_until is not None and not _is_date(valid_until):
            self.log.add(
                f"{path}.valid_until", "must be a date, or empty for no end", "write `2027-03-31`", valid_until
            )
        elif _is_date(valid_from) and _is_date(valid_until) and valid_until < valid_from:  # type: ignore[operator]
            self.log.add(
                f"{path}.valid_until",
                "the agreement ends before it starts",
                f"make it on or after {valid_from}",
                valid_until,
            )
        if reference is None or status not in statuses or not isinstance(valid_from, date):
            return None
        until = valid_until if isinstance(valid_until, date) else None
        return Agreement(reference, AgreementStatus(status), valid_from, until)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not hasattr(value, "hour")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _example(shape: str) -> str:
    return "`mash_officer`" if shape == "snake_case" else "`CHILDRENS_SC`"
