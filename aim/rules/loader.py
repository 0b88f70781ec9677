"""Read rule files: every problem in a file is collected (line, column, value, rule, fix) and reported at once.

A rules directory holds one rule per ``*.yaml`` file; two files declaring the same id are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aim.errors import ConfigError
from aim.rules.errors import RuleFileError
from aim.rules.model import (
    ACTIONS,
    ANCHORS,
    DISTINCT_BY,
    SEVERITIES,
    STATUSES,
    Filter,
    Rule,
    Suppression,
    Window,
)
from aim.vocabulary import Vocabulary, default_vocabulary
from governance.problem import ProblemLog
from governance.yaml_source import read_yaml

# Every field of the language: path -> (required, what it is). docs/rules.md documents each (a test checks).
FIELDS: dict[str, tuple[bool, str]] = {
    "id": (True, "the rule's stable id"),
    "version": (True, "a whole number, raised on every change"),
    "title": (True, "one line shown with the alert"),
    "description": (False, "longer explanation"),
    "status": (True, "draft, shadow, active or retired"),
    "window": (True, "the trailing window"),
    "window.days": (True, "length in days"),
    "window.anchor": (False, "the date the window is anchored on"),
    "distinct_by": (True, "partner or partner_type"),
    "threshold": (True, "how many distinct partners raise it"),
    "filter": (False, "which interactions count"),
    "filter.flags": (False, "flags that count"),
    "filter.categories": (False, "categories whose flags count"),
    "action": (True, "alert or watchlist_suggestion"),
    "severity": (True, "low, medium or high"),
    "queue": (True, "the work queue it lands in"),
    "suppression": (False, "when not to raise"),
    "suppression.cooldown_days": (False, "days after closing before raising again"),
    "suppression.skip_if_open": (False, "skip while another alert for the person is open"),
    "suppression.skip_if_watched": (False, "skip while the person is on the watch list"),
}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_QUEUE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_WINDOW_DAYS = 366


def load_rule_file(path: Path, *, vocabulary: Vocabulary | None = None) -> Rule:
    """Load one rule file; :class:`RuleFileError` lists every problem in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"{path}: cannot read the rule file ({exc}): give a UTF-8 YAML file") from None
    return parse_rule(text, source=str(path), vocabulary=vocabulary)


DEFAULT_RULES_DIR = Path(__file__).resolve().parent / "default"


def rules_directory(configured: str) -> Path:
    """The rules directory a hub reads: ``AIM_RULES_DIR`` when set, else the default rules shipped with AIM.

    Raises:
        ConfigError: the configured directory does not exist.
    """
    if not configured.strip():
        return DEFAULT_RULES_DIR
    directory = Path(configured).expanduser()
    if not directory.is_dir():
        raise ConfigError(
            f"AIM_RULES_DIR={configured!r}: no such directory (resolved to {directory.resolve()}): give the absolute "
            f"path of a directory of rule files, or unset AIM_RULES_DIR to use the rules shipped with AIM "
            f"({DEFAULT_RULES_DIR})"
        )
    return directory


def load_rules(directory: Path, *, vocabulary: Vocabulary | None = None) -> list[Rule]:
    """Every rule in ``directory`` (``*.yaml``, ``*.yml``), sorted by id; all files' problems reported together."""
    if not directory.is_dir():
        raise RuleFileError(f"{directory}: the rules directory does not exist: set AIM_RULES_DIR or pass --rules")
    rules: list[Rule] = []
    messages: list[str] = []
    seen: dict[str, Path] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            rule = load_rule_file(path, vocabulary=vocabulary)
        except RuleFileError as exc:
            messages.append(str(exc))
            continue
        if rule.id in seen:
            messages.append(f"{path}: rule id {rule.id!r} is already declared in {seen[rule.id]}: ids must be unique")
            continue
        seen[rule.id] = path
        rules.append(rule)
    if messages:
        raise RuleFileError("\n".join(messages))
    return sorted(rules, key=lambda r: r.id)


def parse_rule(text: str, *, source: str = "<string>", vocabulary: Vocabulary | None = None) -> Rule:
    """Parse and validate one rule from YAML ``text``."""
    log = ProblemLog(source)
    data = read_yaml(text, log)
    if not log.problems and not isinstance(data, dict):
        log.add("", "a rule file must be a mapping of fields", "start from fixtures/rules/three-partners-30-days.yaml")
    doc: dict[Any, Any] = data if isinstance(data, dict) else {}
    reader = _Reader(log, vocabulary or default_vocabulary())
    rule = reader.rule(doc)
    if log.problems:
        count = len(log.problems)
        lines = [f"{source}: {count} problem{'s' if count != 1 else ''} in the rule:"]
        lines += ["  " + problem.render(source) for problem in log.problems]
        raise RuleFileError("\n".join(lines), tuple(log.problems))
    assert rule is not None
    return rule


class _Reader:
    def __init__(self, log: ProblemLog, vocabulary: Vocabulary) -> None:
        self.log = log
        self.vocabulary = vocabulary

    def rule(self, doc: dict[Any, Any]) -> Rule | None:
        self._unknown(doc, "", {k for k in FIELDS if "." not in k})
        rid = self._get(doc, "id", str, check=_ID.match, fix="use lower-case letters, digits, - and _ (max 64)")
        version = self._get(doc, "version", int, check=lambda v: v >= 1, fix="use a whole number from 1")
        title = self._get(doc, "title", str, check=lambda v: 0 < len(v.strip()) <= 200, fix="write 1-200 characters")
        description = self._get(doc, "description", str, default="")
        status = self._choice(doc, "status", STATUSES)
        window = self._window(doc.get("window"))
        distinct_by = self._choice(doc, "distinct_by", DISTINCT_BY)
        threshold = self._get(doc, "threshold", int, check=lambda v: 1 <= v <= 50, fix="use a whole number 1-50")
        rule_filter = self._filter(doc.get("filter", {}))
        action = self._choice(doc, "action", ACTIONS)
        severity = self._choice(doc, "severity", SEVERITIES)
        queue = self._get(doc, "queue", str, check=_QUEUE.match, fix="use lower-case letters, digits, - and _")
        suppression = self._suppression(doc.get("suppression", {}))
        if self.log.problems:
            return None
        return Rule(
            id=rid,
            version=version,
            title=title.strip(),
            description=description.strip(),
            status=status,
            window=window,  # type: ignore[arg-type]
            distinct_by=distinct_by,
            threshold=threshold,
            filter=rule_filter,  # type: ignore[arg-type]
            action=action,
            severity=severity,
            queue=queue,
            suppression=suppression,  # type: ignore[arg-type]
        )

    def _unknown(self, doc: dict[Any, Any], prefix: str, known: set[str]) -> None:
        for key in doc:
            name = f"{prefix}{key}"
            if name not in known:
                allowed = ", ".join(sorted(k.removeprefix(prefix) for k in known))
                self.log.add(name, "the field is not part of the rule language", f"use one of: {allowed}", key)

    def _get(
        self,
        doc: dict[Any, Any],
        key: str,
        kind: type,
        *,
        prefix: str = "",
        default: Any = None,
        check: Callable[[Any], Any] | None = None,
        fix: str = "",
    ) -> Any:
        path = prefix + key
        required = FIELDS[path][0]
        if key not in doc or doc[key] is None:
            if required:
                self.log.add(path, f"{path} is required ({FIELDS[path][1]})", f"add {path}", missing=True)
            return default
        value = doc[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.log.add(path, f"{path} must be {_kind(kind)}", f"write {path} as {_kind(kind)}", value)
            return default
        if check is not None and not check(value):
            self.log.add(path, f"{path} is not an allowed value", fix, value)
            return default
        return value

    def _choice(self, doc: dict[Any, Any], key: str, choices: tuple[str, ...], prefix: str = "") -> Any:
        value = self._get(doc, key, str, prefix=prefix)
        if value is not None and value not in choices:
            self.log.add(prefix + key, f"{prefix}{key} is not one of the allowed values", f"use {choices}", value)
            return None
        return value

    def _section(self, value: Any, path: str) -> dict[Any, Any] | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.log.add(path, f"{path} must be a mapping", f"write {path} as a mapping of its fields", value)
            return None
        self._unknown(value, path + ".", {k for k in FIELDS if k.startswith(path + ".")})
        return value

    def _window(self, value: Any) -> Window | None:
        if value is None:
            self.log.add("window", "window is required (the trailing window)", "add window: {days: 30}", missing=True)
            return None
        section = self._section(value, "window")
        if section is None:
            return None
        days = self._get(
            section, "days", int, prefix="window.", check=lambda v: 1 <= v <= MAX_WINDOW_DAYS, fix="use 1-366"
        )
        anchor = self._choice(section, "anchor", ANCHORS, prefix="window.") or "interaction_date"
        return Window(days=days, anchor=anchor) if days is not None else None

    def _filter(self, value: Any) -> Filter | None:
        section = self._section(value, "filter")
        if section is None:
            return None
        flags = self._names(section, "flags", set(self.vocabulary.flags))
        categories = self._names(section, "categories", set(self.vocabulary.categories))
        return Filter(flags=flags, categories=categories)

    def _names(self, section: dict[Any, Any], key: str, known: set[str]) -> tuple[str, ...]:
        path = f"filter.{key}"
        value = section.get(key) or []
        if not isinstance(value, list):
            self.log.add(path, f"{path} must be a list", f"write {path} as [A, B]", value)
            return ()
        for index, item in enumerate(value):
            if item not in known:
                self.log.add(
                    f"{path}[{index}]", f"not a {key[:-1]} of the vocabulary", f"use one of {sorted(known)}", item
                )
        return tuple(sorted({str(v) for v in value}))

    def _suppression(self, value: Any) -> Suppression | None:
        section = self._section(value, "suppression")
        if section is None:
            return None
        prefix = "suppression."
        cooldown = self._get(
            section, "cooldown_days", int, prefix=prefix, default=0, check=lambda v: 0 <= v <= 366, fix="use 0-366"
        )
        skip_open = self._get(section, "skip_if_open", bool, prefix=prefix, default=False)
        skip_watched = self._get(section, "skip_if_watched", bool, prefix=prefix, default=False)
        return Suppression(cooldown_days=cooldown, skip_if_open=skip_open, skip_if_watched=skip_watched)


def _kind(kind: type) -> str:
    return {str: "text", int: "a whole number", bool: "true or false"}.get(kind, kind.__name__)
