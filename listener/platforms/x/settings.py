"""The ``[x]`` settings section (documented in config/harken.toml)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from listener.sections import Section, http_url


class XSettings(Section):
    enabled: bool = False
    api_base_url: str = "https://api.x.com"
    bearer_token: SecretStr = SecretStr("")
    consumer_key: SecretStr = SecretStr("")
    consumer_secret: SecretStr = SecretStr("")
    access_token: SecretStr = SecretStr("")
    access_token_secret: SecretStr = SecretStr("")
    brand_username: str = ""
    search_queries: list[str] = Field(default_factory=list)
    interval_seconds: int = Field(default=120, gt=0)
    page_size: int = Field(default=100, ge=10, le=100)
    max_pages_per_run: int = Field(default=20, gt=0)
    request_timeout_seconds: float = Field(default=20.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)
