"""``aim hub rules ...``: event recognition on the hub (run, validate, list, backtest, schedule)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from aim.bootstrap import Hub
from aim.cli.hub import open_hub
from aim.rules.loader import load_rule_file, load_rules, rules_directory
from aim.rules.model import Rule
from aim.rules.schedule import schedule_nightly
from aim.settings import Settings

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_DIR = click.Path(file_okay=False, path_type=Path)


def _date(_ctx: Any, _param: Any, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: give YYYY-MM-DD") from None


def _rules(built: Hub, directory: Path | None) -> list[Rule]:
    return load_rules(directory) if directory else built.rules.rules()


@click.group(name="rules")
def rules() -> None:
    """Event-recognition rules: YAML files, versioned; see docs/rules.md.

    \b
    Example:
      aim hub rules validate fixtures/rules/*.yaml && aim hub rules run
    """


@rules.command(name="run")
@click.option("--as-of", callback=_date, help="Run as of this date (YYYY-MM-DD) [default: today].")
@click.option("--rules", "rules_dir", type=_DIR, help="The rules directory [default: AIM_RULES_DIR].")
@click.pass_context
def run(ctx: click.Context, as_of: date | None, rules_dir: Path | None) -> None:
    """Run the active and shadow rules for everyone; a second run raises nothing new.

    \b
    Example:
      aim hub rules run --as-of 2026-11-23
    """
    built = open_hub(ctx)
    for report in built.rules.run(as_of=as_of, rules=_rules(built, rules_dir)):
        click.echo(report.line())


@rules.command(name="validate")
@click.argument("files", nargs=-1, required=True, type=_FILE)
def validate(files: tuple[Path, ...]) -> None:
    """Check rule files; every problem is listed with its line, value, rule and fix.

    \b
    Example:
      aim hub rules validate fixtures/rules/three-partners-30-days.yaml
    """
    for path in files:
        rule = load_rule_file(path)
        click.echo(f"{path}: ok ({rule.id} v{rule.version}, {rule.status})")


@rules.command(name="list")
@click.option("--rules", "rules_dir", type=_DIR, help="The rules directory [default: AIM_RULES_DIR].")
@click.pass_context
def list_rules(ctx: click.Context, rules_dir: Path | None) -> None:
    """List the rules with version, status, window, threshold and action.

    \b
    Example:
      aim hub rules list
    """
    settings: Settings = ctx.find_object(Settings) or Settings.from_env()
    for rule in load_rules(rules_dir or rules_directory(settings.rules_dir)):
        click.echo(
            f"{rule.id}\tv{rule.version}\t{rule.status}\t>= {rule.threshold} distinct {rule.distinct_by} in "
            f"{rule.window.days} days\t{rule.action}\t{rule.severity}\t{rule.queue}"
        )


@rules.command(name="backtest")
@click.argument("rule_id")
@click.option("--from", "start", required=True, callback=_date, help="First run date (YYYY-MM-DD).")
@click.option("--to", "end", required=True, callback=_date, help="Last run date (YYYY-MM-DD).")
@click.option("--rules", "rules_dir", type=_DIR, help="The rules directory [default: AIM_RULES_DIR].")
@click.pass_context
def backtest(ctx: click.Context, rule_id: str, start: date, end: date, rules_dir: Path | None) -> None:
    """Show what a rule (of any status) would have raised, run daily over a period; nothing is raised.

    \b
    Example:
      aim hub rules backtest three-partners-30-days --from 2026-09-01 --to 2026-11-23
    """
    built = open_hub(ctx)
    rule = next((r for r in _rules(built, rules_dir) if r.id == rule_id), None) or built.rules.rule(rule_id)
    would = built.rules.backtest(rule, start=start, end=end)
    for item in would:
        click.echo(
            f"person {item.person_pk}\tfirst on {item.first_raised_on}\twindow {item.window_start}..{item.window_end}"
            f"\t{len(item.keys)} {rule.distinct_by}s: {', '.join(sorted(item.keys))}"
            f"\t{len(item.record_pks)} interactions"
        )
    click.echo(f"{rule.id} v{rule.version} ({rule.status}) would have raised {len(would)} from {start} to {end}")


@rules.command(name="schedule")
@click.option("--at", default="01:30", show_default=True, help="Local time of the nightly run (HH:MM).")
@click.pass_context
def schedule(ctx: click.Context, at: str) -> None:
    """Run the rules nightly (blocking; one run at a time): expire watch-list entries, re-check alerts, run rules.

    \b
    Example:
      aim hub rules schedule --at 01:30
    """
    built = open_hub(ctx)
    click.echo(f"nightly rules run at {at} {built.settings.timezone}; Ctrl-C to stop")
    schedule_nightly(built, at=at).start()


def register(main: click.Group) -> None:
    """Add this module's commands to the ``aim hub`` group of ``main`` (``aim hub rules``)."""
    hub = main.commands["hub"]
    assert isinstance(hub, click.Group)
    if "rules" not in hub.commands:
        hub.add_command(rules)
