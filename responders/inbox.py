"""The inbox: mentions filtered the way support teams slice them, most urgent first.

Filters combine (all must hold): status, platform, sentiment, priority level,
assignee (an email, ``me``, or ``unassigned``), a date range on when the mention was
posted, and free text over the mention, its title and its author's handle. The order
is the queue's (``responders.mention_queue``): priority level, overdue first within a level,
then priority, SLA due time, age.

A page asks for one row more than it shows, to know whether there is a next page,
instead of counting every match (a count over 100,000 rows costs more than the page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    case,
    column,
    func,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import aliased
from sqlmodel import Session

from listener.db import indexed_by, not_indexed, utcnow
from listener.errors import HarkenError
from listener.models import OPEN_MENTION_CONDITION, Author, CustomerProfile, Mention, Reply, Source, StaffUser
from listener.platforms import platform_names
from listener.search import AUTHORS_FTS_TABLE, FTS_TABLE, fts_phrase, fts_rowids, indexable
from listener.settings import PRIORITY_LEVELS
from responders.days import out_of_range
from responders.triage import LEVEL_FLOORS, NEEDS_ANSWER, OPEN, STATUSES, UnknownStatus
from responders.workflow import OPEN_STATES

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive", "unscored")
OPEN_MENTIONS_NAME = "open_mentions"
OPEN_MENTIONS = indexed_by(Mention, "ix_mentions_open", OPEN_MENTIONS_NAME)
"""The mentions, read on SQLite through the index of open mentions in the queue's order."""
PLATFORM_OPEN_MENTIONS = indexed_by(Mention, "ix_mentions_open_platform", "platform_open_mentions")
"""The mentions, read on SQLite through the index of open mentions by platform, then in the queue's order (a view
of one platform's open mentions: its walks pass over no other platform's)."""
AUTHOR_MENTIONS = indexed_by(Mention, "ix_mentions_author_id", "author_mentions")
"""The mentions, read on SQLite through their authors (an @handle search)."""
FEW_AUTHORS = 500
ALL_MENTIONS = indexed_by(Mention, "ix_mentions_order", "ordered_mentions")
"""The mentions, read on SQLite through the index of every mention in the queue's order (a view over every status)."""
MATCHED_MENTIONS = not_indexed(Mention, "matched_mentions")
"""The mentions, read on SQLite by id only: those a text search's index found, or those of a rarer sentiment."""
SENTIMENT_OPEN_MENTIONS = indexed_by(Mention, "ix_mentions_open_sentiment", "sentiment_open_mentions")
"""The open mentions, read on SQLite through the index of their sentiment, platform and status (migration 0022)."""
FEW_OF_A_SENTIMENT = 5000
"""A common word narrowed to a sentiment of at most this many open mentions (with the platform and statuses asked
for) reads them and checks their text, rather than walking the queue's order: reading a text costs a few
microseconds, and the walk reads as many texts whenever the narrowed matches are few."""
MANY_MATCHES = 5000
"""A text search whose index finds at most this many mentions reads and sorts them; one that finds more walks
the queue's order instead (a common word: the first page's matches come early in the walk). At about this many
both cost the same: a few tens of milliseconds at a million mentions."""
WIDE_RANGE = 5000
"""A view over other statuses than the open ones whose date range holds at least this many mentions walks the
index of every mention in the queue's order; a narrower range reads its mentions by date and sorts them."""
OPEN_DUE_NAME = "due_mentions"
OPEN_DUE = indexed_by(Mention, "ix_mentions_open_due", OPEN_DUE_NAME)
"""The open mentions, read on SQLite through the index of their SLA due times (migration 0016)."""
FEW_DUE = 2000
"""Overdue open mentions (or open ones not due yet) this few or fewer are read by due time and sorted; more are
found walking the queue's order, level by level (responders.inbox._overdue_first)."""
ROW_MENTIONS = not_indexed(Mention, "row_mentions")
"""The mentions of a page, read on SQLite by id: with ix_mentions_order there, SQLite would rather walk every
mention in that order and look each up in the page than read the page's few rows and sort them."""
EMPTY = literal_column("''")
"""The empty string written into the SQL, so that ``coalesce(title, '')`` matches the trigram indexes' expressions
on PostgreSQL even in a prepared statement."""
assert f"status IN ({', '.join(repr(status) for status in OPEN)})" == OPEN_MENTION_CONDITION, \
    "ix_mentions_open must cover exactly the open statuses"


@dataclass(frozen=True)
class QueueItem:
    """One mention as a row of the queue or the inbox."""

    mention_id: int
    platform: str
    status: str
    priority: float | None
    priority_level: str | None
    sla_due_at: datetime | None
    created_at: datetime
    text: str
    url: str
    sentiment: str | None
    author: str | None
    followers: int | None
    tier: str | None
    assignee: str | None
    reply_id: int | None
    reply_state: str | None
    sentiment_confidence: float | None = None  # shown beside the label; below min_confidence it is "uncertain"
    # The mention's version when read: a change sent back with it is refused if someone changed it since.
    version: int = 1


class InvalidFilter(HarkenError, ValueError):
    pass


@dataclass(frozen=True)
class InboxFilter:
    statuses: tuple[str, ...] = NEEDS_ANSWER
    platform: str | None = None
    sentiment: str | None = None
    priority_level: str | None = None
    assignee: str | None = None  # an email, "me" or "unassigned"
    # A day (YYYY-MM-DD) is a whole day: ``until`` includes it. A moment (ISO 8601 date-time, as the
    # digest's and alerts' links give) is exact: ``since`` included, ``until`` excluded.
    since: date | datetime | None = None
    until: date | datetime | None = None
    text: str | None = None
    source: str | None = None  # a source's name, e.g. "x:search:brand" (the alerts link per source)
    overdue: bool = False  # only mentions whose SLA due time has passed
    after_id: int | None = None  # only mentions stored after this one (the inbox's "N new" bar)

    def check(self) -> InboxFilter:
        for status in self.statuses:
            if status not in STATUSES:
                raise UnknownStatus(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        if self.platform and self.platform not in platform_names():
            raise InvalidFilter(f"unknown platform {self.platform!r}: one of {', '.join(platform_names())}")
        if self.sentiment and self.sentiment not in SENTIMENTS:
            raise InvalidFilter(f"unknown sentiment {self.sentiment!r}: one of {', '.join(SENTIMENTS)}")
        if self.priority_level and self.priority_level not in PRIORITY_LEVELS:
            raise InvalidFilter(f"unknown priority {self.priority_level!r}: one of {', '.join(PRIORITY_LEVELS)}")
        for name, moment in (("since", self.since), ("until", self.until)):
            reason = out_of_range(moment if not isinstance(moment, datetime) else moment.date()) if moment else None
            if reason is not None:
                raise InvalidFilter(f"{name}: {reason}")
        if self.since and self.until and _start(self.since) >= _end(self.until):
            raise InvalidFilter("the date range ends before it starts")
        return self


@dataclass
class InboxPage:
    items: list[QueueItem]
    offset: int
    limit: int
    has_more: bool
    filter: InboxFilter = field(default_factory=InboxFilter)


def _start(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.combine(moment, time.min, tzinfo=UTC)


def _end(moment: date | datetime) -> datetime:
    """The exclusive end: a moment as given, a day's following midnight."""
    if isinstance(moment, datetime):
        return _start(moment)
    return datetime.combine(moment + timedelta(days=1), time.min, tzinfo=UTC)


def search(session: Session, wanted: InboxFilter, me: StaffUser | None = None, limit: int = 50,
           offset: int = 0) -> InboxPage:
    """One page of the inbox for ``wanted``; ``me`` resolves the ``me`` assignee filter.

    Two steps in one statement: the page's mention ids (the filters and the order,
    on the mentions table alone, plus the authors for a text search), then those few
    mentions with their author, customer tier, assignee and open reply. When the
    statuses asked for are all open ones, the ids are the first entries of the
    index of open mentions in the queue's order (``ix_mentions_open``), every
    filter but the text checked in the index itself; SQLite is told to use that
    index, as without statistics it would rather read every open mention through
    the status index and sort them. Narrowed to one platform, the same walk reads
    that platform's open mentions only (``ix_mentions_open_platform``).

    Plain words (three characters or more) go through the trigram index of migration
    0012 (``listener.search``): on SQLite, when the FTS5 index finds at most
    MANY_MATCHES mentions (with those of the few authors whose handle holds the
    words), those are read by id, checked with the same LIKE and sorted; a commoner
    word walks the queue's order as before. PostgreSQL uses its trigram indexes by
    itself. A commoner word narrowed to a sentiment of few open mentions (FEW_OF_A_SENTIMENT)
    reads those through ``ix_mentions_open_sentiment`` on SQLite and checks their text; PostgreSQL
    joins that index with the trigram index by itself. A view over other statuses walks
    ``ix_mentions_order`` (every mention in the queue's order) when its date range is wide
    (WIDE_RANGE).
    """
    wanted.check()
    asked = wanted
    if wanted.overdue:  # overdue: still owed an answer, so only the open statuses asked for
        owed = tuple(status for status in wanted.statuses if status in OPEN)
        if not owed:
            return InboxPage([], offset, limit, False, asked)
        wanted = replace(wanted, statuses=owed)
    words = (wanted.text or "").strip().lower()
    handles = _contains(words[1:]) if words.startswith("@") else None
    sqlite = session.get_bind().dialect.name == "sqlite"
    authors: list[int] | None = None
    if handles is not None:
        # A few authors' mentions are found through the author index and sorted; a handle fragment that
        # many authors share (as while typing) is checked along the walk in the queue's order instead.
        found = list(session.execute(
            select(Author.id).where(_handle_like(handles)).limit(FEW_AUTHORS + 1)  # type: ignore[arg-type]
        ).scalars())
        if not found:
            return InboxPage([], offset, limit, False, asked)
        authors = found if len(found) <= FEW_AUTHORS else None
    # Plain words: the authors whose handle holds them (when few), and on SQLite the mentions the full-text
    # index finds (when few: see MANY_MATCHES). PostgreSQL finds them itself through its trigram indexes.
    text_authors: list[int] | None = None
    candidates: Any = None
    owed_only = bool(wanted.statuses) and set(wanted.statuses) <= set(OPEN)  # only open statuses asked for
    newer = wanted.after_id is not None  # a few rows past an id: read by id, never through another index
    if words and handles is None:
        text_authors = _authors_containing(session, words, sqlite)
        if sqlite and indexable(words) and text_authors is not None and not newer:
            candidates = _few_matches(session, words, text_authors)
        if sqlite and candidates is None and wanted.sentiment and not newer and owed_only:
            # A common word: its matches are checked on each mention's row wherever they are read. A rarer
            # sentiment has fewer rows to read than the walk through the queue's order would pass.
            candidates = _few_of_sentiment(session, wanted)
    open_only = owed_only and authors is None and candidates is None and not newer
    wide = (sqlite and not open_only and authors is None and candidates is None and not newer
            and _wide(session, wanted))
    m = (PLATFORM_OPEN_MENTIONS if open_only and sqlite and wanted.platform else OPEN_MENTIONS if open_only
         else AUTHOR_MENTIONS if authors is not None
         else MATCHED_MENTIONS if candidates is not None or newer else ALL_MENTIONS if wide else Mention)
    def filtered(m: Any, partial: bool) -> Select[Any]:
        """The ids of the mentions ``wanted``, read through ``m``; ``partial``: through an index of open
        mentions, whose condition SQLite needs to see word for word."""
        ids = select(m.id)
        if partial:
            ids = ids.where(_open_condition(m))
        if wanted.statuses and set(wanted.statuses) != set(STATUSES):
            ids = ids.where(_status_in(m, wanted.statuses, "statuses"))
        if wanted.platform:
            ids = ids.where(m.platform == wanted.platform)
        if wanted.sentiment == "unscored":
            ids = ids.where(m.sentiment_label.is_(None) | (m.sentiment_label == "unscored"))
        elif wanted.sentiment:
            ids = ids.where(m.sentiment_label == wanted.sentiment)
        if wanted.priority_level:
            ids = ids.where(m.priority_level == wanted.priority_level)
        if wanted.assignee == "unassigned":
            ids = ids.where(m.assignee_id.is_(None))
        elif wanted.assignee == "me":
            ids = ids.where(m.assignee_id == (me.id if me is not None else -1))
        elif wanted.assignee:
            ids = ids.where(m.assignee_id.in_(
                select(StaffUser.id).where(StaffUser.email == wanted.assignee.strip().lower())))
        if wanted.since:
            ids = ids.where(m.created_at >= _start(wanted.since))
        if wanted.until:
            ids = ids.where(m.created_at < _end(wanted.until))
        if wanted.source:
            ids = ids.where(m.source_id.in_(select(Source.id).where(Source.name == wanted.source)))
        if wanted.overdue:  # checked in the index of open mentions, which holds sla_due_at
            ids = ids.where(m.sla_due_at < utcnow())
        if newer:
            ids = ids.where(m.id > wanted.after_id)
        if candidates is not None:  # the mentions an index found (a word's, or a sentiment's), checked in full below
            ids = ids.where(m.id.in_(candidates))
        if authors is not None:  # an author: search handles only
            ids = ids.where(m.author_id.in_(authors))
        elif handles is not None:
            ids = ids.outerjoin(Author, Author.id == m.author_id).where(_handle_like(handles))
        elif words:
            needle = _contains(words)
            in_text = or_(func.lower(m.text).like(needle, escape="\\"),
                          func.lower(func.coalesce(m.title, EMPTY)).like(needle, escape="\\"))
            if text_authors is None:  # a fragment of many handles: checked along the walk
                ids = ids.outerjoin(Author, Author.id == m.author_id).where(or_(in_text, _handle_like(needle)))
            else:
                ids = ids.where(or_(in_text, m.author_id.in_(text_authors)) if text_authors else in_text)
        return ids

    walk = sqlite and m in (OPEN_MENTIONS, PLATFORM_OPEN_MENTIONS, ALL_MENTIONS)
    # A common word is checked on each mention's row, not in the index: reading every overdue one to sort them
    # costs more than walking the levels until the page is full, which a common word alone fills early. With
    # other filters as well the page may fill late or never, and the few overdue ones are read and sorted.
    narrowed = any((wanted.platform, wanted.sentiment, wanted.priority_level, wanted.assignee, wanted.since,
                    wanted.until, wanted.source))
    count_kinds = walk and not (words and handles is None and not narrowed)
    # On PostgreSQL a text's trigram index finds its matches anew in each walk: when the first level's two
    # walks leave the page short, the matches are few (with the other filters) and the rest are read at once.
    sort_rest_after = 2 if words and handles is None and not sqlite else None
    ids = _overdue_first(session, filtered, m, open_only and sqlite, count_kinds, owed_only, limit + 1, offset,
                         sort_rest_after, wanted.priority_level or None)
    found = {item.mention_id: item for item in items_by_ids(session, ids)}
    items = [found[mention_id] for mention_id in ids if mention_id in found]
    return InboxPage(items[:limit], offset, limit, len(items) > limit, asked)


def _overdue_first(session: Session, filtered: Callable[[Any, bool], Select[Any]], m: Any, partial: bool,
                   count_kinds: bool, owed_only: bool, limit: int, offset: int,
                   sort_rest_after: int | None = None, level: str | None = None) -> list[int]:
    """The ids of the page of the mentions ``filtered`` finds, in the queue's order, overdue first within each level.

    The order is by bucket (priority level, then overdue or not), then the queue's order. ``m``
    reads the mentions in the queue's order (priority, then due time): a level is a range of
    its index, so a kind of mention (overdue, or not) that many are is read level by level,
    each branch the first ``offset + limit`` of its range: about a page's worth, however many
    match. The branches run one at a time in the order of their buckets, and stop once the
    buckets before the next one fill the page: a common word fills it in the first levels, and
    the walks through the later ones never run. Overdue mentions are open ones, so in a view
    over every status (``m`` walks every mention) their branches walk the index of open mentions.

    A kind that few open mentions are (at most FEW_DUE: the overdue ones usually, those not due
    yet after a backlog) would make its branches walk whole levels for a few rows: on SQLite
    (``count_kinds``: walking an index that checks every filter but a common word) it is
    counted, then read through the index of open mentions by due time and sorted, in one branch.
    Through an index of other rows (a few authors' mentions, a text index's matches) the
    mentions are few and are read and sorted in one branch. ``owed_only``: the statuses asked
    for are all open ones. ``sort_rest_after``: after this many walks that left the page short,
    the rest (the later buckets) are read in one sorted statement: few rows, as the walks found.
    ``level``: a priority level asked for; triage writes a mention's level with its score (the level is the
    score's range, ``responders.triage.level_for``), so only that level's range is walked: the others'
    walks would read their whole range and find nothing.
    """
    now = utcnow()
    enough = offset + limit
    if owed_only:
        overdue: Callable[[Any], Any] = lambda x: x.sla_due_at < now  # noqa: E731
        not_yet: list[Callable[[Any], Any]] = [lambda x: x.sla_due_at >= now, lambda x: x.sla_due_at.is_(None)]
    else:  # closed mentions are never overdue: they were answered
        overdue = lambda x: and_(x.status.in_(OPEN), x.sla_due_at < now)  # noqa: E731
        not_yet = [lambda x: or_(x.status.not_in(OPEN), x.sla_due_at.is_(None), x.sla_due_at >= now)]

    def sorted_branch(x: Any, *conditions: Any) -> Select[Any]:
        """The first rows of ``conditions`` read through ``x`` and sorted, each with its bucket."""
        bucket = _bucket(x, overdue(x))
        return (filtered(x, partial or x is OPEN_DUE).add_columns(bucket.label("bucket"), *_order_columns(x))
                .where(*conditions).order_by(bucket, *queue_order(x)).limit(enough))

    def level_branches(kind: Callable[[Any], Any], late: bool) -> list[tuple[int, Callable[[], Select[Any]]]]:
        """The first rows of ``kind`` in each level, each a range of an index in the queue's order: each level's
        bucket, and its statement made when it is run (most never are)."""
        x, through_open = (OPEN_MENTIONS, True) if late and m is ALL_MENTIONS else (m, partial)

        def branch(rank: int, bucket: int) -> Select[Any]:
            unscored = rank == len(LEVEL_FLOORS)
            # The index's first column, ``(priority IS NULL)``, held equal: the level is a range seek of its
            # second one, and the branch's order (the queue's, less that constant) is the index's.
            held = (x.priority.is_(None) == literal(unscored),) + ((x.priority.is_(None),) if unscored else ())
            in_level = level_ranges(x.priority)[rank]
            return (filtered(x, through_open)
                    .add_columns(literal(bucket, Integer).label("bucket"), *_order_columns(x))
                    .where(in_level, kind(x), *held).order_by(*queue_order(x)[1:]).limit(enough))

        ranks = range(len(LEVEL_FLOORS) + 1) if level is None else [LEVEL_RANKS[level]]
        buckets = [(rank, 2 * rank + (0 if late else 1)) for rank in ranks]
        return [(bucket, lambda rank=rank, bucket=bucket: branch(rank, bucket)) for rank, bucket in buckets]

    rows: list[Any] = []
    if m in (AUTHOR_MENTIONS, MATCHED_MENTIONS):
        rows += session.execute(sorted_branch(m)).all()
    else:
        walks: list[tuple[int, Callable[[], Select[Any]]]] = []
        for late, kinds in ((True, [overdue]), (False, not_yet)):
            dense = []
            for kind in kinds:
                count = _count_due(session, kind) if count_kinds and (late or owed_only) else None
                if count is None or count > FEW_DUE:
                    dense.append(kind)
                elif count:  # few: read and sorted now, ahead of the walks
                    rows += session.execute(sorted_branch(OPEN_DUE, kind(OPEN_DUE))).all()
            if dense:
                walks += level_branches(lambda x, dense=dense: or_(*(kind(x) for kind in dense)), late)
        for walked, (bucket, branch) in enumerate(sorted(walks, key=lambda walk: walk[0])):
            if sum(1 for row in rows if row.bucket < bucket) >= enough:
                break  # the buckets before this one fill the page: this walk and the later ones cannot reach it
            if walked == sort_rest_after:  # a page still not full: the rest are few, read once and sorted
                rows += session.execute(sorted_branch(m, _bucket(m, overdue(m)) >= bucket)).all()
                break
            rows += session.execute(branch()).all()
    rows.sort(key=_inbox_key)
    return [row.id for row in rows[offset:enough]]


def _inbox_key(row: Any) -> tuple[Any, ...]:
    """The inbox's order (``queue_order`` after the bucket) for a row read with ``_order_columns``, in Python."""
    return (row.bucket, row.priority is None, -(row.priority or 0.0), row.sla_due_at is None,
            row.sla_due_at or datetime.min, row.created_at, row.id)


def inbox_order(mention: Any, now: datetime | None = None) -> list[Any]:
    """The inbox's order as sort terms for a plain sort: level, overdue (open and past due) first, the queue's."""
    now = now or utcnow()
    return [_bucket(mention, and_(mention.status.in_(OPEN), mention.sla_due_at < now)), *queue_order(mention)]


LEVEL_RANKS = {name: rank for rank, (name, _) in enumerate(LEVEL_FLOORS)}
"""A priority level's rank in the inbox's order (its range of scores: ``level_ranges``)."""


def _bucket(x: Any, overdue: Any) -> Any:
    """A mention's bucket in the inbox's order: twice its level's rank (none last), plus one unless overdue."""
    level, late = overdue_first_order(x.priority, x.sla_due_at, overdue=overdue)
    return level * 2 + late


def _open_condition(m: Any) -> Any:
    """The index of open mentions' own condition on ``m``, word for word: SQLite sees that a partial index applies
    only so. (PostgreSQL proves it from the statuses asked for; a repeated condition would only skew its estimates.)"""
    return sql_text(f"{inspect(m).selectable.name}.{OPEN_MENTION_CONDITION}")


def _status_in(m: Any, statuses: Sequence[str], key: str) -> Any:
    """``m.status IN statuses``, known values (checked by InboxFilter) written into the SQL: PostgreSQL plans with
    them even once the statement is prepared, and sees that a partial index of open mentions applies. ``key``
    names the parameter, unique within a statement."""
    return m.status.in_(bindparam(key, list(statuses), expanding=True, literal_execute=True))


def _count_due(session: Session, kind: Callable[[Any], Any]) -> int:
    """How many open mentions are of ``kind`` (overdue, or not), up to FEW_DUE + 1: counted through their index."""
    found = select(OPEN_DUE.id).where(_open_condition(OPEN_DUE), kind(OPEN_DUE))
    return session.scalar(select(func.count()).select_from(found.limit(FEW_DUE + 1).subquery())) or 0


def level_ranges(priority: Any) -> list[Any]:
    """One condition per priority level, most urgent first, then the mentions without a priority.

    A level is a range of the priority score (``responders.triage.LEVEL_FLOORS``), so each is a
    range of an index that starts with the priority.
    """
    ranges = []
    for index, (_, floor) in enumerate(LEVEL_FLOORS):
        # Below the lowest floor (never given by triage) still counts as the lowest level.
        lowest = index == len(LEVEL_FLOORS) - 1
        condition = priority.is_not(None) if lowest else priority >= floor
        ranges.append(and_(condition, priority < LEVEL_FLOORS[index - 1][1]) if index else condition)
    return [*ranges, priority.is_(None)]


def overdue_first_order(priority: Any, sla_due_at: Any, now: datetime | None = None,
                        overdue: Any = None) -> list[Any]:
    """Order terms: the priority level (most urgent first, none last), overdue first within it.

    For short lists sorted whole (the approval queue), before their own order; the inbox reads
    the same order range by range (``_overdue_first``). ``overdue``: what overdue means, when
    more than ``sla_due_at`` before ``now`` (an open status, too).
    """
    now = now or utcnow()
    level = case(*((condition, rank) for rank, condition in enumerate(level_ranges(priority)[:-1])),
                 else_=len(LEVEL_FLOORS))
    late = case((overdue if overdue is not None else sla_due_at < now, 0), else_=1)
    return [level, late]


def _order_columns(m: Any) -> list[Any]:
    """The columns the queue's order reads, named as ``queue_order`` expects them on the merged page."""
    return [m.priority.label("priority"), m.sla_due_at.label("sla_due_at"), m.created_at.label("created_at")]


def queue_order(mention: Any) -> list[Any]:
    """Priority (highest first, none last), SLA due time (soonest first, none last), posted, id.

    The same order as ``priority DESC NULLS LAST, sla_due_at NULLS LAST, ...``, spelled
    with ``IS NULL`` terms as the index of open mentions is (models.OPEN_MENTION_ORDER).
    """
    return [mention.priority.is_(None), mention.priority.desc(), mention.sla_due_at.is_(None),
            mention.sla_due_at, mention.created_at, mention.id]


def _handle_like(pattern: str) -> Any:
    return func.lower(func.coalesce(Author.handle, EMPTY)).like(pattern, escape="\\")


def _authors_containing(session: Session, words: str, sqlite: bool) -> list[int] | None:
    """The authors whose handle contains ``words``, or None when there are more than FEW_AUTHORS."""
    found = select(Author.id).where(_handle_like(_contains(words)))
    if sqlite and indexable(words):
        found = found.where(Author.id.in_(_fts_ids(AUTHORS_FTS_TABLE, words)))
    ids = list(session.execute(found.limit(FEW_AUTHORS + 1)).scalars())
    return ids if len(ids) <= FEW_AUTHORS else None


def _fts_ids(table: str, words: str) -> Any:
    """A select of the ids of rows of ``table`` (an FTS table) that may contain ``words``."""
    found = fts_rowids(table).bindparams(phrase=fts_phrase(words)).columns(column("rowid", Integer)).subquery()
    return select(found.c.rowid)


def _few_matches(session: Session, words: str, text_authors: list[int]) -> Any:
    """On SQLite: the ids of mentions that may match ``words`` (a select), or None when more than MANY_MATCHES.

    The full-text index's matches in text and title, and the mentions of ``text_authors``.
    """
    matches: Any = _fts_ids(FTS_TABLE, words)
    if text_authors:
        matches = union_all(matches, select(Mention.id).where(Mention.author_id.in_(text_authors)))
    counted = select(func.count()).select_from(matches.limit(MANY_MATCHES + 1).subquery())
    return matches if (session.scalar(counted) or 0) <= MANY_MATCHES else None


def _few_of_sentiment(session: Session, wanted: InboxFilter) -> Any:
    """On SQLite: the ids of the open mentions of the sentiment, platform and statuses ``wanted`` (a select), or
    None when more than FEW_OF_A_SENTIMENT.

    Read through ix_mentions_open_sentiment. "Unscored" is two ranges of the index (no label, and the label
    "unscored"), one select each: SQLite would scan the whole index for the two as one condition.
    """
    s = SENTIMENT_OPEN_MENTIONS
    parts = []
    for label in (None, "unscored") if wanted.sentiment == "unscored" else (wanted.sentiment,):
        part = select(s.id).where(_open_condition(s),
                                  s.sentiment_label.is_(None) if label is None else s.sentiment_label == label)
        if wanted.platform:
            part = part.where(s.platform == wanted.platform)
        if set(wanted.statuses) != set(OPEN):
            part = part.where(_status_in(s, wanted.statuses, "sentiment_statuses"))
        parts.append(part)
    matches: Any = parts[0] if len(parts) == 1 else union_all(*parts)
    counted = select(func.count()).select_from(matches.limit(FEW_OF_A_SENTIMENT + 1).subquery())
    return matches if (session.scalar(counted) or 0) <= FEW_OF_A_SENTIMENT else None


def _wide(session: Session, wanted: InboxFilter) -> bool:
    """Whether the date range (if any) holds at least WIDE_RANGE mentions: counted up to that many only."""
    if not (wanted.since or wanted.until):
        return True
    in_range = select(Mention.id)
    if wanted.since:
        in_range = in_range.where(Mention.created_at >= _start(wanted.since))
    if wanted.until:
        in_range = in_range.where(Mention.created_at < _end(wanted.until))
    return (session.scalar(select(func.count()).select_from(in_range.limit(WIDE_RANGE).subquery())) or 0) \
        >= WIDE_RANGE


def _contains(words: str) -> str:
    """A LIKE pattern for text containing ``words`` literally (its own % and _ are escaped, not wildcards)."""
    return "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


ROW_COLUMNS = ("id", "platform", "status", "priority", "priority_level", "sla_due_at", "created_at", "text", "url",
               "sentiment_label", "sentiment_confidence", "version")
"""The mention's columns a row of the inbox shows (a row reads these alone: never ``raw``, the stored payload)."""


def _rows(page: Any = None) -> Select[Any]:
    """Mentions with what a row of the inbox shows: author, customer tier, assignee, open reply.

    With ``page`` (a subquery of mention ids), only those mentions. The open reply is
    joined on the mention and its state, so the database looks up each row's reply
    (one at most: ``ux_replies_one_open_per_mention``) rather than every open reply.
    Plain columns, not ORM objects: a page of rows is drawn, never changed.
    """
    assignee = aliased(StaffUser)
    mention = ROW_MENTIONS
    statement = select(*(getattr(mention, name) for name in ROW_COLUMNS), Author.handle, Author.followers,
                       CustomerProfile.tier, assignee.email, Reply.id, Reply.state)
    if page is not None:
        statement = statement.select_from(page).join(mention, mention.id == page.c.id)
    return (
        statement
        .outerjoin(Author, Author.id == mention.author_id)
        .outerjoin(CustomerProfile, CustomerProfile.id == mention.profile_id)
        .outerjoin(assignee, assignee.id == mention.assignee_id)
        .outerjoin(Reply, and_(Reply.mention_id == mention.id, Reply.state.in_(OPEN_STATES)))  # type: ignore[attr-defined]
    )


def _items(rows: Any) -> list[QueueItem]:
    return [
        QueueItem(mention_id, platform, status, priority, priority_level, sla_due_at, created_at, text, url,
                  sentiment_label, handle, followers, tier, assignee_mail, reply_id, reply_state, sentiment_confidence,
                  version=version)
        for (mention_id, platform, status, priority, priority_level, sla_due_at, created_at, text, url,
             sentiment_label, sentiment_confidence, version, handle, followers, tier, assignee_mail, reply_id,
             reply_state) in rows
    ]


def items_by_ids(session: Session, ids: Sequence[int]) -> list[QueueItem]:
    """Inbox rows for these mentions (for re-rendering one row after an action); none asked for, no statement
    (planning ``IN (NULL)`` with its joins costs PostgreSQL a few milliseconds)."""
    if not ids:
        return []
    return _items(session.execute(_rows().where(ROW_MENTIONS.id.in_(list(ids)))))


def mentions_by_ids(session: Session, ids: Sequence[int]) -> list[Mention]:
    """The mentions with these ids (missing ones are left out), in the order asked."""
    found = {m.id: m for m in session.execute(select(Mention).where(Mention.id.in_(list(ids)))).scalars()}  # type: ignore[union-attr]
    return [found[i] for i in ids if i in found]


def newest_mention_id(session: Session) -> int:
    """The highest mention id now (the inbox page remembers it; its "N new" bar counts what came after)."""
    return session.scalar(select(func.max(Mention.id))) or 0
