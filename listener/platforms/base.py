"""What a platform is: everything Harken knows about one social platform, described in one class.

A platform package's ``__init__`` (and its settings and text modules) must not
import its client library (tweepy, praw, atproto, Mastodon.py): the registry
imports every package when settings are read, and each CLI command, worker and
test would pay seconds of start-up for clients it may never use. So the
collectors, the publisher, the client and the simulator are imported inside the
methods below (:attr:`Platform.collectors`, :meth:`Platform.publisher`,
:meth:`Platform.simulator`), when first asked for.

Like a collector, a platform describes itself (its name, its settings section, its
kinds of mention, its reply limit) and answers the few questions the rest of Harken
asks about it: which sources to collect, how to post a reply and find it again, how
long a reply is as the platform counts it, how a handle is written, which profile
links in a bio point at it, whether a raw payload is a repost. Nothing outside
``listener/platforms/`` names a platform: it asks the registry
(:mod:`listener.platforms`) for one of these.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from listener.errors import HarkenError
from listener.platforms.collector import Collector
from listener.platforms.publisher import Publisher, PublisherUnavailable
from listener.sections import Section

if TYPE_CHECKING:
    from listener.simulators.corpus import CorpusItem
    from listener.simulators.server import SimulatorServer


class ReplyTooLong(HarkenError, ValueError):
    """A reply text over the platform's limit; the message says by how much."""

    def __init__(self, platform: str, length: int, limit: int, unit: str = "characters") -> None:
        super().__init__(f"too long for {platform}: {length} {unit}, the limit is {limit}")
        self.platform, self.length, self.limit = platform, length, limit


class Platform:
    """Base class. A platform package defines one subclass and the registry lists one instance of it."""

    name: ClassVar[str]
    """Lower-case id: the settings section, ``sources.platform`` and ``mentions.platform``."""
    title: ClassVar[str]
    """How people call it (``Reddit``)."""
    section: ClassVar[type[Section]]
    """The settings section (``[name]`` in the settings file)."""
    mention_kinds: ClassVar[tuple[str, ...]]
    """What its mentions can be (``tweet``; ``post``, ``comment``)."""
    reply_limit: ClassVar[int]
    length_unit: ClassVar[str] = "characters"
    handle_prefix: ClassVar[str] = "@"
    handle_pattern: ClassVar[re.Pattern[str] | Any]
    """A valid handle, as the platform writes it without the prefix."""
    crm_column: ClassVar[str]
    """The column of the customer CSV that lists the customer's handle here (``config/customers.md``)."""
    noisy_loggers: ClassVar[tuple[str, ...]] = ()
    """Loggers of the platform's client that print secrets at DEBUG: held at INFO."""

    @property
    def collectors(self) -> tuple[type[Collector], ...]:
        """The platform's collector classes, imported here on first use (see the module's docstring)."""
        return ()

    # -- settings ------------------------------------------------------------------------------
    def settings_of(self, settings: Any) -> Any:
        """This platform's section of the whole settings object."""
        return getattr(settings, self.name)

    def own_handle(self, section: Any) -> str | None:
        """The brand's own account here, as a handle key (lower case), or None when not configured."""
        return None

    # -- text rules ----------------------------------------------------------------------------
    def reply_length(self, text: str) -> int:
        """The length the platform counts for ``text`` (never less than its own count)."""
        return len(text)

    def limit_for(self, section: Any) -> int:
        """The reply limit where this section's account posts: ``reply_limit`` unless the platform's
        servers each set their own (a Mastodon instance), in which case the platform asks and caches it."""
        return self.reply_limit

    def fits(self, text: str, limit: int | None = None) -> bool:
        return self.reply_length(text) <= (self.reply_limit if limit is None else limit)

    def check_fits(self, text: str, limit: int | None = None) -> None:
        """Raise :class:`ReplyTooLong` when ``text`` is over ``limit`` (the platform's ``reply_limit`` if None)."""
        limit = self.reply_limit if limit is None else limit
        length = self.reply_length(text)
        if length > limit:
            raise ReplyTooLong(self.name, length, limit, self.length_unit)

    def display_handle(self, handle: str) -> str:
        """The handle as the platform writes it: ``@alice``, ``u/alice``."""
        return f"{self.handle_prefix}{handle}"

    def normalise_handle(self, handle: str) -> str:
        """A handle typed by a person (with or without its prefix) as the platform writes it; raises ValueError."""
        value = handle.strip().removeprefix("/").removeprefix(self.handle_prefix).removeprefix("@").strip()
        if not self.handle_pattern.match(value):
            raise ValueError(f"invalid {self.name} handle {handle!r}")
        return value

    def profile_handles(self, text: str) -> list[str]:
        """Handles of this platform's profile links found in ``text`` (a bio)."""
        return []

    # -- raw payload readers -------------------------------------------------------------------
    def is_repost(self, text: str, raw: dict[str, Any]) -> bool:
        """Whether a stored mention only repeats someone else's (a retweet): triage ignores those."""
        return False

    @staticmethod
    def raw_of(raw: str | None) -> dict[str, Any]:
        """A stored raw payload as a dict ({} when it is not a JSON object)."""
        try:
            value = json.loads(raw or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    # -- answering -----------------------------------------------------------------------------
    def publisher(self, section: Any, lookup_pages: int) -> Publisher:
        raise PublisherUnavailable(f"Harken cannot post to {self.name}")

    # -- the demo and the tests ----------------------------------------------------------------
    @contextlib.contextmanager
    def simulator(self, corpus: Sequence[CorpusItem]) -> Iterator[SimulatorServer]:
        """This platform's simulator on 127.0.0.1, seeded with its part of ``corpus``, while the block runs."""
        raise NotImplementedError(f"{self.name} has no simulator")
        yield  # pragma: no cover

    def demo_settings(self, simulator: Any) -> dict[str, Any]:
        """The section's values that point the real client at ``simulator`` as the demo brand."""
        return {}
