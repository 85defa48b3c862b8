"""`harken users add` makes the first admin with a web password; `harken users password` resets one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from listener.db import make_engine
from listener.settings import load_settings
from responders.cli import app
from responders.web.app import create_app
from tests.web.conftest import sign_in


def test_first_admin_from_the_command_line_signs_in_on_the_web(sqlite_url: str) -> None:
    runner = CliRunner()
    env = {"HARKEN_DATABASE__URL": sqlite_url}
    added = runner.invoke(app, ["users", "add", "boss@lumen.test", "--name", "Boss", "--role", "admin",
                                "--password-stdin"], input="a long enough secret\n", env=env)
    assert added.exit_code == 0 and "Added boss@lumen.test as admin." in added.output, added.output
    weak = runner.invoke(app, ["users", "add", "pat@lumen.test", "--name", "Pat", "--role", "approver",
                               "--as", "boss@lumen.test", "--password-stdin"], input="short\n", env=env)
    assert weak.exit_code == 2 and "at least 10 characters" in weak.output

    engine = make_engine(sqlite_url)
    web = TestClient(create_app(load_settings(database={"url": sqlite_url}, web={"secure_cookies": "never"}),
                                engine))
    assert sign_in(web, "boss@lumen.test", "a long enough secret").status_code == 303
    assert web.get("/admin").status_code == 200

    reset = runner.invoke(app, ["users", "password", "boss@lumen.test", "--password-stdin"],
                          input="another long secret\n", env=env)
    assert reset.exit_code == 0, reset.output
    assert web.get("/api/v1/mentions").status_code == 401  # the old session ended with the reset
    fresh = TestClient(web.app)
    assert sign_in(fresh, "boss@lumen.test", "a long enough secret").status_code == 401
    assert sign_in(fresh, "boss@lumen.test", "another long secret").status_code == 303
    engine.dispose()
