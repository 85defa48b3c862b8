"""Reading Mastodon statuses into mentions, and Mastodon's text rules."""

from __future__ import annotations

import pytest

from listener.platforms.mastodon.payloads import (
    UnreadableStatus,
    html_to_text,
    notification_to_mention,
    status_language,
    status_to_mention,
    status_visibility,
)
from listener.platforms.mastodon.simulator import MastodonSimulator
from listener.platforms.mastodon.text import fits, instance_limit, profile_url, status_length


def test_a_simulated_status_reads_back_as_the_text_that_was_written():
    sim = MastodonSimulator()
    sim.add_account("alice@social.example", "Alice", followers=12, bio="Tea <3\n\ntrains")
    sim.add_account("bob")
    written = ("@lumenmobile no signal since 9 <again> & https://status.example.com/outage/12345678901234567890 "
               "#LumenDown\ncc @bob\n\nsecond paragraph")
    status = sim.add_status(written, "alice@social.example", visibility="private", language="en")

    mention = status_to_mention(status)

    assert mention.text == written  # a local mention stays @user, as it was written
    assert mention.url == status["url"] and mention.external_id == status["id"]
    assert (mention.author.handle, mention.author.followers, mention.author.bio) == (
        "alice@social.example", 12, "Tea <3\n\ntrains")
    assert status_visibility(status) == "private" and status_language(status) == "en"


def test_a_local_account_gets_its_server_from_its_url():
    sim = MastodonSimulator()
    sim.add_account("carol")
    mention = status_to_mention(sim.add_status("@lumenmobile hi", "carol"))
    assert mention.author.handle == "carol@mastodon.example"


def test_html_from_other_servers_is_made_safe_plain_text():
    html = ('<p>Hi <span class="h-card"><a href="https://x.example/@dee" class="u-url mention">@<span>dee</span>'
            '</a></span><script>alert(1)</script> &lt;b&gt;bold&lt;/b&gt;</p><p><a href="https://t.example/a">click'
            ' here</a><br>line<br/>two</p><ul><li>one</li><li>two</li></ul><a href="javascript:alert(1)">x</a>')
    text = html_to_text(html, [{"url": "https://x.example/@dee", "acct": "dee@x.example"}])
    assert text == ("Hi @dee@x.example <b>bold</b>\n\nclick here (https://t.example/a)\nline\ntwo\n\n- one\n- two"
                    "\n\nx")
    assert "alert" not in text.replace("x", "")


def test_a_boost_is_read_as_the_boosted_status_and_a_spoiler_is_kept():
    inner = {"id": "7", "content": "<p>secret</p>", "spoiler_text": "bills", "created_at": "2024-05-01T12:00:00Z",
             "uri": "https://a.example/users/u/statuses/7", "account": {"id": "1", "acct": "u@a.example"}}
    mention = notification_to_mention({"type": "mention", "status": {"id": "8", "reblog": inner, "content": ""}})
    assert mention.external_id == "7" and mention.text == "CW: bills\n\nsecret"
    assert mention.url == inner["uri"] and mention.author.followers is None and mention.author.bio is None


@pytest.mark.parametrize(("status", "reason"), [
    ({"content": "<p>x</p>"}, "no id"),
    ({"id": "1", "account": {"id": "2", "acct": "a@b.example"}}, "no content"),
    ({"id": "1", "content": "x", "created_at": "2024-05-01T12:00:00Z"}, "no account"),
    ({"id": "1", "content": "x", "created_at": "soon", "account": {"id": "2", "acct": "a@b.example"},
      "url": "https://b.example/@a/1"}, "created_at"),
])
def test_what_cannot_be_a_mention_is_refused_with_a_reason(status, reason):
    with pytest.raises(UnreadableStatus, match=reason):
        status_to_mention(status)


def test_length_counts_urls_as_23_and_remote_mentions_by_user():
    assert status_length("https://example.com/" + "x" * 300) == 23
    assert status_length("@alice@social.example hi") == len("@alice hi")
    assert fits("a" * 500) and not fits("a" * 501) and fits("a" * 900, limit=1000) and not fits("  ")
    assert instance_limit({"configuration": {"statuses": {"max_characters": 5000}}}) == 5000
    assert instance_limit({"configuration": {"statuses": {}}}) == 500 and instance_limit(None) == 500
    assert profile_url("alice@social.example") == "https://social.example/@alice"


def test_the_registry_counts_mastodon_replies_as_the_server_does():
    from listener.platforms import ReplyTooLong, check_fits, display_handle, get_platform

    check_fits("mastodon", "@erin@social.example " + "a" * 470 + " https://example.com/" + "x" * 200)
    with pytest.raises(ReplyTooLong, match="501 characters, the limit is 500"):
        check_fits("mastodon", "a" * 501)
    assert display_handle("mastodon", "erin@social.example") == "@erin@social.example"
    platform = get_platform("mastodon")
    assert platform.normalise_handle("@Erin@Social.Example") == "erin@social.example"
    assert platform.profile_handles("find me at https://social.example/@erin too") == ["erin@social.example"]
    assert platform.is_repost("", {"reblog": {"id": "1"}}) and not platform.is_repost("", {"reblog": None})
