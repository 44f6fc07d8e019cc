"""Signed-in browsers in settings, in a real browser, with JavaScript on and off: two
browser contexts sign in to one account, settings list both, one signs the other out."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import Account, Ui, expect
from tests.e2e.test_accounts_journeys import expect_flash, expect_logged_out

pytestmark = pytest.mark.e2e


def test_sign_another_browser_out_then_everywhere(
    ui: Ui, new_ui: Callable[[], Ui], make_account: Callable[..., Account]
) -> None:
    account = make_account(username="nadia")
    other = new_ui()
    other.log_in(account.username, account.password)
    ui.log_in(account.username, account.password)

    ui.goto("/settings")
    browsers = ui.page.locator("#sessions + ul > li")
    expect(browsers).to_have_count(2)
    expect(browsers.filter(has_text="(this browser)")).to_have_count(1)
    expect(browsers.first).to_contain_text("Chrome on Linux")  # headless Chromium
    this_one = browsers.filter(has_text="(this browser)")
    expect(this_one.get_by_role("button", name="Sign out")).to_have_count(0)

    # Logging out elsewhere is this browser's business only: sign the other one out here.
    ui.submit_and_follow(browsers.get_by_role("button", name="Sign out"), to="/settings")
    expect_flash(ui, "That browser is signed out.")
    expect(ui.page.locator("#sessions + ul > li")).to_have_count(1)
    expect_logged_out(other)
    expect_flash(other, "your session has ended")
    ui.goto("/settings")
    ui.expect_path("/settings")

    # Sign in again elsewhere, then sign out everywhere from here.
    other.log_in(account.username, account.password)
    ui.goto("/settings")
    expect(ui.page.locator("#sessions + ul > li")).to_have_count(2)
    ui.submit_and_follow(ui.page.get_by_role("button", name="Sign out everywhere"), to="/login")
    expect_flash(ui, "You are signed out everywhere")
    expect_logged_out(ui)
    expect_logged_out(other)
