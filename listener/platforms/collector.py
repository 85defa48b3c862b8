"""What every collector is: a small class that describes itself and implements ``check``.

A collector reads one source (X mentions of the brand, one X search query, one
subreddit's posts...) page by page from the cursor it was given. It never touches
the database: it yields :class:`Page` objects, and the runner stores each page's
mentions and its new cursor in one transaction. A crash between pages therefore
loses nothing (the cursor only moves with the mentions) and duplicates nothing
(mentions are inserted by platform and external id).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from listener.errors import HarkenError

MISSING_KEY = "harken_missing"
"""Key under which a stored raw payload lists the fields the platform did not send."""


@dataclass(frozen=True)
class CollectedAuthor:
    platform: str
    platform_user_id: str
    handle: str
    display_name: str | None = None
    followers: int | None = None
    bio: str | None = None


@dataclass(frozen=True)
class CollectedMention:
    platform: str
    external_id: str
    kind: str
    text: str
    url: str
    created_at: datetime
    raw: dict[str, Any]
    author: CollectedAuthor | None = None
    title: str | None = None
    in_reply_to_external_id: str | None = None
    conversation_external_id: str | None = None
    # Fields the platform did not send (not granted, or optional) that were filled in or left out;
    # stored with the raw payload under ``MISSING_KEY`` so that a person can see what is estimated.
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuarantinedItem:
    """Something the platform sent that could not be understood, kept raw with the reason."""

    error: str
    raw: str


@dataclass
class Page:
    """One page of results and the cursor to store with it."""

    mentions: list[CollectedMention] = field(default_factory=list)
    quarantined: list[QuarantinedItem] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceSpec:
    """A source as configured: the runner keeps one ``sources`` row per spec."""

    name: str
    kind: str
    platform: str
    interval_seconds: int
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceField:
    """One option a person gives when adding a source of a collector's kind (its query, subreddit, keywords).

    The collector declares its fields, so the web app and the API can ask for them without knowing the platform.
    """

    key: str
    """The key in ``SourceSpec.options``."""
    label: str
    """How people call it, on the form and in errors."""
    many: bool = False
    """A list (typed one per line or separated by commas) rather than one value."""
    required: bool = True
    prefix: str = ""
    """A prefix people often type that the option does not hold (``#`` of a hashtag, ``r/`` of a subreddit)."""
    hint: str = ""

    def read(self, value: str | list[str] | None) -> str | list[str]:
        """The option from what was typed; raises ValueError saying what is wrong."""
        if self.many:
            parts = value if isinstance(value, list) else str(value or "").replace("\n", ",").split(",")
            values = [self._clean(part) for part in parts]
            values = list(dict.fromkeys(item for item in values if item))
            if self.required and not values:
                raise ValueError(f"{self.label} is empty: give at least one")
            return values
        if isinstance(value, list):
            raise ValueError(f"{self.label} takes one value, not a list")
        single = self._clean(value or "")
        if self.required and not single:
            raise ValueError(f"{self.label} is empty")
        return single

    def _clean(self, value: str) -> str:
        value = str(value).strip()
        return value[len(self.prefix):].strip() if self.prefix and value.startswith(self.prefix) else value


class CollectorError(HarkenError):
    """Base class of the errors a collector run can end with."""


class RateLimited(CollectorError):
    """The platform said 429: the source waits until ``reset_at``; other sources go on."""

    def __init__(self, reset_at: datetime, detail: str = "rate limited") -> None:
        super().__init__(f"{detail}; paused until {reset_at.isoformat()}")
        self.reset_at = reset_at


class SourceUnavailable(CollectorError):
    """5xx answers or timeouts outlasted the retries; the run ends and is tried later."""


class SourceMisconfigured(CollectorError):
    """The source cannot run as configured (bad credentials, unknown account...)."""


def never() -> bool:
    return False


class Collector(ABC):
    """Base class. Subclasses set the class attributes and implement :meth:`check`."""

    kind: ClassVar[str]
    platform: ClassVar[str]
    description: ClassVar[str]
    fields: ClassVar[tuple[SourceField, ...]] = ()
    """What a person gives when adding a source of this kind in the web app (its ``options``)."""

    def __init__(self, spec: SourceSpec, section: Any, client: Any) -> None:
        self.live: Callable[[], bool] = never
        """Whether the run is a scheduled one that may go on (the runner sets it; it turns False when the
        scheduler shuts down): a streaming source then keeps reading until just before its next run is
        due, instead of stopping once it has caught up. Always False for one-off runs (``collect --once``)."""
        self.spec = spec
        # The platform's own settings section ([x], [reddit]...): a collector needs nothing else.
        self.section = section
        self.client = client

    @classmethod
    @abstractmethod
    def specs(cls, section: Any) -> list[SourceSpec]:
        """The sources of this kind the platform's section asks for (none when the platform is off)."""

    @classmethod
    def read_options(cls, typed: dict[str, Any]) -> dict[str, Any]:
        """The options of a source of this kind from what a person typed, each field read and checked;
        raises ValueError naming the field. Keys that are no field of this kind are left out."""
        return {field.key: field.read(typed.get(field.key)) for field in cls.fields}

    @classmethod
    @abstractmethod
    def make_client(cls, section: Any) -> Any:
        """The platform client this collector talks through."""

    @abstractmethod
    def check(self, cursor: dict[str, Any]) -> Iterator[Page]:
        """Yield pages of new mentions, starting from ``cursor``.

        Each yielded page carries the cursor to store once that page is stored.
        Raise :class:`RateLimited`, :class:`SourceUnavailable` or
        :class:`SourceMisconfigured` to end the run.
        """
