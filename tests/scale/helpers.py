"""``harken`` role processes for the scale-out tests, with their log lines readable while they run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Harken:
    """One ``harken <command>`` subprocess; its output lines are collected by a thread as they come."""

    def __init__(self, command: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "responders.cli", *command],
            env={**os.environ, **env}, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def count(self, pattern: str) -> int:
        with self._lock:
            return sum(1 for line in self.lines if re.search(pattern, line))

    def wait_for(self, pattern: str, timeout: float = 60, times: int = 1) -> bool:
        """Whether a line matching ``pattern`` appeared ``times`` times within ``timeout`` seconds."""
        return wait_until(lambda: self.count(pattern) >= times or self.process.poll() is not None, timeout) \
            and self.count(pattern) >= times

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine dies."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, as systemd stops a service; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def wait_until(condition: Callable[[], bool], timeout: float = 60, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
