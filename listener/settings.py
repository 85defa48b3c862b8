"""Harken's settings: the one place that reads configuration.

Precedence, highest first: environment variables ``HARKEN_<SECTION>__<KEY>``, the
user's own TOML file named by ``HARKEN_CONFIG``, then the documented defaults in
``config/harken.toml``. Secrets are ``SecretStr`` so they never appear in reprs or
logs, and the defaults file holds none.
"""

from __future__ import annotations

import json
import os
import string
import tomllib
from collections.abc import Iterable
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as EnvironmentParseError

from listener.errors import HarkenError
from listener.platforms import Platform, all_platforms
from listener.safe_text import mask_url_password
from listener.sections import LONGEST_DURATION, Section, http_url
from listener.sentiment.errors import UnknownLanguageError
from listener.sentiment.language import language_code
from listener.sentiment.model_names import missing_directory
from listener.statuses import OPEN_MENTION_STATUSES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULTS_FILE = CONFIG_DIR / "harken.toml"
CONFIG_ENV = "HARKEN_CONFIG"
ENV_PREFIX = "HARKEN_"
# HARKEN_ names that are not settings but are read on purpose: the user's file, the PostgreSQL servers of the
# tests (tests/conftest.py) and of the benchmarks (bench/pipeline.py). A new one must be added here.
OTHER_ENV_NAMES = frozenset({CONFIG_ENV, "HARKEN_TEST_POSTGRES", "HARKEN_BENCH_POSTGRES"})


class SettingsError(HarkenError):
    """A setting is wrong. The message is one line naming the setting and the problem."""


class BrandSettings(Section):
    name: str = "Harken"


class DatabaseSettings(Section):
    url: str = "sqlite:///harken.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value


class SchedulerSettings(Section):
    misfire_grace_seconds: int = Field(default=60, gt=0)
    processing_interval_seconds: float = Field(default=5.0, gt=0)
    failure_backoff_seconds: int = Field(default=60, ge=0)
    max_failure_backoff_seconds: int = Field(default=1800, ge=0)
    # PostgreSQL: one scheduler holds an advisory lock; the others wait and try again this often.
    standby_retry_seconds: float = Field(default=5.0, gt=0)
    # How often the active scheduler checks that its lock connection is still alive.
    lock_check_seconds: float = Field(default=5.0, gt=0)
    # How often the active scheduler reads the sources table for what admins changed in the web app.
    sources_check_seconds: float = Field(default=5.0, gt=0)


class ProcessingSettings(Section):
    batch_size: int = Field(default=256, gt=0)
    # Worker loops per process (`harken run`, `harken worker`): one writes its batch while another runs the model.
    worker_threads: int = Field(default=2, ge=1, le=64)
    # An idle worker looks for new mentions this often.
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    # A claimed batch not finished within this time (its worker died) can be claimed again.
    lease_seconds: float = Field(default=120.0, gt=0)
    # A mention whose claim ran out this many times is marked failed instead of claimed again.
    max_attempts: int = Field(default=3, ge=1)
    # After a lost database connection a worker waits 1, 2, 4... seconds, at most this long.
    reconnect_max_seconds: float = Field(default=30.0, gt=0)


class LanguageModelSettings(Section):
    """One language's own sentiment model: an entry of ``[sentiment] models``."""

    model: str
    # The model's own label names -> negative/neutral/positive, as [sentiment] label_map is for `model`.
    label_map: dict[str, str] = Field(default_factory=dict)

    @field_validator("model")
    @classmethod
    def _loadable(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must name a model: a local model directory or a Hugging Face hub id")
        problem = missing_directory(value)
        if problem:
            raise ValueError(problem)
        return value


def _language_codes(codes: Iterable[str]) -> list[str]:
    """Lower-cased ISO 639-1 codes; a ValueError (one line) names any that language detection does not know."""
    try:
        return [language_code(code) for code in codes]
    except UnknownLanguageError as error:
        raise ValueError(str(error)) from None


class SentimentSettings(Section):
    enabled: bool = True
    model: str = "default"
    label_map: dict[str, str] = Field(default_factory=dict)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    # Language -> its own model (README "Per-language models"), written `pt = "DIR or hub id"` or
    # `pt = { model = "...", label_map = {...} }`. Languages in neither list stay unscored.
    models: dict[str, LanguageModelSettings] = Field(default_factory=dict)
    device: str = "auto"
    batch_size: int = Field(default=32, gt=0)
    max_length: int = Field(default=128, gt=8, le=512)
    threads: int = Field(default=0, ge=0)
    # Below this confidence a scored mention is "uncertain" (listener/sentiment/certainty.py).
    min_confidence: float = Field(default=0.5, ge=0, le=1)

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if value not in {"auto", "cpu", "cuda"} and not value.startswith("cuda:"):
            raise ValueError("must be auto, cpu, cuda or cuda:N")
        return value

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_language_codes(value)))

    @field_validator("models", mode="before")
    @classmethod
    def _model_tables(cls, value: Any) -> Any:
        """``pt = "DIR"`` is short for ``pt = { model = "DIR" }``; codes are checked and lower-cased."""
        if not isinstance(value, dict):
            return value
        codes = _language_codes(str(code) for code in value)
        if len(set(codes)) < len(codes):
            raise ValueError("a language appears twice (codes are compared lower-cased)")
        return {code: {"model": entry} if isinstance(entry, str) else entry
                for code, entry in zip(codes, value.values(), strict=True)}

    @model_validator(mode="after")
    def _one_model_per_language(self) -> SentimentSettings:
        both = [code for code in self.models if code in self.languages]
        if both:
            raise ValueError(
                f"{', '.join(both)} in both sentiment.languages (scored by sentiment.model) and sentiment.models: "
                "a language has one model, so keep it in one of them"
            )
        return self

    @property
    def scored_languages(self) -> list[str]:
        """Every language some model scores: ``languages`` (the main model), then those of ``models``."""
        return [*self.languages, *self.models]


PRIORITY_LEVELS: tuple[str, ...] = ("urgent", "high", "normal", "low")


def _config_file(value: str, default_name: str) -> Path:
    """A rules file setting: empty means the documented default in ``config/``."""
    return Path(value).expanduser() if value else CONFIG_DIR / default_name


class TriageSettings(Section):
    """Priority, SLA and the auto-ignore/auto-assign rules of the responder queue."""

    rules_file: str = ""
    high_reach_followers: int = Field(default=10_000, gt=0)
    sla_minutes: dict[str, int] = Field(
        default_factory=lambda: {"urgent": 60, "high": 240, "normal": 1440, "low": 4320}
    )
    refresh_interval_seconds: int = Field(default=900, gt=0)

    @field_validator("sla_minutes")
    @classmethod
    def _every_level(cls, value: dict[str, int]) -> dict[str, int]:
        if set(value) != set(PRIORITY_LEVELS):
            raise ValueError(f"needs exactly the levels {', '.join(PRIORITY_LEVELS)}")
        if any(minutes <= 0 for minutes in value.values()):
            raise ValueError("every SLA must be a positive number of minutes")
        if any(timedelta(minutes=minutes) > LONGEST_DURATION for minutes in value.values()):
            raise ValueError(f"every SLA must be at most {LONGEST_DURATION.days} days")
        return value

    @property
    def rules_path(self) -> Path:
        return _config_file(self.rules_file, "triage-rules.toml")


class RepliesSettings(Section):
    """Reply rules and templates, suggestions, and the approval workflow."""

    rules_file: str = ""
    two_approvers_for_high_risk: bool = True
    allow_self_approval: bool = False
    ticket_link_template: str = ""
    max_suggestions: int = Field(default=3, gt=0, le=20)
    similar_replies: bool = True
    similar_min_score: float = Field(default=0.6, ge=0, le=1)

    @field_validator("ticket_link_template")
    @classmethod
    def _ticket_link(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be empty or an http:// or https:// URL")
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as error:
            raise ValueError(f"not a valid template: {error}") from None
        unknown = fields - {"mention_id", "platform", "external_id"}
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}: only mention_id, platform, external_id")
        return value

    @property
    def rules_path(self) -> Path:
        return _config_file(self.rules_file, "reply-rules.toml")


class DraftsSettings(Section):
    """Reply drafts from the team's own OpenAI-compatible endpoint (Ollama, llama.cpp, vLLM); off by default."""

    enabled: bool = False
    base_url: str = "http://localhost:11434/v1"
    model: str = ""
    api_key: SecretStr = SecretStr("")
    # The drafts job gives up on an answer after this long; the rule and retrieval suggestions stand.
    timeout_seconds: float = Field(default=20.0, gt=0)
    # The grounding (mention, thread, profile, voice guide, knowledge, past replies) is cut to this size.
    max_input_chars: int = Field(default=6000, ge=2000)
    # Emails, phone numbers and order numbers are replaced before anything leaves the process.
    redact: bool = True
    voice_file: str = ""
    knowledge_file: str = ""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @property
    def voice_path(self) -> Path:
        return _config_file(self.voice_file, "brand-voice.md")

    @property
    def knowledge_path(self) -> Path:
        return _config_file(self.knowledge_file, "knowledge.toml")


class SenderSettings(Section):
    """The sender that posts approved replies exactly once."""

    enabled: bool = True
    interval_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=3, gt=0)
    lookup_pages: int = Field(default=5, gt=0)
    clock_skew_seconds: int = Field(default=120, ge=0)


class LoggingSettings(Section):
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return upper


class DigestSettings(Section):
    """The sentiment digest, and the mail server and webhook that deliver digests and alerts."""

    timezone: str = "UTC"
    # Crontab in ``timezone`` (APScheduler: day names, since its day numbers start at Monday); "" disables.
    schedule: str = "0 8 * * mon"
    scheduled_period: str = "week"
    inbox_url: str = "http://127.0.0.1:8000/inbox"
    top_terms: int = Field(default=8, ge=0, le=50)
    top_customers: int = Field(default=10, ge=0, le=100)
    vip_tiers: list[str] = Field(default_factory=lambda: ["vip", "press"])
    # Queue statuses (responders.triage) that count as open backlog when no reply has been sent.
    open_statuses: list[str] = Field(default_factory=lambda: list(OPEN_MENTION_STATUSES))
    term_sample_size: int = Field(default=3000, ge=100)
    driver_min_mentions: int = Field(default=3, ge=2)
    stop_words: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    sender: str = "harken@localhost"
    smtp_host: str = ""
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    webhook_url: SecretStr = SecretStr("")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    retry_attempts: int = Field(default=3, ge=1)
    retry_backoff_seconds: float = Field(default=2.0, ge=0)
    redelivery_interval_seconds: int = Field(default=900, gt=0)
    max_attempts: int = Field(default=9, ge=1)
    # The dashboard serves a stored digest (a snapshot) younger than this, and a job recomputes the
    # dashboard's default periods before theirs expire; 0: no snapshots, every view computes.
    snapshot_max_age_seconds: int = Field(default=600, ge=0)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Paris") from None
        return value

    @field_validator("schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        if value.strip():
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as error:
                raise ValueError(f"must be a crontab expression like '0 8 * * mon' ({error})") from None
        return value.strip()

    @field_validator("scheduled_period")
    @classmethod
    def _period(cls, value: str) -> str:
        if value not in {"day", "week"}:
            raise ValueError("must be day or week")
        return value

    @field_validator("smtp_security")
    @classmethod
    def _security(cls, value: str) -> str:
        if value not in {"starttls", "ssl", "none"}:
            raise ValueError("must be starttls, ssl or none")
        return value

    @field_validator("inbox_url")
    @classmethod
    def _inbox(cls, value: str) -> str:
        return http_url(value)


class AlertSettings(Section):
    """Spike alerts on negative mentions; delivered through the [digest] mail server and webhook."""

    enabled: bool = True
    check_interval_seconds: int = Field(default=300, gt=0)
    window_minutes: int = Field(default=60, gt=0, le=24 * 60)
    baseline_days: int = Field(default=14, ge=3, le=60)
    p_value: float = Field(default=0.001, gt=0, lt=1)
    min_count: int = Field(default=10, ge=1)
    min_ratio: float = Field(default=3.0, ge=1)
    cooldown_minutes: int = Field(default=360, ge=0)
    per_source: bool = True
    recipients: list[str] = Field(default_factory=list)
    webhook_url: SecretStr = SecretStr("")


class WebSettings(Section):
    """The staff web app and its JSON API (``harken web``, and inside ``harken run``)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, lt=65536)
    # A session ends after this long without a request.
    session_idle_hours: float = Field(default=12.0, gt=0)
    # "auto": Secure cookies when the request came over HTTPS (directly or via X-Forwarded-Proto
    # from a trusted proxy); "always" for deployments that only ever serve HTTPS; "never" for tests.
    secure_cookies: str = "auto"
    # Forwarded headers (scheme, client address) are believed only from these addresses.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    # Sign-in throttling: this many failures within the window lock the account (and, x4, the address).
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_window_minutes: int = Field(default=15, gt=0)
    page_size: int = Field(default=50, ge=5, le=500)
    # Cards on the approval queue page, the most urgent first. A card is a whole decision (the mention, the
    # reply's text box, alternatives, who approved): twenty fill several screens, and each decision makes
    # room for the next one waiting, so a longer page only costs time to draw (bench/pages.py).
    queue_size: int = Field(default=20, ge=5, le=200)

    @field_validator("secure_cookies")
    @classmethod
    def _secure(cls, value: str) -> str:
        if value not in {"auto", "always", "never"}:
            raise ValueError("must be auto, always or never")
        return value


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
        except IsADirectoryError:
            raise SettingsError(f"{CONFIG_ENV}: {self.path} is a directory, not a TOML file") from None
        except OSError as error:
            raise SettingsError(f"{CONFIG_ENV}: {self.path} cannot be read: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise SettingsError(f"{self.path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{self.path}: not valid TOML: {error}") from None


class CoreSettings(BaseSettings):
    """Every setting Harken reads but the platforms' own sections: :data:`Settings` adds those."""

    model_config = SettingsConfigDict(
        env_prefix="HARKEN_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    brand: BrandSettings = Field(default_factory=BrandSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
    sentiment: SentimentSettings = Field(default_factory=SentimentSettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    replies: RepliesSettings = Field(default_factory=RepliesSettings)
    drafts: DraftsSettings = Field(default_factory=DraftsSettings)
    sender: SenderSettings = Field(default_factory=SenderSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    web: WebSettings = Field(default_factory=WebSettings)

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
        for section in self.__dict__.values():
            if not isinstance(section, BaseModel):
                continue
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
    # A rejected database URL is quoted back: never with its password.
    return mask_url_password(f"setting {location}: {message}{suffix}")


def _check_environment_names() -> None:
    """Refuse a HARKEN_ name that is no setting: a misspelt section would otherwise be ignored silently."""
    sections = set(settings_class().model_fields)
    for name in sorted(os.environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in OTHER_ENV_NAMES:
            continue
        section = upper.removeprefix(ENV_PREFIX).partition("__")[0].lower()
        if section not in sections:
            raise SettingsError(
                f"environment variable {name}: not a known setting (misspelt?); settings are "
                f"HARKEN_<SECTION>__<KEY> with a section among {', '.join(sorted(sections))}"
            )


def _bad_json_variable() -> str:
    """Which environment variable holding a list or table is not valid JSON (pydantic-settings does not say)."""
    for name in sorted(os.environ):
        section, _, key = name.upper().removeprefix(ENV_PREFIX).partition("__")
        if not name.upper().startswith(ENV_PREFIX) or not key:
            continue
        try:
            json.loads(os.environ[name])
        except ValueError:
            value = os.environ[name].strip()
            if value.startswith(("[", "{")) or _is_collection(section.lower(), key.lower()):
                return name
    return "a HARKEN_ variable"


def _is_collection(section: str, key: str) -> bool:
    field = settings_class().model_fields.get(section)
    model = field.annotation if field else None
    fields = getattr(model, "model_fields", {})
    origin = getattr(fields[key].annotation, "__origin__", None) if key in fields else None
    return origin in (list, dict)


def _with_platform_sections(base: type[CoreSettings], platforms: Iterable[Platform]) -> type[CoreSettings]:
    fields: dict[str, Any] = {p.name: (p.section, Field(default_factory=p.section)) for p in platforms}
    return create_model("Settings", __base__=base, **fields)


Settings = _with_platform_sections(CoreSettings, all_platforms())
"""Every setting Harken reads: the core sections and one section per registered platform (``[x]``,
``[reddit]``...: ``Platform.section``). Load with :func:`load_settings`."""

_later: dict[tuple[str, ...], type[CoreSettings]] = {}


def settings_class() -> type[CoreSettings]:
    """:data:`Settings`, or a subclass with the sections of platforms registered since it was built."""
    added = [platform for platform in all_platforms() if platform.name not in Settings.model_fields]
    if not added:
        return Settings
    key = tuple(platform.name for platform in added)
    if key not in _later:
        _later[key] = _with_platform_sections(Settings, added)
    return _later[key]


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings, raising :class:`SettingsError` with one clear line."""
    _check_environment_names()
    try:
        return settings_class()(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    except EnvironmentParseError:
        raise SettingsError(
            f"environment variable {_bad_json_variable()}: not valid JSON (a list is written "
            '["a", "b"], a table {"key": "value"})'
        ) from None
