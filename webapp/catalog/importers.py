"""MovieLens import: movies.csv + links.csv become titles, ratings.csv becomes imported
users and their ratings.

The files are streamed: rows are read with the csv module and written in batches, so
memory depends on the batch size, not on the size of the files. Each batch is one
write transaction, committed before the next is read; an interrupted import is finished
by running it again, because every write is an idempotent upsert: a second run adds
nothing and changes nothing.

Titles are canonical across sources: a MovieLens movie whose TMDB id (kind movie) or
IMDb id is already in the catalog (from TMDB, the demo catalog, ...) is attached to that
title instead of being added again.
"""

from __future__ import annotations

import contextlib
import csv
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from webapp.accounts.models import User
from webapp.catalog.models import Genre, Rating, Title, title_genres
from webapp.catalog.services import slugify, sort_key
from webapp.db import db, dialect_insert, write_transaction

BATCH_SIZE = 2000
Progress = Callable[[int], None]
ProgressFactory = Callable[[str, int], contextlib.AbstractContextManager[Progress | None]]

# MovieLens genre names that TMDB (and so the rest of the catalog) spells differently.
GENRE_NAMES = {"Sci-Fi": "Science Fiction", "Children": "Family"}
NO_GENRES = "(no genres listed)"

# Articles MovieLens moves to the end of a title ("Usual Suspects, The").
_ARTICLES = ("The", "A", "An", "La", "Le", "Les", "L'", "Il", "I", "Lo", "Gli", "El", "Los", "Las",
             "Das", "Der", "Die", "Den", "Det", "En", "Ett", "Een", "Het", "Un", "Une", "Una")
_ARTICLE_RE = re.compile(r"^(?P<body>.+?), (?P<article>" + "|".join(re.escape(a) for a in _ARTICLES) + r")(?P<rest>:.*)?$")
# "(1995)", and for series "(2006–2007)" or "(2006-)".
_YEAR_RE = re.compile(r"\s*\((?P<year>\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)$")
_AKA_PREFIX = "a.k.a. "


class MovieLensFormatError(ValueError):
    """A file that is not a MovieLens CSV (missing file or header columns)."""


# Parsing ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedTitle:
    title: str
    year: int | None
    # The first alternative title in parentheses that is not an "a.k.a." (often the
    # original-language title): "Run Lola Run (Lola rennt) (1998)" -> "Lola rennt".
    original_title: str | None = None


def fix_article(text: str) -> str:
    """"Usual Suspects, The" -> "The Usual Suspects"; "Crow, The: Wicked Prayer" ->
    "The Crow: Wicked Prayer"; "Ours, L'" -> "L'Ours"."""
    match = _ARTICLE_RE.match(text)
    if not match:
        return text
    article = match["article"]
    joiner = "" if article.endswith("'") else " "
    return f"{article}{joiner}{match['body']}{match['rest'] or ''}"


def _split_trailing_parentheses(text: str) -> tuple[str, list[str]]:
    """Peel "(...)" groups off the end of a title while some title remains before them.

    A group must follow a space, so "Frontière(s)" keeps its parentheses, and a title
    that is only parentheses at the start ("(500) Days of Summer") is left whole."""
    alternatives: list[str] = []
    while text.endswith(")"):
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            if text[i] == ")":
                depth += 1
            elif text[i] == "(":
                depth -= 1
                if depth == 0:
                    break
        else:
            break  # unbalanced: keep the text as it is
        head = text[:i]
        if not head.endswith(" ") or not head.strip():
            break
        alternatives.insert(0, text[i + 1 : -1].strip())
        text = head.rstrip()
    return text, alternatives


def parse_title(raw: str) -> ParsedTitle:
    """Split a MovieLens title such as "City of Lost Children, The (Cité des enfants
    perdus, La) (1995)" into title, year and original title."""
    text = " ".join(raw.split())  # trims and collapses runs of spaces
    year = None
    match = _YEAR_RE.search(text)
    if match and match.start() > 0:
        candidate = int(match["year"])
        year = candidate if 1870 <= candidate <= 2200 else None
        text = text[: match.start()].rstrip()
    text, alternatives = _split_trailing_parentheses(text)
    original = next((fix_article(a) for a in alternatives if a and not a.startswith(_AKA_PREFIX)), None)
    title = fix_article(text) or raw.strip()
    if original == title:
        original = None
    return ParsedTitle(title=title[:300], year=year, original_title=original[:300] if original else None)


def imdb_id(value: str) -> str | None:
    """MovieLens stores IMDb ids as digits ("0114709"); IMDb writes "tt" and at least
    seven digits."""
    value = value.strip()
    if value.startswith("tt"):
        value = value[2:]
    if not value.isdigit() or int(value) == 0:
        return None
    return f"tt{int(value):07d}"


def _positive_int(value: str) -> int | None:
    value = value.strip()
    if not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number < 2**31 else None


def _score(value: str) -> float | None:
    try:
        score = float(value)
    except ValueError:
        return None
    if not 0.5 <= score <= 5 or score * 2 != int(score * 2):
        return None
    return score


def genre_names(pipe_list: str) -> list[str]:
    names: list[str] = []
    for name in pipe_list.split("|"):
        name = name.strip()
        if not name or name == NO_GENRES:
            continue
        name = GENRE_NAMES.get(name, name)
        if name not in names:
            names.append(name)
    return names


# Statistics -------------------------------------------------------------------------

@dataclass
class ImportStats:
    movies_added: int = 0
    movies_linked: int = 0  # attached to a title already in the catalog (TMDB, demo, ...)
    movies_updated: int = 0
    movies_unchanged: int = 0
    links_added: int = 0  # TMDB or IMDb ids stored on a title
    links_conflicting: int = 0  # ids not stored because another title holds them
    users_added: int = 0
    ratings_added: int = 0
    ratings_updated: int = 0
    ratings_unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    # A few line numbers per reason, to point at the bad rows.
    examples: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 5:
            shown.append(where)

    def summary_lines(self) -> list[str]:
        lines = [
            f"Movies: {self.movies_added} added, {self.movies_linked} linked to existing titles, "
            f"{self.movies_updated} updated, {self.movies_unchanged} unchanged.",
            f"Links: {self.links_added} TMDB/IMDb ids added, {self.links_conflicting} already on another title.",
            f"Users: {self.users_added} added.",
            f"Ratings: {self.ratings_added} added, {self.ratings_updated} updated, "
            f"{self.ratings_unchanged} unchanged.",
        ]
        for reason, count in sorted(self.skipped.items()):
            lines.append(f"Skipped {count} {reason} ({', '.join(self.examples[reason])}{', ...' if count > 5 else ''}).")
        lines.append(f"Done in {self.seconds:.1f} s.")
        return lines


# Reading ----------------------------------------------------------------------------

def _decoded_lines(stream: IO[bytes], progress: Progress | None) -> Iterator[str]:
    first = True
    for raw in stream:
        if progress is not None:
            progress(len(raw))
        line = raw.decode("utf-8", errors="replace")
        if first:
            line = line.removeprefix("\ufeff")
            first = False
        yield line


def _rows(path: Path, columns: tuple[str, ...], progress: Progress | None) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields in the order of `columns`) for each data row of a CSV file."""
    with path.open("rb") as stream:
        reader = csv.reader(_decoded_lines(stream, progress))
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip() for name in header]
        missing = [c for c in columns if c not in header]
        if missing:
            raise MovieLensFormatError(f"{path.name}: missing column(s) {', '.join(missing)}.")
        indexes = [header.index(c) for c in columns]
        width = len(header)
        for row in reader:
            if not row:
                continue
            if len(row) != width:
                yield reader.line_num, []  # malformed: the caller counts it
                continue
            yield reader.line_num, [row[i] for i in indexes]


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# Writing helpers ----------------------------------------------------------------------

_titles, _users, _ratings, _genres = Title.__table__, User.__table__, Rating.__table__, Genre.__table__


def _in(column: Any, values: Iterable[Any]) -> Any:
    """column IN (values); on PostgreSQL `= ANY(array)`: one parameter, not thousands."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def _execute(statement: Any, rows: list[dict[str, Any]] | None = None) -> Any:
    """Run a Core statement on the session's connection (and transaction), without the
    ORM's per-row work."""
    return db.session.connection().execute(statement, rows)


class _Genres:
    """Genre ids by slug, created on first use (there are only a few dozen)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def id_for(self, name: str) -> int:
        slug = slugify(name)[:60]
        if slug not in self.ids:
            _execute(dialect_insert(Genre).values(name=name[:60], slug=slug).on_conflict_do_nothing())
            self.ids[slug] = _execute(select(_genres.c.id).where(_genres.c.slug == slug)).scalar_one()
        return self.ids[slug]


@dataclass
class _Movie:
    line: int
    movielens_id: int
    parsed: ParsedTitle
    genres: list[str]
    tmdb_id: int | None = None
    imdb_id: str | None = None


# Movies and links -------------------------------------------------------------------

class _Links:
    """links.csv read in step with movies.csv.

    links.csv is sorted by movieId in every MovieLens release, so finding a movie's
    link reads ahead only to the first row at or past that movie, and only a handful of
    rows are ever held (whatever the order of movies.csv). A links.csv that is not
    sorted is read whole first: correct, at the cost of holding one row per movie."""

    def __init__(self, path: Path | None, stats: ImportStats, progress: Progress | None) -> None:
        self.pending: dict[int, tuple[int, int | None, str | None]] = {}
        self.stats = stats
        self.rows: Iterator[tuple[int, list[str]]] = iter(())
        if path is not None:
            self.rows = _rows(path, ("movieId", "imdbId", "tmdbId"), progress)
            if not _sorted_by_first_column(path):
                self._read_until(None)

    def _read_until(self, movielens_id: int | None) -> None:
        """Read rows into `pending` up to one at or past `movielens_id` (None: all)."""
        for line, fields in self.rows:
            movie = _positive_int(fields[0]) if fields else None
            if movie is None:
                self.stats.skip("malformed link rows", f"links.csv line {line}")
                continue
            tmdb, imdb = _positive_int(fields[2]), imdb_id(fields[1])
            if (fields[2].strip() and tmdb is None) or (fields[1].strip() and imdb is None):
                self.stats.skip("malformed link ids (ignored)", f"links.csv line {line}")
            self.pending[movie] = (line, tmdb, imdb)
            if movielens_id is not None and movie >= movielens_id:
                return

    def pop(self, movielens_id: int) -> tuple[int | None, str | None]:
        if movielens_id not in self.pending:
            self._read_until(movielens_id)
        _line, tmdb, imdb = self.pending.pop(movielens_id, (0, None, None))
        return tmdb, imdb

    def finish(self) -> None:
        """Count what is left: links to movies that movies.csv does not have."""
        self._read_until(None)
        for line, _tmdb, _imdb in self.pending.values():
            self.stats.skip("links for unknown movies", f"links.csv line {line}")
        self.pending.clear()


def _sorted_by_first_column(path: Path) -> bool:
    last = -1
    for _line, fields in _rows(path, ("movieId",), None):
        movie = _positive_int(fields[0]) if fields else None
        if movie is None:
            continue
        if movie < last:
            return False
        last = movie
    return True


def _movie_rows(path: Path, links: _Links, stats: ImportStats, progress: Progress | None) -> Iterator[_Movie]:
    for line, fields in _rows(path, ("movieId", "title", "genres"), progress):
        movie_id = _positive_int(fields[0]) if fields else None
        if movie_id is None or not fields[1].strip():
            stats.skip("malformed movie rows", f"movies.csv line {line}")
            continue
        tmdb, imdb = links.pop(movie_id)
        yield _Movie(line, movie_id, parse_title(fields[1]), genre_names(fields[2]), tmdb, imdb)


_TITLE_COLUMNS = (
    _titles.c.id, _titles.c.kind, _titles.c.title, _titles.c.year, _titles.c.original_title, _titles.c.tmdb_id,
    _titles.c.imdb_id, _titles.c.movielens_id, _titles.c.source, _titles.c.fetched_at,
)


def _import_movie_batch(batch: list[_Movie], stats: ImportStats, genres: _Genres) -> None:
    seen: set[int] = set()
    movies: list[_Movie] = []
    for movie in batch:
        if movie.movielens_id in seen:
            stats.skip("duplicate movie rows", f"movies.csv line {movie.line}")
        else:
            seen.add(movie.movielens_id)
            movies.append(movie)

    tmdb_ids = {m.tmdb_id for m in movies if m.tmdb_id}
    imdb_ids = {m.imdb_id for m in movies if m.imdb_id}
    rows = _execute(
        select(*_TITLE_COLUMNS).where(
            or_(
                _in(_titles.c.movielens_id, seen),
                and_(_titles.c.kind == "movie", _in(_titles.c.tmdb_id, tmdb_ids)),
                _in(_titles.c.imdb_id, imdb_ids),
            )
        )
    ).mappings()
    titles = {row["id"]: dict(row) for row in rows}
    by_movielens = {t["movielens_id"]: t for t in titles.values() if t["movielens_id"] is not None}
    by_tmdb = {t["tmdb_id"]: t for t in titles.values() if t["kind"] == "movie" and t["tmdb_id"] is not None}
    by_imdb = {t["imdb_id"]: t for t in titles.values() if t["imdb_id"] is not None}
    current_genres: dict[int, set[int]] = {}
    if titles:
        for title_id, genre_id in _execute(
            select(title_genres.c.title_id, title_genres.c.genre_id).where(_in(title_genres.c.title_id, titles))
        ):
            current_genres.setdefault(title_id, set()).add(genre_id)

    def free_tmdb(movie: _Movie, title: dict[str, Any] | None) -> int | None:
        holder = by_tmdb.get(movie.tmdb_id) if movie.tmdb_id else None
        if movie.tmdb_id and holder is not None and holder is not title:
            stats.links_conflicting += 1
            return None
        return movie.tmdb_id

    def free_imdb(movie: _Movie, title: dict[str, Any] | None) -> str | None:
        holder = by_imdb.get(movie.imdb_id) if movie.imdb_id else None
        if movie.imdb_id and holder is not None and holder is not title:
            stats.links_conflicting += 1
            return None
        return movie.imdb_id

    new_rows: list[dict[str, Any]] = []
    new_genres: dict[int, list[str]] = {}  # by movielens id
    genre_rows: list[dict[str, int]] = []
    for movie in movies:
        title = by_movielens.get(movie.movielens_id)
        linked = False
        if title is None:
            # A title from another source with the same TMDB or IMDb id, not yet
            # claimed by another MovieLens movie.
            for candidate in (by_tmdb.get(movie.tmdb_id), by_imdb.get(movie.imdb_id)):
                if candidate is not None and candidate["movielens_id"] is None:
                    title, linked = candidate, True
                    break
        if title is None:
            values = {
                "kind": "movie",
                "source": "movielens",
                "title": movie.parsed.title,
                "sort_title": sort_key(movie.parsed.title),
                "original_title": movie.parsed.original_title,
                "year": movie.parsed.year,
                "movielens_id": movie.movielens_id,
                "tmdb_id": free_tmdb(movie, None),
                "imdb_id": free_imdb(movie, None),
            }
            stats.links_added += (values["tmdb_id"] is not None) + (values["imdb_id"] is not None)
            new_rows.append(values)
            new_genres[movie.movielens_id] = movie.genres
            # Later rows of this batch see the ids as taken.
            placeholder = {**values, "id": None}
            by_movielens[movie.movielens_id] = placeholder
            if values["tmdb_id"]:
                by_tmdb[values["tmdb_id"]] = placeholder
            if values["imdb_id"]:
                by_imdb[values["imdb_id"]] = placeholder
            stats.movies_added += 1
            continue

        changes: dict[str, Any] = {}
        if linked:
            changes["movielens_id"] = movie.movielens_id
            by_movielens[movie.movielens_id] = title
        if title["tmdb_id"] is None and movie.tmdb_id and title["kind"] == "movie":
            tmdb = free_tmdb(movie, title)
            if tmdb:
                changes["tmdb_id"] = tmdb
                by_tmdb[tmdb] = title
        if title["imdb_id"] is None and movie.imdb_id:
            imdb = free_imdb(movie, title)
            if imdb:
                changes["imdb_id"] = imdb
                by_imdb[imdb] = title
        stats.links_added += ("tmdb_id" in changes) + ("imdb_id" in changes)
        # MovieLens owns the fields of titles it created until a provider fetched details.
        owned = title["source"] == "movielens" and title["fetched_at"] is None
        if owned:
            for key, value in (
                ("title", movie.parsed.title),
                ("original_title", movie.parsed.original_title),
                ("year", movie.parsed.year),
            ):
                if title[key] != value:
                    changes[key] = value
            if "title" in changes:
                changes["sort_title"] = sort_key(movie.parsed.title)
        elif title["year"] is None and movie.parsed.year is not None:
            changes["year"] = movie.parsed.year
        have = current_genres.get(title["id"], set())
        if owned or not have:
            missing = [gid for gid in (genres.id_for(name) for name in movie.genres) if gid not in have]
            genre_rows.extend({"title_id": title["id"], "genre_id": gid} for gid in missing)
        else:
            missing = []
        if changes:
            _execute(update(_titles).where(_titles.c.id == title["id"]).values(**changes))
            title.update(changes)
        if linked:
            stats.movies_linked += 1
        elif changes or missing:
            stats.movies_updated += 1
        else:
            stats.movies_unchanged += 1

    if new_rows:
        # On a race with another import, the other one's rows stand.
        statement = dialect_insert(Title).on_conflict_do_nothing().returning(_titles.c.id, _titles.c.movielens_id)
        for title_id, movielens_id in _execute(statement, new_rows):
            for name in new_genres.get(movielens_id, []):
                genre_rows.append({"title_id": title_id, "genre_id": genres.id_for(name)})
    if genre_rows:
        _execute(dialect_insert(title_genres).on_conflict_do_nothing(), genre_rows)


def import_movies(
    movies_path: Path, links_path: Path | None, stats: ImportStats, *,
    progress: Progress | None = None, batch_size: int = BATCH_SIZE,
) -> None:
    genres = _Genres()
    links = _Links(links_path, stats, progress)
    for batch in _batches(_movie_rows(movies_path, links, stats, progress), batch_size):
        with write_transaction():
            _import_movie_batch(batch, stats, genres)
            db.session.commit()
    links.finish()


# Ratings ----------------------------------------------------------------------------

@dataclass
class _Rating:
    line: int
    user: int
    movie: int
    score: float
    at: datetime


def _rating_rows(path: Path, stats: ImportStats, progress: Progress | None) -> Iterator[_Rating]:
    for line, fields in _rows(path, ("userId", "movieId", "rating", "timestamp"), progress):
        user = _positive_int(fields[0]) if fields else None
        movie = _positive_int(fields[1]) if fields else None
        stamp = _positive_int(fields[3]) if fields else None
        if user is None or movie is None or stamp is None:
            stats.skip("malformed rating rows", f"ratings.csv line {line}")
            continue
        score = _score(fields[2])
        if score is None:
            stats.skip("ratings outside 0.5-5 in half stars", f"ratings.csv line {line}")
            continue
        at = datetime.fromtimestamp(stamp, timezone.utc).replace(tzinfo=None)
        yield _Rating(line, user, movie, score, at)


def username_for(movielens_user: int) -> str:
    return f"ml{movielens_user}"


def _user_ids(movielens_users: set[int], stats: ImportStats) -> dict[int, int | None]:
    """Account ids of the batch's rating authors, creating imported accounts as needed.
    None for a MovieLens user whose username belongs to a registered (not imported)
    account: their ratings are never attached to a real person."""
    names = {username_for(u): u for u in movielens_users}
    found: dict[int, int | None] = {}
    for username, user_id, imported in _execute(
        select(_users.c.username, _users.c.id, _users.c.is_imported).where(_in(_users.c.username, names))
    ):
        found[names[username]] = user_id if imported else None
    missing = [
        {
            "username": name,
            "display_name": f"MovieLens user {movielens_user}",
            "email": None,
            "password_hash": None,
            "is_imported": True,
        }
        for name, movielens_user in names.items()
        if movielens_user not in found
    ]
    if missing:
        statement = dialect_insert(User).on_conflict_do_nothing().returning(_users.c.id, _users.c.username)
        for user_id, username in _execute(statement, missing):
            found[names[username]] = user_id
            stats.users_added += 1
        if len(found) < len(names):  # lost a race with a concurrent import
            for username, user_id, imported in _execute(
                select(_users.c.username, _users.c.id, _users.c.is_imported).where(
                    _in(_users.c.username, [n for n, u in names.items() if u not in found])
                )
            ):
                found[names[username]] = user_id if imported else None
    return found


def _import_rating_batch(batch: list[_Rating], stats: ImportStats) -> None:
    title_ids = dict(
        _execute(
            select(_titles.c.movielens_id, _titles.c.id).where(_in(_titles.c.movielens_id, {r.movie for r in batch}))
        ).all()
    )
    user_ids = _user_ids({r.user for r in batch if r.movie in title_ids}, stats)
    values: dict[tuple[int, int], dict[str, Any]] = {}
    for rating in batch:
        title_id = title_ids.get(rating.movie)
        if title_id is None:
            stats.skip("ratings for unknown movies", f"ratings.csv line {rating.line}")
            continue
        user_id = user_ids.get(rating.user)
        if user_id is None:
            stats.skip("ratings by users whose username belongs to a registered account",
                       f"ratings.csv line {rating.line}")
            continue
        key = (user_id, title_id)
        if key in values:
            stats.skip("duplicate ratings (the last one counts)", f"ratings.csv line {values[key]['line']}")
        values[key] = {"user_id": user_id, "title_id": title_id, "score": rating.score,
                       "created_at": rating.at, "line": rating.line}
    if not values:
        return
    rows = [{k: v for k, v in row.items() if k != "line"} for row in values.values()]
    added = _write_ratings(rows, update_changed=False)
    stats.ratings_added += added
    if added == len(rows):
        return
    # Some pairs were rated already: update those whose score or time differs.
    updated = _write_ratings(rows, update_changed=True)
    stats.ratings_updated += updated
    stats.ratings_unchanged += len(rows) - added - updated


_RATING_COLUMNS = ("user_id", "title_id", "score", "created_at")


def _write_ratings(rows: list[dict[str, Any]], *, update_changed: bool) -> int:
    """Insert the rows that are new (or, with update_changed, update the existing rows
    whose score or time differs); the number of rows written.

    PostgreSQL receives the batch as four arrays (INSERT ... SELECT FROM unnest): one
    short statement instead of thousands of placeholders, several times faster."""
    if db.session.get_bind().dialect.name == "postgresql":
        source = (
            func.unnest(*(bindparam(name, type_=ARRAY(_ratings.c[name].type)) for name in _RATING_COLUMNS))
            .table_valued(*_RATING_COLUMNS)
            .render_derived()
        )
        statement = dialect_insert(_ratings).from_select(
            _RATING_COLUMNS, select(*(source.c[name] for name in _RATING_COLUMNS))
        )
        params: Any = {name: [row[name] for row in rows] for name in _RATING_COLUMNS}
    else:
        statement = dialect_insert(_ratings)
        params = rows
    if update_changed:
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[_ratings.c.user_id, _ratings.c.title_id],
            set_={"score": excluded.score, "created_at": excluded.created_at},
            where=or_(_ratings.c.score != excluded.score, _ratings.c.created_at != excluded.created_at),
        )
    else:
        statement = statement.on_conflict_do_nothing()
    return len(_execute(statement.returning(_ratings.c.id), params).all())


def import_ratings(
    ratings_path: Path, stats: ImportStats, *, progress: Progress | None = None, batch_size: int = BATCH_SIZE
) -> None:
    for batch in _batches(_rating_rows(ratings_path, stats, progress), batch_size):
        with write_transaction():
            _import_rating_batch(batch, stats)
            db.session.commit()


# The whole import -------------------------------------------------------------------

@dataclass(frozen=True)
class MovieLensFiles:
    movies: Path
    links: Path | None
    ratings: Path | None

    @classmethod
    def find(cls, directory: Path) -> MovieLensFiles:
        movies = directory / "movies.csv"
        if not movies.is_file():
            raise MovieLensFormatError(f"No movies.csv in {directory}.")
        links, ratings = directory / "links.csv", directory / "ratings.csv"
        return cls(movies, links if links.is_file() else None, ratings if ratings.is_file() else None)

    def movie_bytes(self) -> int:
        return self.movies.stat().st_size + (self.links.stat().st_size if self.links else 0)

    def rating_bytes(self) -> int:
        return self.ratings.stat().st_size if self.ratings else 0


def import_movielens(
    directory: Path, *, progress: ProgressFactory | None = None, batch_size: int = BATCH_SIZE
) -> ImportStats:
    """Import movies.csv (+ links.csv) then ratings.csv from a MovieLens folder.

    `progress(label, total_bytes)`, when given, is a context manager yielding a callback
    that receives the number of bytes read (or None for no progress)."""
    started = time.perf_counter()
    files = MovieLensFiles.find(directory)
    stats = ImportStats()
    phase = progress or (lambda _label, _length: contextlib.nullcontext(None))
    with phase("Movies ", files.movie_bytes()) as callback:
        import_movies(files.movies, files.links, stats, progress=callback, batch_size=batch_size)
    if files.ratings:
        with phase("Ratings", files.rating_bytes()) as callback:
            import_ratings(files.ratings, stats, progress=callback, batch_size=batch_size)
    stats.seconds = time.perf_counter() - started
    return stats
