"""SLA as time left or overdue on every row, a filter for overdue, times in the reader's own time zone.

Each staff member chooses their time zone on their account page (post/redirect/get,
audited); without one the team's ([digest] timezone) is used. A time not in the
current year shows its year.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from listener.db import utcnow
from listener.models import AuditEvent, Mention, StaffUser
from responders.web.clock import local_text, sla_state, span
from tests.responders.helpers import add_mention
from tests.web.conftest import TEAM, Site

LAST_YEAR_DUE = datetime(utcnow().year - 1, 3, 1, 12, 0, tzinfo=UTC)


def _set(site: Site, mention_id: int, **values: object) -> None:
    with Session(site.engine) as session:
        mention = session.get(Mention, mention_id)
        assert mention is not None
        for name, value in values.items():
            setattr(mention, name, value)
        session.add(mention)
        session.commit()


def _mentions(site: Site) -> dict[str, int]:
    """Three open mentions at the same priority (overdue, due later, last year's) and a resolved overdue one."""
    now = utcnow()
    made = {}
    for name, due, status in (("late", now - timedelta(hours=2, minutes=5), "needs_reply"),
                              ("soon", now + timedelta(hours=3, minutes=30), "needs_reply"),
                              ("old", LAST_YEAR_DUE, "new"),
                              ("closed", now - timedelta(hours=5), "resolved")):
        mention = add_mention(site.engine, f"{name} mention about the app")
        _set(site, mention.id, sla_due_at=due, status=status, priority=50.0, priority_level="high",
             processing_state="done")
        made[name] = mention.id
    return made


def test_sla_words_and_local_times() -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert span(2 * 3600 + 5 * 60 + 30) == "2 h 5 min" and span(59) == "under a minute" and span(3 * 86400) == "3 d"
    assert sla_state(now - timedelta(minutes=90), "assigned", now).text == "overdue by 1 h 30 min"  # type: ignore[union-attr]
    assert sla_state(now + timedelta(days=1, hours=2), "new", now).text == "1 d 2 h left"  # type: ignore[union-attr]
    assert sla_state(now - timedelta(hours=1), "resolved", now) is None  # answered: no SLA to count
    tokyo = ZoneInfo("Asia/Tokyo")
    assert local_text(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tokyo, now) == "Mar 01 21:00"
    assert local_text(datetime(2025, 12, 31, 16, 0, tzinfo=UTC), tokyo, now) == "Jan 01 01:00"  # this year there
    assert local_text(datetime(2025, 12, 31, 14, 0, tzinfo=UTC), tokyo, now) == "Dec 31 2025 23:00"


def test_every_row_shows_time_left_or_overdue_and_the_overdue_filter_keeps_only_open_overdue(site: Site) -> None:
    made = _mentions(site)
    client = site.client("agent")
    html = client.get("/inbox").text
    row = {name: html[html.index(f'id="mention-row-{i}"'):] for name, i in made.items() if name != "closed"}
    assert re.search(r'class="sla overdue">overdue by 2 h [45] min<', row["late"].split("</tr>")[0])
    assert re.search(r'class="sla">3 h (29|30) min left<', row["soon"].split("</tr>")[0])
    assert f"Mar 01 {LAST_YEAR_DUE.year} 12:00" in row["old"].split("</tr>")[0]  # the year: not this year
    # Same priority: the overdue ones come first (soonest due first).
    assert html.index(f'mention-row-{made["old"]}') < html.index(f'mention-row-{made["late"]}') \
        < html.index(f'mention-row-{made["soon"]}')

    overdue = client.get("/inbox", params={"overdue": "true", "status": "all"}).text
    shown = set(int(i) for i in re.findall(r'id="mention-row-(\d+)"', overdue))
    assert shown == {made["late"], made["old"]}  # not the one due later, nor the resolved one
    assert re.search(r'name="overdue" value="true"\s+checked', overdue)
    api = client.get("/api/v1/mentions", params={"overdue": "true"}).json()
    assert {item["mention_id"] for item in api["items"]} == {made["late"], made["old"]}


def test_a_person_sees_times_in_their_own_time_zone(site: Site) -> None:
    made = _mentions(site)
    agent, approver = site.client("agent"), site.client("approver")
    saved = agent.post("/account/timezone", data={"timezone": "Asia/Tokyo"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/account?saved=1"
    assert "Time zone saved." in agent.get("/account?saved=1").text

    mine = agent.get(f"/mentions/{made['old']}").text
    assert f"Mar 01 {LAST_YEAR_DUE.year} 21:00" in mine and "(Asia/Tokyo)" in mine
    theirs = approver.get(f"/mentions/{made['old']}").text  # the approver has no zone: the team's (UTC)
    assert f"Mar 01 {LAST_YEAR_DUE.year} 12:00" in theirs
    with Session(site.engine) as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "staff.timezone")).scalars().one()
        assert event.actor == TEAM["agent"] and event.after == {"timezone": "Asia/Tokyo"}


def test_an_unknown_time_zone_is_refused_on_the_form_with_what_was_typed(site: Site) -> None:
    agent = site.client("agent")
    refused = agent.post("/account/timezone", data={"timezone": "Mars/Olympus_Mons"}, follow_redirects=False)
    assert refused.status_code == 422
    assert "unknown time zone &#39;Mars/Olympus_Mons&#39;" in refused.text
    assert 'value="Mars/Olympus_Mons"' in refused.text  # the typed value stays in the box
    with Session(site.engine) as session:
        me = session.execute(select(StaffUser).where(StaffUser.email == TEAM["agent"])).scalars().one()
        assert me.timezone is None
