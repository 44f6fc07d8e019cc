"""The weeks rules, called directly: slots, limits, reorder, notes, club view, stats."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import count_queries
from tests.weeks.helpers import fill_years, sample_titles
from webapp.db import db
from webapp.errors import Invalid, NotFound
from webapp.weeks import services, stats
from webapp.weeks.iso import IsoWeek
from webapp.weeks.models import Week, WeekPick

W = IsoWeek(2026, 10)


@pytest.fixture
def titles(app_ctx):
    found = sample_titles()
    db.session.commit()
    return found


def slots(user, when=W):
    view = services.load_week(user.id, when)
    return {kind: [p.title.title if p else None for p in view.slots[kind]] for kind in view.slots}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_first_pick_creates_the_week_and_fills_slot_1(make_user, titles):
    user = make_user()
    assert services.load_week(user.id, W).week is None
    outcome = services.add_pick(user, W, "film", titles["alien"])
    assert (outcome.status, outcome.position) == ("added", 1)
    services.add_pick(user, W, "album", titles["kid_a"])
    services.add_pick(user, W, "film", titles["heat"])
    assert slots(user) == {"film": ["Alien", "Heat"], "album": ["Kid A", None]}
    assert count(Week) == 1


def test_a_third_film_is_refused_and_nothing_changes(make_user, titles):
    user = make_user()
    services.add_pick(user, W, "film", titles["alien"])
    services.add_pick(user, W, "film", titles["heat"])
    db.session.commit()
    with pytest.raises(Invalid, match="already has two films: replace or remove one"):
        services.add_pick(user, W, "film", titles["ponyo"])
    db.session.rollback()
    assert slots(user)["film"] == ["Alien", "Heat"]


def test_the_database_itself_refuses_a_third_slot(make_user, titles):
    user = make_user()
    services.add_pick(user, W, "film", titles["alien"])
    week_id = db.session.scalar(select(Week.id))
    db.session.commit()
    for position in (1, 3, 0):  # taken, and outside 1-2
        with pytest.raises(IntegrityError):
            with db.session.begin_nested():
                db.session.add(WeekPick(week_id=week_id, kind="film", position=position, title_id=titles["heat"].id))
                db.session.flush()
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(WeekPick(week_id=week_id, kind="show", position=2, title_id=titles["heat"].id))
            db.session.flush()


@pytest.mark.parametrize("kind,title,message", [
    ("film", "kid_a", "“Kid A” is an album: this slot takes a film."),
    ("album", "alien", "“Alien” is a film: this slot takes an album."),
    ("film", "show", "“A Show” is a show: this slot takes a film."),
])
def test_a_title_of_the_wrong_kind_is_refused(make_user, titles, kind, title, message):
    with pytest.raises(Invalid) as error:
        services.add_pick(make_user(), W, kind, titles[title])
    assert error.value.message == message and error.value.field == "ref"


def test_the_same_title_twice_in_a_week_is_refused(make_user, titles):
    user = make_user()
    services.add_pick(user, W, "film", titles["alien"])
    with pytest.raises(Invalid, match="already film 1 of this week"):
        services.add_pick(user, W, "film", titles["alien"])


def test_replace_a_slot_by_position(make_user, titles):
    user = make_user()
    services.add_pick(user, W, "film", titles["alien"])
    services.add_pick(user, W, "film", titles["heat"])
    outcome = services.add_pick(user, W, "film", titles["ponyo"], position=1)
    assert (outcome.status, outcome.position) == ("replaced", 1)
    assert slots(user)["film"] == ["Ponyo", "Heat"]
    # Filling an empty slot by position, and re-picking what is already there.
    assert services.add_pick(user, W, "album", titles["blue"], position=2).status == "added"
    assert services.add_pick(user, W, "album", titles["blue"], position=2).status == "replaced"
    assert slots(user)["album"] == [None, "Blue"]
    with pytest.raises(Invalid):
        services.add_pick(user, W, "album", titles["kid_a"], position=3)


def test_remove_and_swap(make_user, titles):
    user = make_user()
    services.add_pick(user, W, "film", titles["alien"])
    services.add_pick(user, W, "film", titles["heat"])
    assert services.swap_picks(user, W, "film")
    assert slots(user)["film"] == ["Heat", "Alien"]
    assert services.remove_pick(user, W, "film", 1)
    assert not services.remove_pick(user, W, "film", 1)  # already empty: no harm
    assert slots(user)["film"] == [None, "Alien"]
    assert services.swap_picks(user, W, "film")  # a lone pick moves to the other slot
    assert slots(user)["film"] == ["Alien", None]
    assert not services.swap_picks(user, W, "album")


def test_a_week_left_with_nothing_is_removed(make_user, titles):
    user = make_user()
    services.add_pick(user, W, "film", titles["alien"])
    services.save_notes(user, W, "Rainy.")
    services.remove_pick(user, W, "film", 1)
    assert count(Week) == 1  # the notes keep it
    services.save_notes(user, W, "   ")
    assert count(Week) == 0
    services.save_notes(user, W, "")  # clearing notes of no week writes nothing
    assert count(Week) == 0


def test_notes_are_limited(make_user):
    with pytest.raises(Invalid, match="2000 characters"):
        services.save_notes(make_user(), W, "x" * 2001)


def test_someone_elses_week_is_never_touched(make_user, titles):
    owner, other = make_user(), make_user()
    services.add_pick(owner, W, "film", titles["alien"])
    db.session.commit()
    assert not services.remove_pick(other, W, "film", 1)
    assert not services.swap_picks(other, W, "film")
    assert slots(owner)["film"] == ["Alien", None]


def test_unknown_kinds_are_not_found(make_user, titles):
    with pytest.raises(NotFound):
        services.add_pick(make_user(), W, "show", titles["show"])


def test_resolve_ref(titles):
    assert services.resolve_ref(f"title:{titles['alien'].id}") == titles["alien"]
    for bad in ("", "title:", "title:999999", "title:x", "tmdb:movie:x", "tmdb:person:1", "musicbrainz:nope",
                "other:1", "title:" + "9" * 400):
        with pytest.raises(Invalid):
            services.resolve_ref(bad)


def test_manual_titles_are_reused(make_user, titles):
    me, other = make_user(), make_user()
    made = services.manual_title("album", name="  Home   Tapes ", year=2020, artist="Us", added_by=me)
    assert (made.kind, made.title, made.artist_credit, made.source) == ("album", "Home Tapes", "Us", "manual")
    assert not made.is_published and made.added_by_id == me.id
    assert services.manual_title("album", name="home tapes", year=2020, artist=None, added_by=me).id == made.id
    assert services.manual_title("film", name="Alien", year=1979, artist=None, added_by=other).id == titles["alien"].id
    # Another person typing the same name gets a title of their own: the first is not theirs to see.
    assert services.manual_title("album", name="home tapes", year=2020, artist=None, added_by=other).id != made.id


def test_club_week_in_two_queries(make_user, titles):
    members = [make_user() for _ in range(6)]
    for i, member in enumerate(members[:4]):
        services.add_pick(member, W, "film", titles["alien" if i % 2 else "heat"])
        services.add_pick(member, W, "album", titles["blue"])
    services.save_notes(members[4], W, "Nothing this week.")
    services.add_pick(members[0], W.next, "film", titles["ponyo"])  # another week: not shown
    db.session.commit()
    ids = [m.id for m in members]
    order = list(reversed(ids))
    db.session.expunge_all()
    with count_queries() as counter:
        club = services.club_week(order, W.year, W.week)
        html = [m.user.display_name for m in club.members] + [p.title.title for m in club.members for p in m.picks]
    assert counter.count == 2, counter.statements
    assert [m.user.id for m in club.members] == order
    assert len(html) == 6 + 8
    by_id = {m.user.id: m for m in club.members}
    assert [p.title.title for p in by_id[ids[0]].picks] == ["Heat", "Blue"]
    assert by_id[ids[4]].picks == [] and by_id[ids[4]].notes == "Nothing this week."
    assert by_id[ids[5]].picks == []
    assert services.club_week([], 2026, 10).members == []


def test_club_week_partial_renders(app, make_user, titles):
    from flask import render_template

    member = make_user(display_name="Ines Park")
    services.add_pick(member, W, "film", titles["alien"])
    db.session.commit()
    with app.test_request_context():
        html = render_template("weeks/_club_week.html", club=services.club_week([member.id], 2026, 10))
    assert "Picks for Week 10, 2026" in html and "Ines Park" in html and "Alien" in html


def test_stats_counts_and_groups(make_user, titles):
    user = make_user()
    fill_years(user, titles, years=(2025, 2026), weeks=4)
    overall = stats.compute(user)
    assert (overall.weeks, overall.films, overall.albums) == (8, 16, 16)
    assert [b.label for b in overall.per_year] == ["2025", "2026"]
    assert sum(b.value for b in overall.months) == 32
    assert {b.label for b in overall.directors} == {"Ridley Scott", "Michael Mann", "Hayao Miyazaki"}
    assert {b.label: b.value for b in overall.artists} == {"Radiohead": 8, "Joni Mitchell": 8}
    assert {b.label for b in overall.decades} == {"1970s", "1990s", "2000s"}
    assert overall.genres[0].value >= overall.genres[-1].value
    only_2025 = stats.compute(user, 2025)
    assert only_2025.picks == 16 and only_2025.months[0].value == 16  # January
    assert stats.compute(user, 2024).picks == 0
