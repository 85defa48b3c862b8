"""Settings that are wrong stop with one line naming them, never a traceback or a password (issue 18, item 12)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listener.settings import SettingsError, load_settings
from responders.cli import app
from tests.digests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]


def _refused(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_misspelt_environment_section_is_refused_not_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _refused(monkeypatch, HARKEN_DATABSE__URL="sqlite:////srv/harken/harken.db")
    assert message.startswith("environment variable HARKEN_DATABSE__URL: not a known setting (misspelt?)")
    assert "database" in message
    assert _refused(monkeypatch, HARKEN_DATABSE__URL="", HARKEN_DATABASE_URL="sqlite:///a.db").startswith(
        "environment variable HARKEN_DATABASE_URL: not a known setting")


def test_the_names_harken_reads_on_purpose_stay_allowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text("[web]\nport = 8001\n")
    monkeypatch.setenv("HARKEN_CONFIG", str(mine))
    monkeypatch.setenv("HARKEN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
    monkeypatch.setenv("HARKEN_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
    monkeypatch.setenv("harken_web__page_size", "20")  # names are read case-insensitively
    monkeypatch.setenv("HARKEN_DATABASE__URL", "sqlite:///elsewhere.db")
    settings = load_settings()
    assert (settings.web.port, settings.web.page_size, settings.database.url) == (8001, 20, "sqlite:///elsewhere.db")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HARKEN_WEB__SESSION_IDLE_HOURS", "1e309", "setting web.session_idle_hours: Input should be a finite number"),
        ("HARKEN_WEB__SIGN_IN_WINDOW_MINUTES", "99999999999",
         "setting web.sign_in_window_minutes: Value error, must be at most 527040 minutes (366 days)"),
        ("HARKEN_PROCESSING__LEASE_SECONDS", "nan", "setting processing.lease_seconds: Input should be a finite"),
        ("HARKEN_DIGEST__SNAPSHOT_MAX_AGE_SECONDS", "99999999999",
         "setting digest.snapshot_max_age_seconds: Value error, must be at most 31622400 seconds"),
        ("HARKEN_PROCESSING__BATCH_SIZE", str(2**63), "setting processing.batch_size: Value error, must be at most"),
        ("HARKEN_TRIAGE__SLA_MINUTES", '{"urgent": 60, "high": 240, "normal": 1440, "low": 99999999999}',
         "setting triage.sla_minutes: Value error, every SLA must be at most 366 days"),
    ],
)
def test_durations_and_counts_are_bounded(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    assert _refused(monkeypatch, **{name: value}).startswith(expected)


def test_bad_json_in_a_list_variable_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _refused(monkeypatch, HARKEN_X__SEARCH_QUERIES='["acme", ')
    assert message.startswith("environment variable HARKEN_X__SEARCH_QUERIES: not valid JSON")


def test_unreadable_config_files_are_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[brand]\nname = "Café"\n'.encode("latin-1"))
    assert _refused(monkeypatch, HARKEN_CONFIG=str(latin1)) == (
        f"{latin1}: not UTF-8 text (byte 19); save it as UTF-8")
    assert _refused(monkeypatch, HARKEN_CONFIG=str(tmp_path)) == (
        f"HARKEN_CONFIG: {tmp_path} is a directory, not a TOML file")


def test_a_rejected_database_url_is_echoed_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _refused(monkeypatch, HARKEN_DATABASE__URL="mysql://harken:hunter2@db.internal/harken")
    assert "hunter2" not in message
    assert "(got 'mysql://harken:***@db.internal/harken')" in message


@pytest.mark.parametrize("where", ["postgresql", "sqlite"])
def test_an_unreachable_database_is_one_line_without_the_password(
    where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = (f"postgresql+psycopg://harken:hunter2@127.0.0.1:{free_port()}/harken" if where == "postgresql"
           else f"sqlite:///{tmp_path}/no/such/directory/harken.db")
    monkeypatch.setenv("HARKEN_DATABASE__URL", url)
    result = CliRunner().invoke(app, ["queue", "list"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = [line for line in result.output.splitlines() if line.startswith("harken:")]
    assert line.startswith("harken: cannot open the database at ")
    assert ("Connection refused" in line) if where == "postgresql" else ("unable to open database file" in line)
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_the_long_running_commands_say_so_in_one_line_too(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HARKEN_DATABASE__URL": f"sqlite:///{tmp_path}/no/such/directory/harken.db"}
    done = subprocess.run([sys.executable, "-m", "responders.cli", "worker"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "harken: cannot open the database: unable to open database file" in done.stderr
