"""Times as the reader lives them: in their own time zone, with the year when it is not this year; and an
SLA as the time left to answer or how long it is overdue.

A staff member's time zone is their own setting (``staff_users.timezone``, chosen on
their account page); without one, the team's (``[digest] timezone``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from listener.db import utcnow
from responders.triage import OPEN

TEAM_ZONE_FALLBACK = "UTC"


class UnknownTimeZone(ValueError):
    """A time zone name that the IANA database does not know."""


def zone_named(name: str) -> ZoneInfo:
    name = name.strip()
    if not name or name not in time_zones():
        raise UnknownTimeZone(f"unknown time zone {name!r}: a name such as Europe/Ljubljana or America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(f"unknown time zone {name!r}") from None


_ZONES: list[str] = []


def time_zones() -> list[str]:
    """Every IANA zone name, sorted (read once)."""
    if not _ZONES:
        _ZONES.extend(sorted(available_timezones()))
    return _ZONES


def zone_of(user: Any, team_zone: str = TEAM_ZONE_FALLBACK) -> ZoneInfo:
    """``user``'s own time zone, else the team's."""
    for name in (getattr(user, "timezone", None), team_zone, TEAM_ZONE_FALLBACK):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo(TEAM_ZONE_FALLBACK)


def local_text(moment: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
    """``Oct 05 14:30`` in ``zone``, or ``Oct 05 2025 14:30`` when not in the current year there."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone)
    this_year = (now or utcnow()).astimezone(zone).year
    return local.strftime("%b %d %H:%M" if local.year == this_year else "%b %d %Y %H:%M")


def full_text(moment: datetime, zone: ZoneInfo) -> str:
    """The exact moment with its zone, for a tooltip: ``2026-10-05 14:30 CEST (Europe/Ljubljana)``."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone)
    return f"{local.strftime('%Y-%m-%d %H:%M %Z')} ({zone.key})"


def span(seconds: float) -> str:
    """A duration as people say it: ``2 d 3 h``, ``3 h 10 min``, ``12 min``, ``under a minute``."""
    minutes = int(abs(seconds) // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@dataclass(frozen=True)
class SlaState:
    overdue: bool
    text: str  # "overdue by 2 h 5 min" or "3 h 10 min left"


def sla_state(due: datetime | None, status: str, now: datetime | None = None) -> SlaState | None:
    """Time left or overdue for a mention still owed an answer; None when it has no SLA or is closed."""
    if due is None or status not in OPEN:
        return None
    due = due if due.tzinfo else due.replace(tzinfo=UTC)
    left = (due - (now or utcnow())).total_seconds()
    if left < 0:
        return SlaState(True, f"overdue by {span(left)}")
    return SlaState(False, f"{span(left)} left")


def reader_zone(context: Any) -> ZoneInfo:
    """The time zone of the reader of the page ``context`` draws: found once per request (a page shows hundreds of
    times), and kept on the request."""
    request = context.get("request")
    if request is None:
        return ZoneInfo(TEAM_ZONE_FALLBACK)
    known = getattr(request.state, "reader_zone", None)
    if known is not None:
        return known
    actor = getattr(request.state, "actor", None)
    zone = zone_of(actor.user if actor is not None else None, request.app.state.settings.digest.timezone)
    if actor is not None:  # before sign-in the team's zone is shown, and is not kept for the reader to come
        request.state.reader_zone = zone
    return zone
