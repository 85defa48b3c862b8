"""The HTTP plumbing both simulators share: a threaded server on 127.0.0.1.

A simulator subclasses :class:`SimulatorServer` and implements :meth:`~SimulatorServer.
handle` (the platform's routes) and :meth:`~SimulatorServer.fault_response` (the
platform's error shapes).  This module owns everything else: the daemon thread,
start/stop, recording each request, applying injected faults, and closing kept-alive
connections on ``stop()`` so that a stopped simulator really is unreachable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from listener.simulators.errors import SimulatorNotRunningError
from listener.simulators.faults import (
    MALFORMED_BODY,
    Fault,
    FaultBook,
    RecordedRequest,
    RequestLog,
)

HOST = "127.0.0.1"

log = logging.getLogger(__name__)


def status_phrase(status: int) -> str:
    """``"Service Unavailable"`` for 503; a fault may use a status Python has no name for."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass(frozen=True)
class SimRequest:
    """A parsed request as a simulator's routes see it."""

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    raw_query: str = ""  # the query string as sent, for parameters that repeat (``types[]=a&types[]=b``)

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON raises :class:`HttpError` 400."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise HttpError(400, {"error": "body is not valid JSON"}) from exc

    def form(self) -> dict[str, str]:
        """The body as an ``application/x-www-form-urlencoded`` form (first values)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class SimResponse:
    """What a route answers: a status, a JSON payload (or raw bytes) and headers."""

    status: int = 200
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def body_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.payload is None:
            return b""
        return json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


class HttpError(Exception):
    """Raised inside a route to answer with an error status and the platform's body."""

    def __init__(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {payload}")
        self.status = status
        self.payload = payload
        self.headers = dict(headers or {})

    def response(self) -> SimResponse:
        return SimResponse(self.status, self.payload, dict(self.headers))


class _Handler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a :class:`SimRequest` for the owning simulator."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: a test run should not print a line per request."""

    def setup(self) -> None:
        super().setup()
        self.server.simulator._track_connection(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.simulator._track_connection(self.connection, open_=False)

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = SimRequest(
            method=self.command,
            path=parts.path,
            query=query,
            headers={key: value for key, value in self.headers.items()},
            body=body,
            raw_query=parts.query,
        )
        response = self.server.simulator._answer(request)
        data = response.body_bytes()
        try:
            self.send_response(response.status)
            headers = {"Content-Type": "application/json; charset=UTF-8", **response.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            if self.close_connection:
                # The client asked to close (prawcore's token request does): say so, or
                # urllib3 pools the connection and the next request dies on it.
                self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up (a test killed it mid-request): nothing to answer.
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    simulator: SimulatorServer


class SimulatorServer:
    """Base class: a platform simulator served from a daemon thread on 127.0.0.1.

    ``start()`` binds ``port`` (0 picks a free one) and returns the simulator, so
    ``sim = XSimulator().start()`` and ``with XSimulator() as sim:`` both work.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._faults = FaultBook()
        self._log = RequestLog()

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((HOST, self._port), _Handler)
        server.simulator = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections, including requests held by a delay.

        A restarted simulator keeps its state but, with ``port=0``, gets a new port.
        """
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._stopping.set()  # wake requests held by a delay only now: they find no client
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise SimulatorNotRunningError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, with no trailing slash."""
        return f"http://{HOST}:{self.port}"

    # -- faults and the request log ---------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        self._faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """Faults not yet used up."""
        return self._faults.pending()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        return self._log.snapshot()

    def clear_requests(self) -> None:
        self._log.clear()

    def wait_for_request(
        self,
        path_prefix: str,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 5.0,
    ) -> bool:
        """Wait until a request under ``path_prefix`` (passing ``predicate``) arrived."""
        return self._log.wait_for(path_prefix, predicate, timeout)

    # -- what subclasses implement -------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request the platform's way (routes, auth, rate limits)."""
        raise NotImplementedError

    def fault_response(self, fault: Fault, request: SimRequest) -> SimResponse:
        """Answer the way the platform does for ``fault.status``."""
        raise NotImplementedError

    def not_found(self, request: SimRequest) -> SimResponse:
        return SimResponse(404, {"error": "not found", "path": request.path})

    # -- internals ----------------------------------------------------------------------

    def _track_connection(self, connection: socket.socket, *, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _answer(self, request: SimRequest) -> SimResponse:
        self._log.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                time=time.time(),
                headers=dict(request.headers),
                body=request.body,
            )
        )
        fault = self._faults.take(request.method, request.path, request.query)
        if fault is not None and fault.delay:
            self._stopping.wait(fault.delay)
        try:
            if fault is not None and fault.malformed:
                return SimResponse(200, raw=MALFORMED_BODY)
            if fault is not None and fault.body is not None:
                return SimResponse(200, fault.body)
            if fault is not None and fault.status is not None:
                return self.fault_response(fault, request)
            response = self.handle(request)
        except HttpError as error:
            response = error.response()
        except Exception:  # a simulator bug must not kill the connection silently
            log.exception("%s failed on %s %s", type(self).__name__, request.method, request.path)
            return SimResponse(500, {"error": "simulator error", "path": request.path})
        if fault is not None and fault.delay_after:
            # The request has taken effect; only the answer is held back.
            self._stopping.wait(fault.delay_after)
        if fault is not None and fault.status_after is not None:
            # The request has taken effect; the client is told it failed.
            return self.fault_response(replace(fault, status=fault.status_after, status_after=None), request)
        return response
