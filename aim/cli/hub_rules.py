"""``aim hub rules ...`` and ``aim hub watchlist ...``: event recognition on the hub (run, validate, list, backtest,
schedule) and the watch list (add, list, renew, remove)."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Any

import click

from aim.alerts.watchlist import WatchEntry
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


@click.group(name="watchlist")
def watchlist() -> None:
    """The watch list: persons watched by a team until a review date; see docs/rules.md.

    \b
    Example:
      aim hub watchlist add 42 --team mash --reason "repeat contacts" --review-date 2027-01-31
    """


def _actor() -> str:
    return f"cli:{getpass.getuser()}"[:64]


def _entry_line(entry: WatchEntry) -> str:
    return (
        f"{entry.pk}\tperson {entry.person_pk}\t{entry.team}\t{entry.status}\treview {entry.review_date}"
        f"\t{entry.reason}"
    )


@watchlist.command(name="add")
@click.argument("person_id", type=int)
@click.option("--team", required=True, help="The owning team, notified of new activity on the person.")
@click.option("--reason", required=True, help="Why the person is watched.")
@click.option("--review-date", required=True, callback=_date, help="When to review (YYYY-MM-DD, in the future).")
@click.pass_context
def watchlist_add(ctx: click.Context, person_id: int, team: str, reason: str, review_date: date) -> None:
    """Watch a person for a team until the review date (one active entry per person and team).

    \b
    Example:
      aim hub watchlist add 42 --team mash --reason "repeat contacts" --review-date 2027-01-31
    """
    entry = open_hub(ctx).watchlist.add(
        person_pk=person_id, team=team, reason=reason, review_date=review_date, actor=_actor()
    )
    click.echo(_entry_line(entry))


@watchlist.command(name="list")
@click.option("--team", help="Only this team's entries.")
@click.option(
    "--status",
    type=click.Choice(["active", "expired", "removed", "all"]),
    default="active",
    show_default=True,
    help="Which entries.",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=200, show_default=True)
@click.pass_context
def watchlist_list(ctx: click.Context, team: str | None, status: str, limit: int) -> None:
    """The entries, newest first: id, person, team, status, review date, reason.

    \b
    Example:
      aim hub watchlist list --team mash
    """
    entries, total = open_hub(ctx).watchlist.list_entries(
        team=team, status=None if status == "all" else status, limit=limit
    )
    for entry in entries:
        click.echo(_entry_line(entry))
    click.echo(f"{len(entries)} of {total} entries")


@watchlist.command(name="renew")
@click.argument("entry_id", type=int)
@click.option("--review-date", required=True, callback=_date, help="The new review date (YYYY-MM-DD, in the future).")
@click.pass_context
def watchlist_renew(ctx: click.Context, entry_id: int, review_date: date) -> None:
    """Keep an entry (active or expired) until a new review date.

    \b
    Example:
      aim hub watchlist renew 7 --review-date 2027-04-30
    """
    click.echo(_entry_line(open_hub(ctx).watchlist.renew(entry_pk=entry_id, review_date=review_date, actor=_actor())))


@watchlist.command(name="remove")
@click.argument("entry_id", type=int)
@click.option("--reason", required=True, help="Why the person is no longer watched.")
@click.pass_context
def watchlist_remove(ctx: click.Context, entry_id: int, reason: str) -> None:
    """End an active entry, with the reason.

    \b
    Example:
      aim hub watchlist remove 7 --reason "case closed"
    """
    click.echo(_entry_line(open_hub(ctx).watchlist.remove(entry_pk=entry_id, reason=reason, actor=_actor())))


def register(main: click.Group) -> None:
    """Add this module's commands to the ``aim hub`` group of ``main`` (``aim hub rules``, ``aim hub watchlist``)."""
    hub = main.commands["hub"]
    assert isinstance(hub, click.Group)
    if "rules" not in hub.commands:
        hub.add_command(rules)
    if "watchlist" not in hub.commands:
        hub.add_command(watchlist)
