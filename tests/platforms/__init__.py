"""Helpers for tests that run the real clients against the platform simulators."""

from __future__ import annotations

from typing import Any

from listener.demo import DemoPlatforms, demo_settings
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.settings import Settings


def settings_for(x: XSimulator, reddit: RedditSimulator, database_url: str, /, **sections: Any) -> Settings:
    """Settings pointing at the simulators, sentiment off unless a test turns it on."""
    sections.setdefault("sentiment", {}).setdefault("enabled", False)
    sections.setdefault("reddit", {}).setdefault("own_subreddits", [])
    return demo_settings(DemoPlatforms(x=x, reddit=reddit), database_url, **sections)


def env_for(settings: Settings) -> dict[str, str]:
    """The same settings as HARKEN_* environment variables, for a ``harken`` subprocess."""
    env: dict[str, str] = {}
    for section in ("database", "x", "reddit", "sentiment"):
        values = getattr(settings, section).model_dump()
        for key, value in values.items():
            if hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list | dict):
                import json

                value = json.dumps(value)
            env[f"HARKEN_{section.upper()}__{key.upper()}"] = str(value)
    return env
