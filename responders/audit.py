"""The audit log: who did what to which object, when, with the before and after.

:func:`record` is the only way ``responders`` writes it. The log is append-only:
nothing here updates or deletes an event, and migration 0004 adds database
triggers that refuse UPDATE and DELETE on ``audit_events`` on both SQLite and
PostgreSQL, so no other code path can rewrite history either. Managers and
admins read it (``harken audit export``).

Actors are staff users (recorded by email) or the system's own workers, named
``system:<worker>`` (``system:triage``, ``system:sender``, ``system:config``,
``system:drafts``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from listener.db import utcnow
from listener.errors import HarkenError
from listener.models import AuditEvent, StaffUser
from listener.safe_text import spreadsheet_cell

SYSTEM_TRIAGE = "system:triage"
SYSTEM_SENDER = "system:sender"
SYSTEM_CONFIG = "system:config"
SYSTEM_DRAFTS = "system:drafts"

_OBJECT_TYPES = {"mentions": "mention", "replies": "reply", "staff_users": "staff_user", "suggestions": "suggestion"}
EXPORT_COLUMNS = ("id", "at", "actor", "action", "object_type", "object_id", "before", "after")


class UnknownExportFormat(HarkenError, ValueError):
    """An export format other than jsonl or csv."""


Actor = StaffUser | str
AuditObject = SQLModel | tuple[str, str | int]


def actor_name(actor: Actor) -> str:
    """A staff user is recorded by email (stable and readable); a worker by its ``system:`` name."""
    return actor.email if isinstance(actor, StaffUser) else actor


def _object_ref(obj: AuditObject) -> tuple[str, str]:
    if isinstance(obj, tuple):
        return obj[0], str(obj[1])
    table = str(getattr(obj, "__tablename__", type(obj).__name__.lower()))
    identity = getattr(obj, "id", None)
    if identity is None:
        raise ValueError(f"cannot audit an unsaved {table} row: flush it first")
    return _OBJECT_TYPES.get(table, table), str(identity)


def jsonable(value: Any) -> Any:
    """Values as JSON can hold them: times as ISO 8601, enums as their value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return value


def record(
    session: Session,
    actor: Actor,
    action: str,
    obj: AuditObject,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction: it commits, or rolls back, with the change itself."""
    object_type, object_id = _object_ref(obj)
    event = AuditEvent(
        at=utcnow(),
        actor=actor_name(actor),
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=jsonable(dict(before or {})),
        after=jsonable(dict(after or {})),
    )
    session.add(event)
    session.flush()
    return event


def events_for(session: Session, object_type: str, object_id: str | int) -> list[AuditEvent]:
    """One object's history, oldest first."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id))
        .order_by(AuditEvent.id)  # type: ignore[arg-type]
    )
    return list(session.execute(statement).scalars())


def _events(engine: Engine, since: datetime | None) -> Iterator[AuditEvent]:
    with Session(engine) as session:
        statement = select(AuditEvent).order_by(AuditEvent.id)  # type: ignore[arg-type]
        if since is not None:
            statement = statement.where(AuditEvent.at >= since)
        yield from session.execute(statement.execution_options(yield_per=500)).scalars()


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
    }


def export(engine: Engine, handle: TextIO, fmt: str = "jsonl", since: datetime | None = None) -> int:
    """Write every event (oldest first) as JSON lines or CSV; returns how many.

    In CSV the before and after columns hold JSON text, so nothing is flattened away.
    """
    if fmt not in {"jsonl", "csv"}:
        raise UnknownExportFormat(f"unknown export format {fmt!r}: jsonl or csv")
    count = 0
    writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    for event in _events(engine, since):
        row = _row(event)
        if writer is None:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            cells = {**row, "before": json.dumps(row["before"], ensure_ascii=False),
                     "after": json.dumps(row["after"], ensure_ascii=False)}
            # Actors and object ids can hold outside text: no cell may start a spreadsheet formula.
            writer.writerow({name: spreadsheet_cell(value) for name, value in cells.items()})
        count += 1
    return count
