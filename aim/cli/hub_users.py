"""``aim hub users``: staff accounts, their passwords, lock-outs and tokens.

Passwords are read from a hidden prompt (twice) or, for scripts, the first line of standard input; they are never
echoed, logged or audited (see :mod:`aim.access.sign_in`).
"""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from aim.access.sign_in import cli_actor
from aim.access.users import ACTIVE, SUSPENDED, StaffUser
from aim.cli.hub import open_hub
from aim.errors import InputError


def _show_user(user: StaffUser) -> str:
    fields = (user.user_id, user.display_name, user.role, user.organisation or "-", user.team or "-", user.status)
    return "\t".join(fields)


@click.group(name="users")
def users() -> None:
    """Staff accounts for the hub's staff API: one role each, from the DPO's policy; a password to sign in with.

    \b
    Example:
      aim hub users add j.smith --name "J Smith" --role mash_officer --organisation CHILDRENS_SC --team mash
      aim hub users set-password j.smith
    """


@users.command(name="add")
@click.argument("user_id")
@click.option("--name", "display_name", required=True, help="The person's display name (staff, not a subject).")
@click.option("--role", required=True, help="A role the policy defines (e.g. mash_officer).")
@click.option("--organisation", help="The partner code of the user's organisation.")
@click.option("--team", help="The user's team (alerts and watch-list entries are owned by teams).")
@click.pass_context
def users_add(
    ctx: click.Context, *, user_id: str, display_name: str, role: str, organisation: str | None, team: str | None
) -> None:
    """Add an active staff user; then give them a password with 'aim hub users set-password'.

    \b
    Example:
      aim hub users add j.smith --name "J Smith" --role mash_officer --team mash
    """
    built = open_hub(ctx)
    if built.policy is not None and role not in built.policy.role_ids:
        raise InputError(f"role {role!r} is not in the policy: use one of {', '.join(built.policy.role_ids)}")
    click.echo(
        _show_user(
            built.access.users.add(
                user_id=user_id, display_name=display_name, role=role, organisation=organisation, team=team
            )
        )
    )


@users.command(name="list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """List staff users: id, name, role, organisation, team, status, and whether they can sign in (password set,
    no password, or locked until a time).

    \b
    Example:
      aim hub users list
    """
    built = open_hub(ctx)
    states = built.sign_in.states()
    for user in built.access.users.all():
        click.echo(f"{_show_user(user)}\t{states.get(user.user_id, 'no password')}")


@users.command(name="suspend")
@click.argument("user_id")
@click.pass_context
def users_suspend(ctx: click.Context, user_id: str) -> None:
    """Suspend a user: every request is refused (403) and audited until reinstated.

    \b
    Example:
      aim hub users suspend j.smith
    """
    click.echo(_show_user(open_hub(ctx).access.users.set_status(user_id, SUSPENDED)))


@users.command(name="reinstate")
@click.argument("user_id")
@click.pass_context
def users_reinstate(ctx: click.Context, user_id: str) -> None:
    """Reinstate a suspended user.

    \b
    Example:
      aim hub users reinstate j.smith
    """
    click.echo(_show_user(open_hub(ctx).access.users.set_status(user_id, ACTIVE)))


@users.command(name="new-token")
@click.argument("user_id")
@click.option("--hours", type=click.IntRange(1, 2160), help="Lifetime [default: AIM_STAFF_TOKEN_HOURS].")
@click.pass_context
def users_new_token(ctx: click.Context, user_id: str, hours: int | None) -> None:
    """Issue a long-lived bearer token, for a script or service account (revoking the user's earlier ones); shown
    once, only its hash is kept. People sign in with a password instead (POST /v1/sign-in, or the portal).

    \b
    Example:
      aim hub users new-token j.smith --hours 12
    """
    issued = open_hub(ctx).access.users.new_token(user_id, lifetime=timedelta(hours=hours) if hours else None)
    click.echo(f"token for {issued.user_id}, valid until {issued.expires_at_iso} (shown once): {issued.token}")


@users.command(name="set-password")
@click.argument("user_id")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting (for scripts).",
)
@click.pass_context
def users_set_password(ctx: click.Context, user_id: str, password_stdin: bool) -> None:
    """Set or reset a user's password for signing in: at least 12 characters, stored as an argon2id hash.

    Asks twice without echoing it, unless --password-stdin. Clears failed sign-ins and any lock-out, and revokes
    the user's tokens, so they sign in again with the new password. The password is never shown, logged or audited.

    \b
    Example:
      aim hub users set-password j.smith
      printf '%s\\n' "$NEW_PASSWORD" | aim hub users set-password j.smith --password-stdin
    """
    built = open_hub(ctx)
    built.access.users.get(user_id)  # an unknown user is refused before a password is asked for
    password = _stdin_password() if password_stdin else _prompted_password()
    revoked = built.sign_in.set_password(user_id=user_id, password=password, actor=cli_actor())
    click.echo(f"password set for {user_id}; failed sign-ins and any lock-out cleared; {revoked} token(s) revoked")


@users.command(name="unlock")
@click.argument("user_id")
@click.pass_context
def users_unlock(ctx: click.Context, user_id: str) -> None:
    """Clear a user's failed sign-ins and lock-out now, instead of waiting for AIM_SIGN_IN_LOCKOUT_MINUTES.

    \b
    Example:
      aim hub users unlock j.smith
    """
    open_hub(ctx).sign_in.unlock(user_id=user_id, actor=cli_actor())
    click.echo(f"{user_id}: failed sign-ins and any lock-out cleared")


def _prompted_password() -> str:
    text: str = click.prompt("New password", hide_input=True, confirmation_prompt="Repeat the new password", err=True)
    return text


def _stdin_password() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise InputError(
            "no password on standard input: --password-stdin reads the first line; pipe it in, "
            "e.g. printf '%s\\n' \"$NEW_PASSWORD\" | aim hub users set-password USER --password-stdin"
        )
    return line
