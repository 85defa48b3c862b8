"""The ``[reddit]`` settings section (documented in config/harken.toml)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from listener.sections import Section, http_url


class RedditSettings(Section):
    enabled: bool = False
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    short_url: str = "https://redd.it"
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    username: str = ""
    password: SecretStr = SecretStr("")
    user_agent: str = "harken/0.1 (self-hosted social listening)"
    inbox_mentions: bool = True
    subreddits: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    own_subreddits: list[str] = Field(default_factory=list)
    interval_seconds: int = Field(default=120, gt=0)
    page_size: int = Field(default=100, ge=1, le=100)
    max_pages_per_run: int = Field(default=10, gt=0)
    overlap_seconds: int = Field(default=300, ge=0)
    request_timeout_seconds: float = Field(default=20.0, gt=0)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)

    @field_validator("oauth_url", "reddit_url", "short_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)
