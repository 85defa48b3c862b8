"""Fault injection and the request log shared by both platform simulators.

Collectors must survive what real platforms do on a bad day: rate limits, 5xx answers,
truncated bodies, pages missing fields, requests that hang.  A test describes one such
misbehaviour as a :class:`Fault` and hands it to the simulator; the simulator consults
its :class:`FaultBook` before answering each request.  Every request is also written to
a :class:`RequestLog`, so that a test can assert what a client asked for, or wait until
a client is provably in the middle of a page before killing it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MALFORMED_BODY = b'{"data": [{"id": "1", "tex'
"""What a ``malformed`` fault answers with: JSON cut off mid-string, as a dropped
connection behind a proxy can leave it."""


@dataclass
class Fault:
    """One misbehaviour, applied to the next ``times`` requests that match it.

    A request matches when its path starts with ``path_prefix`` and, if given, its
    method equals ``method`` and its query string carries ``when_param`` (for example
    ``"pagination_token"``, so that only page 2 onwards fails).

    What the matching request gets:

    * ``delay`` seconds of silence first (a timeout, or a request held open so that a
      test can kill the client mid-page); with nothing else set, the request is then
      answered normally;
    * ``delay_after`` seconds of silence *after* the request has been applied: the
      simulator does the work (a reply is posted and visible) and only then holds the
      answer, so that a test can kill a client between the platform's side effect and
      the client learning of it (the window that exactly-once sending must survive);
    * ``status``: that error status in the platform's own error shape (for 429 with
      the platform's rate-limit headers, the reset ``reset_after`` seconds away);
    * ``malformed``: 200 with a body that is not valid JSON (:data:`MALFORMED_BODY`);
    * ``body``: 200 with exactly this JSON, e.g. a page whose tweet lacks a field;
    * ``status_after``: the request takes effect (a reply is posted), then the answer
      is this error status: a gateway that failed after the platform did the work.
    """

    path_prefix: str
    status: int | None = None
    times: int = 1
    delay: float = 0.0
    malformed: bool = False
    body: dict[str, Any] | None = None
    when_param: str | None = None
    reset_after: float = 60.0
    method: str | None = None
    delay_after: float = 0.0
    status_after: int | None = None

    def __post_init__(self) -> None:
        if self.times < 1:
            raise ValueError(f"a fault must apply at least once, not {self.times} times")
        if self.delay < 0 or self.delay_after < 0:
            raise ValueError(f"a fault's delays cannot be negative ({self.delay}, {self.delay_after})")
        chosen = [self.status is not None, self.malformed, self.body is not None, self.status_after is not None]
        if sum(chosen) > 1:
            raise ValueError("a fault answers with one of status, malformed, body or status_after, not several")
        if self.delay_after and any(chosen):
            raise ValueError("delay_after holds the real answer: it cannot be combined with status, malformed or body")
        if self.method is not None:
            self.method = self.method.upper()

    @property
    def changes_answer(self) -> bool:
        """Whether the fault replaces the normal answer (rather than only delaying it)."""
        return self.status is not None or self.malformed or self.body is not None

    def matches(self, method: str, path: str, query: Mapping[str, str]) -> bool:
        """Whether a request with this method, path and query is one this fault hits."""
        if not path.startswith(self.path_prefix):
            return False
        if self.method is not None and method.upper() != self.method:
            return False
        return self.when_param is None or self.when_param in query


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it, before any fault or answer."""

    method: str
    path: str
    query: dict[str, str]
    time: float
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class FaultBook:
    """The pending faults of one simulator, consumed in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._remaining: list[int] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)
            self._remaining.append(fault.times)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._remaining.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str, query: Mapping[str, str]) -> Fault | None:
        """Return the first fault this request hits, using up one of its ``times``."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path, query):
                    self._remaining[index] -= 1
                    if self._remaining[index] == 0:
                        del self._faults[index]
                        del self._remaining[index]
                    return fault
        return None


class RequestLog:
    """Every request a simulator received, in arrival order, and a way to wait for one."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._entries: list[RecordedRequest] = []

    def append(self, entry: RecordedRequest) -> None:
        with self._changed:
            self._entries.append(entry)
            self._changed.notify_all()

    def snapshot(self) -> list[RecordedRequest]:
        with self._changed:
            return list(self._entries)

    def clear(self) -> None:
        with self._changed:
            self._entries.clear()

    def wait_for(
        self,
        path_prefix: str,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 5.0,
    ) -> bool:
        """Block until a matching request has arrived (earlier arrivals count).

        Returns ``False`` when ``timeout`` seconds pass first, so that a test can
        assert on it instead of hanging.
        """

        def arrived() -> bool:
            return any(
                entry.path.startswith(path_prefix) and (predicate is None or predicate(entry))
                for entry in self._entries
            )

        deadline = time.monotonic() + timeout
        with self._changed:
            while not arrived():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True
