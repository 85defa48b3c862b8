"""The ``harken`` command: one Typer app built from a module per command group.

Each module (``listening``, ``demo``, ``service``, ``web``, ``queue``, ``users``, ``audit``,
``digests``, ``profiles``, ``sentiment``) adds its commands through ``register(app)`` and takes
what they share from ``responders.cli.support``; none imports this package back.
"""

from __future__ import annotations

import typer

from responders.cli import (
    audit,
    demo,
    digests,
    listening,
    profiles,
    queue,
    sentiment,
    service,
    users,
    web,
)

app = typer.Typer(help="Harken: listen to what people say about your brand, and answer well.", no_args_is_help=True)

# The order of --help: setting up and collecting, the service, then the work on what was collected.
for command_group in (listening, demo, service, web, queue, users, audit, digests, profiles, sentiment):
    command_group.register(app)


def main() -> None:
    from sqlalchemy.exc import InterfaceError, OperationalError

    from responders.cli.support import database_error_line, errors

    try:
        app()
    except (OperationalError, InterfaceError) as error:
        # The long-running commands open the database themselves: one line for them too, not a traceback.
        errors.print(database_error_line(error), style="red", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
