"""Negative drivers: the terms and two-word phrases that recur in a period's negative mentions.

A manager's question is "what are people unhappy about?", so a driver is a term
that is both frequent in the period's negative mentions and more frequent there
than in the same period's other mentions (the background): the brand's own name
or "app" is everywhere and says nothing, "refund" in a third of the complaints
and hardly anywhere else says a lot. Each term is counted once per mention
(document frequency) and keeps the mentions behind it, so the digest can link to
them.

The score is ``mentions × log2(lift)``, where ``lift`` is the term's (smoothed)
share of negative mentions over its share of the background; a driver needs at
least ``min_mentions`` mentions and a lift of at least :data:`MIN_LIFT` (when the
background has fewer than :data:`MIN_BACKGROUND` mentions, the count alone ranks). A single
word is dropped when a phrase containing it covers most of its mentions
("customer service" rather than "customer"). The previous period's share is kept
for comparison ("new", "rising").

The work is bounded: about ``sample_size`` negative mentions are read per
period (half as many for the background and the previous period), spread over
the period in proportion to each bucket's negative volume
(four slices per bucket, the latest mentions of each slice). Below that size
every negative mention is read and the counts are exact; above it, the digest
says how many were read.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm import Session

from listener.links import http_url
from listener.models import Mention
from listener.sentiment.certainty import DEFAULT_MIN_CONFIDENCE, confidently_sql
from responders.digests.periods import Bucket

MIN_LIFT = 1.5
# Fewer background mentions than this say nothing about what is specific to the negative ones.
MIN_BACKGROUND = 30
MAX_MENTION_IDS = 50
EXAMPLES = 3
SLICES_PER_BUCKET = 4
# A phrase that covers this share of a word's mentions replaces the word.
COVERAGE = 0.8

_NEGATIONS = """
    not no never nothing nobody none nor cannot can't cant won't wont don't dont didn't didnt doesn't doesnt isn't
    isnt wasn't wasnt aren't arent haven't havent hasn't hasnt couldn't couldnt shouldn't wouldn't without
"""
_STOP_WORDS = """
    a about above after again against all am an and any are as at be because been before being below between both
    but by could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i i'd i'll i'm i've im if in into is it it's its itself just let's me more most my
    myself of off on once only or other ought our ours ourselves out over own same she should so some such than that
    that's the their theirs them themselves then there there's these they they're they've this those through to too
    under until up very was we we're we've were what when where which while who whom why will with would you you're
    you've your yours yourself yourselves also am anyone anything any still even really get got gets getting go
    going gone one two three lol lmao omg ugh rt amp via like well yes yeah ok okay please thanks thank today
    yesterday tomorrow now week day time much many every can may might must shall us let make made says said way
    back know think want need see new good bad month months year hour hours minutes
"""
# Generic words: common in praise and small talk alike, so never a driver on their own ("thanks for the
# quick fix, everything works now"). They may still end a phrase ("no fix", "never works"); more
# words go in the digest's stop_words setting.
_GENERIC_WORDS = """
    everything everyone everybody something someone somebody anything anyone thing things stuff works work worked
    fix fixed fixes fixing quick quickly great love loved awesome amazing nice happy glad appreciate appreciated
    perfect perfectly best better excellent fantastic wonderful cool sure guys team folks lot lots
"""
GENERIC_WORDS = frozenset(_GENERIC_WORDS.split())
# Negations are never terms on their own, but open phrases: "not working", "never arrived".
NEGATIONS = frozenset(_NEGATIONS.split())
# Common English words, social-media filler and words too vague to be a complaint.
STOP_WORDS = frozenset(_STOP_WORDS.split())
_URL = re.compile(r"https?://\S+|www\.\S+|[@＠]\w+|\b[ur]/\w+", re.IGNORECASE)
_BREAK = re.compile(r"[|.!?;:,()\[\]{}<>=\"“”…\n\r\t/]+|\s[-–—]+\s")
_TOKEN = re.compile(r"[^\W_][\w'-]*")


@dataclass(frozen=True)
class MentionRef:
    """A mention behind a driver or an alert: enough to show it and link to it."""

    id: int
    url: str | None  # None when the stored URL is not http(s): never a link
    excerpt: str
    platform: str
    created_at: datetime


@dataclass
class Driver:
    """One recurring term of the negative mentions, with the mentions behind it."""

    term: str
    mentions: int
    share: float
    previous_mentions: int
    previous_share: float | None
    background_share: float
    # None when the period has too few other mentions to compare with (then the score is the count).
    lift: float | None
    score: float
    mention_ids: list[int] = field(default_factory=list)
    examples: list[MentionRef] = field(default_factory=list)
    # Terms found in (nearly) the same mentions, e.g. "arrived broken" beside "order arrived".
    related: list[str] = field(default_factory=list)

    @property
    def is_new(self) -> bool:
        return self.previous_mentions == 0


@dataclass
class DriverSet:
    """The drivers of one period, and how much was read to find them."""

    drivers: list[Driver]
    negative_total: int
    read: int
    previous_read: int
    background_read: int

    @property
    def exact(self) -> bool:
        """Every negative mention of the period was read, so each driver's count is exact."""
        return self.read == self.negative_total


def excerpt(text: str, limit: int = 160) -> str:
    """One line of at most ``limit`` characters: control characters and newlines flattened."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _chunks(text: str) -> list[list[str]]:
    """Lower-case tokens in runs that phrases may not cross (punctuation, links, handles)."""
    text = _URL.sub(" | ", text.lower().replace("’", "'").replace("#", " "))
    chunks = []
    for part in _BREAK.split(text):
        tokens = []
        for token in _TOKEN.findall(part):
            token = token.strip("'-")
            if len(token) > 1 and not token.isdigit():
                tokens.append(token)
        if tokens:
            chunks.append(tokens)
    return chunks


def mention_terms(text: str, stop_words: frozenset[str] = STOP_WORDS) -> set[str]:
    """The words and two-word phrases a mention contributes, each once.

    A word counts unless it is a stop-word, a negation or a generic word; a phrase is
    two adjacent words of one clause whose second word is not a stop-word or negation
    and whose first is not a stop-word or generic word, so "not working", "no fix" and
    "customer service" are phrases but "the app" and "quick fix" are not.
    """
    terms: set[str] = set()
    for tokens in _chunks(text):
        for i, token in enumerate(tokens):
            if token in stop_words or token in NEGATIONS:
                continue
            if token not in GENERIC_WORDS:
                terms.add(token)
            if i and tokens[i - 1] not in stop_words and tokens[i - 1] not in GENERIC_WORDS:
                terms.add(f"{tokens[i - 1]} {token}")
    return terms


def stop_words_for(brand: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The built-in stop-words, the brand's own name (every mention has it) and the configured ones."""
    words = {w for w in _TOKEN.findall(brand.lower())} | {w.lower().strip() for w in extra}
    return STOP_WORDS | frozenset(w for w in words if w)


def rank_terms(
    current: Sequence[tuple[int, str]],
    background: Sequence[str],
    previous: Sequence[str] = (),
    *,
    stop_words: frozenset[str] = STOP_WORDS,
    top: int = 8,
    min_mentions: int = 3,
    contrast: Sequence[str] = (),
) -> list[Driver]:
    """Rank the terms of ``current`` (mention id, text) against ``background``; see the module docstring.

    Mentions in ``current`` are expected newest first: a driver's ids keep that order.
    ``contrast`` is non-negative text for a caller whose ``background`` is not (an alert
    compares with earlier negatives): a term at least as common there as in ``current``
    is not a driver.
    """
    if top <= 0 or not current:
        return []
    ids: dict[str, list[int]] = defaultdict(list)
    for mention_id, text in current:
        for term in mention_terms(text, stop_words):
            ids[term].append(mention_id)
    candidates = {term: found for term, found in ids.items() if len(found) >= min_mentions}
    if not candidates:
        return []
    back = _document_counts(background, stop_words, candidates)
    against = _document_counts(contrast, stop_words, candidates)
    before = _document_counts(previous, stop_words, candidates)
    n, m = len(current), len(background)
    covered = set()
    for term, found in candidates.items():
        if " " in term:
            for word in term.split(" "):
                if word in candidates and len(found) >= COVERAGE * len(candidates[word]):
                    covered.add(word)
    ranked = []
    for term, found in candidates.items():
        if term in covered:
            continue
        count = len(found)
        lift: float | None = None
        if m >= MIN_BACKGROUND:
            lift = ((count + 0.5) / (n + 1)) / ((back[term] + 0.5) / (m + 1))
            if lift < MIN_LIFT:
                continue
        elif m and back[term] / m >= count / n:
            # Too few other mentions for a lift, but a term at least as common in them as in the
            # complaints is no complaint ("works" in thank-yous the model called negative).
            continue
        if contrast and against[term] / len(contrast) >= count / n:
            continue
        ranked.append(Driver(
            term=term,
            mentions=count,
            share=count / n,
            previous_mentions=before[term],
            previous_share=before[term] / len(previous) if previous else None,
            background_share=back[term] / m if m else 0.0,
            lift=lift,
            score=count * math.log2(lift) if lift is not None else float(count),
            mention_ids=found[:MAX_MENTION_IDS],
        ))
    # Ties go to the phrase, which says more than any one of its words.
    ranked.sort(key=lambda d: (-d.score, -d.mentions, -d.term.count(" "), d.term))
    # One complaint often yields several terms ("order arrived", "arrived broken"): a term whose
    # mentions are mostly those of a better-ranked driver is listed with it, not on its own.
    drivers: list[Driver] = []
    sets: list[set[int]] = []
    for driver in ranked:
        mine = set(candidates[driver.term])
        for kept, theirs in zip(drivers, sets, strict=True):
            if len(mine & theirs) >= COVERAGE * max(len(mine), len(theirs)):
                kept.related.append(driver.term)
                break
        else:
            if len(drivers) < top:
                drivers.append(driver)
                sets.append(mine)
    return drivers


def _document_counts(texts: Iterable[str], stop_words: frozenset[str], wanted: dict[str, list[int]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(mention_terms(text, stop_words) & wanted.keys())
    return counts


# --- reading the mentions from the database (bounded) ---------------------------------------------


def _negative(min_confidence: float) -> object:
    """Confidently negative: an uncertain negative (listener.sentiment.certainty) never drives."""
    return confidently_sql("negative", Mention.sentiment_label, Mention.sentiment_confidence, min_confidence)


def _not_negative(min_confidence: float) -> object:
    """Everything else, uncertain negatives included: the contrast that generic words fail."""
    return or_(Mention.sentiment_label.is_(None), not_(_negative(min_confidence)))


def _quotas(counts: Sequence[int], cap: int) -> list[int]:
    total = sum(counts)
    if total <= cap:
        return list(counts)
    return [math.ceil(cap * c / total) if c else 0 for c in counts]


def _slices(bucket: Bucket, quota: int) -> list[tuple[datetime, datetime, int]]:
    """Split a bucket's quota over equal time slices, so one bucket's sample is not all from its last hour."""
    k = max(1, min(SLICES_PER_BUCKET, quota))
    step = (bucket.end - bucket.start) / k
    share = math.ceil(quota / k)
    return [(bucket.start + step * i, bucket.end if i == k - 1 else bucket.start + step * (i + 1), share)
            for i in range(k)]


def read_mentions(
    session: Session,
    columns: Sequence[object],
    condition: object,
    buckets: Sequence[Bucket],
    counts: Sequence[int],
    cap: int,
) -> list[tuple]:
    """Rows of the mentions matching ``condition`` in ``buckets``: all of them up to ``cap``, else a spread sample.

    ``counts`` are the matching mentions per bucket (known from the aggregates). A
    sample has about ``cap`` rows (each slice's share is rounded up), in no particular order.
    """
    total = sum(counts)
    if not total or not buckets:
        return []
    in_range = and_(Mention.created_at >= buckets[0].start, Mention.created_at < buckets[-1].end, condition)
    if total <= cap:
        return list(session.execute(select(*columns).where(in_range).order_by(Mention.created_at.desc())).all())
    # Many small queries: straight on the connection, without the ORM's per-statement work.
    connection = session.connection()
    rows: list[tuple] = []
    for bucket, quota in zip(buckets, _quotas(counts, cap), strict=True):
        for start, end, share in _slices(bucket, quota):
            if share:
                rows.extend(connection.execute(
                    select(*columns)
                    .where(Mention.created_at >= start, Mention.created_at < end, condition)
                    .order_by(Mention.created_at.desc())
                    .limit(share)
                ).all())
    return rows


def negative_drivers(
    session: Session,
    buckets: Sequence[Bucket],
    negative_counts: Sequence[int],
    other_counts: Sequence[int],
    previous: Bucket,
    previous_negative: int,
    stop_words: frozenset[str],
    top: int,
    min_mentions: int,
    sample_size: int,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> DriverSet:
    """The period's drivers: its negative mentions against its other mentions, compared with the period before.

    Only confidently negative mentions (at least ``min_confidence``) count as negative;
    ``negative_counts`` and ``previous_negative`` must count the same ones.
    """
    wanted = (Mention.id, Mention.text, Mention.url, Mention.platform, Mention.created_at)
    rows = read_mentions(session, wanted, _negative(min_confidence), buckets, negative_counts, sample_size)
    rows.sort(key=lambda row: (row[4], row[0]), reverse=True)
    # The background and the previous period only weigh the candidates found above: half as many suffice.
    background = [r[0] for r in read_mentions(session, (Mention.text,), _not_negative(min_confidence), buckets,
                                              other_counts, sample_size // 2)]
    before_buckets = _split(previous, len(buckets))
    spread = [previous_negative // len(before_buckets)] * len(before_buckets)
    spread[-1] += previous_negative - sum(spread)
    before = [r[0] for r in read_mentions(session, (Mention.text,), _negative(min_confidence), before_buckets, spread,
                                          sample_size // 2)]
    drivers = rank_terms(
        [(r[0], r[1]) for r in rows], background, before, stop_words=stop_words, top=top, min_mentions=min_mentions
    )
    by_id = {r[0]: r for r in rows}
    for driver in drivers:
        driver.examples = [
            MentionRef(i, http_url(by_id[i][2]), excerpt(by_id[i][1]), by_id[i][3], by_id[i][4])
            for i in driver.mention_ids[:EXAMPLES]
        ]
    return DriverSet(drivers, sum(negative_counts), len(rows), len(before), len(background))


def _split(period: Bucket, parts: int) -> list[Bucket]:
    step = (period.end - period.start) / max(parts, 1)
    return [Bucket(period.start + step * i, period.end if i == parts - 1 else period.start + step * (i + 1), "")
            for i in range(max(parts, 1))]
