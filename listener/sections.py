"""What every settings section is: the base class that the core settings and each platform's section share.

It lives apart from ``listener.settings`` so that a platform package can define its
own section (``[x]``, ``[reddit]``) without importing the settings object that is
built from those sections.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

# The longest duration any setting may hold: longer ones are mistakes, and far longer ones overflow the
# date arithmetic (a sign-in window of 99,999,999,999 minutes made every sign-in fail).
LONGEST_DURATION = timedelta(days=366)
_DURATION_UNITS = {"_seconds": 1, "_minutes": 60, "_hours": 3600, "_days": 86400}
# Counts and sizes above this are mistakes too, and above 2**63 the databases cannot even compare them.
LARGEST_COUNT = 2**31 - 1


class Section(BaseModel):
    """One ``[section]`` of the settings file."""

    # A misspelt key is a wrong setting, not something to ignore silently; inf and nan are never meant.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _bounded(cls, value: Any, info: ValidationInfo) -> Any:
        """Every duration (a name ending in _seconds, _minutes, _hours) and every count has a ceiling."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        for suffix, unit in _DURATION_UNITS.items():
            if (info.field_name or "").endswith(suffix):
                most = LONGEST_DURATION.total_seconds() / unit
                if value > most:
                    raise ValueError(f"must be at most {most:.0f} {suffix[1:]} ({LONGEST_DURATION.days} days)")
                return value
        if isinstance(value, int) and value > LARGEST_COUNT:
            raise ValueError(f"must be at most {LARGEST_COUNT}")
        return value


def http_url(value: str) -> str:
    """Validator body for URL settings: http(s) only, without the trailing slash."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")
