"""Sample weeks for the weeks tests."""

from __future__ import annotations

from webapp.accounts.models import User
from webapp.catalog import services as catalog
from webapp.catalog.models import Credit, Person, Title
from webapp.db import db
from webapp.weeks import services
from webapp.weeks.iso import IsoWeek


def make_title(kind: str, name: str, *, year: int = 1999, genre: str | None = None, person: str | None = None) -> Title:
    title = catalog.create_manual_title(catalog.TitleData(
        kind=kind, title=name, year=year, runtime_minutes=None, overview="", genre_ids=[],
        artist_credit=person if kind == "album" else None,
    ))
    if genre:
        title.genres = catalog.genres_by_names([genre])
    if person:
        who = Person(name=person)
        db.session.add(who)
        db.session.flush()
        db.session.add(Credit(title_id=title.id, person_id=who.id, role="artist" if kind == "album" else "director"))
    db.session.flush()
    return title


def sample_titles() -> dict[str, Title]:
    return {
        "alien": make_title("movie", "Alien", year=1979, genre="Horror", person="Ridley Scott"),
        "heat": make_title("movie", "Heat", year=1995, genre="Crime", person="Michael Mann"),
        "ponyo": make_title("movie", "Ponyo", year=2008, genre="Animation", person="Hayao Miyazaki"),
        "kid_a": make_title("album", "Kid A", year=2000, genre="Rock", person="Radiohead"),
        "blue": make_title("album", "Blue", year=1971, genre="Folk", person="Joni Mitchell"),
        "show": make_title("tv", "A Show", year=2010),
    }


def fill_years(user: User, titles: dict[str, Title], *, years: tuple[int, ...] = (2024, 2025, 2026),
               weeks: int = 52) -> int:
    """Two films and two albums in every week of the given years; returns the week count."""
    films = [titles["alien"], titles["heat"], titles["ponyo"]]
    albums = [titles["kid_a"], titles["blue"]]
    count = 0
    for year in years:
        for number in range(1, weeks + 1):
            when = IsoWeek(year, number)
            services.add_pick(user, when, "film", films[number % 3])
            services.add_pick(user, when, "film", films[(number + 1) % 3])
            services.add_pick(user, when, "album", albums[number % 2])
            services.add_pick(user, when, "album", albums[(number + 1) % 2])
            if number % 5 == 0:
                services.save_notes(user, when, f"Notes for {when.code}")
            count += 1
    db.session.commit()
    return count
