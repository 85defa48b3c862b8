"""``harken users``: staff accounts, their roles and web sign-in passwords."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from listener.models import StaffUser
from responders import staff
from responders.cli.support import ActingAs, acting, console, fail, ready

users_app = typer.Typer(help="Staff accounts and their roles.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    email: str,
    name: Annotated[str, typer.Option("--name")],
    role: Annotated[str, typer.Option("--role", help="agent, approver, manager or admin.")],
    actor: Annotated[str | None, typer.Option("--as", help="The admin adding the account (not needed for the "
                                              "very first one).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the web sign-in password from "
                                                 "standard input (for scripts).")] = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="No web sign-in (command line only); "
                                              "set one later with `harken users password`.")] = False,
) -> None:
    """Add a staff account with its web sign-in password (asked for, unless --password-stdin or --no-password)."""
    import sys

    # Without a terminal to ask on and no --password-stdin, the account is made without a web sign-in.
    asking = password_stdin or sys.stdin.isatty()
    password = None if no_password or not asking else _new_password(password_stdin)
    _, engine = ready()
    with acting(engine, actor) as (session, user):
        added = staff.add_user(session, email, name, role, user)
        if password is not None:
            from responders.web.security import set_password

            set_password(session, added, password, user if user is not None else "system:bootstrap")
    console.print(f"Added {added.email} as {added.role}" + (
        "." if password is not None else f" (no web sign-in yet: `harken users password {added.email}` sets one)."))


@users_app.command("password")
def users_password(
    email: str,
    actor: Annotated[str | None, typer.Option("--as", help="The admin resetting it (default: the user themself "
                                              "on this machine).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set or reset an account's web sign-in password; its open sessions end."""
    from responders.web.security import set_password

    password = _new_password(password_stdin)
    _, engine = ready()
    with acting(engine, actor) as (session, user):
        target = staff.find_user(session, email)
        if user is not None:
            from responders.roles import Action, require

            require(user, Action.MANAGE_USERS)
        set_password(session, target, password, user if user is not None else "system:cli")
    console.print(f"Password set for {email}.")


def _new_password(from_stdin: bool) -> str:
    import sys

    from responders.web.security import MIN_PASSWORD_LENGTH

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise fail("give the password with --password-stdin (or --no-password for a command-line-only account)", 2)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise fail(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", 2)
    return password


@users_app.command("list")
def users_list() -> None:
    """Every staff account."""
    from sqlalchemy import select

    _, engine = ready()
    with acting(engine) as (session, _):
        users = list(session.execute(select(StaffUser).order_by(StaffUser.email)).scalars())
    table = Table(title="Staff")
    for column in ("email", "name", "role", "active"):
        table.add_column(column)
    for user in users:
        table.add_row(user.email, Text(user.name), user.role, "yes" if user.active else "no")
    console.print(table)


@users_app.command("role")
def users_role(email: str, role: str, actor: ActingAs) -> None:
    """Change an account's role."""
    _, engine = ready()
    with acting(engine, actor) as (session, user):
        changed = staff.set_role(session, staff.find_user(session, email), role, user)  # type: ignore[arg-type]
    console.print(f"{changed.email} is now {changed.role}.")


@users_app.command("deactivate")
def users_deactivate(email: str, actor: ActingAs) -> None:
    """Switch an account off (it stays in the audit log; it can do nothing more)."""
    _, engine = ready()
    with acting(engine, actor) as (session, user):
        staff.set_active(session, staff.find_user(session, email), False, user)  # type: ignore[arg-type]
    console.print(f"{email} is deactivated.")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
