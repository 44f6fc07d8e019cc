"""The bundled demo catalog: a few hundred well-known films, shows and albums, so that a
new installation without provider keys finds something on its first search.

demo_catalog.json was written by hand. Ids (TMDB for films and shows, MusicBrainz
release group for albums) appear only where they are known to be right; a title without
one is linked later by a provider search. Loading is idempotent: a title is found again
by its TMDB or MusicBrainz id, else by (kind, title, year), and never duplicated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from webapp.catalog.models import KINDS, Credit, Genre, Person, Title, title_genres
from webapp.catalog.services import slugify, sort_key
from webapp.db import db, dialect_insert, utcnow, write_transaction

DEMO_PATH = Path(__file__).with_name("demo_catalog.json")
MBID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Plausible bounds, per kind, for the runtime in minutes (a show: one episode).
RUNTIME_BOUNDS = {"movie": (40, 480), "tv": (5, 120), "album": (15, 180)}
YEAR_BOUNDS = (1888, date.today().year + 1)


@dataclass(frozen=True)
class DemoTitle:
    kind: str
    title: str
    year: int
    genres: tuple[str, ...]
    runtime: int | None = None
    tmdb_id: int | None = None
    musicbrainz_id: str | None = None
    # Films: directors; shows: creators; albums: the album artist.
    people: tuple[str, ...] = field(default_factory=tuple)

    @property
    def role(self) -> str:
        return {"movie": "director", "tv": "writer", "album": "artist"}[self.kind]


class DemoCatalogError(ValueError):
    pass


def _entry(index: int, row: dict[str, Any]) -> DemoTitle:
    where = f"demo entry {index} ({row.get('title', '?')!r})"

    def fail(problem: str) -> DemoCatalogError:
        return DemoCatalogError(f"{where}: {problem}")

    allowed = {"kind", "title", "year", "runtime", "genres", "tmdb_id", "musicbrainz_id", "directors",
               "creators", "artist"}
    if unknown := set(row) - allowed:
        raise fail(f"unknown keys {sorted(unknown)}")
    kind = row.get("kind")
    if kind not in KINDS:
        raise fail(f"kind must be one of {KINDS}")
    title = row.get("title")
    if not isinstance(title, str) or not title.strip() or title != title.strip() or len(title) > 300:
        raise fail("title must be a trimmed, non-empty string")
    year = row.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not YEAR_BOUNDS[0] <= year <= YEAR_BOUNDS[1]:
        raise fail(f"year must be an integer in {YEAR_BOUNDS}")
    runtime = row.get("runtime")
    low, high = RUNTIME_BOUNDS[kind]
    if runtime is not None and (not isinstance(runtime, int) or isinstance(runtime, bool) or not low <= runtime <= high):
        raise fail(f"runtime must be whole minutes in {low}-{high}")
    genres = row.get("genres")
    if not isinstance(genres, list) or not genres or not all(isinstance(g, str) and g.strip() for g in genres):
        raise fail("genres must be a non-empty list of names")
    if len({slugify(g) for g in genres}) != len(genres):
        raise fail("genres repeat")
    tmdb_id = row.get("tmdb_id")
    mbid = row.get("musicbrainz_id")
    if kind == "album":
        if tmdb_id is not None:
            raise fail("albums have no TMDB id")
        if mbid is not None and (not isinstance(mbid, str) or not MBID_RE.match(mbid)):
            raise fail("musicbrainz_id must be a lower-case UUID")
        artist = row.get("artist")
        if not isinstance(artist, str) or not artist.strip() or "directors" in row or "creators" in row:
            raise fail("an album has an artist (and no directors or creators)")
        people: tuple[str, ...] = (artist,)
    else:
        if mbid is not None:
            raise fail("films and shows have no MusicBrainz id")
        if tmdb_id is not None and (not isinstance(tmdb_id, int) or isinstance(tmdb_id, bool) or tmdb_id <= 0):
            raise fail("tmdb_id must be a positive integer")
        key = "directors" if kind == "movie" else "creators"
        names = row.get(key, [])
        if "artist" in row or ("creators" if kind == "movie" else "directors") in row:
            raise fail(f"a {kind} lists {key} only")
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise fail(f"{key} must be a list of names")
        if kind == "movie" and not names:
            raise fail("a film needs its director")
        people = tuple(names)
    return DemoTitle(kind, title, year, tuple(genres), runtime, tmdb_id, mbid, people)


def read_demo_catalog(path: Path = DEMO_PATH) -> list[DemoTitle]:
    """Parse and check every entry; raise DemoCatalogError naming the first bad one."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data.get("titles") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise DemoCatalogError("the demo catalog is an object with a list of titles")
    entries = [_entry(i, row) for i, row in enumerate(rows)]
    seen: dict[tuple[Any, ...], int] = {}
    for i, entry in enumerate(entries):
        keys = [("title", entry.kind, sort_key(entry.title), entry.year)]
        if entry.tmdb_id:
            keys.append(("tmdb", entry.kind, entry.tmdb_id))
        if entry.musicbrainz_id:
            keys.append(("mbid", entry.musicbrainz_id))
        for key in keys:
            if key in seen:
                raise DemoCatalogError(f"demo entries {seen[key]} and {i} are the same title ({key})")
            seen[key] = i
    return entries


@dataclass
class DemoStats:
    added: int = 0
    linked: int = 0  # existing titles that the demo data completed (ids, runtime, genres...)
    unchanged: int = 0


class _Catalog:
    """The titles a demo entry could be, found by TMDB id, MusicBrainz id, or
    (kind, title, year), in that order."""

    def __init__(self, titles: list[Title]) -> None:
        self.by_tmdb: dict[tuple[str, int], Title] = {}
        self.by_mbid: dict[str, Title] = {}
        self.by_name: dict[tuple[str, str, int | None], Title] = {}
        for title in titles:
            self.add(title)

    def add(self, title: Title) -> None:
        if title.tmdb_id:
            self.by_tmdb.setdefault((title.kind, title.tmdb_id), title)
        if title.musicbrainz_id:
            self.by_mbid.setdefault(title.musicbrainz_id, title)
        self.by_name.setdefault((title.kind, title.sort_title, title.year), title)

    def find(self, entry: DemoTitle) -> Title | None:
        return (
            (self.by_tmdb.get((entry.kind, entry.tmdb_id)) if entry.tmdb_id else None)
            or (self.by_mbid.get(entry.musicbrainz_id) if entry.musicbrainz_id else None)
            or self.by_name.get((entry.kind, sort_key(entry.title), entry.year))
        )


def load_demo_catalog(path: Path = DEMO_PATH) -> DemoStats:
    """Add the demo titles that are not in the catalog yet, and complete the ones that
    are (missing ids, runtime, genres, people); one transaction."""
    entries = read_demo_catalog(path)
    stats = DemoStats()
    with write_transaction():
        existing = list(
            db.session.scalars(
                select(Title).where(
                    or_(
                        Title.tmdb_id.in_({e.tmdb_id for e in entries if e.tmdb_id}),
                        Title.musicbrainz_id.in_({e.musicbrainz_id for e in entries if e.musicbrainz_id}),
                        Title.sort_title.in_({sort_key(e.title) for e in entries}),
                    )
                )
            )
        )
        catalog = _Catalog(existing)
        ids = [t.id for t in existing]
        with_genres = set(db.session.scalars(select(title_genres.c.title_id).where(title_genres.c.title_id.in_(ids))))
        with_people = set(db.session.scalars(select(Credit.title_id).where(Credit.title_id.in_(ids))))

        # (title, entry, add its genres, add its people)
        work: list[tuple[Title, DemoTitle, bool, bool]] = []
        for entry in entries:
            title = catalog.find(entry)
            if title is None:
                title = Title(
                    kind=entry.kind,
                    title=entry.title,
                    sort_title=sort_key(entry.title),
                    year=entry.year,
                    runtime_minutes=entry.runtime,
                    tmdb_id=entry.tmdb_id,
                    musicbrainz_id=entry.musicbrainz_id,
                    artist_credit=entry.people[0] if entry.kind == "album" else None,
                    source="demo",
                    overview="",
                    created_at=utcnow(),
                )
                db.session.add(title)
                catalog.add(title)
                work.append((title, entry, True, bool(entry.people)))
                stats.added += 1
                continue
            add_genres = title.id not in with_genres
            add_people = title.id not in with_people and bool(entry.people)
            with_genres.add(title.id)
            with_people.add(title.id)
            changed = _complete(title, entry, catalog)
            work.append((title, entry, add_genres, add_people))
            if changed or add_genres or add_people:
                stats.linked += 1
            else:
                stats.unchanged += 1
        db.session.flush()

        genres = _ids(Genre, {slugify(g): g for _, e, add, _ in work if add for g in e.genres})
        people = _ids(Person, {n: n for _, e, _, add in work if add for n in e.people})
        links = [
            {"title_id": title.id, "genre_id": genres[slugify(name)]}
            for title, entry, add_genres, _ in work
            if add_genres
            for name in entry.genres
        ]
        if links:
            db.session.execute(dialect_insert(title_genres).on_conflict_do_nothing(), links)
        db.session.add_all(
            Credit(title_id=title.id, person_id=people[name], role=entry.role, billing_order=order)
            for title, entry, _, add_people in work
            if add_people
            for order, name in enumerate(entry.people)
        )
        db.session.commit()
    return stats


def _complete(title: Title, entry: DemoTitle, catalog: _Catalog) -> bool:
    """Fill what an existing title lacks from the demo entry; True if anything changed."""
    changed = False
    if title.tmdb_id is None and entry.tmdb_id and (entry.kind, entry.tmdb_id) not in catalog.by_tmdb:
        title.tmdb_id = entry.tmdb_id
        catalog.add(title)
        changed = True
    if title.musicbrainz_id is None and entry.musicbrainz_id and entry.musicbrainz_id not in catalog.by_mbid:
        title.musicbrainz_id = entry.musicbrainz_id
        catalog.add(title)
        changed = True
    if title.runtime_minutes is None and entry.runtime:
        title.runtime_minutes = entry.runtime
        changed = True
    if title.year is None:
        title.year = entry.year
        changed = True
    if entry.kind == "album" and not title.artist_credit:
        title.artist_credit = entry.people[0]
        changed = True
    return changed


def _ids(model: type[Genre] | type[Person], wanted: dict[str, str]) -> dict[str, int]:
    """Ids of genres (keyed by slug) or people (keyed by exact name; the oldest of a
    name), creating the missing ones."""
    if not wanted:
        return {}
    if model is Genre:
        found = dict(db.session.execute(select(Genre.slug, Genre.id).where(Genre.slug.in_(wanted))).all())
        new = {key: Genre(name=name, slug=key) for key, name in wanted.items() if key not in found}
    else:
        found = {}
        for name, person_id in db.session.execute(
            select(Person.name, Person.id).where(Person.name.in_(wanted)).order_by(Person.id.desc())
        ):
            found[name] = person_id
        new = {key: Person(name=name) for key, name in wanted.items() if key not in found}
    db.session.add_all(new.values())
    db.session.flush()
    return found | {key: obj.id for key, obj in new.items()}
