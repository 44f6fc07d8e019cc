"""Account journeys in a real browser, each with JavaScript on (htmx) and off.

Every page and swap is checked by axe-core and for overflow at 360px (see conftest.py);
registration and login also run at a desktop size. Users are made straight in the
database except where the journey is registration itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from tests.e2e.conftest import Account, LiveServer, Ui, expect
from tests.fakes.smtp import FakeSMTPServer
from webapp.accounts.models import User
from webapp.db import db

pytestmark = pytest.mark.e2e

STRONG_PASSWORD = "lantern-orchard-1977x"
NEWER_PASSWORD = "quiet-harbour-lights-88"


def user_row(app: Flask, **where: Any) -> dict[str, Any] | None:
    with app.app_context():
        user = db.session.scalar(select(User).filter_by(**where))
        row = (
            None
            if user is None
            else {
                "username": user.username,
                "display_name": user.display_name,
                "bio": user.bio,
                "is_private": user.is_private,
            }
        )
        db.session.remove()
    return row


def follow_mailed_link(ui: Ui, mailbox: FakeSMTPServer, address: str) -> None:
    """Open the link of the latest message to `address`, as its reader would."""
    ui.goto(urlsplit(mailbox.last_link(address)).path)


def field(ui: Ui, label: str) -> Any:
    return ui.page.get_by_label(label, exact=True)


def expect_field_error(ui: Ui, field_id: str, message: str | re.Pattern[str]) -> None:
    """The error sits beside its field, and the field points at it."""
    page = ui.page
    expect(page.locator(f"#{field_id}-error")).to_have_text(message)
    control = page.locator(f"#{field_id}")
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}-error\b"))
    if ui.js:  # app.js moves focus to the first invalid field after the swap
        expect(page.locator("[aria-invalid=true]").first).to_be_focused()


def fill_new_password(ui: Ui, label: str, value: str) -> None:
    """Fill a password field that has a strength meter. With JavaScript, wait for the meter
    as a person would see it, so its request is not still pending when the form is sent."""
    field(ui, label).fill(value)
    if ui.js:
        expect(ui.page.locator("#password-strength meter")).to_be_visible()
        ui.wait_for_swap()


def expect_flash(ui: Ui, text: str | re.Pattern[str]) -> None:
    expect(ui.page.locator("#flashes")).to_contain_text(text)


def expect_logged_out(ui: Ui, *, path: str = "/settings") -> None:
    """A page that needs an account sends this browser to the login page."""
    ui.goto(path)
    ui.expect_path(f"/login?next={path}")
    expect(ui.page.get_by_role("button", name="Log out")).to_have_count(0)


# -- register ---------------------------------------------------------------------------


@pytest.mark.desktop
def test_register(ui: Ui, make_account: Callable[..., Account], app: Flask, mailbox: FakeSMTPServer) -> None:
    make_account(username="taken", email="taken@example.com")
    page = ui.page
    ui.goto("/register")

    field(ui, "Email").fill("Nova.Reyes@example.com")
    field(ui, "Username").fill("taken")
    field(ui, "Display name").fill("Nova Reyes")
    meter = page.locator("#password-strength meter")
    if ui.js:  # the strength meter follows the typing (htmx, after a short pause)
        field(ui, "Password").press_sequentially("password", delay=10)
        expect(meter).to_be_visible()
        expect(page.locator("#password-strength")).to_contain_text("Very weak")
        ui.wait_for_swap()
        ui.check()
    else:
        field(ui, "Password").fill("password")
    submit = page.get_by_role("button", name="Create account")

    # 1. A taken username: said beside the field; what was typed stays, except the password.
    ui.submit(submit, status=422)
    expect_field_error(ui, "username", "That username is taken.")
    expect(field(ui, "Email")).to_have_value("Nova.Reyes@example.com")
    expect(field(ui, "Username")).to_have_value("taken")
    expect(field(ui, "Display name")).to_have_value("Nova Reyes")
    expect(field(ui, "Password")).to_have_value("")

    # 2. A weak password: its own error, the username one gone.
    field(ui, "Username").fill("nova")
    fill_new_password(ui, "Password", "password")
    ui.submit(submit, status=422)
    expect_field_error(ui, "password", re.compile(r"\S"))
    expect(page.locator("#username-error")).to_have_count(0)
    expect(field(ui, "Password")).to_have_value("")
    fill_new_password(ui, "Password", STRONG_PASSWORD)
    if ui.js:
        label = page.locator("#password-strength .strength-label")
        expect(label).to_have_text(re.compile(r"^(Fair|Strong|Very strong)$"))
    else:
        expect(meter).to_have_count(0)

    # 3. Accepted: not signed in yet; a link is mailed to the address.
    ui.submit_and_follow(submit, to="/register/check-inbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    assert user_row(app, username="nova") is not None

    # 4. The mailed link: a page with a button that confirms the address and signs in.
    follow_mailed_link(ui, mailbox, "nova.reyes@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email")
    ui.submit_and_follow(page.get_by_role("button", name="Confirm my email"), to="/")
    expect_flash(ui, "Your email is confirmed. Welcome to Marquee, Nova Reyes!")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Nova Reyes")
    expect(page.get_by_text("Please confirm your email")).to_have_count(0)


# -- log in -----------------------------------------------------------------------------


@pytest.mark.desktop
def test_login(ui: Ui, make_account: Callable[..., Account]) -> None:
    account = make_account(username="mira", email="mira@example.com", display_name="Mira")
    page = ui.page

    # A page that needs an account goes to login and comes back after it.
    ui.goto("/settings")
    ui.expect_path("/login?next=/settings")
    expect_flash(ui, "Please log in to continue.")

    field(ui, "Email or username").fill("mira")
    field(ui, "Password").fill("not-the-password")
    ui.submit(page.get_by_role("button", name="Log in"), status=422)
    expect_field_error(ui, "password", "That email/username and password do not match.")
    expect(field(ui, "Email or username")).to_have_value("mira")
    expect(field(ui, "Password")).to_have_value("")

    field(ui, "Password").fill(account.password)
    ui.submit_and_follow(page.get_by_role("button", name="Log in"), to="/settings")
    expect_flash(ui, "Welcome back, Mira.")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    ui.log_out()

    # By email, in any case.
    ui.log_in("MIRA@example.com", account.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Mira")


# -- profile ----------------------------------------------------------------------------


def test_edit_profile(
    ui: Ui, new_ui: Callable[[], Ui], make_account: Callable[..., Account], app: Flask
) -> None:
    account = make_account(username="ines", display_name="Ines")
    make_account(username="otto")
    page = ui.page
    ui.log_in(account.username, account.password)
    ui.goto("/settings")

    field(ui, "Display name").fill("Inès Moreau")
    field(ui, "Bio").fill("Slow cinema and loud records.")
    field(ui, "Private profile").check()
    save = page.get_by_role("button", name="Save profile")
    ui.submit_and_follow(save, to="/settings")
    expect_flash(ui, "Your profile is saved.")
    expect(field(ui, "Display name")).to_have_value("Inès Moreau")
    expect(field(ui, "Bio")).to_have_value("Slow cinema and loud records.")
    expect(field(ui, "Private profile")).to_be_checked()
    assert user_row(app, username="ines") == {
        "username": "ines",
        "display_name": "Inès Moreau",
        "bio": "Slow cinema and loud records.",
        "is_private": True,
    }

    # Someone else's username is refused beside the field; nothing is saved.
    field(ui, "Username").fill("otto")
    field(ui, "Bio").fill("Changed my mind.")
    ui.submit(save, status=422)
    expect_field_error(ui, "username", "That username is taken.")
    expect(field(ui, "Username")).to_have_value("otto")
    row = user_row(app, id=account.id)
    assert row is not None and row["username"] == "ines" and row["bio"] == "Slow cinema and loud records."

    # The owner sees the profile; a visitor sees that it is private.
    ui.goto("/u/ines")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inès Moreau")
    expect(page.locator("#profile")).to_contain_text("Slow cinema and loud records.")
    visitor = new_ui()
    visitor.goto("/u/ines")
    expect(visitor.page.locator("#profile")).to_contain_text("This profile is private.")
    expect(visitor.page.locator("#profile")).not_to_contain_text("Slow cinema")


# -- password ---------------------------------------------------------------------------


def test_change_password(ui: Ui, new_ui: Callable[[], Ui], make_account: Callable[..., Account]) -> None:
    account = make_account(username="tomas", display_name="Tomas")
    page = ui.page
    other_device = new_ui()
    other_device.log_in(account.username, account.password)
    ui.log_in(account.username, account.password)

    ui.goto("/settings")
    ui.click_to_page(page.get_by_role("link", name="Change your password"), to="/settings/password")

    field(ui, "Current password").fill("not-my-password")
    fill_new_password(ui, "New password", NEWER_PASSWORD)
    field(ui, "Repeat new password").fill(NEWER_PASSWORD)
    submit = page.get_by_role("button", name="Change password")
    ui.submit(submit, status=422)
    expect_field_error(ui, "current_password", "That is not your current password.")

    field(ui, "Current password").fill(account.password)
    fill_new_password(ui, "New password", NEWER_PASSWORD)
    field(ui, "Repeat new password").fill(NEWER_PASSWORD)
    ui.submit_and_follow(submit, to="/settings")
    expect_flash(ui, "Your password is changed.")

    # This browser carries on; the other device's session is revoked on the server.
    ui.goto("/settings")
    ui.expect_path("/settings")
    expect_logged_out(other_device)
    expect_flash(other_device, "your session has ended")

    ui.log_out()
    ui.goto("/login")
    field(ui, "Email or username").fill(account.username)
    field(ui, "Password").fill(account.password)
    ui.submit(page.get_by_role("button", name="Log in"), status=422)
    expect_field_error(ui, "password", "That email/username and password do not match.")
    ui.log_in(account.username, NEWER_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Tomas")


# -- log out ----------------------------------------------------------------------------


def test_logout(ui: Ui, new_ui: Callable[[], Ui], make_account: Callable[..., Account]) -> None:
    account = make_account(username="lena")
    ui.log_in(account.username, account.password)
    cookies = ui.context.cookies()
    assert any(c["name"] == "marquee_session" for c in cookies)

    ui.log_out()
    expect_flash(ui, "You are logged out.")
    expect(ui.page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()
    expect_logged_out(ui)

    # A copy of the old session cookie is worth nothing now.
    replay = new_ui()
    replay.context.add_cookies(cookies)
    expect_logged_out(replay)


# -- delete account ---------------------------------------------------------------------


def test_delete_account(ui: Ui, make_account: Callable[..., Account], app: Flask) -> None:
    account = make_account(username="bruno")
    page = ui.page
    ui.log_in(account.username, account.password)
    ui.goto("/settings")
    ui.click_to_page(page.get_by_role("link", name="Delete your account"), to="/settings/delete")

    confirm = field(ui, "Type your username to confirm")
    submit = page.get_by_role("button", name="Delete my account for good")
    confirm.fill("bruna")
    ui.submit(submit, status=422)
    expect_field_error(ui, "confirm_username", "That is not your username.")
    assert user_row(app, id=account.id) is not None

    confirm.fill("Bruno")
    ui.submit_and_follow(submit, to="/")
    expect_flash(ui, "Your account and its data are deleted.")
    assert user_row(app, id=account.id) is None

    ui.goto("/login")
    field(ui, "Email or username").fill(account.username)
    field(ui, "Password").fill(account.password)
    ui.submit(page.get_by_role("button", name="Log in"), status=422)
    expect_field_error(ui, "password", "That email/username and password do not match.")
    ui.goto("/u/bruno", status=404)


# -- error pages ------------------------------------------------------------------------


def test_error_pages(ui: Ui) -> None:
    page = ui.page
    ui.goto("/no-such-page", status=404)
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the home page")).to_be_visible()
    ui.goto("/u/nobody-here", status=404)
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")

    # A form whose CSRF token has gone stale: a page-level error, never a broken form.
    ui.goto("/login")
    page.evaluate(
        """() => {
          const meta = document.querySelector('meta[name="csrf-token"]');
          if (meta) meta.content = "stale";
          document.querySelector('#login-form input[name="csrf_token"]').value = "stale";
        }"""
    )
    field(ui, "Email or username").fill("anyone")
    field(ui, "Password").fill("whatever-it-is")
    ui.submit(page.get_by_role("button", name="Log in"), status=400)
    main = page.locator("#main")
    expect(main.get_by_role("heading", level=1)).to_have_text("Bad request")
    expect(main).to_contain_text("Your form expired")
    expect(page.locator("#login-form")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    if ui.js:
        # An htmx request for a small target that 404s takes over the main area instead.
        ui.goto("/register")
        with ui.expecting_status(404), page.expect_response(re.compile(r"/gone$")) as info:
            page.evaluate(
                """() => htmx.ajax("GET", "/gone", {target: "#password-strength", swap: "outerHTML"})"""
            )
        assert info.value.status == 404
        ui.wait_for_swap()
        expect(main.get_by_role("heading", level=1)).to_have_text("Page not found")
        expect(page.locator("#register-form")).to_have_count(0)
        ui.expect_path("/register")
        ui.check()


# -- password reset ----------------------------------------------------------------------


def test_reset_password(
    ui: Ui, new_ui: Callable[[], Ui], make_account: Callable[..., Account], mailbox: FakeSMTPServer
) -> None:
    account = make_account(username="lena", email="lena@example.com", display_name="Lena")
    other_device = new_ui()
    other_device.log_in(account.username, account.password)
    page = ui.page

    ui.goto("/login")
    ui.click_to_page(page.get_by_role("link", name="Forgot your password?"), to="/password/forgot")
    field(ui, "Email").fill("lena@example.com")
    ui.submit_and_follow(page.get_by_role("button", name="Send the link"), to="/register/check-inbox?reset=1")
    expect(page.locator("#main")).to_contain_text("If an account has that address")

    follow_mailed_link(ui, mailbox, "lena@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    fill_new_password(ui, "New password", "password")
    field(ui, "Repeat new password").fill("password")
    submit = page.get_by_role("button", name="Set new password")
    ui.submit(submit, status=422)
    expect_field_error(ui, "password", re.compile(r"\S"))
    fill_new_password(ui, "New password", NEWER_PASSWORD)
    field(ui, "Repeat new password").fill(NEWER_PASSWORD)
    ui.submit_and_follow(submit, to="/login")
    expect_flash(ui, "Your password is changed")

    expect_logged_out(other_device)  # every session of the account has ended
    ui.log_in("lena", NEWER_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Lena")


# -- OAuth (last: it talks to the fake provider) --------------------------------------------------


def test_oauth_sign_in(ui: Ui, live_server: LiveServer, app: Flask) -> None:
    provider = live_server.oidc
    provider.auto = None  # show the consent page
    provider.identity = {
        "sub": "e2e-sub-1",
        "email": "sam.okafor@example.com",
        "email_verified": True,
        "name": "Sam Okafor",
    }
    page = ui.page

    def start_at_provider() -> None:
        ui.goto("/login")
        # A plain link: the browser goes to the provider's consent page (checked too).
        ui.click_to_page(page.get_by_role("link", name="Test ID"))
        assert page.url.startswith(provider.url + "/authorize?"), page.url
        expect(page.get_by_role("button", name="Allow")).to_be_visible()

    # Deny: back on the login page, told so.
    start_at_provider()
    ui.click_to_page(page.get_by_role("button", name="Deny"), to="/login")
    expect_flash(ui, "Test ID sign-in was cancelled.")
    assert user_row(app, email="sam.okafor@example.com") is None

    # Allow: a new account, logged in on the home page.
    start_at_provider()
    ui.click_to_page(page.get_by_role("button", name="Allow"), to="/")
    expect_flash(ui, re.compile(r"Welcome to Marquee, Sam Okafor! Your username is \S+\."))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Sam Okafor")
    assert user_row(app, email="sam.okafor@example.com") is not None

    # And again later: the same account.
    ui.log_out()
    start_at_provider()
    ui.click_to_page(page.get_by_role("button", name="Allow"), to="/")
    expect_flash(ui, "Welcome back, Sam Okafor.")
