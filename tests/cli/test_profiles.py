"""``harken profiles``: import, export, show, suggestions, confirm, dismiss, merge, unmerge (SQLite)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from listener.platforms import all_platforms
from responders.cli import app
from responders.cli import support as cli_support
from tests.profiles.helpers import author, mention, process, profile_of, store

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "customers.sample.csv"


@pytest.fixture
def harken(sqlite_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HARKEN_DATABASE__URL", sqlite_url)
    monkeypatch.setattr(cli_support.console, "width", 200)
    monkeypatch.setattr(cli_support.errors, "width", 200)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["profiles", *args])
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_import_reports_bad_rows_and_export_writes_the_same_format(harken, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    messy = tmp_path / "crm.csv"
    messy.write_bytes(b"\xef\xbb\xbfcrm_id,display_name,emails,tier\n\nC-1,Ann,ann@example.com,vip\nC-2,Ben,ben@,gold\n")
    output = harken("import", str(messy), code=1)
    assert "2 row(s): 1 created, 0 updated, 0 unchanged, 1 bad, 1 blank line(s) skipped" in output
    assert "line 4: invalid email 'ben@'; unknown tier 'gold' (expected standard, vip, press)" in output
    output = harken("import", str(SAMPLE), "--dry-run")
    assert "4 created" in output and "dry run" in output
    harken("import", str(SAMPLE))
    assert "0 created, 0 updated, 4 unchanged, 0 bad" in harken("import", str(SAMPLE))
    out = tmp_path / "export.csv"
    harken("export", "--out", str(out))
    lines = out.read_text(encoding="utf-8").splitlines()
    handles = ",".join(platform.crm_column for platform in all_platforms())  # one column per registered platform
    assert lines[0] == f"crm_id,display_name,emails,company,tier,tags,notes,{handles}"
    assert lines[0].startswith("crm_id,display_name,emails,company,tier,tags,notes,x_handle,reddit_username")
    assert lines[1] == "C-1,Ann,ann@example.com,,vip,," + "," * len(all_platforms())  # no handles: empty cells
    assert out.read_text(encoding="utf-8").endswith(SAMPLE.read_text(encoding="utf-8").split("\n", 1)[1])
    assert "unknown field 'mail'" in harken("import", str(SAMPLE), "--map", "emails=mail", code=2)


def test_show_prints_hostile_data_literally(harken, sqlite_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    hostile = mention(author("x", "1", "boss", "[bold red]boss[/] <b>x</b>"), "[link=http://evil]click[/link]")
    store(sqlite_engine, hostile)
    process(sqlite_engine)
    profile_id = profile_of(sqlite_engine, hostile.external_id)
    output = harken("show", str(profile_id))
    assert "[bold red]boss[/] <b>x</b>" in output
    assert "[link=http://evil]click[/link]" in output
    assert "boss" in output and "automatic" in output and "Sentiment by week" in output
    assert "no profile 999" in harken("show", "999", code=1)


def test_review_suggestions_then_merge_and_unmerge(harken, sqlite_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    store(sqlite_engine, mention(author("x", "1", "quinn_q", "Quinn Quade")))
    store(sqlite_engine, mention(author("reddit", "t2_q", "quinn_q")))
    store(sqlite_engine, mention(author("x", "2", "rae")), mention(author("reddit", "t2_r", "rae")))
    process(sqlite_engine)
    listing = harken("suggestions")
    assert "same_handle" in listing and "quinn_q" in listing
    ids = [int(n) for n in re.findall(r"^│ (\d+) ", listing, re.M)]
    assert len(ids) == 2
    assert "Dismissed suggestion" in harken("dismiss", str(ids[1]), "--by", "sam")
    assert re.search(r"Merged profile \d+ into \d+ \(merge 1\)", harken("confirm", str(ids[0]), "--by", "sam"))
    assert "already confirmed by sam" in harken("confirm", str(ids[0]), "--by", "sam", code=1)
    assert "No open suggestions." in harken("suggestions")
    assert "restored" in harken("unmerge", "1", "--by", "sam")
    assert "(merge 2)" in harken("merge", "3", "4", "--by", "sam")
    assert "into itself" in harken("merge", "3", "3", "--by", "sam", code=1)
    assert "Missing option '--by'" in harken("merge", "3", "4", code=2)
    listing = harken("list")
    assert "Quinn Quade" in listing and "prospect" in listing
