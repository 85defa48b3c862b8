"""A refused form costs nothing typed, also in a browser without scripts or one that sends no Referer.

``responders.web.refill`` writes the typed values back into the page's HTML (errors.js does it again in a
browser with scripts); every form says which page it is on (``page_path``), so a refused post finds its page
without the Referer header. In Chromium with JavaScript off and the Referer stripped from every request, an
over-long reply to an X mention comes back in its box with the reason beside it.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import Session

from listener.models import Mention, Reply, StaffUser
from responders.web.refill import refill
from tests.web.browser import PASSWORD, LiveSite, screenshot
from tests.web.conftest import TEAM, Site
from tests.web.pages_helpers import post_form

REPLY_FORMS = """<main>
<form method="post" action="/mentions/7/reply" class="suggestion">
  <input type="hidden" name="csrf_token" value="t"><input type="hidden" name="suggestion_id" value="5">
  <textarea name="text" id="s5">Sorry about that.</textarea>
</form>
<form method="post" action="/mentions/7/reply" class="suggestion">
  <input type="hidden" name="csrf_token" value="t"><input type="hidden" name="suggestion_id" value="6">
  <textarea name="text" id="s6">Thanks!</textarea>
</form>
<form method="post" action="/mentions/7/reply">
  <input type="hidden" name="csrf_token" value="t">
  <textarea name="text" id="own" required></textarea>
</form>
<form method="get" action="/mentions/7/reply"><input name="text" value="a search box"></form>
</main>"""

FILTERS = """<form method="post" action="/views">
  <input type="text" name="name" value="old &amp; stale">
  <input type="password" name="password" value="">
  <input type="hidden" name="version" value="3">
  <input type="checkbox" name="overdue" value="1" checked>
  <input type="checkbox" name="mine" value="1">
  <select name="platform"><option value="">any</option><option value="x" selected>X</option>
    <option value="reddit">Reddit</option></select>
  <input name="tag"><input name="tag"><input name="tag">
</form>"""


def _textarea(page: str, element_id: str) -> str:
    found = re.search(rf'<textarea[^>]*id="{element_id}"[^>]*>\n?(.*?)</textarea>', page, re.S)
    assert found, element_id
    return html_lib.unescape(found.group(1))


def test_the_typed_text_goes_back_into_the_form_that_sent_it_and_nowhere_else() -> None:
    own = refill(REPLY_FORMS, "/mentions/7/reply", {"text": ["My own answer"]}, "too long")
    # The suggestions' forms did not send this: a suggestion's form sends its suggestion's id.
    assert (_textarea(own, "s5"), _textarea(own, "s6"), _textarea(own, "own")) == (
        "Sorry about that.", "Thanks!", "My own answer")
    second = refill(REPLY_FORMS, "/mentions/7/reply", {"suggestion_id": ["6"], "text": ["Thanks, edited"]}, "no")
    assert (_textarea(second, "s5"), _textarea(second, "s6"), _textarea(second, "own")) == (
        "Sorry about that.", "Thanks, edited", "")
    # The message is at the top of that form, for a browser without scripts only (errors.js places it otherwise).
    assert second.index('<noscript><p class="error inline-error" role="alert">no</p></noscript>') > second.index(
        'value="6"') - 200 > second.index('value="5"')
    assert second.count("<noscript>") == 1
    assert 'value="a search box"' in second  # a GET form with the same action is no form that was posted
    assert refill(REPLY_FORMS, "/elsewhere", {"text": ["x"]}, "m") == REPLY_FORMS


def test_hostile_typed_text_is_written_back_as_text() -> None:
    hostile = '</textarea><script>alert(1)</script><textarea>" onfocus="alert(2)'
    page = refill(REPLY_FORMS, "/mentions/7/reply", {"text": [hostile]}, "<b>bad</b>")
    assert "<script>" not in page and "<b>" not in page
    assert _textarea(page, "own") == hostile
    filters = refill(FILTERS, "/views", {"name": [hostile]}, "m")
    assert "<script>" not in filters and 'onfocus="' not in filters
    assert html_lib.unescape(re.search(r'name="name" value="([^"]*)"', filters).group(1)) == hostile  # type: ignore[union-attr]


def test_boxes_selects_and_repeated_fields_are_set_as_sent_and_passwords_never() -> None:
    page = refill(FILTERS, "/views", {"name": ["Mine & overdue"], "password": ["hunter2"], "version": ["9"],
                                      "mine": ["1"], "platform": ["reddit"], "tag": ["a", "b"]}, "m")
    assert 'name="name" value="Mine &amp; overdue"' in page and "old &amp; stale" not in page
    assert "hunter2" not in page and 'name="version" value="3"' in page  # hidden values are the page's own
    assert re.search(r'name="overdue" value="1">', page) and re.search(r'name="mine" value="1" checked>', page)
    assert '<option value="reddit" selected>' in page and '<option value="x">' in page
    assert re.findall(r'name="tag"(?: value="([^"]*)")?>', page) == ["a", "b", ""]


def test_a_refused_post_without_a_referer_comes_back_on_the_page_its_form_named(site: Site) -> None:
    admin = site.client("admin")
    typed = {"name": "Second Ana", "email": TEAM["agent"], "role": "approver", "password": "a secret passphrase"}
    page = admin.get("/admin").text
    assert '<input type="hidden" name="page_path" value="/admin">' in page
    refused = post_form(admin, "/admin/users", {**typed, "page_path": "/admin"})  # no Referer header
    assert refused.status_code == 409
    assert "<h1>Admin</h1>" in refused.text and "Back to the inbox" not in refused.text
    add_user = refused.text.split('action="/admin/users"')[1].split("</form>")[0]
    assert 'value="Second Ana"' in add_user and f'value="{TEAM["agent"]}"' in add_user
    assert "already has an account" in add_user  # beside the form, for a browser without scripts
    assert "a secret passphrase" not in refused.text
    with Session(site.engine) as session:
        assert session.execute(select(StaffUser).where(StaffUser.name == "Second Ana")).first() is None


@pytest.mark.parametrize("named", ["//evil.example/admin", "https://evil.example/admin", "/\\evil.example",
                                   "/api/v1/mentions", ""])
def test_a_page_path_that_is_not_one_of_our_pages_gets_the_plain_error_page(site: Site, named: str) -> None:
    admin = site.client("admin")
    refused = post_form(admin, "/admin/users", {"name": "X", "email": TEAM["agent"], "role": "agent",
                                                "page_path": named})
    assert refused.status_code == 409 and "location" not in refused.headers
    assert "Back to the inbox" in refused.text and "already has an account" in refused.text


@pytest.mark.browser
def test_an_over_long_reply_without_scripts_or_referer_comes_back_in_its_box(browser: Any, live: LiveSite) -> None:
    with Session(live.engine) as session:
        mention_id = session.execute(
            select(Mention.id).where(Mention.platform == "x", Mention.status.in_(["new", "needs_reply"]),  # type: ignore[attr-defined]
                                     Mention.id.not_in(select(Reply.mention_id)),  # type: ignore[union-attr]
                                     Mention.id != live.hostile_mention_id).order_by(Mention.id)).scalars().first()
    assert mention_id is not None
    context = browser.new_context(base_url=live.url, java_script_enabled=False)
    sent_referers: list[str] = []

    def without_referer(route: Any) -> None:
        headers = {k: v for k, v in route.request.headers.items() if k.lower() != "referer"}
        if route.request.method == "POST":
            sent_referers.append(route.request.headers.get("referer", ""))
        route.continue_(headers=headers)

    context.route("**/*", without_referer)
    page = context.new_page()
    page.goto("/signin")
    page.get_by_label("Email").fill(TEAM["agent"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))

    page.goto(f"/mentions/{mention_id}")
    draft = ("We are sorry the eSIM activation failed twice. " * 7).strip()  # 349 characters: X allows 280
    page.locator("#reply-text-own").fill(draft)
    page.locator("#reply-text-own").locator("xpath=ancestor::form").get_by_role(
        "button", name="Send for approval").click()
    form = page.locator("#reply-text-own").locator("xpath=ancestor::form")
    expect(form.locator(".inline-error")).to_contain_text("280")
    expect(page.locator("#reply-text-own")).to_have_value(draft)
    # The suggestions' boxes keep their own texts.
    for box in page.locator("textarea[id^=reply-text-]:not(#reply-text-own)").all():
        expect(box).not_to_have_value(draft)
    screenshot(page, "reply-refused-without-scripts-1440")
    assert sent_referers and all(referer for referer in sent_referers)  # Chromium sent one: it was taken out
    with Session(live.engine) as session:
        assert session.execute(select(Reply).where(Reply.mention_id == mention_id)).first() is None
    context.close()
