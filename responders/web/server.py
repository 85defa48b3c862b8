"""Serving the web app with uvicorn, in the foreground (``harken web``) or on a thread (``harken run``, tests)."""

from __future__ import annotations

import threading
import time

import uvicorn
from sqlalchemy.engine import Engine

from listener.settings import Settings
from responders.web.app import create_app


class WebServer:
    """The web app on ``host:port`` (port 0 picks a free one), started on its own thread."""

    def __init__(self, settings: Settings, engine: Engine, host: str | None = None, port: int | None = None) -> None:
        config = uvicorn.Config(
            create_app(settings, engine),
            host=host or settings.web.host,
            port=settings.web.port if port is None else port,
            log_level="warning",
            access_log=False,
            # Believe X-Forwarded-* only from the configured reverse proxies.
            forwarded_allow_ips=settings.web.trusted_proxies,
            proxy_headers=True,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        sockets = self.server.servers[0].sockets if self.server.servers else []
        host, port = sockets[0].getsockname()[:2] if sockets else (self.server.config.host, self.server.config.port)
        return f"http://{host}:{port}"

    def start(self, timeout: float = 15.0) -> WebServer:
        self._thread = threading.Thread(target=self.server.run, name="harken-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the web app did not start on {self.server.config.host}:{self.server.config.port}"
                                   " (is the port taken?)")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
