"""Profile-link suggestions reach Bluesky and Mastodon accounts as they do X and Reddit ones."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.profiles.helpers import author, mention, process, profile_of, rule_names, store, suggestions


def pairs(engine: Engine) -> dict[frozenset[int | None], set[str]]:
    with Session(engine) as session:
        return {frozenset((s.profile_a_id, s.profile_b_id)): rule_names(s) for s in suggestions(session)}


def test_a_bio_link_to_a_bare_domain_points_at_the_bluesky_account_with_that_domain_as_handle(engine: Engine) -> None:
    own_domain = mention(author("bluesky", "did:plc:maramaramaramaramaramara", "marakowalski.com", "MK"))
    linking = mention(author("mastodon", "1", "mara_k@fosstodon.org", "M.",
                             bio="Accountant. Blog: https://marakowalski.com"))
    store(engine, own_domain, linking)
    process(engine)
    pair = frozenset((profile_of(engine, own_domain.external_id), profile_of(engine, linking.external_id)))
    assert "bio_profile_url" in pairs(engine)[pair]


def test_a_mastodon_profile_link_in_a_bio_points_at_that_user_at_server(engine: Engine) -> None:
    tomasz = mention(author("mastodon", "7", "tomasz_builds@mastodon.social", "TN"))
    on_x = mention(author("x", "8", "tomasz_b", "T", bio="furniture; https://mastodon.social/@tomasz_builds"))
    store(engine, tomasz, on_x)
    process(engine)
    pair = frozenset((profile_of(engine, tomasz.external_id), profile_of(engine, on_x.external_id)))
    assert "bio_profile_url" in pairs(engine)[pair]


def test_the_same_name_on_bluesky_and_mastodon_is_suggested(engine: Engine) -> None:
    on_bluesky = mention(author("bluesky", "did:plc:devondevondevondevondevo", "devonrides.bsky.social",
                                "Devon Okafor"))
    on_mastodon = mention(author("mastodon", "9", "devon@mastodon.social", "Devon Okafor"))
    store(engine, on_bluesky, on_mastodon)
    process(engine)
    pair = frozenset((profile_of(engine, on_bluesky.external_id), profile_of(engine, on_mastodon.external_id)))
    assert pair in pairs(engine) and pairs(engine)[pair] & {"same_display_name", "similar_display_name"}
