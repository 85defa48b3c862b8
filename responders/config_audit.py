"""Settings changes in the audit log.

Harken's settings live in files and the environment, which Harken does not
write, so it cannot see *who* changed them; it can see *that* they changed. The
responders' settings ([triage], [replies], [sender]: none of them secret) and a
digest of each rules file are compared with the last recorded ones whenever the
queue or the service starts; a difference is recorded as ``settings.change`` by
``system:config``, with the old and new values.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from listener.models import AuditEvent
from listener.settings import Settings
from responders import audit

ACTION = "settings.change"
OBJECT = ("settings", "responders")


def _digest(path: Any) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def current(settings: Settings) -> dict[str, Any]:
    """The audited view of the settings: values of the responder sections, digests of the rules files."""
    return audit.jsonable({
        "triage": settings.triage.model_dump(),
        "replies": settings.replies.model_dump(),
        "sender": settings.sender.model_dump(),
        "files": {
            "triage_rules": {"path": str(settings.triage.rules_path), "sha256": _digest(settings.triage.rules_path)},
            "reply_rules": {"path": str(settings.replies.rules_path), "sha256": _digest(settings.replies.rules_path)},
        },
    })


def record_if_changed(session: Session, settings: Settings) -> AuditEvent | None:
    """Record a ``settings.change`` when the settings differ from the last recorded ones."""
    now = current(settings)
    last = session.execute(
        select(AuditEvent)
        .where(AuditEvent.action == ACTION, AuditEvent.object_type == OBJECT[0], AuditEvent.object_id == OBJECT[1])
        .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
        .limit(1)
    ).scalar_one_or_none()
    if last is not None and last.after == now:
        return None
    return audit.record(session, audit.SYSTEM_CONFIG, ACTION, OBJECT, last.after if last else {}, now)
