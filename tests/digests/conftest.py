"""Fixtures of the digest and alert tests: clean alert/delivery tables, settings, a local SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.engine import Engine

from listener.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def _no_leftover_alerts(request: pytest.FixtureRequest) -> None:
    """The shared PostgreSQL clean-up truncates the listening tables; alerts and deliveries are ours to clear."""
    if "engine" in request.fixturenames:
        engine: Engine = request.getfixturevalue("engine")
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM deliveries"))
            connection.execute(text("DELETE FROM alerts"))


def settings_for(url: str, **sections: dict[str, Any]) -> Settings:
    """Settings on the test database; retries without waiting unless a test says otherwise."""
    digest = {"retry_backoff_seconds": 0.0, "smtp_timeout_seconds": 5.0, "webhook_timeout_seconds": 5.0,
              "timezone": "UTC", **sections.pop("digest", {})}
    return load_settings(database={"url": url}, digest=digest, **sections)


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    data: bytes
    login: tuple[str, str] | None = None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class KeepMessages:
    """An aiosmtpd handler that keeps every message it accepts."""

    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


class _Authenticator:
    def __init__(self, handler: KeepMessages, user: str, password: str) -> None:
        self.handler, self.user, self.password = handler, user, password

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if isinstance(auth_data, LoginPassword):
            login = (auth_data.login.decode(), auth_data.password.decode())
            self.handler.logins.append(login)
            return AuthResult(success=login == (self.user, self.password), handled=False)
        return AuthResult(success=False, handled=False)


@dataclass
class SMTPServer:
    host: str
    port: int
    handler: KeepMessages

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), plain, without authentication."""
    handler = KeepMessages()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", controller.port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server_with_auth() -> Iterator[SMTPServer]:
    """An SMTP server that requires LOGIN/PLAIN authentication (allowed without TLS, on 127.0.0.1 only)."""
    handler = KeepMessages()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), auth_require_tls=False,
        authenticator=_Authenticator(handler, "digest-bot", "s3cret-Passw0rd"),
    )
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", controller.port, handler)
    finally:
        controller.stop()


@dataclass
class Webhook:
    """A local HTTP endpoint that keeps the JSON posted to it and answers with the queued statuses (then 200)."""

    url: str
    posts: list[dict[str, Any]]
    statuses: list[int]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    posts: list[dict[str, Any]] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = statuses.pop(0) if statuses else 200
            if status == 200:
                posts.append({"path": self.path, "content_type": self.headers["Content-Type"],
                              "json": json.loads(body)})
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"invalid_payload")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # The path stands for the secret token of a Slack incoming webhook.
        yield Webhook(f"http://127.0.0.1:{server.server_port}/services/T000/B000/XOXB-SECRET-TOKEN", posts, statuses)
    finally:
        server.shutdown()
        server.server_close()
