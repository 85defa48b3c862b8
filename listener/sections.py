"""What every settings section is: the base class that the core settings and each platform's section share.

It lives apart from ``listener.settings`` so that a platform package can define its
own section (``[x]``, ``[reddit]``) without importing the settings object that is
built from those sections.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """One ``[section]`` of the settings file."""

    # A misspelt key is a wrong setting, not something to ignore silently.
    model_config = ConfigDict(extra="forbid")


def http_url(value: str) -> str:
    """Validator body for URL settings: http(s) only, without the trailing slash."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")
