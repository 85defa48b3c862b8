"""Settings: defaults, the user's file, environment overrides, and one clear line when wrong."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from listener.logs import configure_logging
from listener.settings import SettingsError, load_settings


def test_defaults_come_from_the_documented_file() -> None:
    settings = load_settings()
    assert settings.database.url == "sqlite:///harken.db"
    assert settings.x.api_base_url == "https://api.x.com"
    assert settings.sentiment.model == "default"


def test_user_file_overrides_defaults_and_environment_overrides_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "mine.toml"
    user.write_text('[x]\nenabled = true\nbrand_username = "acme"\ninterval_seconds = 30\n')
    monkeypatch.setenv("HARKEN_CONFIG", str(user))
    monkeypatch.setenv("HARKEN_X__INTERVAL_SECONDS", "45")
    monkeypatch.setenv("HARKEN_X__BEARER_TOKEN", "s3cret-token")
    monkeypatch.setenv("HARKEN_DATABASE__URL", "postgresql+psycopg://127.0.0.1/harken")
    settings = load_settings()
    assert settings.x.enabled and settings.x.brand_username == "acme"
    assert settings.x.interval_seconds == 45
    assert settings.x.page_size == 100  # untouched default survives the merge
    assert settings.database.url.startswith("postgresql")
    assert settings.x.bearer_token.get_secret_value() == "s3cret-token"
    assert "s3cret-token" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HARKEN_X__INTERVAL_SECONDS": "-5"}, "setting x.interval_seconds: Input should be greater than 0 (got '-5')"),
        ({"HARKEN_X__INTERVL_SECONDS": "5"}, "setting x.intervl_seconds: is not a known setting (misspelt?)"),
        ({"HARKEN_DATABASE__URL": "mysql://db"}, "setting database.url: Value error, must start with sqlite:///"),
        ({"HARKEN_X__API_BASE_URL": "ftp://x"}, "setting x.api_base_url: Value error, must be an http:// or https://"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_bad_toml_and_missing_file_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[x\nenabled = true\n")
    monkeypatch.setenv("HARKEN_CONFIG", str(broken))
    with pytest.raises(SettingsError, match=r"broken.toml: not valid TOML"):
        load_settings()
    monkeypatch.setenv("HARKEN_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(SettingsError, match=r"HARKEN_CONFIG: .*nope.toml does not exist"):
        load_settings()


def test_cli_stops_at_start_with_the_line_and_exit_code_2(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HARKEN_SENTIMENT__BATCH_SIZE": "zero"}
    result = subprocess.run(
        [sys.executable, "-m", "responders.cli", "init"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "harken: setting sentiment.batch_size: Input should be a valid integer, unable to parse string as an "
        "integer (got 'zero')"
    ]


def test_secrets_never_reach_the_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARKEN_X__BEARER_TOKEN", "AAAA-very-secret")
    settings = load_settings()
    configure_logging("DEBUG", settings.secrets)
    handler = logging.getLogger().handlers[0]
    record = logging.LogRecord("tweepy.client", logging.INFO, __file__, 1,
                               "Headers: {'Authorization': 'Bearer %s'}", ("AAAA-very-secret",), None)
    handler.filter(record)
    assert "AAAA-very-secret" not in record.getMessage()
    assert "***" in record.getMessage()
    # tweepy would log the bearer header at DEBUG: its logger is held at INFO.
    assert not logging.getLogger("tweepy").isEnabledFor(logging.DEBUG)
