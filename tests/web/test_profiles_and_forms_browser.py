"""Profiles found by handle or name, merged by search, and plain forms that never dead-end or repeat, in Chromium.

Against a live Harken on the demo corpus: the profile search finds an account's handle typed with
or without its platform's prefix, and a name in any case; merging picks the profile to keep from a
search (matches show while typing), and the browser's confirmation names both profiles with their
handles; a merge into itself is refused next to the row acted on; a refused new account keeps what
was typed (not the password); reloading the admin page after making a token makes no second token,
and its secret shows once.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlmodel import Session

from listener.models import ApiToken, CustomerProfile, StaffUser
from tests.web.browser import LiveSite, screenshot, sign_in
from tests.web.conftest import TEAM
from tests.web.pages_helpers import profile

pytestmark = pytest.mark.browser


def _console_errors(page: Any) -> list[str]:
    """What the browser logs as errors from now on: a Content-Security-Policy violation, a script failing.

    Not the refusal itself: Chromium logs a page that comes with an error status (the 409 of a refused
    form) as a resource that failed to load.
    """
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error"
            and not message.text.startswith("Failed to load resource: the server responded with a status of 4")
            else None)
    return errors


def _search(page: Any, typed: str) -> Any:
    page.goto("/profiles")
    page.get_by_label("Name, handle or CRM id").fill(typed)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/profiles\?q="))
    return page.locator("table.profiles tbody")


def test_profile_search_finds_a_handle_with_or_without_its_prefix_and_a_name_in_any_case(
    browser: Any, live: LiveSite
) -> None:
    zoe = profile(live.engine, "Zoë Okafor", accounts=(("x", "@zoe_builds"),))
    namesake = profile(live.engine, "Zoe Okafor-Builds")  # a name like the handle, and no account
    on_reddit = profile(live.engine, "Z. Okafor", accounts=(("reddit", "u/zoe_builds_too"),))
    page = sign_in(browser, live, "agent")

    for typed in ("zoe_builds", "@zoe_builds"):
        found = _search(page, typed)
        expect(found.locator(f'tr[data-profile-id="{zoe}"]')).to_contain_text("Zoë Okafor")
        expect(found.locator(f'tr[data-profile-id="{namesake}"]')).to_have_count(0)
    expect(found.locator(f'tr[data-profile-id="{on_reddit}"]')).to_have_count(0)  # "@" is not how Reddit writes it
    expect(page.get_by_label("Name, handle or CRM id")).to_have_value("@zoe_builds")

    found = _search(page, "u/zoe_builds")
    expect(found.locator("tr[data-profile-id]")).to_have_count(1)
    expect(found.locator(f'tr[data-profile-id="{on_reddit}"]')).to_contain_text("Z. Okafor")

    found = _search(page, "OKAFOR-BUI")  # part of a name, in another case
    expect(found.locator("tr[data-profile-id]")).to_have_count(1)
    expect(found.locator(f'tr[data-profile-id="{namesake}"]')).to_contain_text("Zoe Okafor-Builds")
    screenshot(page, "profiles-search-by-name-1440")


def test_merge_picks_the_profile_to_keep_by_search_and_the_confirmation_names_both(
    browser: Any, live: LiveSite
) -> None:
    merged = profile(live.engine, "Raj Patel", accounts=(("x", "@raj_builds"),))
    kept = profile(live.engine, "Raj P.", accounts=(("reddit", "u/raj_p"),))
    page = sign_in(browser, live, "agent")
    errors = _console_errors(page)
    page.goto(f"/profiles/{merged}")
    page.get_by_label("Find the profile to keep").press_sequentially("u/raj_p")  # matches show while typing
    row = page.locator(f'tr[data-candidate-id="{kept}"]')
    expect(row).to_contain_text("u/raj_p")
    expect(page.locator("tr[data-candidate-id]")).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"/profiles/{merged}\?merge_q=u%2Fraj_p$"))

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    row.get_by_role("button", name="Merge into this one").click()
    expect(page).to_have_url(re.compile(rf"/profiles/{kept}$"))
    assert asked == ["Merge Raj Patel (@raj_builds) into Raj P. (u/raj_p)? You can undo it."]
    expect(page.locator("table.merges")).to_contain_text("Raj Patel")
    expect(page.get_by_role("button", name="Undo")).to_have_count(1)  # undo stays as it was
    with Session(live.engine) as session:
        assert session.get(CustomerProfile, merged).merged_into_id == kept  # type: ignore[union-attr]
    assert not errors, errors


def test_a_merge_into_itself_is_refused_next_to_the_row_acted_on(browser: Any, live: LiveSite) -> None:
    mira = profile(live.engine, "Mira Castell", accounts=(("x", "@mira_castell"),))
    other = profile(live.engine, "Mira C.", accounts=(("reddit", "u/miracastell"),))
    page = sign_in(browser, live, "agent")
    errors = _console_errors(page)
    page.goto(f"/profiles/{mira}")
    page.get_by_label("Find the profile to keep").fill("mira")
    page.get_by_role("button", name="Find").click()
    itself = page.locator(f'tr[data-candidate-id="{mira}"]')
    expect(itself).to_contain_text("(this profile)")

    page.once("dialog", lambda dialog: dialog.accept())
    itself.get_by_role("button", name="Merge into this one").click()
    itself = page.locator(f'tr[data-candidate-id="{mira}"]')
    expect(itself.locator(".inline-error")).to_have_text(
        "Mira Castell cannot be merged into itself: pick another profile to keep")
    expect(page.locator(f'tr[data-candidate-id="{other}"] .inline-error')).to_have_count(0)
    expect(page.get_by_label("Find the profile to keep")).to_have_value("mira")  # the search stays
    expect(page).to_have_url(re.compile(rf"/profiles/{mira}\?merge_q=mira$"))
    expect(page.get_by_text("Back to the inbox")).to_have_count(0)  # the profile page, not a dead end
    screenshot(page, "profile-merge-into-itself-1440")
    with Session(live.engine) as session:
        assert session.get(CustomerProfile, mira).merged_into_id is None  # type: ignore[union-attr]
    assert not errors, errors


def test_a_duplicate_email_keeps_the_typed_name_next_to_the_form_but_not_the_password(
    browser: Any, live: LiveSite
) -> None:
    page = sign_in(browser, live, "admin")
    errors = _console_errors(page)
    page.goto("/admin")
    form = page.locator('form[action="/admin/users"]')
    form.get_by_label("Name").fill("Ana Again")
    form.get_by_label("Email").fill(TEAM["agent"])
    form.get_by_label("Role").select_option("approver")
    form.get_by_label("First password").fill("a long enough password")
    form.get_by_role("button", name="Add").click()

    form = page.locator('form[action="/admin/users"]')
    expect(form.locator(".inline-error")).to_contain_text(f"{TEAM['agent']} already has an account")
    expect(form.get_by_label("Name")).to_have_value("Ana Again")
    expect(form.get_by_label("Email")).to_have_value(TEAM["agent"])
    expect(form.get_by_label("Role")).to_have_value("approver")
    expect(form.get_by_label("First password")).to_have_value("")
    expect(page.locator('form[action="/admin/tokens"] .inline-error')).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/admin$"))  # the page's address, not the one the form posted to
    screenshot(page, "admin-duplicate-email-1440")

    form.get_by_label("Name").fill("Ana Once More")  # refused again: still in place, still kept
    form.get_by_label("First password").fill("a long enough password")
    form.get_by_role("button", name="Add").click()
    form = page.locator('form[action="/admin/users"]')
    expect(form.locator(".inline-error")).to_contain_text(f"{TEAM['agent']} already has an account")
    expect(form.get_by_label("Name")).to_have_value("Ana Once More")
    with Session(live.engine) as session:
        assert session.execute(
            select(StaffUser).where(StaffUser.name.in_(["Ana Again", "Ana Once More"]))  # type: ignore[attr-defined]
        ).first() is None
    assert not errors, errors


def _tokens(live: LiveSite) -> int:
    with Session(live.engine) as session:
        return session.scalar(select(func.count()).select_from(ApiToken)) or 0


def test_reloading_after_making_a_token_makes_no_second_one_and_the_secret_shows_once(
    browser: Any, live: LiveSite
) -> None:
    page = sign_in(browser, live, "admin")
    page.goto("/admin")
    before = _tokens(live)
    form = page.locator('form[action="/admin/tokens"]')
    form.get_by_label("What uses it").fill("Reload check")
    form.get_by_role("button", name="Create").click()
    secret = page.get_by_label("The new token's secret")
    expect(secret).to_have_value(re.compile(r"^hk_"))
    expect(page).to_have_url(re.compile(r"/admin$"))
    assert _tokens(live) == before + 1

    page.reload()
    expect(page.locator("tr[data-token-id]", has_text="Reload check")).to_have_count(1)
    expect(page.get_by_label("The new token's secret")).to_have_count(0)  # shown exactly once
    assert _tokens(live) == before + 1
