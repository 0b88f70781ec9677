"""``aim demo``: bring up the demonstration partnership on this machine: hub and portal on SQLite, with data."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import click

from aim.demo import DemoLayout, load_feeds, prepare, staff_sign_ins, suggestions
from aim.demo.servers import HUB_APP, PORTAL_APP, Server, start
from aim.demo.setup import refresh


@click.command(name="demo")
@click.option(
    "--dir",
    "workdir",
    type=click.Path(path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where the demo keeps its data; a second start reuses it.",
)
@click.option("--people", type=int, default=2000, show_default=True, help="Size of the synthetic population.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the synthetic population.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface the hub and the portal listen on.")
@click.option("--hub-port", type=int, default=8700, show_default=True, help="The hub's port.")
@click.option("--portal-port", type=int, default=8800, show_default=True, help="The portal's port.")
@click.option("--setup-only", is_flag=True, help="Build the data, then stop instead of serving.")
@click.option("--fresh", is_flag=True, help="Throw away the demo's data in DIR and build it again.")
def demo(
    *,
    workdir: Path,
    people: int,
    seed: int,
    host: str,
    hub_port: int,
    portal_port: int,
    setup_only: bool,
    fresh: bool,
) -> None:
    """Start the demo: hub and portal on SQLite with a synthetic partnership's data; Ctrl-C stops both.

    The first start generates the population as of today, creates the partnership key set, registers the eight
    demo partners, encodes each partner's extract and pushes it through the hub's API, links, runs the rules and
    creates one staff user per role of the demo policy, each with a password printed at the end. A second start
    reuses the data (and sets new demo passwords). All data is synthetic.

    \b
    Example:
      aim demo
      aim demo --dir /tmp/aim-demo --people 500 --portal-port 9000
    """
    started = time.monotonic()
    layout = DemoLayout(workdir)
    today = date.today()
    if fresh and layout.state_file.exists():
        layout.state_file.unlink()
    ready = layout.ready()
    if not ready:
        click.echo(f"building the demo in {workdir} (first start) ...")
        prepare(layout, people=people, seed=seed, as_of=today, echo=click.echo)
    else:
        click.echo(f"reusing the demo data in {workdir}")
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    servers: list[Server] = []
    try:
        hub = start(
            "hub", HUB_APP, env=layout.hub_env(hub_port=hub_port), host=host, port=hub_port, health="/v1/health",
            log=logs / "hub.log",
        )  # fmt: skip
        servers.append(hub)
        if not ready:
            load_feeds(layout, hub_url=hub.url, as_of=today, echo=click.echo)
        else:
            refresh(layout, as_of=today, echo=click.echo)
        users = staff_sign_ins(layout)
        if setup_only:
            click.echo(f"demo data ready in {workdir} ({time.monotonic() - started:.0f}s)")
            return
        portal = start(
            "portal", PORTAL_APP, env=layout.portal_env(hub_url=hub.url, port=portal_port), host=host,
            port=portal_port, health="/healthz", log=logs / "portal.log",
        )  # fmt: skip
        servers.append(portal)
        _announce(layout, portal=portal.url, hub=hub.url, users=users, today=today, seconds=time.monotonic() - started)
        _wait(servers)
    finally:
        for server in reversed(servers):
            server.stop()


def _announce(
    layout: DemoLayout, *, portal: str, hub: str, users: list[dict[str, str]], today: date, seconds: float
) -> None:
    click.echo("")
    click.echo(f"AIM demo ready in {seconds:.0f}s. All data is synthetic.")
    click.echo(f"  portal: {portal}/   (hub API: {hub})")
    click.echo("  sign in: open the portal and pick a demo user, or sign in with a user id and password below")
    click.echo("  (demo accounts with synthetic data; the passwords are new at every start):")
    for user in users:
        click.echo(f"    {user['user_id']:<18} {user['password']:<18} {user['role']:<26} {user['name']}")
    tips = suggestions(layout, as_of=today)
    if tips:
        click.echo("  people to search for (purpose 'MASH screening', any case reference, signed in as mash.officer):")
        for tip in tips:
            click.echo(
                f"    {tip['first_name']} {tip['last_name']}, born {tip['date_of_birth']}"
                f" (recent activity: {tip['partners']})"
            )
    click.echo("  Ctrl-C stops the hub and the portal; 'aim demo' again reuses the data.")


def _wait(servers: list[Server]) -> None:
    try:
        while all(s.process.poll() is None for s in servers):
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("\nstopping ...")
        return
    stopped = next(s for s in servers if s.process.poll() is not None)
    raise click.ClickException(f"the {stopped.name} stopped unexpectedly; see {stopped.name}.log in the demo's logs")


def register(main: click.Group) -> None:
    main.add_command(demo)
