"""The web app shows Bluesky and Mastodon handles and links as those platforms write them, and holds drafts to
their limits."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from listener.models import Mention
from listener.platforms import ReplyTooLong
from responders import workflow
from tests.responders.helpers import add_mention, process
from tests.web.conftest import Site


def test_mention_pages_write_handles_the_platforms_way_and_link_the_original(site: Site) -> None:
    bluesky = add_mention(site.engine, "@lumenmobile.bsky.social no signal", platform="bluesky",
                          handle="alice.example.com", external_id="at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3k1")
    mastodon = add_mention(site.engine, "@lumenmobile no signal", platform="mastodon", handle="erin@social.example",
                           external_id="1100")
    process(site.engine, site.settings)
    client = site.client("agent")

    bluesky_page = client.get(f"/mentions/{bluesky.id}").text
    mastodon_page = client.get(f"/mentions/{mastodon.id}").text

    assert "@alice.example.com on Bluesky" in bluesky_page
    assert "@erin@social.example on Mastodon" in mastodon_page
    assert f'href="{bluesky.url}"' in bluesky_page and f'href="{mastodon.url}"' in mastodon_page


def test_drafts_are_held_to_300_graphemes_on_bluesky_and_500_counted_characters_on_mastodon(site: Site) -> None:
    bluesky = add_mention(site.engine, "help", platform="bluesky", handle="alice.bsky.social")
    mastodon = add_mention(site.engine, "help", platform="mastodon", handle="erin@social.example")
    agent = site.team["agent"]
    with Session(site.engine) as session:
        with pytest.raises(ReplyTooLong, match="301 graphemes, the limit is 300"):
            workflow.create_draft(session, session.get(Mention, bluesky.id), "a" * 301, agent)
        long_link = "https://lumen.example/" + "x" * 400  # counts as 23 on Mastodon
        draft = workflow.create_draft(session, session.get(Mention, mastodon.id), "Sorry! " + long_link, agent)
        assert draft.text.endswith("x" * 400)
