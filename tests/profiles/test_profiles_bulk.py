"""Bulk-import helpers: rows written without SQLAlchemy's per-row handling are stored exactly as an ORM
insert stores them; the garbage collector is left as the import found it."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from listener.models import CustomerProfile, Identity
from listener.profiles import crm as crm_module
from listener.profiles import import_customers
from listener.profiles.bulk import insert_rows

COLUMNS = ("display_name", "tier", "is_prospect", "emails", "company", "crm_id", "tags", "notes",
           "created_at", "updated_at")
STORED = "SELECT display_name, tier, is_prospect, emails, company, crm_id, tags, notes, created_at, updated_at " \
         "FROM customer_profiles WHERE crm_id = :crm_id"


def test_rows_inserted_in_bulk_are_stored_as_sqlalchemy_stores_them(engine: Engine) -> None:
    when = datetime(2026, 12, 6, 3, 4, 5, 678901, tzinfo=UTC)
    values = {"display_name": "Zoë “Z” O'Brien", "tier": "vip", "is_prospect": False,
              "emails": ["zoë@example.com", "z@example.com"], "company": None, "tags": ["a;b", "ünï"],
              "notes": "line one\nline two", "created_at": when, "updated_at": when}
    table = CustomerProfile.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        session.execute(insert(table), [{**values, "crm_id": "orm"}])
        insert_rows(session, table, COLUMNS, [tuple({**values, "crm_id": "bulk"}[name] for name in COLUMNS)])
        session.commit()
        by_orm = session.execute(text(STORED), {"crm_id": "orm"}).one()
        in_bulk = session.execute(text(STORED), {"crm_id": "bulk"}).one()
        loaded = session.exec(select(CustomerProfile).where(CustomerProfile.crm_id == "bulk")).one()
    bulk_values = {**in_bulk._asdict(), "crm_id": "orm"}
    assert bulk_values == by_orm._asdict()  # the same text, JSON and timestamps in the database
    assert (loaded.emails, loaded.tags, loaded.created_at) == (values["emails"], values["tags"], when)


def test_a_timestamp_shared_by_every_row_is_stored_on_every_row(engine: Engine) -> None:
    first, second = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 2, tzinfo=UTC)
    table = Identity.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        profile = CustomerProfile(display_name="Someone")
        session.add(profile)
        session.flush()
        rows = [(profile.id, "x", f"h{n}", f"h{n}", "imported", 1.0, when, when)
                for n, when in enumerate([first, first, second, first])]
        columns = ("profile_id", "platform", "handle", "handle_key", "provenance", "confidence", "created_at",
                   "updated_at")
        insert_rows(session, table, columns, rows)
        stored = [i.created_at for i in session.exec(select(Identity).order_by(Identity.handle))]
    assert stored == [first, first, second, first]


CSV = "crm_id,display_name,emails\n" + "".join(f"C{n},Person {n},p{n}@example.com\n" for n in range(12))


def test_an_import_leaves_nothing_frozen_out_of_garbage_collection(sqlite_engine: Engine, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crm_module, "_BATCH", 5)  # several batches, so several freezes
    source = tmp_path / "customers.csv"
    source.write_text(CSV, encoding="utf-8")
    with Session(sqlite_engine) as session:
        report = import_customers(session, source)
        session.commit()
    assert len(report.created) == 12
    assert gc.get_freeze_count() == 0


def test_an_import_that_fails_midway_unfreezes_what_it_froze(sqlite_engine: Engine, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crm_module, "_BATCH", 5)

    def fail(_importer: object) -> None:
        raise RuntimeError("stopped after the batches")

    monkeypatch.setattr(crm_module._Importer, "finish", fail)
    with Session(sqlite_engine) as session, pytest.raises(RuntimeError, match="stopped"):
        import_customers(session, CSV)
    assert gc.get_freeze_count() == 0


def test_an_import_keeps_a_freeze_made_by_its_caller(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crm_module, "_BATCH", 5)
    gc.freeze()  # as a server that forks does
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with Session(sqlite_engine) as session:
            import_customers(session, CSV)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
