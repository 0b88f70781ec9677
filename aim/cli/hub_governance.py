"""``aim hub users | policy | audit | purge | subject-access | restrict | transparency``: governance on the hub.

The ``users`` group lives in :mod:`aim.cli.hub_users`; this module registers it with the others."""

from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from aim.audit import store
from aim.audit.log import AuditFilter
from aim.audit.reports import subject_access, transparency
from aim.cli.hub import open_hub
from aim.cli.hub_users import users
from aim.errors import InputError
from aim.retention.purge import purge
from governance import AuditEvent, Outcome, Policy, PolicyError, event_to_record, load_policy, policy_diff


def _date(_ctx: Any, _param: Any, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: give it as YYYY-MM-DD") from None


@click.group(name="audit")
def audit() -> None:
    """The hash-chained audit log: verify it, sign a checkpoint, show entries.

    \b
    Example:
      aim hub audit verify
    """


@audit.command(name="verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check every entry's hash and link and every signed checkpoint; exit 1 naming the first broken entry.

    \b
    Example:
      aim hub audit verify
    """
    report = open_hub(ctx).audit_log.verify()
    click.echo(report.render())
    if not report.ok:
        first = report.problems[0]
        click.echo(f"first broken entry: {first.sequence}", err=True)
        ctx.exit(1)


@audit.command(name="checkpoint")
@click.pass_context
def audit_checkpoint(ctx: click.Context) -> None:
    """Sign the chain's current head with the hub's audit key (run nightly; publish the output).

    \b
    Example:
      aim hub audit checkpoint
    """
    mark = open_hub(ctx).audit_log.checkpoint()
    click.echo(f"checkpoint {mark.sequence} {mark.head_hash} key {mark.key_id} at {mark.signed_at.isoformat()}")
    click.echo(f"signature {mark.signature}")


@audit.command(name="show")
@click.option("--actor", help="A user id (or system:<job>).")
@click.option("--action", help="An action such as search, view_person, retention_purge.")
@click.option("--outcome", type=click.Choice([o.value for o in Outcome]))
@click.option("--target", help="kind:id, e.g. person:123.")
@click.option("--purpose")
@click.option("--case-ref", "case_reference")
@click.option("--since", callback=_date, help="First day (YYYY-MM-DD, UTC).")
@click.option("--until", callback=_date, help="Last day (YYYY-MM-DD, UTC).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def audit_show(ctx: click.Context, /, as_json: bool, **filters: Any) -> None:
    """Show audit entries, newest first, filtered by any of the options.

    \b
    Example:
      aim hub audit show --outcome denied --since 2026-11-01
    """
    for entry in open_hub(ctx).audit_log.search(AuditFilter(**filters)):
        record = {"sequence": entry.sequence, **event_to_record(entry.event)}
        if as_json:
            click.echo(json.dumps(record, sort_keys=True))
        else:
            e = entry.event
            click.echo(
                f"{entry.sequence}\t{record['occurred_at']}\t{e.actor or '-'}\t{e.action}\t{e.outcome.value}\t"
                f"{e.purpose or '-'}\t{e.case_reference or '-'}\t{e.target or '-'}\t{'; '.join(e.reasons)}"
            )


@click.command(name="purge")
@click.option("--as-of", callback=_date, help="Purge as on this day [default: today].")
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.pass_context
def purge_command(ctx: click.Context, as_of: date | None, dry_run: bool) -> None:
    """Delete records past their category's retention and everything derived; the purge is audited (counts only).

    \b
    Example:
      aim hub purge --dry-run
    """
    built = open_hub(ctx)
    result = purge(database=built.database, policy=built.policy, clock=built.clock, as_of=as_of, dry_run=dry_run)
    if not result.ran:
        click.echo("another purge is running; nothing done")
        return
    report = result.report
    verb = "would remove" if dry_run else "removed"
    click.echo(f"purge as of {report.as_of.isoformat()}: {verb} {report.total_interactions} record(s)")
    for category, count in sorted(report.interactions.items()):
        click.echo(f"  {category}: {count} (dated on or before {report.cutoffs[category].isoformat()})")
    for kind, count in sorted(report.derived.items()):
        click.echo(f"  derived {kind}: {count}")
    if result.audit_sequence is not None:
        click.echo(f"recorded as audit entry {result.audit_sequence}")


@click.command(name="subject-access")
@click.option("--person", "person_id", required=True, help="The hub's person id.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSON file.")
@click.option("--case-ref", "case_reference", required=True, help="The SAR's reference.")
@click.pass_context
def subject_access_command(ctx: click.Context, person_id: str, out: Path, case_reference: str) -> None:
    """Export everything held about a person, and who viewed it and why, to a JSON file (the export is audited).

    \b
    Example:
      aim hub subject-access --person 1042 --case-ref SAR-2026-7 --out sar-1042.json
    """
    built = open_hub(ctx)
    now = built.clock.now()
    export = subject_access(database=built.database, person_id=person_id, at=now)
    out.write_text(json.dumps(export, indent=2, sort_keys=True), encoding="utf-8")
    event = AuditEvent(
        occurred_at=now,
        actor=f"cli:{getpass.getuser()}"[:64],
        action="export_sar",
        outcome=Outcome.ALLOWED,
        purpose="subject_access",
        case_reference=case_reference[:128],
        target=f"person:{person_id}",
        counts={"records": len(export["records"]), "accesses": len(export["accesses"])},
    )
    with built.database.write() as conn:
        store.append_in(conn, event)
    click.echo(f"wrote {out}: {len(export['records'])} record(s), {len(export['accesses'])} access(es)")


@click.group(name="policy")
def policy() -> None:
    """The DPO's access policy file: check it, compare two versions.

    \b
    Example:
      aim hub policy diff policy-2026-10.yaml policy-2026-11.yaml
    """


@policy.command(name="check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def policy_check(path: Path) -> None:
    """Validate a policy file; every problem is listed with its line, rule and fix.

    \b
    Example:
      aim hub policy check fixtures/policy/demo-policy.yaml
    """
    loaded = _policy(path)
    click.echo(f"{path}: valid; {len(loaded.role_ids)} roles, {len(loaded.purpose_ids)} purposes")


@policy.command(name="diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def policy_diff_command(old: Path, new: Path) -> None:
    """Print every decision (role x category x purpose) and setting that changes from OLD to NEW.

    \b
    Example:
      aim hub policy diff policy-2026-10.yaml policy-2026-11.yaml
    """
    diff = policy_diff(_policy(old), _policy(new))
    click.echo(diff.render() if diff else "no decision or setting changes")


def _policy(path: Path) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise InputError(str(exc)) from None


@click.command(name="restrict")
@click.option("--person", "person_id", required=True, help="The hub's person id.")
@click.option("--by", "marked_by", required=True, help="Who decided (a user id); recorded and audited.")
@click.pass_context
def restrict_command(ctx: click.Context, person_id: str, marked_by: str) -> None:
    """Mark a person restricted (e.g. a protected address): hidden from all but the policy's named roles.

    \b
    Example:
      aim hub restrict --person 1042 --by dpo
    """
    built = open_hub(ctx)
    built.access.break_glass.restrict(person_id, marked_by=marked_by)
    event = AuditEvent(
        occurred_at=built.clock.now(),
        actor=marked_by[:64],
        action="restrict_subject",
        outcome=Outcome.ALLOWED,
        target=f"person:{person_id}",
    )
    with built.database.write() as conn:
        store.append_in(conn, event)
    click.echo(f"person {person_id} is restricted")


@click.command(name="transparency")
@click.option("--from", "period_start", required=True, callback=_date, help="First day (YYYY-MM-DD).")
@click.option("--to", "period_end", required=True, callback=_date, help="Last day (YYYY-MM-DD).")
@click.pass_context
def transparency_command(ctx: click.Context, period_start: date, period_end: date) -> None:
    """Print the transparency report for a period as JSON (counts from 1 to 4 shown as <5).

    \b
    Example:
      aim hub transparency --from 2026-10-01 --to 2026-12-31
    """
    built = open_hub(ctx)
    report = transparency(database=built.database, period_start=period_start, period_end=period_end)
    click.echo(json.dumps(report.to_data(), indent=2))


GOVERNANCE_COMMANDS = ("users", "policy", "audit", "purge", "subject-access", "restrict", "transparency")
"""The ``aim hub`` commands this module adds; each is documented in docs/audit.md."""


def register(main: click.Group) -> None:
    """Add this module's commands to the ``aim hub`` group of ``main``."""
    hub = main.commands["hub"]
    assert isinstance(hub, click.Group)
    for command in (
        users,
        policy,
        audit,
        purge_command,
        subject_access_command,
        restrict_command,
        transparency_command,
    ):
        hub.add_command(command)
