"""``aim hub link | link-schedule | train | export-links | review | split | undo``: identity resolution on the hub."""

from __future__ import annotations

from pathlib import Path

import click

from aim.bootstrap import Hub
from aim.cli.hub import open_hub
from aim.errors import InputError
from aim.identity.review import ReviewService
from aim.identity.schedule import DEFAULT_AT, schedule_nightly_link
from aim.identity.service import IdentityService


def identity_of(hub: Hub) -> IdentityService:
    return hub.identity


def review_of(hub: Hub) -> ReviewService:
    return hub.identity.review


@click.command(name="link")
@click.pass_context
def link(ctx: click.Context) -> None:
    """Link every record changed since the last run into persons (safe to run again; one run at a time).

    \b
    Example:
      aim hub link
    """
    run = identity_of(open_hub(ctx)).link()
    methods = ", ".join(f"{name} {count}" for name, count in sorted(run.methods.items())) or "none"
    click.echo(
        f"changes {run.changes}; records linked {run.records_linked} ({methods}); unlinked {run.records_unlinked}; "
        f"new persons {run.new_persons}; merges {run.merges}; splits {run.splits}; "
        f"queued for review {run.reviews_queued}; cursor {run.cursor}"
        + (f" (committed in {run.parts} parts)" if run.parts > 1 else "")
    )


@click.command(name="link-schedule")
@click.option("--at", default=DEFAULT_AT, show_default=True, help="Local time of the nightly run (HH:MM).")
@click.pass_context
def link_schedule(ctx: click.Context, at: str) -> None:
    """Link nightly (blocking; one run at a time), before the rules' nightly run: whatever the runs after each
    feed left unlinked.

    \b
    Example:
      aim hub link-schedule --at 01:00
    """
    built = open_hub(ctx)
    click.echo(f"nightly linking at {at} {built.settings.timezone}; Ctrl-C to stop")
    schedule_nightly_link(built, at=at).start()


@click.command(name="train")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Model file [default: AIM_LINKAGE_MODEL].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the random pairs u is estimated from.")
@click.pass_context
def train(ctx: click.Context, out: Path | None, seed: int) -> None:
    """Re-estimate the linkage model from the hub's own records (EM, no labels) and write it with a new version.

    The hub scores with the file named by AIM_LINKAGE_MODEL; point it at the new file to use it.

    \b
    Example:
      aim hub train --out /etc/aim/linkage-model.yaml
    """
    trained = identity_of(open_hub(ctx)).train(out=out, seed=seed)
    t = trained.model.thresholds
    click.echo(
        f"model {trained.model.version} from {trained.records} records written to {trained.path} "
        f"(thresholds: link at {t.upper:+.2f}, review from {t.lower:+.2f})"
    )


@click.command(name="export-links")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="CSV file to write.")
@click.pass_context
def export_links(ctx: click.Context, out: Path) -> None:
    """Write partner,record_id,person_id for every record (for 'aim evaluate').

    \b
    Example:
      aim hub export-links --out links.csv && aim evaluate --truth truth.csv --links links.csv
    """
    count = identity_of(open_hub(ctx)).export_links(out)
    click.echo(f"{count} records written to {out}")


@click.group(name="review")
def review() -> None:
    """The data steward's review queue: pairs the model was unsure of.

    \b
    Example:
      aim hub review list
    """


@review.command(name="list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="How many pairs.")
@click.pass_context
def review_list(ctx: click.Context, limit: int) -> None:
    """List pending pairs with each field's agreement level (never encodings or scores).

    \b
    Example:
      aim hub review list --limit 20
    """
    for item in review_of(open_hub(ctx)).pending(limit=limit):
        sides = "  |  ".join(
            f"{r.partner} {r.record_id} ({r.flag}, {r.interaction_date.isoformat()}, person {r.person_id})"
            for r in (item.a, item.b)
        )
        click.echo(f"pair {item.pair_id} [{item.band}]: {sides}")
        for name, level in item.levels:
            click.echo(f"    {name}: {level}")


def _actor(value: str | None) -> str:
    if not value or not value.strip():
        raise InputError("--by is required: give the steward's user id, recorded with the decision")
    return value.strip()


@review.command(name="accept")
@click.argument("pair_id", type=int)
@click.option("--by", "actor", required=True, help="The steward's user id (recorded).")
@click.option("--note", help="Why (recorded).")
@click.pass_context
def review_accept(ctx: click.Context, pair_id: int, actor: str, note: str | None) -> None:
    """Accept a pair: its two persons merge, the older id surviving.

    \b
    Example:
      aim hub review accept 12 --by steward-1 --note "same NHS letter"
    """
    change = review_of(open_hub(ctx)).accept(pair_id=pair_id, actor=_actor(actor), note=note)
    click.echo(f"pair {pair_id} accepted: person {change.person_id}" + _event(change.event_id))


@review.command(name="reject")
@click.argument("pair_id", type=int)
@click.option("--by", "actor", required=True, help="The steward's user id (recorded).")
@click.option("--note", help="Why (recorded).")
@click.pass_context
def review_reject(ctx: click.Context, pair_id: int, actor: str, note: str | None) -> None:
    """Reject a pair: its records are kept apart from now on.

    \b
    Example:
      aim hub review reject 12 --by steward-1 --note "twins"
    """
    review_of(open_hub(ctx)).reject(pair_id=pair_id, actor=_actor(actor), note=note)
    click.echo(f"pair {pair_id} rejected")


def _event(event_id: int | None) -> str:
    return f" (event {event_id}; undo with 'aim hub undo {event_id}')" if event_id is not None else ""


def _ref(value: str) -> tuple[str, str]:
    partner, sep, record_id = value.partition(":")
    if not sep or not partner or not record_id:
        raise InputError(f"--record must be PARTNER:RECORD_ID, e.g. WMP:R123 (got {len(value)} characters without ':')")
    return partner, record_id


@click.command(name="split")
@click.argument("person_id", type=int)
@click.option("--record", "refs", multiple=True, required=True, help="PARTNER:RECORD_ID to move out (repeatable).")
@click.option("--by", "actor", required=True, help="The steward's user id (recorded).")
@click.pass_context
def split(ctx: click.Context, person_id: int, refs: tuple[str, ...], actor: str) -> None:
    """Split records out of a person into a person of their own; they stay apart in later runs.

    \b
    Example:
      aim hub split 42 --record WMP:R123 --record CITYHOSP_AE:A9 --by steward-1
    """
    change = review_of(open_hub(ctx)).split(person_id=person_id, records=[_ref(r) for r in refs], actor=_actor(actor))
    click.echo(f"moved {len(refs)} records to person {change.other_person_id}" + _event(change.event_id))


@click.command(name="undo")
@click.argument("event_id", type=int)
@click.option("--by", "actor", required=True, help="The steward's user id (recorded).")
@click.pass_context
def undo(ctx: click.Context, event_id: int, actor: str) -> None:
    """Undo a merge (split it back, restoring the absorbed id) or a split (merge the two back).

    \b
    Example:
      aim hub undo 7 --by steward-1
    """
    change = review_of(open_hub(ctx)).undo(event_id=event_id, actor=_actor(actor))
    click.echo(
        f"event {event_id} undone: persons {change.person_id} and {change.other_person_id}" + _event(change.event_id)
    )


def register(main: click.Group) -> None:
    """Add this module's commands to the ``aim hub`` group of ``main``."""
    hub = main.commands["hub"]
    assert isinstance(hub, click.Group)
    for command in (link, link_schedule, train, export_links, review, split, undo):
        hub.add_command(command)
