"""What a user picked over time, overall or for one year: picks per month, films
against albums, genres, decades, top directors and artists. A constant number of
grouped queries, whatever the number of weeks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import func, select

from webapp.accounts.models import User
from webapp.catalog.models import Credit, Genre, Person, Title, title_genres
from webapp.db import db
from webapp.weeks.iso import MONTHS, IsoWeek
from webapp.weeks.models import Week, WeekPick

TOP = 10


@dataclass
class Bar:
    label: str
    value: int
    person_id: int | None = None


@dataclass
class Stats:
    year: int | None
    weeks: int = 0
    films: int = 0
    albums: int = 0
    months: list[Bar] = field(default_factory=list)
    genres: list[Bar] = field(default_factory=list)
    decades: list[Bar] = field(default_factory=list)
    directors: list[Bar] = field(default_factory=list)
    artists: list[Bar] = field(default_factory=list)
    per_year: list[Bar] = field(default_factory=list)

    @property
    def picks(self) -> int:
        return self.films + self.albums

    @property
    def kinds(self) -> list[Bar]:
        return [Bar("Films", self.films), Bar("Albums", self.albums)]


@lru_cache(maxsize=4096)
def _month(iso_year: int, iso_week: int) -> int:
    return IsoWeek(iso_year, iso_week).month


def _scope(query, user: User, year: int | None):  # type: ignore[no-untyped-def]
    query = query.where(Week.user_id == user.id)
    return query.where(Week.iso_year == year) if year is not None else query


def _top(rows) -> list[Bar]:  # type: ignore[no-untyped-def]
    return [Bar(name, int(count)) for name, count in rows]


def compute(user: User, year: int | None = None) -> Stats:
    stats = Stats(year)
    # 1. Picks per week and kind, counted by the database: months, kinds, weeks, years.
    rows = db.session.execute(
        _scope(
            select(Week.iso_year, Week.iso_week, WeekPick.kind, func.count())
            .join(WeekPick, WeekPick.week_id == Week.id),
            user,
            year,
        ).group_by(Week.iso_year, Week.iso_week, WeekPick.kind)
    ).all()
    months: Counter[int] = Counter()
    years: Counter[int] = Counter()
    weeks: set[tuple[int, int]] = set()
    for iso_year, iso_week, kind, count in rows:
        weeks.add((iso_year, iso_week))
        months[_month(iso_year, iso_week)] += count
        years[iso_year] += count
        if kind == "film":
            stats.films += count
        else:
            stats.albums += count
    stats.weeks = len(weeks)
    stats.months = [Bar(name, months[i + 1]) for i, name in enumerate(MONTHS)]
    stats.per_year = [Bar(str(y), count) for y, count in sorted(years.items())]
    if not rows:
        return stats

    # 2. Release decades of the picked titles.
    decades: Counter[int] = Counter()
    for title_year, count in db.session.execute(
        _scope(
            select(Title.year, func.count())
            .select_from(Week)
            .join(WeekPick, WeekPick.week_id == Week.id)
            .join(Title, Title.id == WeekPick.title_id)
            .where(Title.year.is_not(None)),
            user,
            year,
        ).group_by(Title.year)
    ):
        decades[title_year // 10 * 10] += count
    stats.decades = [Bar(f"{d}s", count) for d, count in sorted(decades.items())]

    # 3. Genres of the picked titles (a title picked twice counts twice).
    genre_count = func.count().label("n")
    stats.genres = _top(db.session.execute(
        _scope(
            select(Genre.name, genre_count)
            .select_from(Week)
            .join(WeekPick, WeekPick.week_id == Week.id)
            .join(title_genres, title_genres.c.title_id == WeekPick.title_id)
            .join(Genre, Genre.id == title_genres.c.genre_id),
            user,
            year,
        ).group_by(Genre.id, Genre.name).order_by(genre_count.desc(), Genre.name).limit(TOP)
    ))

    # 4. Directors of picked films and artists of picked albums, in one grouped query.
    person_count = func.count().label("n")
    people = db.session.execute(
        _scope(
            select(Credit.role, Person.id, Person.name, person_count)
            .select_from(Week)
            .join(WeekPick, WeekPick.week_id == Week.id)
            .join(Credit, Credit.title_id == WeekPick.title_id)
            .join(Person, Person.id == Credit.person_id)
            .where(Credit.role.in_(("director", "artist"))),
            user,
            year,
        ).group_by(Credit.role, Person.id, Person.name).order_by(person_count.desc(), Person.name)
    ).all()
    for role, person_id, name, count in people:
        target = stats.directors if role == "director" else stats.artists
        if len(target) < TOP:
            target.append(Bar(name, int(count), person_id))
    return stats
