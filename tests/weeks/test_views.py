"""The weeks pages over HTTP: with and without htmx, bad input, privacy, budgets."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import HTMX, count_queries, login
from tests.weeks.helpers import fill_years, sample_titles
from webapp.db import db
from webapp.social import services as social
from webapp.weeks import services
from webapp.weeks.iso import IsoWeek
from webapp.weeks.models import Week, WeekPick

W = IsoWeek(2026, 10)
BASE = "/weeks/2026/10"


@pytest.fixture
def titles(app_ctx):
    found = sample_titles()
    db.session.commit()
    return found


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_current_week_writes_nothing(client, auth, monkeypatch):
    monkeypatch.setattr(services, "today", lambda: __import__("datetime").date(2027, 1, 2))
    with count_queries() as counter:
        response = client.get("/weeks")
    assert response.status_code == 200
    body = text(response)
    assert "Week 53, 2026" in body and "This week" in body and "28 December 2026 – 3 January 2027" in body
    assert not [s for s in counter.statements if not s.lstrip().upper().startswith("SELECT")]
    assert count(Week) == 0
    # Previous and next weeks, across the year boundary.
    assert 'href="/weeks/2026/52"' in body and 'href="/weeks/2027/1"' in body


@pytest.mark.parametrize(
    "path,message",
    [
        ("/weeks/2026/54", "2026 has weeks 1 to 53: there is no week 54."),
        ("/weeks/2025/53", "2025 has weeks 1 to 52: there is no week 53."),
        ("/weeks/2026/0", "there is no week 0"),
        ("/weeks/0/1", "Weeks are kept for the years 1900 to 2200."),
        ("/weeks/2026/ten", "Weeks are numbered 1 to 53."),
        ("/weeks/2026/-3", "Weeks are numbered 1 to 53."),
        ("/weeks/2026/54/film/choose", "there is no week 54"),
        ("/u/{username}/weeks/2026/54", "there is no week 54"),
        ("/u/{username}/weeks?year=0", "Weeks are kept for the years"),
        ("/u/{username}/weeks/stats?year=abc", "Weeks are kept for the years"),
        ("/weeks/2026/10/show/choose", "Weeks have film and album slots only."),
    ],
)
def test_impossible_weeks_are_a_clear_404(client, auth, path, message):
    response = client.get(path.format(username=auth.user.username))
    assert response.status_code == 404
    assert message in text(response)


@pytest.mark.parametrize("path", [f"{BASE}/film", f"{BASE}/notes", "/weeks/2026/54/film", "/weeks/2026/0/notes",
                                  "/weeks/0/1/film/1/remove", f"{BASE}/show/swap", f"{BASE}/show/manual"])
def test_writes_to_impossible_weeks_are_404_and_write_nothing(client, auth, titles, path):
    ok = path in (f"{BASE}/film", f"{BASE}/notes")
    data = {"ref": f"title:{titles['alien'].id}", "notes": "x", "title": "X"}
    response = client.post(path, data=data)
    assert response.status_code == (303 if ok else 404)
    if not ok:
        assert count(Week) == 0


def test_fill_a_week_through_the_pages(client, auth, titles):
    # The slot page searches the local catalog (no provider keys in tests).
    page = client.get(f"{BASE}/film/choose?q=alien")
    assert page.status_code == 200 and "Alien" in text(page)
    assert "Kid A" not in text(client.get(f"{BASE}/film/choose?q=kid")), "albums are not offered for film slots"
    assert f'value="title:{titles["alien"].id}"' in text(page)
    response = client.post(f"{BASE}/film", data={"ref": f"title:{titles['alien'].id}", "q": "alien"})
    assert response.status_code == 303 and response.headers["Location"] == BASE
    client.post(f"{BASE}/film", data={"ref": f"title:{titles['heat'].id}"})
    client.post(f"{BASE}/album", data={"ref": f"title:{titles['kid_a'].id}", "position": "2"})
    week = text(client.get(BASE))
    assert week.index("Alien") < week.index("Heat") < week.index("Kid A")
    assert "Film 1 is “Heat”" not in week and "Film 2 is “Heat”." in week  # the flash
    assert "Choose an album<span class=\"visually-hidden\"> for slot 1" in week


def test_a_third_film_is_refused_beside_the_results(client, auth, titles):
    for key in ("alien", "heat"):
        services.add_pick(auth.user, W, "film", titles[key])
    db.session.commit()
    for headers in ({}, HTMX):
        response = client.post(f"{BASE}/film", data={"ref": f"title:{titles['ponyo'].id}", "q": "ponyo"}, headers=headers)
        assert response.status_code == 422
        body = text(response)
        assert "This week already has two films: replace or remove one to pick “Ponyo”." in body
        assert 'id="ref-error"' in body
        assert ("<html" in body) is (not headers)  # htmx gets the results fragment only
        assert "Ponyo" in body  # the search is shown again
    assert count(WeekPick) == 2


def test_an_album_in_a_film_slot_is_refused(client, auth, titles):
    response = client.post(f"{BASE}/film", data={"ref": f"title:{titles['kid_a'].id}"})
    assert response.status_code == 422
    assert "“Kid A” is an album: this slot takes a film." in text(response)
    assert count(Week) == 0, "nothing half-written: not even the week"


@pytest.mark.parametrize("data", [{}, {"ref": "title:999999"}, {"ref": "nonsense"}, {"ref": "title:1", "position": "3"},
                                  {"ref": "title:1", "position": "x"}])
def test_bad_pick_forms_are_422(client, auth, titles, data):
    response = client.post(f"{BASE}/film", data=data)
    assert response.status_code == 422
    assert count(Week) == 0


def test_manual_pick(client, auth):
    response = client.post(f"{BASE}/album/manual", data={"title": "Basement Tapes", "year": "2019", "artist": "Us",
                                                           "position": "2"})
    assert response.status_code == 303
    assert "Basement Tapes" in text(client.get(BASE))
    bad = client.post(f"{BASE}/album/manual", data={"title": "", "year": "1500"}, headers=HTMX)
    assert bad.status_code == 422
    body = text(bad)
    assert body.lstrip().startswith('<form id="manual-form"')
    assert "Give the title." in body and "Enter a year between 1870 and 2200." in body


def test_remove_and_swap_with_and_without_htmx(client, auth, titles):
    for key in ("alien", "heat"):
        services.add_pick(auth.user, W, "film", titles[key])
    db.session.commit()
    swapped = client.post(f"{BASE}/film/swap", headers=HTMX)
    assert swapped.status_code == 200
    body = text(swapped)
    assert body.startswith('<div id="week-slots"') or body.lstrip().startswith('<div id="week-slots"')
    assert body.index("Heat") < body.index("Alien")
    assert "Your films changed places." in body and 'hx-target="#flashes"' in body
    removed = client.post(f"{BASE}/film/1/remove")
    assert removed.status_code == 303
    assert "Film 1 removed." in text(client.get(BASE))
    again = client.post(f"{BASE}/film/1/remove")
    assert again.status_code == 303
    assert "That slot was already empty." in text(client.get(BASE))


def test_notes(client, auth):
    saved = client.post(f"{BASE}/notes", data={"notes": "Snowed in."}, headers=HTMX)
    assert saved.status_code == 200 and "Snowed in." in text(saved) and "Notes saved." in text(saved)
    too_long = client.post(f"{BASE}/notes", data={"notes": "x" * 2001})
    assert too_long.status_code == 422
    body = text(too_long)
    assert "Keep notes to 2000 characters." in body and 'aria-invalid="true"' in body and "<html" in body
    assert db.session.scalar(select(Week.notes)) == "Snowed in."


def test_others_weeks_respect_privacy(client, make_user, titles):
    private = make_user(username="quiet", is_private=True)
    friend, stranger = make_user(), make_user()
    services.add_pick(private, W, "film", titles["alien"])
    services.save_notes(private, W, "Secret thoughts")
    social.send_request(friend, private)
    social.send_request(private, friend)
    db.session.commit()
    # What each page shows only to those allowed: the film, its director, the section.
    pages = {"/u/quiet/weeks?year=2026": "Alien", "/u/quiet/weeks/2026/10": "Secret thoughts",
             "/u/quiet/weeks/stats": "Ridley Scott", "/u/quiet": "Weekly picks"}
    for viewer in (None, stranger, friend, private):
        if viewer:
            login(client, viewer)
        for path, secret in pages.items():
            response = client.get(path)
            assert response.status_code == 200, path
            body = text(response)
            if viewer in (friend, private):
                assert secret in body and "This profile is private" not in body, (path, viewer)
            else:
                assert secret not in body and "Alien" not in body, (path, viewer)
                assert "This profile is private" in body, path
    assert client.get("/u/nobody/weeks").status_code == 404


def test_week_list_by_year_with_pages(client, auth, titles):
    fill_years(auth.user, titles, years=(2025, 2026), weeks=20)
    response = client.get(f"/u/{auth.user.username}/weeks")
    body = text(response)
    assert "20 weeks in 2026." in body and "Page 1 of 2" in body
    assert re.search(r'href="/u/\w+/weeks\?year=2025"', body)
    page2 = client.get(f"/u/{auth.user.username}/weeks?year=2025&page=2", headers=HTMX)
    assert text(page2).lstrip().startswith('<div id="week-list">')
    assert "Week 7, 2025" in text(page2) and "Week 8, 2025" not in text(page2)


def test_stats_page_draws_charts_with_text(client, auth, titles):
    fill_years(auth.user, titles, years=(2026,), weeks=6)
    body = text(client.get(f"/u/{auth.user.username}/weeks/stats?year=2026"))
    assert "24 picks over 6 weeks: 12 films and 12 albums." in body
    for chart in ("chart-months", "chart-kinds", "chart-genres", "chart-decades", "chart-directors", "chart-artists"):
        assert f'id="{chart}"' in body
    assert body.count('role="img"') == 6 and "<desc" in body and "as a table" in body
    assert "Radiohead: 6" in body


@pytest.mark.parametrize("path,budget", [
    ("/weeks/2026/10", 4),
    ("/weeks", 4),
    ("/u/{username}/weeks?year=2025", 7),
    ("/u/{username}/weeks/stats", 8),
    ("/u/{username}/weeks/stats?year=2024", 8),
    ("/u/{username}/weeks/2025/7", 6),
    ("/u/{username}", 6),
])
def test_budgets_with_three_years_of_weeks(client, auth, titles, query_budget, path, budget):
    fill_years(auth.user, titles)
    with query_budget(budget):
        response = client.get(path.format(username=auth.user.username))
    assert response.status_code == 200
