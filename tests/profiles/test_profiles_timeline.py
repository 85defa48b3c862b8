"""A profile's timeline and sentiment trend, from Python."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, Reply
from listener.profiles import merge_profiles, profile_timeline, sentiment_trend
from tests.profiles.helpers import T0, author, mention, process, profile_of, store


def label(engine: Engine, labels: dict[str, str | None]) -> None:
    with Session(engine) as session:
        for external_id, value in labels.items():
            row = session.execute(select(Mention).where(Mention.external_id == external_id)).scalar_one()
            row.sentiment_label = value
        session.commit()


def test_timeline_is_newest_first_across_platforms_with_sentiment_and_sent_replies(engine: Engine) -> None:
    on_x = author("x", "1", "pat")
    on_reddit = author("reddit", "t2_p", "pat")
    old = mention(on_x, "week one, unhappy", minutes=0)
    middle = mention(on_reddit, "week one, fine", minutes=60)
    new = mention(on_x, "week two, happy now", minutes=8 * 24 * 60)
    store(engine, old, middle, new)
    process(engine)
    label(engine, {old.external_id: "negative", middle.external_id: "neutral", new.external_id: "positive"})
    x_profile, reddit_profile = profile_of(engine, old.external_id), profile_of(engine, middle.external_id)
    with Session(engine) as session:
        merge_profiles(session, x_profile, reddit_profile, by="lead")  # type: ignore[arg-type]
        old_id = session.execute(select(Mention.id).where(Mention.external_id == old.external_id)).scalar_one()
        session.add(Reply(mention_id=old_id, state="sent", text="Sorry! DM us.", platform_reply_id="r1",
                          updated_at=T0 + timedelta(hours=1)))
        session.add(Reply(mention_id=old_id, state="draft", text="not sent yet"))
        session.commit()

        timeline = profile_timeline(session, reddit_profile)  # a merged-away id shows its survivor  # type: ignore[arg-type]
        assert [e.text for e in timeline] == ["week two, happy now", "week one, fine", "week one, unhappy"]
        assert [e.platform for e in timeline] == ["x", "reddit", "x"]
        assert [e.sentiment_label for e in timeline] == ["positive", "neutral", "negative"]
        assert [r.text for r in timeline[2].replies] == ["Sorry! DM us."]
        assert timeline[0].replies == [] and timeline[0].author_handle == "pat"
        assert [e.text for e in profile_timeline(session, x_profile, limit=1)] == ["week two, happy now"]  # type: ignore[arg-type]

        weekly = sentiment_trend(session, x_profile, "week")  # type: ignore[arg-type]
        assert [p.period_start for p in weekly] == [date(2026, 11, 2), date(2026, 11, 9)]  # Mondays
        assert weekly[0].counts == {"negative": 1, "neutral": 1} and weekly[0].net == -0.5
        assert weekly[1].counts == {"positive": 1} and weekly[1].net == 1.0
        monthly = sentiment_trend(session, x_profile, "month")  # type: ignore[arg-type]
        assert len(monthly) == 1 and monthly[0].total == 3 and monthly[0].net == 0.0
