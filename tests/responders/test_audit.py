"""The audit log: append-only in the database itself, exported as JSON lines or CSV, settings changes recorded."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from listener.models import AuditEvent
from responders import audit, config_audit
from tests.responders.helpers import actions, add_mention, add_staff, make_settings


def test_the_database_refuses_to_update_or_delete_audit_events(engine: Engine) -> None:
    mention = add_mention(engine, "hello")
    with Session(engine) as session:
        audit.record(session, "someone@lumen.com", "mention.status", ("mention", mention.id), {"status": "new"},
                     {"status": "resolved"})
        session.commit()
    for statement in (
        update(AuditEvent).values(actor="someone-else"),
        delete(AuditEvent),
        text("UPDATE audit_events SET action = 'nothing'"),
        text("DELETE FROM audit_events"),
    ):
        with Session(engine) as session, pytest.raises(DatabaseError, match="append-only"):
            session.execute(statement)
            session.commit()
    assert actions(engine) == [("someone@lumen.com", "mention.status")]


def test_export_as_jsonl_and_csv(engine: Engine) -> None:
    user = add_staff(engine, "ana@lumen.com", "agent")
    with Session(engine) as session:
        audit.record(session, user, "mention.assign", ("mention", 7), {"assignee": None},
                     {"assignee": "ana@lumen.com", "note": "naïve ✓"})
        audit.record(session, audit.SYSTEM_SENDER, "reply.sent", ("reply", 3), {"state": "sending"},
                     {"state": "sent"})
        session.commit()
    lines = io.StringIO()
    assert audit.export(engine, lines, "jsonl") == 2
    first, second = (json.loads(line) for line in lines.getvalue().splitlines())
    assert (first["actor"], first["action"], first["object_type"], first["object_id"]) == (
        "ana@lumen.com", "mention.assign", "mention", "7")
    assert first["after"]["note"] == "naïve ✓" and second["actor"] == "system:sender"
    table = io.StringIO()
    assert audit.export(engine, table, "csv") == 2
    rows = list(csv.DictReader(io.StringIO(table.getvalue())))
    assert list(rows[0]) == list(audit.EXPORT_COLUMNS)
    assert json.loads(rows[1]["before"]) == {"state": "sending"}
    with pytest.raises(audit.UnknownExportFormat):
        audit.export(engine, io.StringIO(), "xml")


def test_a_settings_change_is_recorded_once(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = make_settings(db_url)
    with Session(engine) as session:
        assert config_audit.record_if_changed(session, settings) is not None
        assert config_audit.record_if_changed(session, settings) is None
        session.commit()
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "hi"\ntemplates = ["Hi!"]\n')
    changed = make_settings(db_url, replies={"max_suggestions": 5, "rules_file": str(rules)})
    with Session(engine, expire_on_commit=False) as session:
        event = config_audit.record_if_changed(session, changed)
        session.commit()
    assert event is not None and event.actor == "system:config"
    assert (event.before["replies"]["max_suggestions"], event.after["replies"]["max_suggestions"]) == (3, 5)
    assert event.after["files"]["reply_rules"]["sha256"] != event.before["files"]["reply_rules"]["sha256"]
    assert actions(engine) == [("system:config", "settings.change")] * 2
