"""Catalog journeys in a real browser, with JavaScript on (htmx) and off.

The bundled demo catalog is loaded, then an anonymous visitor searches, opens a title
and a person, and browses the catalog with filters and pages. Every page and swap is
checked by axe-core and for overflow at 360px (see conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.conftest import Ui, expect

pytestmark = pytest.mark.e2e




def live_update(ui: Ui, path: str, change: Callable[[], None]) -> None:
    """With JavaScript: `change` (typing, picking) makes htmx fetch `path`'s results and
    swap them in; the page stays, its URL follows (hx-push-url)."""
    ui.page.evaluate("() => { window.__e2eSamePage = true; }")
    with ui.page.expect_response(lambda r: urlsplit(r.url).path == path and r.request.method == "GET"):
        change()
    ui.wait_for_swap()
    assert ui.page.evaluate("() => window.__e2eSamePage === true"), "a live update reloaded the page"
    ui.check()


def query(ui: Ui) -> dict[str, list[str]]:
    return parse_qs(urlsplit(ui.page.url).query)


def card_names(results: Any) -> Any:
    return results.locator(".title-card-name")


@pytest.mark.usefixtures("demo_catalog")
def test_search_title_and_browse(ui: Ui) -> None:
    page = ui.page

    # Search: live while typing with htmx, the URL kept in step; a plain GET form without.
    ui.goto("/search")
    box = page.get_by_role("searchbox", name="Search films, shows and albums")
    results = page.locator("#title-results")
    if ui.js:
        live_update(ui, "/search", lambda: box.press_sequentially("alien", delay=20))
    else:
        box.fill("alien")
        ui.click_to_page(page.get_by_role("button", name="Search"))
    ui.expect_path("/search?q=alien&type=all")
    expect(results).to_contain_text("“alien”")
    expect(card_names(results)).to_have_text(["Alien", "Aliens"])  # the exact title first

    # The title page: year, kind, runtime, genres, director.
    ui.click_to_page(results.get_by_role("link", name=re.compile(r"^Alien Film\b")), to=re.compile(r"/titles/\d+"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Alien (1979)")
    expect(page.locator(".facts")).to_contain_text("Film")
    expect(page.locator(".facts")).to_contain_text("1 h 57 min")
    expect(page.locator(".genres").get_by_role("link")).to_have_text(["Horror", "Science Fiction"])
    expect(page.locator(".title-body")).to_contain_text("Directed by Ridley Scott")

    if ui.js:  # back to the results the pushed URL stands for
        page.go_back()
        page.wait_for_load_state("load")
        ui.expect_path("/search?q=alien&type=all")
        expect(card_names(results)).to_have_text(["Alien", "Aliens"])
        page.go_forward()
        page.wait_for_load_state("load")
        expect(page.get_by_role("heading", level=1)).to_have_text("Alien (1979)")

    # The director's page lists their films.
    ui.click_to_page(page.get_by_role("link", name="Ridley Scott"), to=re.compile(r"/person/\d+"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ridley Scott")
    credits = page.locator(".credit-list")
    for film in ("Alien", "Blade Runner", "Gladiator", "The Martian", "Thelma & Louise"):
        expect(credits.get_by_role("link", name=film, exact=True)).to_be_visible()

    # Browse: filter by genre, newest first, then page on.
    ui.click_to_page(page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog"), to="/catalog")
    browse = page.locator("#browse-results")
    expect(browse).to_contain_text("750 titles.")
    genre = page.get_by_label("Genre", exact=True)
    order = page.get_by_label("Order by", exact=True)
    if ui.js:  # every select updates the results as it changes
        live_update(ui, "/catalog", lambda: genre.select_option(label="Horror"))
        expect(browse).to_contain_text("43 titles.")
        live_update(ui, "/catalog", lambda: order.select_option(label="Year (newest)"))
    else:
        genre.select_option(label="Horror")
        order.select_option(label="Year (newest)")
        ui.click_to_page(page.get_by_role("button", name="Apply"), to=re.compile(r"/catalog\?.*"))
    assert query(ui).get("genre") == ["horror"] and query(ui).get("order") == ["year"], ui.path()
    expect(browse).to_contain_text("43 titles.")
    expect(browse.locator(".pager")).to_contain_text("Page 1 of 2")
    expect(card_names(browse)).to_have_count(24)
    expect(card_names(browse).first).to_have_text("Godzilla Minus One")

    pager = page.get_by_role("navigation", name="Catalog pages")
    if ui.js:  # the pager swaps the results in place; focus goes to them, not lost with the link
        live_update(ui, "/catalog", lambda: pager.get_by_role("link", name="Next").click())
        expect(browse).to_be_focused()
    else:
        ui.click_to_page(pager.get_by_role("link", name="Next"))
    assert query(ui).get("page") == ["2"] and query(ui).get("genre") == ["horror"], ui.path()
    expect(browse.locator(".pager")).to_contain_text("Page 2 of 2")
    expect(card_names(browse)).to_have_count(19)
    expect(genre).to_have_value("horror")
    expect(order).to_have_value("year")

    if ui.js:  # Back restores the first page (htmx history)
        page.go_back()
        expect(browse.locator(".pager")).to_contain_text("Page 1 of 2")
        assert query(ui).get("page") is None, ui.path()
        expect(card_names(browse).first).to_have_text("Godzilla Minus One")
        ui.wait_for_swap()
        ui.check()
    else:
        ui.click_to_page(pager.get_by_role("link", name="Previous"))
        expect(browse.locator(".pager")).to_contain_text("Page 1 of 2")
