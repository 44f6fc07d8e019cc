"""Every response to a signed-in visitor says `Cache-Control: private, no-store`
(webapp.security), pages from the page cache included, so that neither a shared cache
nor the back button after logout shows it. Anonymous pages keep their headers."""

from __future__ import annotations

import re

import pytest

from tests.accounts.test_page_cache import renders
from tests.conftest import HTMX, login

PRIVATE = "private, no-store"


@pytest.fixture
def ann_browser(csrf_app, make_user):  # type: ignore[no-untyped-def]
    """A signed-in browser on an app with CSRF on, as in production (the page cache works)."""
    ann = make_user(username="ann", email="ann@example.com")
    browser = csrf_app.test_client()
    login(browser, ann)
    return browser


@pytest.mark.parametrize("path", ["/", "/settings", "/u/ann", "/friends", "/catalog", "/titles/999999"])
def test_signed_in_pages_are_private_and_not_stored(ann_browser, path):
    response = ann_browser.get(path)
    assert response.status_code in (200, 404)
    assert response.headers["Cache-Control"] == PRIVATE


def test_fragments_and_redirects_to_a_signed_in_visitor_are_private(ann_browser):
    assert ann_browser.get("/u/ann", headers=HTMX).headers["Cache-Control"] == PRIVATE
    assert ann_browser.get("/login").status_code == 303  # sent on, being signed in
    assert ann_browser.get("/login").headers["Cache-Control"] == PRIVATE


def test_static_files_keep_their_caching(csrf_app, ann_browser):
    with csrf_app.test_client().get("/static/css/app.css") as anonymous:
        expected = anonymous.headers.get("Cache-Control")
    with ann_browser.get("/static/css/app.css") as signed_in:
        assert signed_in.status_code == 200
        assert signed_in.headers.get("Cache-Control") == expected
        assert "no-store" not in (expected or "")


def test_a_page_served_from_the_page_cache_is_private(csrf_app, ann_browser):
    ann_browser.get("/u/ann")
    with renders(csrf_app) as rendered:
        response = ann_browser.get("/u/ann")
    assert rendered == []  # it came from the cache
    assert response.headers["Cache-Control"] == PRIVATE


def test_anonymous_pages_are_unchanged(csrf_app, make_user):
    make_user(username="ann")
    visitor = csrf_app.test_client()
    for path in ["/", "/login", "/login", "/register", "/u/ann", "/catalog"]:  # /login twice: from the cache
        response = visitor.get(path)
        assert response.status_code == 200
        assert "Cache-Control" not in response.headers, path
    assert visitor.get("/health").headers["Cache-Control"] == "no-store"


def test_after_logout_the_page_left_behind_was_not_stored(csrf_app, ann_browser):
    page = ann_browser.get("/settings")
    assert "ann@example.com" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == PRIVATE  # no shared cache kept it, no back button shows it
    form_token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert ann_browser.post("/logout", data={"csrf_token": form_token}).status_code == 303
    again = ann_browser.get("/settings")
    assert again.status_code == 302 and "ann@example.com" not in again.get_data(as_text=True)
    assert "Cache-Control" not in ann_browser.get("/login").headers  # signed out: anonymous headers
