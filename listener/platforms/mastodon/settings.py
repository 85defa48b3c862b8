"""The ``[mastodon]`` settings section (documented in config/harken.toml)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from listener.sections import Section, http_url


class MastodonSettings(Section):
    enabled: bool = False
    api_base_url: str = ""
    """The brand's own instance, e.g. ``https://mastodon.social``."""
    access_token: SecretStr = SecretStr("")
    hashtags: list[str] = Field(default_factory=list)
    interval_seconds: int = Field(default=60, gt=0)
    streaming: bool = False
    """Reserved for the streaming API; collection polls (the same cursors) either way."""

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value) if value else value

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, values: list[str]) -> list[str]:
        return [value.strip().lstrip("#") for value in values if value.strip().lstrip("#")]
