"""The bundled demo corpus, its loader, and simulators seeded from it."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import tweepy

from listener.demo import load_corpus
from listener.platforms.reddit.simulator import RedditSimulator
from listener.platforms.x.simulator import XSimulator
from listener.simulators import DEMO_CORPUS_PATH, CorpusError


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_demo_corpus_size_and_platform_mix(corpus):
    platforms = Counter(item.platform for item in corpus)
    kinds = Counter(item.kind for item in corpus)
    assert 380 <= len(corpus) <= 420
    assert 0.55 <= platforms["x"] / len(corpus) <= 0.65
    assert kinds["post"] >= 25 and kinds["comment"] >= 80
    assert DEMO_CORPUS_PATH.stat().st_size < 300_000


def test_demo_corpus_spans_two_weeks_with_mixed_sentiment(corpus):
    ages = [item.age for item in corpus]
    assert min(ages) < timedelta(hours=6)
    assert timedelta(days=13) < max(ages) <= timedelta(days=14)
    moods = Counter(item.intended_sentiment for item in corpus)
    assert all(moods[mood] >= 30 for mood in ("negative", "neutral", "positive"))


def test_demo_corpus_people(corpus):
    authors = Counter(item.author for item in corpus)
    repeat = [author for author, count in authors.items() if count >= 3]
    assert len(repeat) >= 12
    by_platform: dict[str, set[str]] = {"x": set(), "reddit": set()}
    for item in corpus:
        by_platform[item.platform].add(item.author)
    assert 2 <= len(by_platform["x"] & by_platform["reddit"]) <= 4
    reach = {item.author: item.followers for item in corpus}
    assert reach["dana_techwire"] == 120_000
    assert sum(1 for followers in reach.values() if followers >= 100_000) >= 2


def test_demo_corpus_languages_emoji_and_hostile_texts(corpus):
    languages = Counter(item.lang for item in corpus)
    assert {"es", "de", "fr", "ja"} <= set(languages)
    assert 0.03 <= sum(n for lang, n in languages.items() if lang != "en") / len(corpus) <= 0.08
    texts = [item.text + (item.title or "") for item in corpus]
    assert any("<script>alert('x')</script>" in text for text in texts)
    assert any("'; DROP TABLE mentions; --" in text for text in texts)
    assert any("\u202e" in text for text in texts)
    assert any(len(text) >= 4_900 for text in texts)
    assert any(sum(0x0300 <= ord(ch) <= 0x036F for ch in text) > 20 for text in texts)
    assert sum(1 for text in texts if text.strip() and all(not ch.isalnum() for ch in text.replace(" ", ""))) >= 3
    assert all(len(item.text) <= 280 for item in corpus if item.platform == "x")


def test_demo_corpus_reaches_the_brand_on_both_platforms(corpus):
    x_mentions = [item for item in corpus if item.platform == "x" and "@lumenmobile" in item.text.lower()]
    inbox = [item for item in corpus if item.kind == "comment" and "u/lumenmobile_support" in item.text.lower()]
    assert len(x_mentions) >= 150
    assert len(inbox) >= 20
    assert {item.subreddit for item in corpus if item.platform == "reddit"} == {"LumenMobile", "cellphones"}


def test_loader_names_the_bad_item(tmp_path):
    path = tmp_path / "corpus.json"
    good = {"platform": "x", "kind": "tweet", "author": "a", "text": "hi", "created_at": "2025-01-01T00:00:00Z"}
    bad = {**good, "kind": "post"}
    path.write_text(json.dumps({"anchor": "2025-01-02T00:00:00Z", "items": [good, good, bad]}))
    with pytest.raises(CorpusError, match="corpus item 2: kind 'post'"):
        load_corpus(path)
    path.write_text('{"anchor": "2025-01-02T00:00:00Z", "items": [')
    with pytest.raises(CorpusError, match="not valid JSON"):
        load_corpus(path)


def test_simulators_seed_themselves_relative_to_now(corpus, x_client_for):
    now = datetime.now(UTC)
    with XSimulator(corpus_items=corpus, now=now) as x_sim:
        client = x_client_for(x_sim)
        x_items = [item for item in corpus if item.platform == "x"]
        assert len(x_sim.tweets) == len(x_items)
        mentions = list(tweepy.Paginator(client.get_users_mentions, x_sim.brand_user["id"],
                                         max_results=100).flatten())
        assert len(mentions) == sum("@lumenmobile" in item.text.lower() for item in x_items)
        recent = list(tweepy.Paginator(client.search_recent_tweets, '"lumen mobile" OR lumenmobile',
                                       max_results=100, tweet_fields=["created_at"]).flatten())
        assert recent and all(now - tweet.created_at <= timedelta(days=7) for tweet in recent)
        assert len(recent) < len(mentions)
    reddit_sim = RedditSimulator(corpus_items=corpus, now=now)
    reddit_items = [item for item in corpus if item.platform == "reddit"]
    assert len(reddit_sim.posts) >= sum(item.kind == "post" for item in reddit_items)
    assert len(reddit_sim.comments) == sum(item.kind == "comment" for item in reddit_items)
