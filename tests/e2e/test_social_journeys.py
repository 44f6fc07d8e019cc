"""Friendship journeys in a real browser, each with JavaScript on (htmx) and off.

Two or three people, each in their own browser context, become friends by a friend code
or by a request, and part again. Every page and swap is checked by axe-core and for
overflow at 360px (see conftest.py). Users are made straight in the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from tests.e2e.conftest import Account, LiveServer, Ui, expect

pytestmark = pytest.mark.e2e

A_BIO = "Midnight matinees and vinyl-only Sundays."


def log_in_at(ui: Ui, account: Account, path: str) -> None:
    """Log in through the form, starting from the login page a protected `path` sends
    you to, so the browser lands straight on `path`."""
    ui.goto(f"/login?next={quote(path)}")
    ui.page.get_by_label("Email or username", exact=True).fill(account.username)
    ui.page.get_by_label("Password", exact=True).fill(account.password)
    ui.submit_and_follow(ui.page.get_by_role("button", name="Log in"), to=path)


def act_in_place(ui: Ui, widget: Any, button_name: str, *, back_to: str) -> None:
    """Click a button of a relation widget. With JavaScript, htmx swaps the widget in
    place (the page does not reload) and focus moves to the new widget, not lost with
    the button; without JavaScript the POST redirects back to `back_to`."""
    ui.submit(widget.get_by_role("button", name=button_name), status=200)
    ui.expect_path(back_to)
    if ui.js:
        expect(widget).to_be_focused()


def expect_flash(ui: Ui, text: str) -> None:
    expect(ui.page.locator("#flashes")).to_contain_text(text)


def expect_outcome(ui: Ui, widget: Any, text: str) -> None:
    """What an action says: beside the widget with htmx, as a flash message without."""
    if ui.js:
        expect(widget.locator(".relation-note")).to_have_text(text)
    else:
        expect_flash(ui, text)


def nav_badge(ui: Ui) -> Any:
    return ui.page.locator("#nav-requests")


def friend_names(ui: Ui) -> Any:
    return ui.page.locator("#friend-list .person-name")


# -- friends by code -----------------------------------------------------------------------


def test_friends_by_code(
    new_ui: Callable[[], Ui], make_account: Callable[..., Account], live_server: LiveServer
) -> None:
    a = make_account(username="amara", display_name="Amara Quist", is_private=True, bio=A_BIO)
    b = make_account(username="bastien", display_name="Bastien Roux")
    c = make_account(username="cosima", display_name="Cosima Vell")
    ui_a, ui_b = new_ui(), new_ui()

    # A makes a code to share.
    log_in_at(ui_a, a, "/friends/invites")
    ui_a.submit_and_follow(ui_a.page.get_by_role("button", name="Create a friend code"), to="/friends/invites")
    code = ui_a.page.locator(".codes .code-value").first.inner_text()
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code), code
    expect_flash(ui_a, f"New friend code {code} is ready to share.")
    link = ui_a.page.get_by_label(f"Link for code {code.replace('-', '')}", exact=True).input_value()
    assert link == f"{live_server.url}/friends/join/{code.replace('-', '')}", link
    join_path = urlsplit(link).path

    page_b = ui_b.page
    if ui_b.js:
        # B opens the shared link logged out: login first, then straight back to it.
        ui_b.goto(join_path)
        ui_b.expect_path(f"/login?next={join_path}")
        page_b.get_by_label("Email or username", exact=True).fill(b.username)
        page_b.get_by_label("Password", exact=True).fill(b.password)
        ui_b.submit_and_follow(page_b.get_by_role("button", name="Log in"), to=join_path)
        expect(page_b.get_by_role("heading", level=1)).to_have_text("Become friends with Amara Quist?")
        ui_b.click_to_page(page_b.get_by_role("button", name="Accept and become friends"), to="/u/amara")
    else:
        # B types the code on the friend codes page: first wrong, then loosely (any case).
        log_in_at(ui_b, b, "/friends/invites")
        code_field = page_b.get_by_label("Friend code", exact=True)
        code_field.fill("ZZZZZ-ZZZZZ")
        ui_b.submit(page_b.get_by_role("button", name="Become friends"), status=422)
        expect(page_b.locator("#code-error")).to_have_text("We don't know that code. Check it and try again.")
        expect(code_field).to_have_attribute("aria-invalid", "true")
        code_field.fill(f" {code.lower()} ")
        ui_b.click_to_page(page_b.get_by_role("button", name="Become friends"), to="/u/amara")
    expect_flash(ui_b, "You and Amara Quist are now friends.")

    # B, a friend now, sees A's private profile.
    profile = page_b.locator("#profile")
    expect(profile.get_by_role("heading", level=1)).to_have_text("Amara Quist")
    expect(profile).to_contain_text(A_BIO)
    expect(profile.get_by_role("link", name="1 friend")).to_be_visible()
    expect(profile.locator(".relation .badge")).to_have_text("Friends")

    # Both see each other on their friends page.
    ui_b.goto("/friends")
    expect(friend_names(ui_b)).to_have_text(["Amara Quist"])
    ui_a.goto("/friends")
    expect(friend_names(ui_a)).to_have_text(["Bastien Roux"])

    # C, not a friend, sees only that the profile is private.
    ui_c = new_ui()
    log_in_at(ui_c, c, "/u/amara")
    profile_c = ui_c.page.locator("#profile")
    expect(profile_c).to_contain_text("This profile is private.")
    expect(profile_c).not_to_contain_text(A_BIO)
    expect(profile_c.get_by_role("button", name="Add friend (Amara Quist)")).to_be_visible()


# -- friends by request --------------------------------------------------------------------


def test_friends_by_request(new_ui: Callable[[], Ui], make_account: Callable[..., Account]) -> None:
    a = make_account(username="anouk", display_name="Anouk Lind")
    b = make_account(username="birgit", display_name="Birgit Saar")
    make_account(username="casimir", display_name="Casimir Oduya")  # not a match
    ui_a, ui_b = new_ui(), new_ui()
    page_a, page_b = ui_a.page, ui_b.page

    # A finds B on /people.
    log_in_at(ui_a, a, "/people")
    search = page_a.get_by_role("searchbox", name="Find people")
    results = page_a.locator("#search-results")
    if ui_a.js:  # live results while typing, the URL follows (hx-push-url)
        search.press_sequentially("birg", delay=20)
        expect(results).to_contain_text("1 person found.")
        ui_a.wait_for_swap()
        ui_a.expect_path("/people?q=birg")
        ui_a.check()
    else:
        search.fill("birg")
        ui_a.click_to_page(page_a.get_by_role("button", name="Search"), to="/people?q=birg")
        expect(results).to_contain_text("1 person found.")
    expect(results.locator(".person-name")).to_have_text(["Birgit Saar"])

    # ... and asks. With htmx the widget swaps itself; without, the search page reloads.
    widget = results.locator(".relation")
    act_in_place(ui_a, widget, "Add friend (Birgit Saar)", back_to="/people?q=birg")
    expect_outcome(ui_a, widget, "Friend request sent to Birgit Saar.")
    expect(widget.locator(".badge")).to_have_text("Request sent")
    expect(widget.get_by_role("button", name="Cancel request (Birgit Saar)")).to_be_visible()

    # B sees the pending count in the nav, and accepts on the requests page.
    log_in_at(ui_b, b, "/friends/requests")
    expect(nav_badge(ui_b)).to_have_text("1 pending friend request")
    incoming = page_b.locator("section", has=page_b.get_by_role("heading", name="Asking you"))
    expect(incoming.locator(".person-name")).to_have_text(["Anouk Lind"])
    widget_b = incoming.locator(".relation")
    expect(widget_b.locator(".badge")).to_have_text("Wants to be friends")
    act_in_place(ui_b, widget_b, "Accept (Anouk Lind)", back_to="/friends/requests")
    if ui_b.js:  # the widget says so, and the nav count goes out of band, no reload
        expect_outcome(ui_b, widget_b, "You and Anouk Lind are now friends.")
        expect(widget_b.locator(".badge")).to_have_text("Friends")
    else:
        expect_flash(ui_b, "You and Anouk Lind are now friends.")
        expect(incoming).to_contain_text("Nobody is waiting for an answer.")
    expect(nav_badge(ui_b)).to_be_empty()

    ui_b.goto("/friends")
    expect(friend_names(ui_b)).to_have_text(["Anouk Lind"])

    # A unfriends B from B's profile.
    ui_a.goto("/u/birgit")
    widget = page_a.locator("#profile .relation")
    expect(widget.locator(".badge")).to_have_text("Friends")
    expect(page_a.locator("#profile").get_by_role("link", name="1 friend")).to_be_visible()
    act_in_place(ui_a, widget, "Unfriend (Birgit Saar)", back_to="/u/birgit")
    expect_outcome(ui_a, widget, "You and Birgit Saar are no longer friends.")
    expect(widget.get_by_role("button", name="Add friend (Birgit Saar)")).to_be_visible()

    # Both friend lists are empty again.
    ui_a.goto("/friends")
    expect(page_a.locator("#friend-list")).to_have_text("No friends yet.")
    ui_b.goto("/friends")
    expect(page_b.locator("#friend-list")).to_have_text("No friends yet.")
