"""``aim hub``: the hub side. Database set-up, the API server, local ingest and the partner register."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import click
import uvicorn

from aim.audit.signing import ensure_signing_key
from aim.bootstrap import Hub, bootstrap
from aim.errors import ConfigError
from aim.ingest.local import ingest_file
from aim.ingest.receipt import Receipt
from aim.partner.model import Partner
from aim.rules.schedule import nightly_scheduler
from aim.settings import Settings, env_name
from aim.storage import migrate

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
APP_FACTORY = "api.hub.app:app_from_env"


@click.group(name="hub")
@click.option("--database-url", envvar="AIM_DATABASE_URL", help="The hub's database [env AIM_DATABASE_URL].")
@click.pass_context
def hub(ctx: click.Context, database_url: str | None) -> None:
    """Hub side: ingest feeds, link identities, run rules and administer governance.

    \b
    Example:
      aim hub init-db && aim hub partners list
    """
    overrides = {"database_url": database_url} if database_url else {}
    ctx.obj = Settings.from_dict(Settings.from_env().to_dict() | overrides)


def open_hub(ctx: click.Context, *, migrate_schema: bool = False) -> Hub:
    """The hub for this command, closed when the command ends; refuses a database not at the latest schema."""
    settings: Settings = ctx.find_object(Settings) or Settings.from_env()
    built = bootstrap(settings, migrate_schema=migrate_schema)
    ctx.call_on_close(built.close)
    engine = built.database.engine
    if migrate.current_revision(engine) != migrate.head_revision(engine):
        raise ConfigError("the hub's database is not initialised or is out of date: run 'aim hub init-db'")
    return built


@hub.command(name="init-db")
@click.pass_context
def init_db(ctx: click.Context) -> None:
    """Create the hub's tables, or migrate them to the latest schema, and bring the search read model up to date
    (safe to run again).

    \b
    Example:
      AIM_DATABASE_URL=sqlite:///var/aim/hub.db aim hub init-db
    """
    built = open_hub(ctx, migrate_schema=True)
    click.echo(f"database at schema {migrate.current_revision(built.database.engine)}")
    filed = built.search.refresh()  # after an upgrade that changed the read model: refiled now, not by a search
    click.echo(f"search read model up to date ({filed:,} records filed)")
    signer, created = ensure_signing_key(Path(built.settings.audit_key_path))
    click.echo(
        f"{'created' if created else 'found'} audit signing key {signer.key_id} at {built.settings.audit_key_path}"
    )


@hub.command(name="serve")
@click.option("--host", help="Interface to listen on [default: AIM_HUB_HOST or 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [default: AIM_HUB_PORT or 8700].")
@click.option("--no-scheduler", is_flag=True, help="Do not run the nightly jobs in this process (another hub does).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes answering requests [default: AIM_HUB_WORKERS or 1]; more than one needs AIM_RATE_LIMIT_STORAGE.",
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, no_scheduler: bool, workers: int | None) -> None:
    """Run the hub's API under uvicorn (migrating the database first), with the nightly jobs in the same process:
    linking 01:00, rules 01:30, retention purge 02:30 (local time), one run of each at a time.

    With several workers, uvicorn runs the API in that many processes (restarting any that dies) and the nightly jobs
    stay in this one. The workers count requests against the rate limits in a shared storage
    (AIM_RATE_LIMIT_STORAGE=redis://HOST:6379) and, on SQLite, take turns to write through lock files beside the
    database.

    \b
    Example:
      aim hub serve --host 127.0.0.1 --port 8700
      AIM_RATE_LIMIT_STORAGE=redis://127.0.0.1:6379 aim hub serve --workers 2
    """
    built = open_hub(ctx, migrate_schema=True)
    settings = built.settings
    if workers is not None:
        settings = dataclasses.replace(settings, hub_workers=workers)  # checked again: ConfigError if it cannot be
    # The app is named by import string (aim does not import the api layer); it reads these settings back.
    os.environ.update({env_name(k): str(v) for k, v in settings.to_dict().items()})
    scheduler = None if no_scheduler else nightly_scheduler(built)
    if scheduler is not None:
        scheduler.start()
        click.echo("nightly jobs: " + ", ".join(f"{job.id} at {job.next_run_time}" for job in scheduler.get_jobs()))
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host or settings.hub_host,
            port=port or settings.hub_port,
            workers=settings.hub_workers,
        )
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@hub.command(name="ingest")
@click.argument("feeds", nargs=-1, required=True, type=_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print each full receipt as JSON.")
@click.pass_context
def ingest(ctx: click.Context, feeds: tuple[Path, ...], as_json: bool) -> None:
    """Ingest feed files on the hub itself, through the same checks as a push.

    Each feed must come from a registered partner with an active agreement. Ingesting the same feed again changes
    nothing and prints the same receipt.

    \b
    Example:
      aim hub ingest /srv/drop/WMP-20261123.feed
    """
    built = open_hub(ctx)
    for path in feeds:
        receipt = ingest_file(path, ingest=built.ingest, partners=built.partners)
        click.echo(json.dumps(receipt.to_json(), indent=2) if as_json else _summary(path, receipt))


def _summary(path: Path, receipt: Receipt) -> str:
    lines = [
        f"{path.name}: feed {receipt.feed_id} from {receipt.partner}: {receipt.status}; rows {receipt.row_count}, "
        f"accepted {receipt.accepted} (new {receipt.inserted}, corrected {receipt.replaced}, "
        f"deleted {receipt.deleted}), rejected {receipt.rejected}"
    ]
    lines += [f"  line {r.line}: {r.record_id or '-'}: {'; '.join(r.reasons)}" for r in receipt.rejections[:50]]
    if len(receipt.rejections) > 50:
        lines.append(f"  ... and {len(receipt.rejections) - 50} more (use --json)")
    return "\n".join(lines)


@hub.group(name="partners")
def partners() -> None:
    """The partner register: partners, their data-sharing agreements, API tokens and signing keys.

    \b
    Example:
      aim hub partners add WMP --name "West Midlands Police" --agreement-ref DSA-2026-01 \\
          --agreement-until 2027-03-31 --public-key wmp.pub.pem
    """


def _show(partner: Partner) -> str:
    state = partner.status + (f" ({partner.status_reason})" if partner.status_reason else "")
    return (
        f"{partner.code}\t{partner.name}\tagreement {partner.agreement_ref} "
        f"{partner.agreement_from.isoformat()}..{partner.agreement_until.isoformat()}\t{state}"
    )


def _date(_ctx: Any, _param: Any, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("give a date as YYYY-MM-DD") from None


@partners.command(name="add")
@click.argument("code")
@click.option("--name", required=True, help="The partner organisation's name.")
@click.option("--agreement-ref", required=True, help="The data-sharing agreement's reference.")
@click.option("--agreement-until", required=True, callback=_date, help="Last day the agreement is in force.")
@click.option("--agreement-from", callback=_date, help="First day in force [default: today].")
@click.option("--public-key", type=_FILE, help="The partner's Ed25519 public key (PEM) from 'aim agent keygen'.")
@click.pass_context
def partners_add(
    ctx: click.Context,
    *,
    code: str,
    name: str,
    agreement_ref: str,
    agreement_until: date,
    agreement_from: date | None,
    public_key: Path | None,
) -> None:
    """Register a partner with an active agreement; prints its API token once (store it at the partner).

    \b
    Example:
      aim hub partners add WMP --name "West Midlands Police" --agreement-ref DSA-2026-01 \\
          --agreement-until 2027-03-31 --public-key wmp.pub.pem
    """
    registry = open_hub(ctx).partners
    registration = registry.add(
        code=code,
        name=name,
        agreement_ref=agreement_ref,
        agreement_until=agreement_until,
        agreement_from=agreement_from,
        public_key_pem=public_key.read_bytes() if public_key else None,
    )
    click.echo(_show(registration.partner))
    if registration.key_id:
        click.echo(f"signing key: {registration.key_id}")
    click.echo(f"API token (shown once; give it to the partner's agent): {registration.token}")


@partners.command(name="list")
@click.pass_context
def partners_list(ctx: click.Context) -> None:
    """List registered partners with their agreements and status.

    \b
    Example:
      aim hub partners list
    """
    for partner in open_hub(ctx).partners.all():
        click.echo(_show(partner))


@partners.command(name="show")
@click.argument("code")
@click.pass_context
def partners_show(ctx: click.Context, code: str) -> None:
    """Show one partner, its agreement and its signing keys.

    \b
    Example:
      aim hub partners show WMP
    """
    registry = open_hub(ctx).partners
    click.echo(_show(registry.get(code)))
    for key in registry.keys(code):
        click.echo(f"  key {key.key_id} added {key.created}{' (revoked)' if key.revoked else ''}")


@partners.command(name="suspend")
@click.argument("code")
@click.option("--reason", required=True, help="Why (recorded; shown to administrators).")
@click.pass_context
def partners_suspend(ctx: click.Context, code: str, reason: str) -> None:
    """Suspend a partner's agreement: its feeds are refused (403) until reinstated.

    \b
    Example:
      aim hub partners suspend FIRE --reason "agreement under review"
    """
    click.echo(_show(open_hub(ctx).partners.suspend(code, reason=reason)))


@partners.command(name="reinstate")
@click.argument("code")
@click.pass_context
def partners_reinstate(ctx: click.Context, code: str) -> None:
    """Reinstate a suspended partner's agreement.

    \b
    Example:
      aim hub partners reinstate FIRE
    """
    click.echo(_show(open_hub(ctx).partners.reinstate(code)))


@partners.command(name="renew")
@click.argument("code")
@click.option("--agreement-until", required=True, callback=_date, help="New last day in force.")
@click.option("--agreement-ref", help="New agreement reference, if it changed.")
@click.pass_context
def partners_renew(ctx: click.Context, code: str, agreement_until: date, agreement_ref: str | None) -> None:
    """Extend (or replace) a partner's agreement.

    \b
    Example:
      aim hub partners renew WMP --agreement-until 2028-03-31 --agreement-ref DSA-2027-01
    """
    registry = open_hub(ctx).partners
    click.echo(_show(registry.renew(code, agreement_until=agreement_until, agreement_ref=agreement_ref)))


@partners.command(name="add-key")
@click.argument("code")
@click.argument("public_key", type=_FILE)
@click.pass_context
def partners_add_key(ctx: click.Context, code: str, public_key: Path) -> None:
    """Register another signing key for a partner (e.g. before rotating).

    \b
    Example:
      aim hub partners add-key WMP wmp-2027.pub.pem
    """
    click.echo(f"signing key: {open_hub(ctx).partners.add_key(code, public_key_pem=public_key.read_bytes())}")


@partners.command(name="revoke-key")
@click.argument("key_id")
@click.pass_context
def partners_revoke_key(ctx: click.Context, key_id: str) -> None:
    """Revoke a signing key: requests signed with it are refused (401).

    \b
    Example:
      aim hub partners revoke-key ed25519-0123456789abcdef
    """
    open_hub(ctx).partners.revoke_key(key_id)
    click.echo(f"revoked {key_id}")


@partners.command(name="new-token")
@click.argument("code")
@click.pass_context
def partners_new_token(ctx: click.Context, code: str) -> None:
    """Issue a new API token for a partner and revoke its earlier ones; prints it once.

    \b
    Example:
      aim hub partners new-token WMP
    """
    click.echo(f"API token (shown once): {open_hub(ctx).partners.new_token(code)}")


def register(main: click.Group) -> None:
    main.add_command(hub)
