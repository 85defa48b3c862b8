"""A webhook URL's token (path and query) is never shown or stored (issue 18, item 3)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from listener.db import make_engine
from listener.models import Delivery
from listener.safe_text import redact_url, redact_urls
from responders.cli import app
from tests.digests.conftest import free_port

TOKEN = "tok-8c1f-SEKRET"


@pytest.fixture
def echoing_webhook() -> Iterator[str]:
    """A webhook that fails with a body quoting the request line, as some proxies and gateways do."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(403)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(f"forbidden: POST {self.path}".encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/?token={TOKEN}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("where", ["answers 403 quoting the URL", "refuses the connection"])
def test_digest_send_and_status_never_show_the_token(
    where: str, echoing_webhook: str, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = echoing_webhook if where.startswith("answers") else f"http://127.0.0.1:{free_port()}/?token={TOKEN}"
    monkeypatch.setenv("HARKEN_DATABASE__URL", sqlite_url)
    monkeypatch.setenv("HARKEN_DIGEST__WEBHOOK_URL", url)
    monkeypatch.setenv("HARKEN_DIGEST__RETRY_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("HARKEN_DIGEST__RETRY_ATTEMPTS", "1")
    runner = CliRunner()
    sent = runner.invoke(app, ["digest", "--period", "day", "--send"])
    assert sent.exit_code == 1, sent.output
    assert "webhook to http://127.0.0.1:" in sent.output and "failed" in sent.output
    status = runner.invoke(app, ["digest", "--status"])
    assert status.exit_code == 0, status.output
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        (row,) = session.scalars(select(Delivery)).all()
    engine.dispose()
    assert row.status == "failed" and row.last_error
    for shown in (sent.output, status.output, row.last_error, row.target):
        assert TOKEN not in shown and "token=" not in shown, shown


def test_urls_in_any_text_lose_their_path_and_query() -> None:
    secret = "https://user:pw@hooks.example.com:8443/services/T0/B0/XyZ?token=abc%2Fdef&x=1"
    assert redact_url(secret) == "https://hooks.example.com:8443/…"
    message = ("HTTPSConnectionPool(host='hooks.example.com', port=8443): Max retries exceeded with url: "
               "/services/T0/B0/XyZ?token=abc%2Fdef&x=1 (Caused by NewConnectionError) see " + secret)
    redacted = redact_urls(message, secret)
    assert "XyZ" not in redacted and "abc" not in redacted and "pw@" not in redacted
    assert "hooks.example.com" in redacted and "Max retries exceeded" in redacted
