"""The portal's settings, read from ``AIM_PORTAL_*`` in the app factory (never at import); invalid values fail closed.

Documented in docs/portal.md (a test keeps that true).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from aim.errors import ConfigError
from governance import Policy, PolicyError, load_policy


@dataclass(frozen=True)
class DemoUser:
    """A demo sign-in offered on the sign-in screen (demo mode only): picking it signs in at the hub with the demo
    user's ``password`` (what ``aim demo`` writes), or, given only a ``token``, uses that token as it is."""

    user_id: str
    name: str
    role: str
    token: str = ""
    description: str = ""
    password: str = ""


@dataclass(frozen=True)
class PortalSettings:
    """Portal settings. Environment variable for each field: ``AIM_PORTAL_`` + the field name in upper case."""

    hub_url: str = "http://127.0.0.1:8700"
    keys_dir: str = "var/aim/keys"
    policy_path: str = ""
    demo_users_path: str = ""
    host: str = "127.0.0.1"
    port: int = 8800
    hub_timeout_s: int = 30

    def __post_init__(self) -> None:
        problems = []
        if not self.hub_url.startswith(("http://", "https://")):
            problems.append("AIM_PORTAL_HUB_URL must be the hub's base URL, e.g. http://127.0.0.1:8700")
        if not Path(self.keys_dir).is_dir():
            problems.append(
                f"AIM_PORTAL_KEYS_DIR names {self.keys_dir}, not a directory: run 'aim keys init --out DIR'"
            )
        if not self.policy_path or not Path(self.policy_path).is_file():
            problems.append("AIM_PORTAL_POLICY_PATH must name the DPO's policy file (for the controlled purposes)")
        if self.demo_users_path and not Path(self.demo_users_path).is_file():
            problems.append(f"AIM_PORTAL_DEMO_USERS_PATH names {self.demo_users_path}, which is not a file")
        if not 0 < self.port < 65536:
            problems.append("AIM_PORTAL_PORT must be a TCP port, 1-65535")
        if problems:
            raise ConfigError("invalid portal settings: " + "; ".join(problems))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PortalSettings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            raw = env.get(env_name(spec.name))
            if raw is None:
                continue
            if spec.type == "int":
                try:
                    values[spec.name] = int(raw)
                except ValueError:
                    raise ConfigError(f"{env_name(spec.name)} must be a whole number") from None
            else:
                values[spec.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    def policy(self) -> Policy:
        try:
            return load_policy(Path(self.policy_path))
        except PolicyError as exc:
            raise ConfigError(str(exc)) from None

    def demo_users(self) -> list[DemoUser]:
        """The demo sign-ins (empty outside demo mode): a JSON list written by ``aim demo``."""
        if not self.demo_users_path:
            return []
        data = json.loads(Path(self.demo_users_path).read_text(encoding="utf-8"))
        return [DemoUser(**item) for item in data]


def env_name(field_name: str) -> str:
    return "AIM_PORTAL_" + field_name.upper()
