"""Harken's settings: the one place that reads configuration.

Precedence, highest first: environment variables ``HARKEN_<SECTION>__<KEY>``, the
user's own TOML file named by ``HARKEN_CONFIG``, then the documented defaults in
``config/harken.toml``. Secrets are ``SecretStr`` so they never appear in reprs or
logs, and the defaults file holds none.
"""

from __future__ import annotations

import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULTS_FILE = CONFIG_DIR / "harken.toml"
CONFIG_ENV = "HARKEN_CONFIG"


class SettingsError(Exception):
    """A setting is wrong. The message is one line naming the setting and the problem."""


class _Section(BaseModel):
    # A misspelt key is a wrong setting, not something to ignore silently.
    model_config = ConfigDict(extra="forbid")


class BrandSettings(_Section):
    name: str = "Harken"


class DatabaseSettings(_Section):
    url: str = "sqlite:///harken.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value


class XSettings(_Section):
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
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class RedditSettings(_Section):
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
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class SchedulerSettings(_Section):
    misfire_grace_seconds: int = Field(default=60, gt=0)
    processing_interval_seconds: float = Field(default=5.0, gt=0)
    failure_backoff_seconds: int = Field(default=60, ge=0)
    max_failure_backoff_seconds: int = Field(default=1800, ge=0)


class ProcessingSettings(_Section):
    batch_size: int = Field(default=256, gt=0)


class SentimentSettings(_Section):
    enabled: bool = True
    model: str = "default"
    label_map: dict[str, str] = Field(default_factory=dict)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    device: str = "auto"
    batch_size: int = Field(default=32, gt=0)
    max_length: int = Field(default=128, gt=8, le=512)
    threads: int = Field(default=0, ge=0)

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if value not in {"auto", "cpu", "cuda"} and not value.startswith("cuda:"):
            raise ValueError("must be auto, cpu, cuda or cuda:N")
        return value


class LoggingSettings(_Section):
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return upper


class _TomlSource(PydanticBaseSettingsSource):
    """Values from one TOML file; a syntax error names the file and the line."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        raise NotImplementedError  # __call__ below returns the whole file at once

    def __call__(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            with self.path.open("rb") as handle:
                return tomllib.load(handle)
        except FileNotFoundError:
            raise SettingsError(f"{CONFIG_ENV}: {self.path} does not exist") from None
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{self.path}: not valid TOML: {error}") from None


class Settings(BaseSettings):
    """Every setting Harken reads. Load with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="HARKEN_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    brand: BrandSettings = Field(default_factory=BrandSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    x: XSettings = Field(default_factory=XSettings)
    reddit: RedditSettings = Field(default_factory=RedditSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        user_file = os.environ.get(CONFIG_ENV)
        return (
            init_settings,
            env_settings,
            _TomlSource(settings_cls, Path(user_file) if user_file else None),
            _TomlSource(settings_cls, DEFAULTS_FILE),
        )

    @cached_property
    def secrets(self) -> list[str]:
        """Every non-empty secret value, for the log filter that redacts them."""
        found: list[str] = []
        for section in (self.x, self.reddit):
            for value in section.__dict__.values():
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
        return found


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "settings"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "is not a known setting (misspelt?)"
    elif "input" in first and not isinstance(first["input"], dict | SecretStr):
        message = f"{message} (got {first['input']!r})"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"setting {location}: {message}{suffix}"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings, raising :class:`SettingsError` with one clear line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
