"""The Bluesky and Mastodon parts of the demo: their simulators as the demo starts them, collected for real."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from listener.collecting import CollectionRunner
from listener.db import make_engine
from listener.demo import demo_settings
from listener.models import Author, Mention
from listener.platforms import display_handle, get_platform


def test_the_demo_collects_bluesky_and_mastodon_with_repeat_customers_across_platforms(sqlite_url):
    with get_platform("bluesky").simulator([]) as bluesky, get_platform("mastodon").simulator([]) as mastodon:
        settings = demo_settings({"bluesky": bluesky, "mastodon": mastodon}, sqlite_url, sentiment={"enabled": False})
        runner = CollectionRunner(make_engine(sqlite_url), settings)
        runner.sync_sources()
        summaries = {summary.source: summary for summary in runner.run_all()}

    assert all(summary.status == "ok" for summary in summaries.values()), summaries
    assert set(summaries) == {"bluesky:notifications", "bluesky:jetstream", "mastodon:mentions",
                              "mastodon:hashtag:LumenMobile"}
    with Session(make_engine(sqlite_url)) as session:
        mentions = session.execute(select(Mention)).scalars().all()
        authors = {(a.platform, a.handle): a for a in session.execute(select(Author)).scalars()}
    by_platform = {platform: [m for m in mentions if m.platform == platform] for platform in ("bluesky", "mastodon")}
    assert len(by_platform["bluesky"]) == 8 and len(by_platform["mastodon"]) == 6
    # The same people as on X and Reddit: Mara on her own domain and on fosstodon, Tomasz on mastodon.social.
    assert authors[("bluesky", "marakowalski.com")].display_name == "Mara Kowalski"
    assert authors[("mastodon", "mara_k@fosstodon.org")].display_name == "Mara Kowalski"
    assert authors[("mastodon", "tomasz_builds@mastodon.social")].followers == 930
    assert display_handle("mastodon", "tomasz_builds@mastodon.social") == "@tomasz_builds@mastodon.social"
    assert all(m.url.startswith("https://bsky.app/profile/") for m in by_platform["bluesky"])
    assert all(m.url.startswith("https://") and "/@" in m.url for m in by_platform["mastodon"])
