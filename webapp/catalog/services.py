"""Catalog rules: finding, browsing and editing titles. Provider data arrives through
webapp/catalog/sync.py; this module only knows the local catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.catalog.models import KINDS, Credit, Genre, Person, Title, title_genres
from webapp.catalog.visibility import can_see, listed_for
from webapp.db import db, utcnow
from webapp.errors import Invalid, NotFound

ORDERS = {"title": "Title", "year": "Year (newest)", "year_asc": "Year (oldest)"}
KIND_LABELS = {"movie": "Film", "tv": "Show", "album": "Album"}
SEARCH_TYPES = {"all": "All", "movie": "Films", "tv": "Shows", "album": "Albums"}


def sort_key(text: str) -> str:
    return text.strip().lower()


def slugify(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


# Reading ---------------------------------------------------------------------------

def get_title(title_id: int) -> Title:
    title = db.session.scalar(
        select(Title)
        .where(Title.id == title_id)
        .options(
            selectinload(Title.genres),
            selectinload(Title.credits).selectinload(Credit.person),
            selectinload(Title.tracks),
        )
    )
    if title is None:
        raise NotFound()
    return title


def get_visible_title(title_id: int, viewer: User | None) -> Title:
    """The title, if `viewer` may see it (webapp/catalog/visibility.py); NotFound if not."""
    title = get_title(title_id)
    if not can_see(viewer, title):
        raise NotFound()
    return title


def get_person(person_id: int, viewer: User | None = None) -> tuple[Person, list[tuple[Credit, Title]]]:
    """A person and their credits in titles listed for `viewer`; NotFound when every
    title they are credited in is hidden from the viewer."""
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound()
    rows = db.session.execute(
        select(Credit, Title, listed_for(viewer))
        .join(Title, Title.id == Credit.title_id)
        .where(Credit.person_id == person.id)
        .order_by(Title.year.desc().nulls_last(), Title.sort_title)
    ).all()
    shown = [(credit, title) for credit, title, listed in rows if listed]
    if rows and not shown:
        raise NotFound()
    return person, shown


def all_genres() -> list[Genre]:
    return list(db.session.scalars(select(Genre).order_by(Genre.slug)))


@dataclass
class BrowseFilter:
    q: str = ""
    genre: str = ""
    year: int | None = None
    kind: str = ""
    order: str = "title"
    viewer: User | None = None


def _browse_query(f: BrowseFilter) -> Select[tuple[Title]]:
    query = select(Title).options(selectinload(Title.genres)).where(listed_for(f.viewer))
    if f.q.strip():
        query = query.where(Title.sort_title.contains(sort_key(f.q)[:200], autoescape=True))
    if f.kind in KINDS:
        query = query.where(Title.kind == f.kind)
    if f.year:
        query = query.where(Title.year == f.year)
    if f.genre:
        query = query.where(
            Title.id.in_(
                select(title_genres.c.title_id).join(Genre, Genre.id == title_genres.c.genre_id).where(Genre.slug == f.genre)
            )
        )
    if f.order == "year":
        query = query.order_by(Title.year.desc().nulls_last(), Title.sort_title, Title.id)
    elif f.order == "year_asc":
        query = query.order_by(Title.year.asc().nulls_last(), Title.sort_title, Title.id)
    else:
        query = query.order_by(Title.sort_title, Title.year, Title.id)
    return query


def browse(f: BrowseFilter, *, page: int, per_page: int = 24):  # type: ignore[no-untyped-def]
    return db.paginate(_browse_query(f), page=page, per_page=per_page, error_out=False)


def search_local(q: str, *, kind: str = "all", limit: int = 40, viewer: User | None = None) -> list[Title]:
    """Titles listed for `viewer` whose title holds every word of the query: exact
    titles first (leading articles aside), then titles starting with the query, shorter
    titles first."""
    words = sort_key(q).split()[:8]
    if not words:
        return []
    query = select(Title).options(selectinload(Title.genres)).where(listed_for(viewer))
    for word in words:
        query = query.where(Title.sort_title.contains(word[:100], autoescape=True))
    if kind in KINDS:
        query = query.where(Title.kind == kind)
    found = list(db.session.scalars(query.order_by(Title.year.desc().nulls_last(), Title.id).limit(200)))
    phrase = _bare(" ".join(words))
    found.sort(key=lambda t: _rank(_bare(t.sort_title), phrase))
    return found[:limit]


def _rank(title: str, phrase: str) -> tuple[bool, bool, bool, int]:
    """Exact title, then the phrase as whole first words, then as a prefix, shorter first."""
    return (title != phrase, not title.startswith(phrase + " "), not title.startswith(phrase), len(title))


def _bare(title: str) -> str:
    """A title without its leading article, for ranking: "the matrix" ranks as "matrix"."""
    for article in ("the ", "a ", "an "):
        if title.startswith(article):
            return title[len(article):]
    return title


# Admin: genres ---------------------------------------------------------------------

def create_genre(name: str) -> Genre:
    name = name.strip()
    if not name:
        raise Invalid("Give the genre a name.", field="name")
    slug = slugify(name)
    if db.session.scalar(select(Genre.id).where(Genre.slug == slug)) is not None:
        raise Invalid("That genre already exists.", field="name")
    genre = Genre(name=name, slug=slug)
    db.session.add(genre)
    _flush_or_invalid("That genre already exists.", "name")
    return genre


def rename_genre(genre: Genre, name: str) -> Genre:
    name = name.strip()
    slug = slugify(name)
    if not name:
        raise Invalid("Give the genre a name.", field="name")
    if db.session.scalar(select(Genre.id).where(Genre.slug == slug, Genre.id != genre.id)) is not None:
        raise Invalid("That genre already exists.", field="name")
    genre.name, genre.slug = name, slug
    _flush_or_invalid("That genre already exists.", "name")
    return genre


def delete_genre(genre: Genre) -> None:
    db.session.execute(delete(title_genres).where(title_genres.c.genre_id == genre.id))
    db.session.delete(genre)
    db.session.flush()


def get_genre(genre_id: int) -> Genre:
    genre = db.session.get(Genre, genre_id)
    if genre is None:
        raise NotFound()
    return genre


def genres_with_counts() -> list[tuple[Genre, int]]:
    rows = db.session.execute(
        select(Genre, func.count(title_genres.c.title_id))
        .outerjoin(title_genres, title_genres.c.genre_id == Genre.id)
        .group_by(Genre.id)
        .order_by(Genre.slug)
    ).all()
    return [(genre, count) for genre, count in rows]


def genres_by_names(names: list[str]) -> list[Genre]:
    """Find or create genres by name (case-insensitive)."""
    wanted = {slugify(n): n.strip() for n in names if n and n.strip()}
    if not wanted:
        return []
    found = {g.slug: g for g in db.session.scalars(select(Genre).where(Genre.slug.in_(wanted)))}
    for slug, name in wanted.items():
        if slug not in found:
            genre = Genre(name=name[:60], slug=slug[:60])
            db.session.add(genre)
            found[slug] = genre
    db.session.flush()
    return [found[s] for s in wanted]


# Admin: manual titles --------------------------------------------------------------

@dataclass
class TitleData:
    kind: str
    title: str
    year: int | None
    runtime_minutes: int | None
    overview: str
    genre_ids: list[int]
    release_date: date | None = None
    image_url: str | None = None
    adult: bool = False
    artist_credit: str | None = None


def _duplicate_manual(data: TitleData, except_id: int | None = None) -> bool:
    same_year = Title.year.is_(None) if data.year is None else Title.year == data.year
    query = select(Title.id).where(Title.kind == data.kind, Title.sort_title == sort_key(data.title), same_year)
    if except_id is not None:
        query = query.where(Title.id != except_id)
    return db.session.scalar(query) is not None


def _apply(title: Title, data: TitleData) -> None:
    if data.kind not in KINDS:
        raise Invalid("Choose film, show or album.", field="kind")
    genres = list(db.session.scalars(select(Genre).where(Genre.id.in_(data.genre_ids)))) if data.genre_ids else []
    if len(genres) != len(set(data.genre_ids)):
        raise Invalid("Choose genres from the list.", field="genre_ids")
    title.kind = data.kind
    title.title = data.title.strip()
    title.sort_title = sort_key(data.title)
    title.year = data.year
    title.runtime_minutes = data.runtime_minutes
    title.overview = data.overview.strip()
    title.release_date = data.release_date
    title.image_url = data.image_url or None
    title.adult = data.adult
    title.artist_credit = (data.artist_credit or "").strip() or None
    title.genres = genres


def create_manual_title(data: TitleData, *, added_by: User | None = None, published: bool = True) -> Title:
    """A manual title from the admin's form: published (an admin adds it to the catalog)."""
    if _duplicate_manual(data):
        raise Invalid("That title is already in the catalog.", field="title")
    return _new_manual_title(data, added_by=added_by, published=published)


def _new_manual_title(data: TitleData, *, added_by: User | None, published: bool) -> Title:
    title = Title(source="manual", created_at=utcnow(), genres=[], is_published=published,
                  added_by_id=added_by.id if added_by is not None else None)
    _apply(title, data)
    db.session.add(title)
    db.session.flush()
    return title


def find_or_add_title(kind: str, name: str, *, year: int | None = None, runtime_minutes: int | None = None,
                      artist_credit: str | None = None, added_by: User | None = None) -> Title:
    """A title a member typed in (a watchlist item, a weekly pick): the catalog's own
    of that kind, name and year when `added_by` can list one, else a new manual title,
    unpublished (seen only where it is added, until an admin publishes it)."""
    if kind not in KINDS:
        raise Invalid("Choose film, show or album.", field="kind")
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Give the title.", field="title")
    same_year = Title.year.is_(None) if year is None else Title.year == year
    existing = db.session.scalar(
        select(Title).where(Title.kind == kind, Title.sort_title == sort_key(name), same_year,
                            listed_for(added_by))
        .order_by(Title.id).limit(1)
    )
    if existing is not None:
        return existing
    data = TitleData(kind=kind, title=name[:300], year=year, runtime_minutes=runtime_minutes, overview="",
                     genre_ids=[], artist_credit=(artist_credit or "").strip() or None)
    return _new_manual_title(data, added_by=added_by, published=False)


def update_manual_title(title: Title, data: TitleData) -> Title:
    if _duplicate_manual(data, except_id=title.id):
        raise Invalid("That title is already in the catalog.", field="title")
    _apply(title, data)
    db.session.flush()
    return title


def delete_title(title: Title) -> None:
    db.session.delete(title)
    db.session.flush()


def publish_title(title: Title) -> None:
    """An admin shows a manual title to everyone: catalog, search and choosers."""
    title.is_published = True
    db.session.flush()


def manual_titles(*, page: int, per_page: int = 50):  # type: ignore[no-untyped-def]
    query = select(Title).where(Title.source == "manual").order_by(Title.sort_title, Title.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def _flush_or_invalid(message: str, field: str) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Invalid(message, field=field) from exc
