"""Every ``harken … --help`` shows its bracketed setting names, which Rich markup would eat (issue 18, item 15)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from listener.platforms import platform_names
from responders.cli import app

# "[columns]", "[web]" or an escaped "\[web]" in a help text; Rich shows both as the name in brackets.
BRACKETED = re.compile(r"\\?\[([^\]\[]*)\]")


def _commands(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, [*path, name])


def test_every_bracketed_name_in_a_help_text_is_shown() -> None:
    runner = CliRunner()
    checked = []
    for path, command in _commands(typer.main.get_command(app), []):
        texts = [command.help or ""] + [getattr(param, "help", None) or "" for param in command.params]
        expected = [f"[{name}]" for text in texts for name in BRACKETED.findall(text)]
        if not expected:
            continue
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        shown = " ".join(result.output.replace("│", " ").split())
        for name in expected:
            assert name in shown, f"harken {' '.join(path)} --help lost {name}:\n{result.output}"
        checked.append(" ".join(path))
    # The commands whose help names a settings section or a TOML table.
    assert {"profiles import", "profiles export", "web", "digest"} <= set(checked)


def test_messages_naming_settings_sections_keep_them(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARKEN_DATABASE__URL", sqlite_url)
    result = CliRunner().invoke(app, ["collect", "--once"])
    assert result.exit_code == 1
    # Every registered platform's [section] is named, none eaten as Rich markup.
    assert "No sources configured: enable [x] or [reddit]" in result.output
    assert all(f"[{name}]" in result.output for name in platform_names())
    monkeypatch.setenv("HARKEN_WEB__SECURE_COOKIES", "[bold]sometimes[/bold]")
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 2
    assert "(got '[bold]sometimes[/bold]')" in result.output
