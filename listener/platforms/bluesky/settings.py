"""The ``[bluesky]`` settings section (documented in config/harken.toml)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from listener.sections import Section, http_url


class BlueskySettings(Section):
    enabled: bool = False
    service_url: str = "https://bsky.social"
    """The brand account's PDS (``https://bsky.social`` for accounts made on the Bluesky app)."""
    jetstream_url: str = "wss://jetstream.us-east.bsky.network/xrpc"
    handle: str = ""
    app_password: SecretStr = SecretStr("")
    keywords: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    interval_seconds: int = Field(default=60, gt=0)

    @field_validator("service_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("jetstream_url")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must be a ws:// or wss:// URL")
        return value.rstrip("/")

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str) -> str:
        return value.strip().lstrip("@").lower()

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, values: list[str]) -> list[str]:
        return [value.strip().lstrip("#") for value in values if value.strip().lstrip("#")]
