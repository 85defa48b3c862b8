"""Reading Bluesky posts into mentions, and Bluesky's text rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from listener.platforms.bluesky.payloads import (
    UnreadablePost,
    commit_to_mention,
    post_language,
    post_to_mention,
    reply_refs_for,
    tid_time,
)
from listener.platforms.bluesky.simulator import BlueskySimulator, tid_for
from listener.platforms.bluesky.text import build_facets, display_handle, fits, post_length, profile_url

DID = "did:plc:abcdefghijklmnopqrstuvwx"


def test_a_notification_view_from_the_simulator_becomes_a_mention_with_the_profile():
    sim = BlueskySimulator()
    sim.add_account("alice.bsky.social", "Alice", followers=77, bio="tea")
    root = sim.add_post("@lumenmobile.bsky.social no signal", "alice.bsky.social", langs=["en-GB"])
    reply = sim.add_post("still nothing", "alice.bsky.social", reply_to=root["uri"], langs=None)
    profiles = {sim.profile("alice.bsky.social")["did"]: sim.profile("alice.bsky.social")}

    mention = post_to_mention(reply, profiles)

    assert mention.platform == "bluesky" and mention.external_id == reply["uri"]
    assert mention.url == f"https://bsky.app/profile/alice.bsky.social/post/{reply['uri'].rsplit('/', 1)[1]}"
    assert mention.in_reply_to_external_id == root["uri"] and mention.conversation_external_id == root["uri"]
    assert (mention.author.handle, mention.author.display_name, mention.author.followers, mention.author.bio) == (
        "alice.bsky.social", "Alice", 77, "tea")
    assert post_language(root["record"]) == "en" and post_language(reply["record"]) is None
    refs = reply_refs_for(reply)
    assert (refs.root_uri, refs.parent_uri) == (root["uri"], reply["uri"])


def test_a_shortened_link_label_is_replaced_by_the_link_in_its_facet():
    text = "see example.com/very/lo... now ✨"
    label = "example.com/very/lo..."
    start = len(text[: text.index(label)].encode())
    record = {"text": text, "createdAt": "2024-05-01T12:00:00Z",
              "facets": [{"index": {"byteStart": start, "byteEnd": start + len(label.encode())},
                          "features": [{"$type": "app.bsky.richtext.facet#link",
                                        "uri": "https://example.com/very/long/path"}]},
                         {"index": {"byteStart": 999, "byteEnd": 1005}, "features": []}]}
    mention = post_to_mention({"uri": f"at://{DID}/app.bsky.feed.post/3kabc", "record": record,
                               "author": {"did": DID, "handle": "x.bsky.social"}})
    assert mention.text == "see https://example.com/very/long/path now ✨"
    assert mention.created_at == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_a_jetstream_commit_without_created_at_takes_its_time_from_the_record_key():
    moment = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    rkey = tid_for(moment, 5)
    assert tid_time(rkey) == moment
    mention = commit_to_mention({"did": DID, "rkey": rkey, "operation": "create",
                                 "collection": "app.bsky.feed.post", "record": {"text": "hi #lumen"}})
    assert mention.created_at == moment and mention.author.handle == DID
    assert mention.url == f"https://bsky.app/profile/{DID}/post/{rkey}"


@pytest.mark.parametrize(("event", "reason"), [
    ({"did": DID, "rkey": "3kabcabcabcab", "record": {"createdAt": "2024-05-01T00:00:00Z"}}, "no text"),
    ({"did": DID, "rkey": "3kabcabcabcab", "operation": "delete"}, "delete"),
    ({"rkey": "3kabcabcabcab", "record": {"text": "x"}}, "no did"),
    ({"did": DID, "rkey": "3kabcabcabcab", "collection": "app.bsky.feed.like", "record": {"text": "x"}},
     "not a post"),
    ("not an object", "not a JSON object"),
])
def test_what_cannot_be_a_mention_is_refused_with_a_reason(event, reason):
    with pytest.raises(UnreadablePost, match=reason):
        commit_to_mention(event)


def test_length_counts_graphemes_and_bytes():
    family = "👩‍👩‍👧"
    assert post_length(family * 3) == 3
    assert fits("a" * 300) and not fits("a" * 301)
    assert not fits(family * 200)  # 200 graphemes, but 3,600 bytes
    assert display_handle("alice.bsky.social") == "@alice.bsky.social"
    assert profile_url("@alice.bsky.social") == "https://bsky.app/profile/alice.bsky.social"


def test_facets_cover_links_resolved_mentions_and_tags_in_utf8_bytes():
    text = "héllo @alice.bsky.social and @ghost.bsky.social: https://lumen.example/help #Lumen"
    facets = build_facets(text, {"alice.bsky.social": DID}.get)
    data = text.encode()

    spans = {facet["features"][0]["$type"].rsplit("#", 1)[1]: data[facet["index"]["byteStart"]:
                                                                facet["index"]["byteEnd"]].decode()
             for facet in facets}
    assert spans == {"mention": "@alice.bsky.social", "link": "https://lumen.example/help", "tag": "#Lumen"}
    assert [f["features"][0].get("did") for f in facets if "mention" in f["features"][0]["$type"]] == [DID]


def test_the_registry_holds_bluesky_replies_to_300_graphemes_and_3000_bytes():
    from listener.platforms import ReplyTooLong, check_fits, display_handle, get_platform

    check_fits("bluesky", "é" * 300)
    with pytest.raises(ReplyTooLong, match="301 graphemes, the limit is 300"):
        check_fits("bluesky", "a" * 301)
    with pytest.raises(ReplyTooLong, match="UTF-8 bytes"):
        check_fits("bluesky", "👩‍👩‍👧" * 200)
    assert display_handle("bluesky", "alice.bsky.social") == "@alice.bsky.social"
    platform = get_platform("bluesky")
    assert platform.normalise_handle("@Alice.Example.COM") == "alice.example.com"
    assert platform.profile_handles("me: https://bsky.app/profile/alice.example.com") == ["alice.example.com"]


def test_keywords_match_whole_words_and_phrases_in_any_case_and_hashtags_in_text_or_facets():
    from listener.platforms.bluesky.matching import KeywordMatcher

    matcher = KeywordMatcher(["Lumen Mobile", "outage"], ["LumenDown"])
    assert matcher.matches({"text": "Is LUMEN mobile's outage over? #lumendown"}) == ["Lumen Mobile", "outage",
                                                                                  "#LumenDown"]
    assert matcher.matches({"text": "illumination, mobile lumens, outages"}) == []
    assert matcher.matches({"text": "no tag in text", "facets": [
        {"index": {"byteStart": 0, "byteEnd": 2}, "features": [{"$type": "app.bsky.richtext.facet#tag",
                                                                "tag": "LumenDown"}]}]}) == ["#LumenDown"]
    assert not KeywordMatcher([], []) and matcher.matches({"createdAt": "no text"}) == []
