"""Text from strangers reaches the terminal without its control characters (issue 18, item 9)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from responders.cli import app
from responders.cli.support import console, errors
from tests.profiles.helpers import author, mention, process, profile_of, store

# Clear the screen, retitle the window, a forged OSC 8 hyperlink, a C1 CSI, a bell and a backspace.
HOSTILE = "\x1b[2J\x1b]0;pwned\x07refund \x1b]8;;http://evil.example\x1b\\here\x1b]8;;\x1b\\ \x9b31mnow\x08!"
# Rich drops the BEL before the console sees the text, so the title sequence shows as harmless "0;pwned".
SHOWN = "refund here now!"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def harken(sqlite_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HARKEN_DATABASE__URL", sqlite_url)
    monkeypatch.setattr(console, "width", 300)
    monkeypatch.setattr(errors, "width", 300)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


def test_queue_and_profiles_print_no_control_characters(harken, sqlite_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    hostile = mention(author("x", "66", "mallory", "\x1b[31mMallory\x1b[0m"), HOSTILE)
    store(sqlite_engine, hostile)
    process(sqlite_engine)
    profile_id = profile_of(sqlite_engine, hostile.external_id)
    outputs = {
        "queue list": harken("queue", "list", "--status", "new"),
        "queue show": harken("queue", "show", "1"),
        "profiles show": harken("profiles", "show", str(profile_id)),
    }
    for command, output in outputs.items():
        assert not CONTROL.findall(output.replace("\n", "").replace("\t", "")), command
    assert SHOWN in outputs["queue show"] and SHOWN in outputs["profiles show"]
    assert "Mallory" in outputs["profiles show"]
    assert "refund here" in outputs["queue list"]
