"""Weekly picks in a real browser, with JavaScript on (htmx) and off.

A new user fills this week with two films and two albums from the bundled demo catalog
(search finds them with no provider keys), reorders and removes, writes notes, fills
last week, reads the stats charts, downloads the export and imports it again. Every
page and swap is checked by axe-core and for overflow at 360px (see conftest.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from tests.e2e.conftest import Account, Ui, expect
from tests.e2e.test_social_journeys import expect_flash, log_in_at
from webapp.weeks.iso import IsoWeek

pytestmark = pytest.mark.e2e




def slot(ui: Ui, kind: str, position: int):  # type: ignore[no-untyped-def]
    return ui.page.locator(f"#slot-{kind}-{position}")


def pick(ui: Ui, week: IsoWeek, kind: str, position: int, query: str, name: str) -> None:
    """From the week page: open the slot, search, pick; back on the week with a flash."""
    page = ui.page
    choose = "Choose a film" if kind == "film" else "Choose an album"
    ui.click_to_page(slot(ui, kind, position).get_by_role("link", name=re.compile(f"^{choose}")),
                     to=f"/weeks/{week.year}/{week.week}/{kind}/choose?position={position}")
    box = page.get_by_role("searchbox", name=re.compile(r"^Search (films|albums)$"))
    box.fill(query)
    results = page.locator("#choose-results")
    if ui.js:  # htmx swaps the results in; the URL follows
        ui.page.evaluate("() => { window.__e2eSamePage = true; }")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(results).to_contain_text(f"matching “{query}”")
        ui.wait_for_swap()
        assert ui.page.evaluate("() => window.__e2eSamePage === true")
        ui.check()
    else:
        ui.click_to_page(page.get_by_role("button", name="Search", exact=True))
    ui.submit_and_follow(results.get_by_role("button", name=name, exact=True), to=f"/weeks/{week.year}/{week.week}")
    expect_flash(ui, f"{'Film' if kind == 'film' else 'Album'} {position} is “")


@pytest.mark.usefixtures("demo_catalog")
def test_fill_two_weeks_see_stats_export_and_import(
    new_ui: Callable[[], Ui], make_account: Callable[..., Account], tmp_path
) -> None:
    from webapp.weeks.services import this_week

    account = make_account(username="wren", display_name="Wren Okafor")
    ui = new_ui()
    page = ui.page
    now = this_week()
    log_in_at(ui, account, "/weeks")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{now.label} This week")

    # This week: two films and two albums.
    pick(ui, now, "film", 1, "alien", "Pick Alien (1979)")
    pick(ui, now, "film", 2, "heat", "Pick Heat (1995)")
    pick(ui, now, "album", 1, "kid a", "Pick Kid A (2000)")
    pick(ui, now, "album", 2, "rumours", "Pick Rumours (1977)")
    expect(page.locator("#week-slots .slot-title")).to_have_text(["Alien", "Heat", "Kid A", "Rumours"])

    # Reorder the films: htmx swaps the slots in place; without JavaScript the page reloads.
    button = slot(ui, "film", 1).get_by_role("button", name="Move to film 2 Alien")
    if ui.js:
        ui.submit(button, status=200)
    else:
        ui.click_to_page(button, to=f"/weeks/{now.year}/{now.week}")
    expect_flash(ui, "Your films changed places.")
    expect(page.locator("#week-slots .slot-title")).to_have_text(["Heat", "Alien", "Kid A", "Rumours"])

    # Notes, saved in place with htmx.
    notes = page.get_by_label("Notes for the week")
    notes.fill("Heat at the Rialto, Kid A on the walk home.")
    save = page.get_by_role("button", name="Save notes")
    if ui.js:
        ui.submit(save, status=200)
    else:
        ui.click_to_page(save, to=f"/weeks/{now.year}/{now.week}")
    expect_flash(ui, "Notes saved.")
    expect(page.get_by_label("Notes for the week")).to_have_value("Heat at the Rialto, Kid A on the walk home.")

    # Last week: a film and an album.
    last = now.previous
    assert last is not None
    ui.click_to_page(page.get_by_role("navigation", name="Other weeks").get_by_role("link", name=f"← {last.label}"),
                     to=f"/weeks/{last.year}/{last.week}")
    expect(page.get_by_role("heading", level=1)).to_have_text(last.label)
    pick(ui, last, "film", 1, "arrival", "Pick Arrival (2016)")
    pick(ui, last, "album", 1, "ok computer", "Pick OK Computer (1997)")

    # Stats: the charts, drawn on the server, with their text.
    ui.click_to_page(page.get_by_role("link", name="My stats"), to="/u/wren/weeks/stats")
    expect(page.locator(".stats-summary")).to_have_text("6 picks over 2 weeks: 3 films and 3 albums.")
    for name in ("Picks per month", "Films and albums", "Top genres", "Release decades", "Top directors", "Top artists"):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    expect(page.locator("#chart-directors desc")).to_contain_text("Denis Villeneuve: 1")
    page.locator("#chart-artists summary").click()
    expect(page.locator("#chart-artists table")).to_contain_text("Radiohead")
    ui.check()

    # The weeks list shows both weeks with their covers' titles.
    ui.click_to_page(page.get_by_role("link", name="Your weeks"), to="/u/wren/weeks")
    expect(page.locator(".week-item-title a")).to_have_text([now.label, last.label] if now.year == last.year
                                                           else [now.label])

    # Export: download the JSON, then import it again (nothing changes, nothing is lost).
    ui.goto("/weeks/data")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download as JSON").click()
    saved = tmp_path / "export.json"
    info.value.save_as(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert [len(w["picks"]) for w in data["weeks"]] == [2, 4]
    page.get_by_label("Export file (JSON)").set_input_files(str(saved))
    ui.submit_and_follow(page.get_by_role("button", name="Import"), to="/u/wren/weeks")
    expect_flash(ui, "Imported 2 weeks and 0 ratings.")

    # A file that is not an export comes back with the error beside the field.
    ui.goto("/weeks/data")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    page.get_by_label("Export file (JSON)").set_input_files(str(broken))
    with page.expect_navigation():
        page.get_by_role("button", name="Import").click()
    expect(page.locator("#file-error")).to_have_text("This is not a Marquee export: the file is not JSON.")
    ui.check()
