"""The hub's settings: plain data, read from the environment (``AIM_*``) in the composition root, never at import.

Every field is documented in ``docs/storage.md`` or ``docs/ingest-api.md`` (a test keeps that true). Invalid values
fail closed with :class:`~aim.errors.ConfigError` naming the variable and the fix.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from aim.errors import ConfigError

# AIM_ variables of the portal, the agent, the tests and the compose file: not the hub's, and not misspelt.
_OTHERS = ("AIM_PORTAL_", "AIM_TEST_", "AIM_CI_", "AIM_PARTNER_", "AIM_POSTGRES_", "AIM_SERVICES", "AIM_FUZZ_")

DEFAULT_DATABASE_URL = "sqlite:///var/aim/hub.db"
MIB = 1024 * 1024
_RATE = re.compile(r"^[1-9][0-9]{0,6}/(second|minute|hour|day)$")
# The `limits` library's in-process memory, and its Redis storages, which several processes can share (the hub
# installs the Redis client; the library's other storages would need clients of their own).
_STORAGE = re.compile(r"^(memory://$|(redis|rediss|redis\+sentinel|redis\+cluster)://\S+$)")


@dataclass(frozen=True)
class Settings:
    """Hub settings. Environment variable for each field: ``AIM_`` + the field name in upper case."""

    database_url: str = DEFAULT_DATABASE_URL
    sqlite_busy_timeout_ms: int = 30_000
    max_body_bytes: int = 16 * MIB
    timezone: str = "Europe/London"
    hub_host: str = "127.0.0.1"
    hub_port: int = 8700
    rules_dir: str = ""  # the directory of rule files (docs/rules.md); empty: the default rules shipped with AIM
    linkage_model: str = ""  # a model file from 'aim hub train'; empty: the default model shipped with AIM
    policy_path: str = ""
    audit_key_path: str = "var/aim/audit-signing.key"
    staff_token_hours: int = 12
    sign_in_token_minutes: int = 30  # a token from signing in with a password (docs/policy.md)
    sign_in_max_failures: int = 5  # failed sign-ins in a row that lock an account
    sign_in_lockout_minutes: int = 15  # how long a locked account stays locked
    max_json_body_bytes: int = 64 * 1024  # every endpoint but the feed's batches (docs/reliability.md)
    rate_limit: str = "1200/minute"  # requests per caller, any endpoint; empty: no limit
    search_rate_limit: str = "30/minute"  # searches per staff user; empty: no limit
    request_threads: int = 8  # requests worked on at once by the hub's threads (the rest wait their turn)
    hub_workers: int = 1  # processes 'aim hub serve' runs the API in (several need a shared rate-limit storage)
    rate_limit_storage: str = "memory://"  # where the rate limits count: memory:// (one process) or redis://HOST:PORT

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ConfigError("invalid settings: " + "; ".join(problems))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every ``AIM_<FIELD>`` variable that is set; the rest keep their defaults. A variable that nearly
        spells a setting is refused (:func:`misspelt`): a hub started on a default it was not meant to have (a new
        database beside the real one) is worse than one that does not start."""
        env = os.environ if environ is None else environ
        if wrong := misspelt(env):
            named = "; ".join(f"{name} (did you mean {meant}?)" for name, meant in wrong)
            raise ConfigError(f"not hub settings: {named}: rename the variables, or unset them")
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(env_name(spec.name))
            if raw is not None:
                values[spec.name] = raw
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Build settings from a mapping (as loaded from YAML/JSON or the environment); unknown keys are refused."""
        known = {spec.name: spec for spec in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown settings {unknown}: known settings are {sorted(known)}")
        values: dict[str, Any] = {}
        for name, raw in data.items():
            value = raw
            if known[name].type == "int" and not isinstance(raw, int):
                try:
                    value = int(str(raw).strip())
                except ValueError:
                    raise ConfigError(f"{env_name(name)} must be a whole number") from None
            values[name] = value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def env_name(field_name: str) -> str:
    return "AIM_" + field_name.upper()


def misspelt(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """``AIM_`` variables that are not a hub setting but nearly spell one: (the variable, the setting meant)."""
    names = [env_name(spec.name) for spec in fields(Settings)]
    found = []
    for key in sorted(environ):
        if key.startswith("AIM_") and key not in names and not key.startswith(_OTHERS):
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.85)
            if close:
                found.append((key, close[0]))
    return found


def _problems(s: Settings) -> list[str]:
    problems: list[str] = []
    try:
        url = make_url(s.database_url)
        backend = url.get_backend_name()
    except ArgumentError:
        url, backend = None, ""
    if backend not in {"sqlite", "postgresql"}:
        problems.append("AIM_DATABASE_URL must be a sqlite:///PATH or postgresql+psycopg://... URL")
    elif backend == "sqlite" and url is not None and (not url.database or url.database == ":memory:"):
        problems.append("AIM_DATABASE_URL must name a SQLite file (sqlite:///var/aim/hub.db), not a memory database")
    if s.sqlite_busy_timeout_ms < 0:
        problems.append("AIM_SQLITE_BUSY_TIMEOUT_MS must be 0 or more")
    if not 1024 <= s.max_body_bytes <= 256 * MIB:
        problems.append("AIM_MAX_BODY_BYTES must be between 1024 and 268435456")
    problems.extend(_serving_problems(s))
    if not 256 <= s.max_json_body_bytes <= s.max_body_bytes:
        problems.append("AIM_MAX_JSON_BODY_BYTES must be between 256 and AIM_MAX_BODY_BYTES")
    for name, value in (("AIM_RATE_LIMIT", s.rate_limit), ("AIM_SEARCH_RATE_LIMIT", s.search_rate_limit)):
        if value and not _RATE.match(value):
            problems.append(f"{name} must be a count per second, minute, hour or day, e.g. 30/minute, or empty")
    if not 1 <= s.staff_token_hours <= 24 * 90:
        problems.append("AIM_STAFF_TOKEN_HOURS must be between 1 and 2160 (90 days)")
    problems.extend(_sign_in_problems(s))
    if not s.audit_key_path.strip():
        problems.append("AIM_AUDIT_KEY_PATH must name the audit signing key file (e.g. var/aim/audit-signing.key)")
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append("AIM_TIMEZONE must be an IANA time zone such as Europe/London")
    return problems


def _serving_problems(s: Settings) -> list[str]:
    problems = []
    if not 0 < s.hub_port < 65536:
        problems.append("AIM_HUB_PORT must be a TCP port, 1-65535")
    if not 1 <= s.request_threads <= 200:
        problems.append("AIM_REQUEST_THREADS must be between 1 and 200")
    if not 1 <= s.hub_workers <= 64:
        problems.append("AIM_HUB_WORKERS must be between 1 and 64")
    if not _STORAGE.match(s.rate_limit_storage):
        problems.append(
            "AIM_RATE_LIMIT_STORAGE must be memory:// or a shared storage URL such as redis://HOST:6379 "
            "(redis, rediss, redis+sentinel or redis+cluster)"
        )
    elif s.hub_workers > 1 and s.rate_limit_storage.startswith("memory:") and (s.rate_limit or s.search_rate_limit):
        problems.append(
            f"{s.hub_workers} workers (AIM_HUB_WORKERS or --workers) with AIM_RATE_LIMIT_STORAGE=memory:// would let "
            "each worker count requests on its own (the limits would be multiplied): set AIM_RATE_LIMIT_STORAGE to a "
            "shared storage (redis://HOST:6379), or run one worker"
        )
    return problems


def _sign_in_problems(s: Settings) -> list[str]:
    limits = (
        ("AIM_SIGN_IN_TOKEN_MINUTES", s.sign_in_token_minutes, 24 * 60),
        ("AIM_SIGN_IN_MAX_FAILURES", s.sign_in_max_failures, 100),
        ("AIM_SIGN_IN_LOCKOUT_MINUTES", s.sign_in_lockout_minutes, 24 * 60),
    )
    return [f"{name} must be a whole number from 1 to {top}" for name, value, top in limits if not 1 <= value <= top]
