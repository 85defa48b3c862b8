"""Helpers for the Bluesky and Mastodon tests that run ``harken`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from listener.settings import Settings


def env_for(settings: Settings, *platforms: str) -> dict[str, str]:
    """``settings`` as HARKEN_* variables for the core sections and ``platforms``; X and Reddit off."""
    env = {"HARKEN_X__ENABLED": "false", "HARKEN_REDDIT__ENABLED": "false"}
    for section in ("database", "sentiment", "replies", *platforms):
        for key, value in getattr(settings, section).model_dump().items():
            if hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            if value is None:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list | dict):
                value = json.dumps(value)
            env[f"HARKEN_{section.upper()}__{key.upper()}"] = str(value)
    return env


def harken(env: dict[str, str], cwd: Path, *arguments: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "responders.cli", *arguments], env={**os.environ, **env},
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
