"""Uncertain labels (below [sentiment] min_confidence) in digests and alerts, on both databases: counted apart,
figures still adding up, never a spike, never a driver; generic words are never drivers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from responders.digests.alerts import check_spikes
from responders.digests.dispatch import build_digest
from responders.digests.periods import Period
from responders.digests.render import render_digest
from responders.digests.terms import mention_terms, rank_terms, stop_words_for
from tests.digests import seed, storms
from tests.digests.conftest import settings_for

START = datetime(2026, 11, 9, tzinfo=UTC)
THANKS = "@brand thanks for the quick fix yesterday, everything works now"
GENERIC = {"fix", "everything", "works", "quick fix", "quick", "everything works", "fix yesterday"}


def _row(at: datetime, label: str | None, text: str, confidence: float | None, platform: str = "x",
         source_id: int | None = None) -> seed.MentionRow:
    return seed.MentionRow(at, label, text, platform=platform, source_id=source_id,
                           extra={"sentiment_confidence": confidence})


def test_the_issue_example_gives_no_generic_driver() -> None:
    assert mention_terms(THANKS) == set(), "every word of a thank-you is generic or a stop-word"
    assert "no fix" in mention_terms("still no fix for the outage"), "a generic word still ends a phrase"
    # The thank-you confidently called negative (61%) five times, against real complaints.
    complaints = [(i, THANKS) for i in range(5)] + [(10 + i, "refund never arrived") for i in range(4)]
    others = ["the fix works, thanks", "works great", "everything is fine", "new phone day"] * 3
    drivers = rank_terms(complaints, others, stop_words=stop_words_for("Brand"), min_mentions=3)
    terms = {d.term for d in drivers} | {r for d in drivers for r in d.related}
    assert "never arrived" in terms and not terms & GENERIC


def test_a_word_as_common_in_other_mentions_is_no_driver_even_off_the_generic_list() -> None:
    # "upgrade" is on no list: the contrast with the other mentions is what keeps it out.
    complaints = [(i, "after the upgrade my refund never arrived") for i in range(6)]
    few_others = ["loving the upgrade", "upgrade went smoothly", "upgrade day"]  # too few for a lift
    terms = {d.term for d in rank_terms(complaints, few_others, min_mentions=3)}
    assert "never arrived" in terms and "upgrade" not in terms
    # An alert compares with earlier negatives; its contrast is the window's other mentions.
    earlier_negatives = ["refund late"] * 40
    with_contrast = rank_terms(complaints, earlier_negatives, min_mentions=3, contrast=few_others)
    without = rank_terms(complaints, earlier_negatives, min_mentions=3)
    assert "upgrade" in {d.term for d in without} | {r for d in without for r in d.related}
    assert "upgrade" not in {d.term for d in with_contrast} | {r for d in with_contrast for r in d.related}


def test_digest_counts_uncertain_apart_and_drivers_come_from_confident_negatives(
    engine: Engine, db_url: str
) -> None:
    at = START + timedelta(hours=10)
    rows = (
        [_row(at + timedelta(minutes=i), "negative", f"@brand refund never arrived, order {i}", 0.9)
         for i in range(6)]
        + [_row(at + timedelta(minutes=10 + i), "negative", THANKS, 0.61) for i in range(4)]  # the issue's 61%
        + [_row(at + timedelta(minutes=20 + i), "negative", "@brand my screen went dark again", 0.42)
           for i in range(5)]  # uncertain: no "screen" driver
        + [_row(at + timedelta(minutes=30 + i), "positive", "@brand the fix works, everything is fine", 0.45,
                platform="reddit") for i in range(3)]  # uncertain positive
        + [_row(at + timedelta(minutes=40 + i), "neutral", "@brand is the store open", 0.8) for i in range(4)]
        + [_row(at + timedelta(minutes=50 + i), "positive", "@brand works great, quick fix", 0.95) for i in range(3)]
        + [_row(at + timedelta(minutes=55), "unscored", "🙂", None), _row(at + timedelta(minutes=56), None, "x", None)]
    )
    customer = seed.profile(engine, "Cara Customer", prospect=False)
    for row in rows[:2] + rows[10:15]:  # two confident negatives, five uncertain ones
        row.profile_id = customer
    ids = seed.mentions(engine, rows)
    confident_negative_ids = set(ids[:10])
    settings = settings_for(db_url, sentiment={"enabled": False, "min_confidence": 0.5})
    digest = build_digest(engine, settings, Period(START, START + timedelta(days=1), "day", "UTC"),
                          now=START + timedelta(days=2))

    overall = digest.overall
    assert (overall.negative, overall.neutral, overall.positive, overall.uncertain, overall.unscored) == (
        10, 4, 3, 8, 2)
    assert overall.total == len(rows) == 27
    assert overall.net == 100.0 * (3 - 10) / 17, "net over confident labels only"
    by_platform = {p.platform: p.mix for p in digest.platforms}
    assert by_platform["x"].uncertain == 5 and by_platform["reddit"].uncertain == 3
    assert sum(p.mix.total for p in digest.platforms) == overall.total
    assert sum(point.mix.uncertain for point in digest.series) == overall.uncertain

    drivers = digest.drivers
    assert drivers.negative_total == 10
    terms = {d.term for d in drivers.drivers} | {r for d in drivers.drivers for r in d.related}
    assert "never arrived" in terms or "refund" in terms
    assert not terms & GENERIC, terms
    assert not {"screen", "went dark", "screen went", "dark"} & terms, "uncertain negatives drive nothing"
    for driver in drivers.drivers:
        assert set(driver.mention_ids) <= confident_negative_ids
        assert {example.id for example in driver.examples} <= confident_negative_ids

    assert [(c.profile_id, c.mentions, c.negative) for c in digest.top_customers] == [(customer, 7, 2)]

    data = digest.as_dict()
    assert data["overall"]["uncertain"] == 8 and data["overall"]["total"] == 27
    # The email says it too.
    text = render_digest(digest).text
    assert "Uncertain:" in text and "uncertain" in text.split("platform", 1)[1].splitlines()[0]


def test_a_burst_of_uncertain_negatives_raises_no_alert(engine: Engine, db_url: str) -> None:
    storm = datetime(2026, 11, 10, 14, 2, tzinfo=UTC)
    x = seed.source(engine, "x:search:brand", "x")
    storms.poisson_traffic(engine, storm - timedelta(days=15), storm, lambda _: 3.0, sources={x: 1.0})
    seed.mentions(engine, [_row(storm + timedelta(seconds=15 * i), "negative", THANKS, 0.4, source_id=x)
                           for i in range(40)])
    settings = settings_for(db_url, sentiment={"enabled": False, "min_confidence": 0.5})
    check_at = storm + timedelta(minutes=13)
    assert check_spikes(engine, settings, now=check_at).alerts == []

    # The same burst read with the threshold off (0) is a storm: the setting applies at once.
    lenient = settings_for(db_url, sentiment={"enabled": False, "min_confidence": 0.0})
    raised = check_spikes(engine, lenient, now=check_at).alerts
    assert len(raised) == 1
    terms = {t["term"] for t in raised[0].explanation["terms"]}
    assert not terms & GENERIC, terms
