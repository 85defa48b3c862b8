"""An inbox row (responders/web/inbox_row.py) as people see it, and the same whether the page draws it or an
action redraws it in place."""

from __future__ import annotations

import re

from sqlmodel import Session

from listener.models import Mention
from responders import workflow
from responders.staff import find_user
from tests.responders.helpers import add_mention, process
from tests.web.conftest import TEAM, Site

HOSTILE = 'Refund now </td><script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
LONG = "my order " + "arrived broken and nobody answers " * 8  # 281 characters: cut at a word


def _row(html: str, mention_id: int) -> str:
    found = re.search(rf'<tr id="mention-row-{mention_id}".*?</tr>', html, re.S)
    assert found, f"no row for mention {mention_id}"
    return found.group(0)


def _seed(site: Site) -> dict[str, int]:
    ids = {
        "hostile": add_mention(site.engine, HOSTILE, sentiment="negative", confidence=0.9, tier="press",
                               handle="press_<b>pam</b>").id,
        "long": add_mention(site.engine, LONG, platform="reddit", sentiment="neutral", confidence=0.3,
                            handle="raj_codes").id,
        "plain": add_mention(site.engine, "thanks, all good now", sentiment="positive", confidence=0.8,
                             tier="standard", handle="sam").id,
    }
    process(site.engine, site.settings)
    with Session(site.engine) as session:  # a reply waiting for approval on the plain one
        agent = find_user(session, TEAM["agent"])
        reply = workflow.create_draft(session, session.get(Mention, ids["plain"]), "Glad to hear it!", agent)  # type: ignore[arg-type]
        workflow.submit(session, site.settings, reply, agent)
        session.commit()
    return ids


def test_a_row_shows_what_the_mention_says_escaped_shortened_and_in_words(site: Site) -> None:
    ids = _seed(site)
    page = site.client("agent").get("/inbox")
    assert page.status_code == 200

    hostile = _row(page.text, ids["hostile"])
    assert "<script" not in hostile and "<img" not in hostile and "<b>" not in hostile
    assert "&lt;script&gt;" in hostile and "&amp; &#34;quotes&#34;" in hostile
    assert "@press_&lt;b&gt;pam&lt;/b&gt;" in hostile and '<span class="tier press">press</span>' in hostile
    assert 'class="sentiment negative">negative <small>90%</small>' in hostile

    long = _row(page.text, ids["long"])
    shown = re.search(r'data-shortcut="open">([^<]*)</a>', long).group(1)  # type: ignore[union-attr]
    assert shown.endswith("...") and len(shown) <= 160 and LONG.startswith(shown[:-3])
    assert not shown[:-3].endswith(" answer")  # cut at a word, never inside one
    assert "u/raj_codes" in long and '<span class="platform reddit">Reddit</span>' in long
    assert 'class="sentiment uncertain" title="below the confidence threshold: not acted on">uncertain ' \
           "<small>(neutral)</small> <small>30%</small>" in long

    plain = _row(page.text, ids["plain"])
    assert '<span class="tier' not in plain  # the standard tier is not worth a badge
    assert '<span class="reply-state">reply waiting for approval</span>' in plain
    # The agent triages: a box to select it, the correction, assign and resolve, each with the row's version.
    for form in ('name="ids"', 'class="sentiment-correct"', 'value="me"', 'value="resolved"'):
        assert form in plain
    assert plain.count('name="csrf_token"') == 3 and plain.count('name="page_path" value="/inbox"') == 3


def test_a_manager_sees_the_row_without_the_actions_they_may_not_take(site: Site) -> None:
    ids = _seed(site)
    row = _row(site.client("manager").get("/inbox").text, ids["plain"])
    assert 'name="ids"' not in row and "<form" not in row and 'name="csrf_token"' not in row
    assert '<td class="actions"></td>' in row and 'class="sentiment positive">positive' in row


def test_a_row_changed_in_place_is_drawn_as_the_inbox_page_draws_it(site: Site) -> None:
    ids = _seed(site)
    client = site.client("agent")
    for mention_id in ids.values():
        changed = client.post(f"/mentions/{mention_id}/assign", data={"assignee": "me"},
                              headers={"HX-Request": "true", "HX-Target": f"mention-row-{mention_id}",
                                       "HX-Current-URL": "http://testserver/inbox"})
        assert changed.status_code == 200, changed.text
        assert TEAM["agent"] in changed.text
        assert _row(changed.text, mention_id) == _row(client.get("/inbox").text, mention_id)
