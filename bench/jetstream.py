"""Jetstream consumer throughput: events per second matched against 100 keywords, on one core.

Bluesky's whole network writes a few hundred posts a second; the consumer must keep
up with that on one core with room to spare (target: 2,000 events/s).  This script
builds a stream of Jetstream v2 frames (the JSON text the websocket delivers), with
post texts drawn from a seeded vocabulary so that about 1% match, and measures, in
the same run:

* ``decode``: the SDK's own frame decoding alone (``parse_frame`` and
  ``parse_subscribe_events_message``), the floor under any matcher;
* ``harken``: decoding plus the Jetstream collector's page reader
  (:meth:`BlueskyJetstreamCollector._read`: matching with :class:`KeywordMatcher`,
  building the mentions of the matches);
* ``naive``: the same with a baseline matcher that tries each keyword in turn
  (a case-insensitive whole-word regular expression per keyword).

It also times the two matchers alone on the decoded records.  Run:
``.venv/bin/python bench/jetstream.py [--events N] [--keywords K]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atproto_jetstream.models import MessageFrame, parse_frame, parse_subscribe_events_message

from listener.platforms.bluesky.collectors import BlueskyJetstreamCollector
from listener.platforms.bluesky.matching import KeywordMatcher
from listener.platforms.bluesky.settings import BlueskySettings
from listener.platforms.bluesky.simulator import did_for, format_time, tid_for
from listener.platforms.collector import SourceSpec

_VOCABULARY = (
    "the a and to of in is it that for on with this my you was are be at have just so but not what all "
    "can phone signal network bill plan data roaming coverage outage today again why still love hate great "
    "awful support app update battery screen camera photo music game video coffee train bus weather morning "
    "night friend family work school happy sad tired excited weekend holiday city home street store price "
    "cheap fast slow wifi router tower carrier switch contract refund charge payment account password "
    "email message"
)
WORDS = _VOCABULARY.split()

BRAND_KEYWORDS = ["lumen mobile", "lumenmobile", "lumen outage", "lumen support", "lumen bill"]


def keywords(count: int, rng: random.Random) -> list[str]:
    """``count`` keywords: the brand's phrases and made-up product words (none common English)."""
    made_up = [f"{rng.choice(['zor', 'quan', 'vex', 'plim', 'trob'])}{index}" for index in range(count)]
    phrases = [f"{word} {rng.choice(['pro', 'max', 'plus'])}" for word in made_up[: count // 4]]
    return (BRAND_KEYWORDS + phrases + made_up)[:count]


def frames(count: int, chosen: list[str], rng: random.Random) -> list[str]:
    """Jetstream v2 text frames of new posts; about 1% mention a keyword, 0.5% a hashtag."""
    result = []
    dids = [did_for(f"user{index}.bsky.social") for index in range(500)]
    for seq in range(1, count + 1):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 40)))
        roll = rng.random()
        if roll < 0.01:
            text = f"{text} {rng.choice(chosen)} {rng.choice(WORDS)}"
        elif roll < 0.015:
            text = f"{text} #LumenDown"
        moment = datetime.now(UTC)
        rkey = tid_for(moment, seq)
        payload = {
            "$type": "network.bsky.jetstream.subscribeEvents#commit",
            "seq": seq,
            "time": format_time(moment),
            "did": rng.choice(dids),
            "rev": rkey,
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-12-06T02:00:00.000Z",
                       "langs": ["en"]},
            "cid": "bafyreib" + "a" * 52,
        }
        result.append(json.dumps({"$type": "message", "payload": payload}))
    return result


class NaiveMatcher:
    """The baseline: one case-insensitive whole-word search per keyword, per post."""

    def __init__(self, words: list[str], hashtags: list[str]) -> None:
        self.patterns = [(word, re.compile(r"\b" + re.escape(word) + r"\b", re.IGNORECASE)) for word in words]
        self.tags = [(tag, re.compile(r"#" + re.escape(tag) + r"\b", re.IGNORECASE)) for tag in hashtags]

    def __bool__(self) -> bool:
        return True

    def matches(self, record: Mapping[str, Any]) -> list[str]:
        text = record.get("text") or ""
        found = [word for word, pattern in self.patterns if pattern.search(text)]
        return found + ["#" + tag for tag, pattern in self.tags if pattern.search(text)]


class _NoProfiles:
    section = BlueskySettings()

    def profiles_of(self, dids: list[str]) -> dict[str, Any]:
        return {}


def decode(frame: str) -> Any:
    parsed = parse_frame(frame)
    assert isinstance(parsed, MessageFrame)
    return parse_subscribe_events_message(parsed)


def timed(label: str, work: Callable[[], int], events: int) -> float:
    started = time.perf_counter()
    matched = work()
    seconds = time.perf_counter() - started
    rate = events / seconds
    print(f"{label:<34} {rate:>10,.0f} events/s  ({seconds:.2f} s, {matched} matched)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--keywords", type=int, default=100)
    parser.add_argument("--batch", type=int, default=500)
    arguments = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the target says
    rng = random.Random(15)
    chosen = keywords(arguments.keywords, rng)
    hashtags = ["LumenDown", "LumenMobile"]
    stream = frames(arguments.events, chosen, rng)
    print(f"{arguments.events:,} Jetstream frames, {len(chosen)} keywords + {len(hashtags)} hashtags, one core")

    spec = SourceSpec("bluesky:jetstream", "bluesky_jetstream", "bluesky", 60,
                      {"keywords": chosen, "hashtags": hashtags})
    collector = BlueskyJetstreamCollector(spec, BlueskySettings(), _NoProfiles())
    fast = KeywordMatcher(chosen, hashtags)
    naive = NaiveMatcher(chosen, hashtags)

    def consume(matcher: Any) -> Callable[[], int]:
        def run() -> int:
            stored = 0
            for start in range(0, len(stream), arguments.batch):
                batch = [decode(frame) for frame in stream[start:start + arguments.batch]]
                mentions, _, _ = collector._read(batch, matcher)
                stored += len(mentions)
            return stored
        return run

    decode_rate = timed("decode only (SDK)", lambda: sum(1 for frame in stream if decode(frame)), len(stream))
    records = [json.loads(frame)["payload"]["record"] for frame in stream]
    fast_alone = timed("match only: KeywordMatcher", lambda: sum(1 for r in records if fast.matches(r)), len(stream))
    naive_alone = timed("match only: naive per keyword", lambda: sum(1 for r in records if naive.matches(r)),
                        len(stream))
    harken_rate = timed("consumer: decode + KeywordMatcher", consume(fast), len(stream))
    naive_rate = timed("consumer: decode + naive baseline", consume(naive), len(stream))
    print(f"matching alone: {fast_alone / naive_alone:.1f}x the naive baseline")
    print(f"whole consumer: {harken_rate / naive_rate:.2f}x the naive baseline; "
          f"{harken_rate / decode_rate:.0%} of the SDK's decode-only rate; target 2,000 events/s: "
          f"{'met' if harken_rate >= 2000 else 'NOT met'}")


if __name__ == "__main__":
    main()
