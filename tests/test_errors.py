"""One error root: every domain error is a HarkenError, and the CLI and the web app answer from one table each."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import listener
import responders
from listener.errors import HarkenError
from listener.profiles.errors import ColumnMappingError, ProfileNotFound
from listener.settings import SettingsError
from responders.cli import app
from responders.cli.support import exit_code_for
from responders.roles import UnknownRole
from responders.web.errors import status_for
from responders.workflow import ReplyNotFound, SelfApproval

# Signals between Harken's own parts, never shown to a person, and the test fixtures' errors.
NOT_DOMAIN_ERRORS = {
    "listener.processing.ClaimLost",  # a worker tells itself that its lease ran out
    "responders.locks.LockBusy",  # a scheduled job tells itself to try again on the next run
    "listener.platforms.x.collectors.MalformedPayload",  # turned into a quarantine row, never raised to a caller
    "listener.platforms.reddit.collectors._BadBody",  # likewise
    "listener.platforms.bluesky.payloads.UnreadablePost",  # likewise
    "listener.platforms.mastodon.payloads.UnreadableStatus",  # likewise
    "listener.platforms.reddit.client.WriteOutcomeUnknown",  # the publisher turns it into DeliveryUncertain
}
SKIPPED_PACKAGES = ("listener.simulators", "listener.migrations")


def _modules() -> list[str]:
    names = []
    for package in (listener, responders):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            # Simulators stand in for the platforms in tests and the demo: their errors are theirs.
            if module.name.startswith(SKIPPED_PACKAGES) or module.name.endswith(("__main__", ".simulator")):
                continue
            names.append(module.name)
    return names


def test_every_exception_class_of_listener_and_responders_is_a_harken_error() -> None:
    outside = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, member in inspect.getmembers(module, inspect.isclass):
            if member.__module__ != name or not issubclass(member, BaseException):
                continue
            qualified = f"{name}.{member.__qualname__}"
            if not issubclass(member, HarkenError) and qualified not in NOT_DOMAIN_ERRORS:
                outside.append(qualified)
    assert outside == []


def test_the_web_app_answers_each_kind_of_error_with_its_status() -> None:
    assert status_for(ReplyNotFound("no reply 9")) == 404  # a workflow error, but first a missing record
    assert status_for(ProfileNotFound("no profile 9")) == 404
    assert status_for(SelfApproval("you drafted reply 1")) == 409
    assert status_for(UnknownRole("no role 'boss'")) == 409
    assert status_for(KeyError("column")) == 500  # a bug is not a missing record
    assert status_for(RuntimeError("bug")) == 500


def test_the_cli_exits_2_for_what_must_be_fixed_and_1_for_what_was_refused() -> None:
    assert exit_code_for(SettingsError("setting x.enabled: bad")) == 2
    assert exit_code_for(ColumnMappingError("mapping 'x' is not COLUMN=FIELD")) == 2
    assert exit_code_for(ReplyNotFound("no reply 9")) == 1
    assert exit_code_for(UnknownRole("no role 'boss'")) == 1


def test_a_refused_command_prints_one_line_and_exits_1(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.setenv("HARKEN_DATABASE__URL", sqlite_url)
    runner = CliRunner()
    assert runner.invoke(app, ["users", "add", "ada@lumen.com", "--name", "Ada", "--role", "admin",
                               "--no-password"]).exit_code == 0
    refused = runner.invoke(app, ["users", "role", "ada@lumen.com", "boss", "--as", "ada@lumen.com"])
    assert refused.exit_code == 1
    assert "harken: " in refused.output and "Traceback" not in refused.output
    unknown = runner.invoke(app, ["queue", "show", "999"])
    assert unknown.exit_code == 1 and "no mention 999" in unknown.output

