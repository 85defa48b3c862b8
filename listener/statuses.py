"""The status lists of the stored records, each defined once.

The tables (``listener.models``) build their SQL conditions from these tuples; the
modules that move records between statuses (``responders.triage`` for mentions,
``responders.workflow`` for replies, ``listener.profiles.link_suggestions`` for
suggested profile links) import them from here. Migrations keep their own copies:
they describe the schema as it was when they ran.
"""

from __future__ import annotations

from collections.abc import Sequence

# A mention's place in the responder queue (responders.triage).
NEW, NEEDS_REPLY, ASSIGNED, WAITING, RESOLVED, IGNORED = (
    "new", "needs_reply", "assigned", "waiting", "resolved", "ignored",
)
MENTION_STATUSES: tuple[str, ...] = (NEW, NEEDS_REPLY, ASSIGNED, WAITING, RESOLVED, IGNORED)
NEEDS_ANSWER: tuple[str, ...] = (NEW, NEEDS_REPLY, ASSIGNED)
"""What the queue shows by default: mentions that still need an answer."""
OPEN_MENTION_STATUSES: tuple[str, ...] = (NEW, NEEDS_REPLY, ASSIGNED, WAITING)

# A reply on its way to the platform (responders.workflow).
DRAFT, PENDING, APPROVED, SENDING, SENT, REJECTED, FAILED = (
    "draft", "pending_approval", "approved", "sending", "sent", "rejected", "failed",
)
REPLY_STATES: tuple[str, ...] = (DRAFT, PENDING, APPROVED, SENDING, SENT, REJECTED, FAILED)
OPEN_REPLY_STATES: tuple[str, ...] = (DRAFT, PENDING, APPROVED, SENDING, FAILED)
"""A mention has at most one reply in these states (a unique index enforces it)."""

# A suggested link between two customer profiles (listener.profiles.link_suggestions).
LINK_OPEN, LINK_CONFIRMED, LINK_DISMISSED, LINK_SUPERSEDED = "open", "confirmed", "dismissed", "superseded"
LINK_SUGGESTION_STATUSES: tuple[str, ...] = (LINK_OPEN, LINK_CONFIRMED, LINK_DISMISSED, LINK_SUPERSEDED)


def sql_in(column: str, values: Sequence[str]) -> str:
    """``column IN ('a', 'b')`` spelled literally: SQLite uses a partial index only for a query that repeats
    its condition word for word, never through bound parameters."""
    for value in values:
        if "'" in value:
            raise ValueError(f"a status may not contain a quote: {value!r}")
    return f"{column} IN ({', '.join(repr(value) for value in values)})"
