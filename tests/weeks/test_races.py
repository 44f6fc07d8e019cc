"""Simultaneous picks over real HTTP: the database keeps every week to two of a kind."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from tests.live import serve, session_cookie
from tests.social.test_races import simultaneously
from tests.weeks.helpers import make_title
from webapp.db import db
from webapp.weeks import services
from webapp.weeks.iso import IsoWeek
from webapp.weeks.models import Week, WeekPick

W = IsoWeek(2026, 10)


def film_count() -> int:
    db.session.rollback()  # end the test session's read transaction: see the server's commits
    return db.session.scalar(select(func.count()).select_from(WeekPick).where(WeekPick.kind == "film"))


@pytest.mark.parametrize("rounds", [6])
def test_two_simultaneous_third_films_one_is_refused(app, app_ctx, make_user, rounds):
    """Each round: a week with one film, and two requests for a second at the same time.
    Both see one free slot; exactly one gets it, the other is told the week is full."""
    users = [make_user() for _ in range(rounds)]
    first = make_title("movie", "First", year=2001)
    candidates = [(make_title("movie", f"Left {i}", year=2002), make_title("movie", f"Right {i}", year=2003))
                  for i in range(rounds)]
    for user in users:
        services.add_pick(user, W, "film", first)
    db.session.commit()
    with serve(app) as base:
        url = f"{base}/weeks/{W.year}/{W.week}/film"
        calls = []
        for user, (left, right) in zip(users, candidates):
            cookie = session_cookie(app, user)
            for title in (left, right):
                calls.append(lambda c=cookie, t=title.id: requests.post(
                    url, data={"ref": f"title:{t}"}, cookies=c, allow_redirects=False, timeout=30))
        responses = simultaneously(calls)
    for i in range(rounds):
        pair = responses[2 * i: 2 * i + 2]
        assert sorted(r.status_code for r in pair) == [303, 422], [r.status_code for r in pair]
        refused = next(r for r in pair if r.status_code == 422)
        assert "This week already has two films" in refused.text
    assert film_count() == 2 * rounds


def test_simultaneous_first_picks_share_one_week(app, app_ctx, make_user):
    user = make_user()
    films = [make_title("movie", f"Film {i}", year=2000 + i) for i in range(2)]
    albums = [make_title("album", f"Album {i}", year=2000 + i) for i in range(2)]
    db.session.commit()
    cookie = session_cookie(app, user)
    film_ids, album_ids = [t.id for t in films], [t.id for t in albums]
    with serve(app) as base:
        def pick(kind, title_id):  # type: ignore[no-untyped-def]
            url = f"{base}/weeks/{W.year}/{W.week}/{kind}"
            return lambda: requests.post(url, data={"ref": f"title:{title_id}"}, cookies=cookie,
                                         allow_redirects=False, timeout=30).status_code

        statuses = simultaneously([pick("film", t) for t in film_ids] + [pick("album", t) for t in album_ids])
    assert statuses == [303] * 4
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Week)) == 1
    assert db.session.scalar(select(func.count()).select_from(WeekPick)) == 4
