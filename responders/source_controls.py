"""Sources managed by admins: add one, edit it, pause and resume it, ask for a run now. Every change is audited.

The settings file seeds the sources at start-up (``CollectionRunner.sync_sources``); from the moment an admin
changes a source here it is the admin's, and start-ups leave it alone. What a source of a kind needs (a search
query, a subreddit, keywords) is declared by its collector (``Collector.fields``), so nothing here names a
platform. The scheduler may run in another process: it reads ``paused_at``, ``interval_seconds`` and
``run_requested_at`` from the table every ``[scheduler] sources_check_seconds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from listener.collecting import APP_ORIGIN
from listener.db import utcnow
from listener.errors import HarkenError
from listener.models import Source, StaffUser
from listener.platforms import all_platforms, get_platform
from listener.platforms.collector import Collector, SourceField
from responders import audit
from responders.roles import Action, require
from responders.versions import claim_source_change

MIN_INTERVAL_SECONDS = 10
"""More often than this would spend a platform's rate limit for nothing."""
MAX_INTERVAL_SECONDS = 7 * 24 * 3600
"""Less often than weekly is no longer listening: pause the source instead."""
MAX_NAME_LENGTH = 200
AUDIT_TYPE = "source"
"""``object_type`` of a source's audit events."""

AUDITED = ("name", "platform", "kind", "options", "interval_seconds", "enabled", "paused_at", "run_requested_at")
"""The fields of a source an audit event shows before and after a change."""


class SourceError(HarkenError):
    """Base of the errors of managing sources."""


class InvalidSource(SourceError, ValueError):
    """What was given for a source cannot be collected: the message names the field and says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownSource(SourceError, LookupError):
    pass


@dataclass(frozen=True)
class KindChoice:
    """One kind of source as the add form offers it: its platform, what it collects, what it asks for."""

    platform: str
    platform_title: str
    kind: str
    description: str
    fields: tuple[SourceField, ...]


def kind_choices() -> list[KindChoice]:
    """Every kind of source the registered platforms can collect, platform by platform."""
    return [
        KindChoice(platform.name, platform.title, collector.kind, collector.description, collector.fields)
        for platform in all_platforms()
        for collector in platform.collectors
    ]


def collector_of(platform_name: str, kind: str) -> type[Collector]:
    """The collector of ``kind`` on platform ``platform_name``, or :class:`InvalidSource` naming the choices."""
    try:
        platform = get_platform(platform_name.strip())
    except LookupError as error:
        raise InvalidSource(str(error), "platform") from None
    kinds = {collector.kind: collector for collector in platform.collectors}
    if kind.strip() not in kinds:
        raise InvalidSource(
            f"unknown kind {kind!r} for {platform.title}: one of {', '.join(kinds) or 'none'}", "kind")
    return kinds[kind.strip()]


def read_interval(value: object) -> int:
    """Seconds between runs from what was typed (a number of seconds), within sensible bounds."""
    text = str(value).strip() if value is not None else ""
    try:
        seconds = int(text)
    except ValueError:
        raise InvalidSource(f"interval {text!r} is not a whole number of seconds", "interval_seconds") from None
    if not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
        raise InvalidSource(
            f"every {seconds} seconds cannot be: the interval is {MIN_INTERVAL_SECONDS} seconds to "
            f"{MAX_INTERVAL_SECONDS // 86400} days ({MAX_INTERVAL_SECONDS} seconds)", "interval_seconds")
    return seconds


def read_options(collector: type[Collector], typed: Mapping[str, Any]) -> dict[str, Any]:
    """The source's options from what was typed, as its collector reads them; errors name the field."""
    known = [field.key for field in collector.fields]
    unknown = sorted(set(typed) - set(known))
    if unknown:
        # Said, not dropped: an option sent under a misspelt name would otherwise be lost without a word.
        takes = f"it takes {', '.join(known)}" if known else "it takes none"
        raise InvalidSource(f"{collector.description} has no option {', '.join(unknown)}: {takes}", "options")
    try:
        return collector.read_options(dict(typed))
    except ValueError as error:
        raise InvalidSource(str(error), "options") from None


def default_name(collector: type[Collector], options: Mapping[str, Any]) -> str:
    """A name like the settings' own (``platform:kind:value``): what the source reads, in a few words."""
    values = [", ".join(value) if isinstance(value, list) else str(value) for value in options.values() if value]
    short_kind = collector.kind.removeprefix(f"{collector.platform}_")
    return ":".join([collector.platform, short_kind, *values])[:MAX_NAME_LENGTH]


def snapshot(source: Source) -> dict[str, Any]:
    return {field: getattr(source, field) for field in AUDITED}


def get_source(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise UnknownSource(f"no source {source_id}")
    return source


def add_source(session: Session, by: StaffUser, *, platform: str, kind: str, options: Mapping[str, Any],
               interval_seconds: object, name: str = "") -> Source:
    """A new source, collected from the scheduler's next check of the table on."""
    require(by, Action.MANAGE_SETTINGS)
    collector = collector_of(platform, kind)
    read = read_options(collector, options)
    interval = read_interval(interval_seconds)
    name = " ".join(name.split()) or default_name(collector, read)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidSource(f"the name is {len(name)} characters long: at most {MAX_NAME_LENGTH}", "name")
    if session.execute(select(Source.id).where(Source.name == name)).first() is not None:
        raise InvalidSource(f"a source named {name!r} exists already: edit that one, or give this one "
                            "another name", "name")
    now = utcnow()
    source = Source(name=name, kind=collector.kind, platform=collector.platform, options=read,
                    interval_seconds=interval, origin=APP_ORIGIN, changed_in_app_at=now)
    session.add(source)
    session.flush()
    audit.record(session, by, "source.create", (AUDIT_TYPE, source.id), {}, snapshot(source))
    return source


def edit_source(session: Session, by: StaffUser, source: Source, *, options: Mapping[str, Any],
                interval_seconds: object, version: int | None = None) -> Source:
    """New options and interval; its platform and kind stay (a new kind is a new source).

    ``version``: the source's version the edit was made on; another admin's edit since refuses it
    (``responders.versions.StaleSource``, naming who), so one admin cannot silently undo another's query.
    Only edits raise it: a pause, resume or run now leaves the options alone (and is refused by itself
    when it no longer applies: "paused already"), so an edit begun before one of them still applies.
    ``None`` skips the check (older API clients).
    """
    require(by, Action.MANAGE_SETTINGS)
    collector = collector_of(source.platform, source.kind)
    read = read_options(collector, options)
    interval = read_interval(interval_seconds)
    before = snapshot(source)
    claim_source_change(session, source, version)
    if read != source.options:
        # The cursor belongs to what was read before (an X since_id of the old query): a new query starts afresh.
        source.cursor = {}
    source.options, source.interval_seconds = read, interval
    return _changed(session, by, source, "source.edit", before)


def pause_source(session: Session, by: StaffUser, source: Source) -> Source:
    """The scheduler stops collecting it (a run in progress finishes) until it is resumed."""
    require(by, Action.MANAGE_SETTINGS)
    if source.paused_at is not None:
        raise SourceError(f"{source.name} is paused already")
    before = snapshot(source)
    source.paused_at, source.run_requested_at = utcnow(), None
    return _changed(session, by, source, "source.pause", before)


def resume_source(session: Session, by: StaffUser, source: Source) -> Source:
    """Collected again; the scheduler runs it at once (it may have missed a lot) and then on its interval."""
    require(by, Action.MANAGE_SETTINGS)
    if source.paused_at is None and source.enabled:
        raise SourceError(f"{source.name} is not paused")
    before = snapshot(source)
    source.paused_at = None
    source.enabled = True  # a source the settings dropped, resumed by an admin, is the admin's now
    return _changed(session, by, source, "source.resume", before)


def request_run(session: Session, by: StaffUser, source: Source) -> Source:
    """Ask the scheduler, wherever it runs, to collect the source at its next check of the table."""
    require(by, Action.MANAGE_SETTINGS)
    if source.paused_at is not None:
        raise SourceError(f"{source.name} is paused: resume it to run it")
    if not source.enabled:
        raise SourceError(f"{source.name} is switched off (the settings file no longer lists it): resume it first")
    before = snapshot(source)
    source.run_requested_at = utcnow()
    return _changed(session, by, source, "source.run_now", before)


def _changed(session: Session, by: StaffUser, source: Source, action: str, before: dict[str, Any]) -> Source:
    source.changed_in_app_at = utcnow()
    session.add(source)
    session.flush()
    audit.record(session, by, action, (AUDIT_TYPE, source.id), before, snapshot(source))
    return source


def run_state(source: Source, now: datetime | None = None) -> str:
    """What became of "run now", in a few words: waiting for the scheduler, or the last run's outcome."""
    now = now or utcnow()
    if source.run_requested_at is not None:
        waiting = now - source.run_requested_at
        return "run requested" if waiting < timedelta(minutes=5) else "run requested: is the scheduler running?"
    if source.last_run_at is None:
        return "not run yet"
    return f"failed: {source.last_error}" if source.last_error else "collected"
