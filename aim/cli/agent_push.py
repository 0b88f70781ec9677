"""``aim agent push``, ``aim agent schedule`` and ``aim agent keygen``: the partner's side of the hub's ingest API.

Added to the ``agent`` group (registered after :mod:`aim.cli.agent`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from tqdm import tqdm

from aim.agent.push import HubClient, RetryPolicy, push_feed
from aim.agent.schedule import ScheduleConfig, build_scheduler, run_once
from aim.errors import InputError
from aim.ingest.batches import DEFAULT_BATCH_ROWS, split_feed
from aim.partner.credentials import generate_signing_key, load_signing_key

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _token(token_file: Path | None) -> str:
    if token_file is not None:
        token = token_file.read_text(encoding="utf-8").strip()
    else:
        token = os.environ.get("AIM_PARTNER_TOKEN", "").strip()
    if not token:
        raise InputError("no hub token: give --token-file or set AIM_PARTNER_TOKEN")
    return token


@click.command(name="push")
@click.argument("feed", type=_FILE)
@click.option("--hub", "hub_url", required=True, help="The hub's base URL, e.g. https://hub.example.org.")
@click.option("--token-file", type=_FILE, help="File holding this partner's API token [or env AIM_PARTNER_TOKEN].")
@click.option("--signing-key", type=_FILE, required=True, help="This partner's Ed25519 signing key (PEM).")
@click.option("--batch-rows", type=click.IntRange(1, 50_000), default=DEFAULT_BATCH_ROWS, show_default=True)
@click.option("--retry-for", type=click.FloatRange(1), default=900.0, show_default=True, help="Seconds per request.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def push(
    *,
    feed: Path,
    hub_url: str,
    token_file: Path | None,
    signing_key: Path,
    batch_rows: int,
    retry_for: float,
    progress: bool,
) -> None:
    """Push a feed to the hub and print its receipt (JSON).

    The feed goes as its manifest, numbered batches and a commit; every request is retried with the same bytes
    until the hub answers, so a push interrupted at any point can simply be run again.

    \b
    Example:
      aim agent push --hub https://hub.example.org --token-file /etc/aim/hub-token \\
          --signing-key /etc/aim/signing-key.pem wmp.feed
    """
    rows = split_feed(feed.read_bytes()).manifest.row_count
    client = HubClient(
        base_url=hub_url,
        token=_token(token_file),
        signing_key=load_signing_key(signing_key.read_bytes()),
        retry=RetryPolicy(deadline_s=retry_for),
        on_retry=lambda message: click.echo(message, err=True),
    )
    with tqdm(total=rows, unit="row", disable=not progress, file=sys.stderr) as bar:
        try:
            receipt = push_feed(feed, client=client, batch_rows=batch_rows, progress=bar.update)
        finally:
            client.close()
    click.echo(json.dumps(receipt, indent=2))
    click.echo(
        f"feed {receipt['feed_id']}: {receipt['status']}; accepted {receipt['accepted']}, "
        f"rejected {receipt['rejected']} of {receipt['row_count']}",
        err=True,
    )


@click.command(name="schedule")
@click.argument("config", type=_FILE)
@click.option("--once", is_flag=True, help="Run tonight's job now and exit, instead of waiting for the schedule.")
def schedule(*, config: Path, once: bool) -> None:
    """Run the nightly encode-and-push job from a configuration file (runs until stopped).

    \b
    Example:
      aim agent schedule /etc/aim/agent-schedule.yaml
      aim agent schedule /etc/aim/agent-schedule.yaml --once
    """
    loaded = ScheduleConfig.load(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if once:
        receipt = run_once(loaded, now=datetime.now(UTC))
        click.echo(json.dumps(receipt, indent=2))
        return
    click.echo(f"pushing {loaded.extract.name} to {loaded.hub_url} every day at {loaded.at} ({loaded.timezone})")
    build_scheduler(loaded).start()


@click.command(name="keygen")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory to write to.")
@click.option("--name", default="signing-key", show_default=True, help="File name stem.")
def keygen(*, out: Path, name: str) -> None:
    """Create this partner's Ed25519 signing key pair; register the .pub.pem at the hub.

    Writes <NAME>.pem (private, mode 600; never leaves this machine) and <NAME>.pub.pem (for
    'aim hub partners add ... --public-key'), and prints the key id.

    \b
    Example:
      aim agent keygen --out /etc/aim
    """
    private_pem, public_pem, key_id = generate_signing_key()
    out.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out / f"{name}.pem", out / f"{name}.pub.pem"
    if private_path.exists():
        raise InputError(f"{private_path} exists: choose another --name, or move the old key away first")
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    public_path.write_bytes(public_pem)
    click.echo(f"key id {key_id}\nprivate key {private_path}\npublic key {public_path}")


def register(main: click.Group) -> None:
    agent = main.commands["agent"]
    assert isinstance(agent, click.Group)
    for command in (push, schedule, keygen):
        agent.add_command(command)
