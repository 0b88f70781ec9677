"""docker-compose.yml cannot be run here (no Docker), so check what can be checked without it: every service's
command is a real ``aim`` command with real options, every AIM_* setting it passes exists, and the image builds
from the repository's Dockerfile with what the services expect."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click
import pytest
import yaml

from aim.cli import main
from aim.settings import Settings, env_name
from api.portal.settings import PortalSettings
from api.portal.settings import env_name as portal_env_name

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
AIM_SERVICES = sorted(name for name, spec in SERVICES.items() if "build" in spec)
KNOWN_ENV = (
    {env_name(f.name) for f in fields(Settings)}
    | {portal_env_name(f.name) for f in fields(PortalSettings)}
    | {"AIM_PARTNER_TOKEN"}
)


def resolve(args: list[str]) -> tuple[click.Command, list[str], list[click.Command]]:
    """The click command ``args`` name (after ``aim``), the remaining arguments and the groups passed through."""
    command: click.Command = main
    chain: list[click.Command] = [main]
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"'aim {' '.join(args)}': no command {rest[0]!r} in 'aim {command.name}'"
        command, rest = sub, rest[1:]
        chain.append(command)
    return command, rest, chain


def test_the_services_are_there() -> None:
    assert {"postgres", "hub", "portal"} <= set(SERVICES)
    assert any("agent" in name for name in SERVICES)


@pytest.mark.parametrize("service", AIM_SERVICES)
def test_command_is_a_real_aim_command(service: str) -> None:
    command = SERVICES[service]["command"]
    assert isinstance(command, list), f"{service}: write the command as a list, not a shell string"
    assert command[0] == "aim", f"{service}: the command must be an aim command"
    target, rest, chain = resolve(command[1:])
    assert not isinstance(target, click.Group), f"{service}: 'aim {' '.join(command[1:])}' is a group, not a command"
    options = {opt for cmd in chain for param in cmd.params for opt in param.opts if isinstance(param, click.Option)}
    for arg in rest:
        if arg.startswith("--"):
            assert arg.split("=")[0] in options, f"{service}: {' '.join(command)}: no option {arg}"
    # The arguments parse as click would parse them (paths are checked inside the container, not here).
    ctx = click.Context(target)
    values, extra, _order = target.make_parser(ctx).parse_args(list(rest))
    arguments = [p for p in target.params if isinstance(p, click.Argument)]
    assert len(extra) <= sum(1 if a.nargs == 1 else len(extra) for a in arguments), f"{service}: extra args {extra}"
    assert values is not None


@pytest.mark.parametrize("service", AIM_SERVICES)
def test_settings_passed_exist(service: str) -> None:
    environment = SERVICES[service].get("environment") or {}
    assert isinstance(environment, dict), f"{service}: give the environment as a mapping"
    unknown = sorted(k for k in environment if k.startswith("AIM_") and k not in KNOWN_ENV)
    assert not unknown, f"{service}: unknown settings {unknown}; known: {sorted(KNOWN_ENV)}"


def test_hub_and_portal_ports_match_their_commands() -> None:
    for service, port in (("hub", "8700"), ("portal", "8800")):
        command = SERVICES[service]["command"]
        assert command[command.index("--port") + 1] == port
        assert any(str(p).endswith(f":{port}") for p in SERVICES[service]["ports"])
    assert SERVICES["portal"]["environment"]["AIM_PORTAL_HUB_URL"] == "http://hub:8700"
    assert SERVICES["hub"]["environment"]["AIM_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_the_hub_never_gets_the_partnership_keys() -> None:
    for name in ("hub", "hub-init"):
        mounts = [str(v) for v in SERVICES[name].get("volumes", [])]
        assert not any("keys" in m for m in mounts), f"{name} must not mount the partnership key set"
        assert not any("KEYS" in k for k in SERVICES[name].get("environment", {}))


def test_dockerfile_installs_the_packages_and_the_fixtures() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for folder in ("aim", "api", "governance", "linkage", "fixtures"):
        assert f"COPY {folder} ./{folder}" in dockerfile
    policy = SERVICES["hub"]["environment"]["AIM_POLICY_PATH"]
    assert policy.startswith("/srv/aim/fixtures/")
    assert (ROOT / policy.removeprefix("/srv/aim/")).is_file()
