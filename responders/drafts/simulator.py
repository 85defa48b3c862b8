"""An OpenAI-compatible endpoint on 127.0.0.1 for tests, the bench and demos without a model.

It serves ``POST /v1/chat/completions`` (and ``GET /v1/models``) in the wire format
the ``openai`` client reads, and records every request it gets. What it answers is
set per test with :meth:`ChatSimulator.script`: a text, a slow text, an HTTP error,
a body that is not JSON, or a completion without choices. With nothing scripted it
answers with :func:`scripted_reply`, a deterministic keyword script that reads the
request the way a model would (mention from the data, links from the system
message). It is not a language model: figures measured against it measure Harken's
pipeline (grounding, checks, fallback, latency), not the quality of any model.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "sim-drafter-1"


@dataclass(frozen=True)
class Scripted:
    """One scripted answer: ``text`` after ``delay`` seconds, or an HTTP ``status``, or a ``raw`` body."""

    text: str | None = None
    delay: float = 0.0
    status: int = 200
    raw: str | None = None


def _data(messages: list[dict[str, Any]]) -> dict[str, Any]:
    user = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
    start, end = user.find("{"), user.rfind("}")
    try:
        return json.loads(user[start:end + 1]) if start >= 0 else {}
    except ValueError:
        return {}


def _links(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    section = system.split("Links:", 1)[1].split("Known outages:", 1)[0] if "Links:" in system else ""
    return re.findall(r"^- ([^:\n]+): (https?://\S+)", section, re.MULTILINE)


def scripted_reply(messages: list[dict[str, Any]]) -> str:
    """A deterministic reply from keywords of the mention and the links the system message allows."""
    mention = _data(messages).get("mention", {})
    text = (mention.get("text") or "").lower()
    name = mention.get("first_name")
    hello = f"Hi {name}, " if name else ""
    links = _links(messages)

    def link_for(*words: str) -> str:
        for title, url in links:
            if any(word in title.lower() for word in words):
                return url
        return ""

    if re.search(r"\b(down|outage|no signal|no service|no internet|offline)\b", text):
        status = link_for("status", "outage")
        return (f"{hello}sorry your service is down. We're checking your area now"
                + (f"; live updates are at {status}" if status else "") + ". Is it all devices or just one?")
    if re.search(r"\b(charged|bill|refund|overcharged|payment)\b", text):
        billing = link_for("billing", "refund")
        return (f"{hello}sorry about the charge. Which date and amount was it? We'll look into it"
                + (f", and {billing} explains refunds" if billing else "") + ".")
    if re.search(r"\b(freez\w*|crash\w*|stuck|not working|won't|broken|error)\b", text):
        return f"{hello}that shouldn't happen, sorry. Which device and version are you on, and since when?"
    if re.search(r"\b(love|thanks|thank you|great|awesome|amazing)\b", text):
        return f"{hello}thank you, that's lovely to hear! We'll pass it on to the team."
    if "?" in text:
        return f"{hello}good question. Could you tell us a bit more so we can give you the right answer?"
    return f"{hello}thanks for reaching out. How can we help?"


class ChatSimulator:
    """The server, started on a free port of 127.0.0.1; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: str) -> None:
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    self.wfile.write(payload)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]}))
                else:
                    self._send(404, json.dumps({"error": {"message": "not found"}}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send(400, json.dumps({"error": {"message": "body is not JSON"}}))
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, json.dumps({"error": {"message": "not found"}}))
                    return
                with simulator._lock:
                    simulator.requests.append(body)
                    step = simulator._script.popleft() if simulator._script else None
                step = step or Scripted(text=scripted_reply(body.get("messages") or []))
                if step.delay:
                    time.sleep(step.delay)
                if step.raw is not None:
                    self._send(step.status, step.raw)
                elif step.status != 200:
                    self._send(step.status, json.dumps({"error": {"message": "simulated failure", "type": "server"}}))
                else:
                    self._send(200, json.dumps(_completion(body.get("model") or MODEL, step.text or "")))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def script(self, *steps: Scripted) -> None:
        """Answer the next requests with these steps, in order; then the keyword script again."""
        with self._lock:
            self._script.extend(steps)

    def start(self) -> ChatSimulator:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ChatSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-sim", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }
