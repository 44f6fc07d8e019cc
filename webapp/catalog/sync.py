"""Provider data into the catalog: search across the local catalog and the configured
providers, titles created or refreshed from TMDB and MusicBrainz details.

The catalog caches provider data: reading a title that is missing or stale fetches its
details (GET requests may write here, as any read-through cache does; never user data).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app, url_for
from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.catalog import services
from webapp.catalog.models import Credit, Person, Title, Track
from webapp.catalog.visibility import can_see
from webapp.db import db, set_write_intent, utcnow, write_transaction
from webapp.errors import Invalid, NotFound
from webapp.numbers import id_from
from webapp.providers import Providers, build_providers
from webapp.providers.errors import ProviderError, ProviderNotFound, QueueBusy
from webapp.providers.musicbrainz import Album
from webapp.providers.patience import patience
from webapp.providers.tmdb import TmdbTitle

DETAILS_MAX_AGE = timedelta(days=7)
PER_PAGE = 20
CAST_KEPT = 20
_lock = threading.Lock()


def providers() -> Providers:
    """The app's provider clients, built once per app on first use."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("marquee_providers")
    if found is None:
        with _lock:
            found = app.extensions.get("marquee_providers")
            if found is None:
                found = build_providers(app.config, db.engine)
                app.extensions["marquee_providers"] = found
    return found  # type: ignore[no-any-return]


# Writing provider details ----------------------------------------------------------

def _person(*, name: str, tmdb_id: int | None = None, musicbrainz_id: str | None = None) -> Person:
    column, value = (Person.tmdb_id, tmdb_id) if tmdb_id is not None else (Person.musicbrainz_id, musicbrainz_id)
    person = db.session.scalar(select(Person).where(column == value)) if value is not None else None
    if person is None:
        person = Person(name=name[:200], tmdb_id=tmdb_id, musicbrainz_id=musicbrainz_id)
        db.session.add(person)
        db.session.flush()
    elif person.name != name:
        person.name = name[:200]
    return person


def _replace_credits(title: Title, credits: list[tuple[Person, str, str | None, int | None]]) -> None:
    db.session.execute(delete(Credit).where(Credit.title_id == title.id))
    seen: set[tuple[int, str]] = set()
    for person, role, character, order in credits:
        if (person.id, role) in seen:
            continue
        seen.add((person.id, role))
        db.session.add(Credit(title_id=title.id, person_id=person.id, role=role,
                              character=(character or None) and character[:300], billing_order=order))


def upsert_tmdb(detail: TmdbTitle) -> Title:
    with_genres = selectinload(Title.genres)
    title = db.session.scalar(
        select(Title).where(Title.kind == detail.kind, Title.tmdb_id == detail.tmdb_id).options(with_genres)
    )
    if title is None and detail.imdb_id:
        title = db.session.scalar(select(Title).where(Title.imdb_id == detail.imdb_id).options(with_genres))
    if title is None:
        title = Title(kind=detail.kind, source="tmdb", created_at=utcnow(), genres=[],
                      title=detail.title[:300], sort_title=services.sort_key(detail.title)[:300])
        db.session.add(title)
    title.kind, title.tmdb_id = detail.kind, detail.tmdb_id
    title.title = detail.title[:300]
    title.sort_title = services.sort_key(detail.title)[:300]
    if detail.imdb_id and not db.session.scalar(
        select(Title.id).where(Title.imdb_id == detail.imdb_id, Title.id != title.id)
    ):
        title.imdb_id = detail.imdb_id
    title.original_title = detail.original_title if detail.original_title != detail.title else None
    title.overview = detail.overview or title.overview or ""
    title.release_date = detail.release_date
    title.year = detail.year if detail.year and 1870 <= detail.year <= 2200 else title.year
    runtime = detail.runtime_minutes
    title.runtime_minutes = runtime if runtime and 1 <= runtime <= 10000 else title.runtime_minutes
    title.image_url = detail.poster_url or title.image_url
    title.adult = detail.adult
    title.genres = services.genres_by_names(list(detail.genres)) or title.genres
    title.fetched_at = utcnow()
    db.session.flush()
    credits = [(_person(name=c.name, tmdb_id=c.tmdb_id), "director", None, None) for c in detail.directors]
    credits += [(_person(name=c.name, tmdb_id=c.tmdb_id), "writer", None, None) for c in (*detail.creators, *detail.writers)]
    credits += [(_person(name=c.name, tmdb_id=c.tmdb_id), "cast", c.character, c.order) for c in detail.cast[:CAST_KEPT]]
    _replace_credits(title, credits)
    db.session.flush()
    return title


def upsert_album(album: Album, cover_url: str | None) -> Title:
    title = db.session.scalar(
        select(Title).where(Title.musicbrainz_id == album.mbid).options(selectinload(Title.genres))
    )
    if title is None:
        title = Title(kind="album", source="musicbrainz", musicbrainz_id=album.mbid, created_at=utcnow(), genres=[],
                      title=album.title[:300], sort_title=services.sort_key(album.title)[:300])
        db.session.add(title)
    title.title = album.title[:300]
    title.sort_title = services.sort_key(album.title)[:300]
    title.artist_credit = album.artist_credit[:300] or None
    year = album.year
    title.year = year if year and 1870 <= year <= 2200 else title.year
    title.release_date = album.release_group.release_date or title.release_date
    runtime = album.runtime_minutes
    title.runtime_minutes = runtime if runtime and 1 <= runtime <= 10000 else title.runtime_minutes
    title.image_url = cover_url or title.image_url
    title.genres = services.genres_by_names([g.title() for g in album.genres[:5]]) or title.genres
    title.fetched_at = utcnow()
    db.session.flush()
    artists = [(_person(name=a.name, musicbrainz_id=a.mbid), "artist", None, i)
               for i, a in enumerate(album.release_group.artists)]
    _replace_credits(title, artists)
    db.session.execute(delete(Track).where(Track.title_id == title.id))
    seen: set[tuple[int, int]] = set()
    for track in album.tracks:
        if (track.disc, track.position) in seen:
            continue
        seen.add((track.disc, track.position))
        db.session.add(Track(title_id=title.id, disc=track.disc, position=track.position,
                             name=track.title[:300], length_seconds=track.length_seconds))
    db.session.flush()
    return title


def _store(write: Callable[[], Title]) -> Title:
    """Write provider data in a transaction of its own, after the network calls.

    The read transaction is ended first: SQLite cannot turn a read snapshot into a write
    once the provider cache (its own connection) has written meanwhile; the write then
    begins IMMEDIATE. Nothing is pending here: these paths are reads that cache."""
    db.session.rollback()
    with write_transaction():
        return write()


def _fetch_tmdb(kind: str, tmdb_id: int) -> Title:
    client = providers().tmdb
    if client is None:
        # Not a passing outage: without a key this title cannot be known here at all.
        raise NotFound("That title comes from TMDB, which is not configured here.")
    detail = client.details(kind, tmdb_id)
    rating = None
    omdb = providers().omdb
    if omdb is not None and detail.imdb_id:
        try:
            rating = omdb.rating(detail.imdb_id)
        except ProviderError:
            rating = None  # the rating is optional enrichment

    def write() -> Title:
        title = upsert_tmdb(detail)
        title.imdb_rating = rating if rating is not None else title.imdb_rating
        return title

    return _store(write)


def _fetch_album(mbid: str) -> Title:
    bundle = providers()
    if bundle.musicbrainz is None:
        raise NotFound("That album comes from MusicBrainz, which is switched off here.")
    album = bundle.musicbrainz.album(mbid)
    cover = None
    if bundle.coverart is not None:
        try:
            cover = bundle.coverart.front_url(mbid)
        except ProviderError:
            cover = None
    return _store(lambda: upsert_album(album, cover))


def title_from_tmdb(kind: str, tmdb_id: int) -> Title:
    """The catalog title for a TMDB id, fetched and stored when not known yet."""
    if kind not in ("movie", "tv"):
        raise NotFound()
    known = db.session.scalar(select(Title).where(Title.kind == kind, Title.tmdb_id == tmdb_id))
    if known is not None:
        return known
    try:
        return _fetch_tmdb(kind, tmdb_id)
    except ProviderNotFound as error:
        raise NotFound("TMDB does not know that title.") from error


def title_from_musicbrainz(mbid: str) -> Title:
    known = db.session.scalar(select(Title).where(Title.musicbrainz_id == mbid))
    if known is not None:
        return known
    try:
        return _fetch_album(mbid)
    except ProviderNotFound as error:
        raise NotFound("MusicBrainz does not know that album.") from error


def title_for_ref(ref: str, viewer: User | None = None) -> Title:
    """The catalog title a search hit stands for (`Hit.ref`): "title:<id>",
    "tmdb:<kind>:<id>" or "musicbrainz:<mbid>", fetched from its provider when the
    catalog does not know it yet. Invalid (on the form's `ref` field) for anything
    else; ProviderError when the provider fails, for the caller to explain.

    Called from POST requests: the fetch runs without SQLite's write lock (the read
    transaction ends first and the catalog stores what it fetched in a write
    transaction of its own, which the rest of the request then continues)."""
    scheme, _, rest = (ref or "").strip().partition(":")
    unknown = Invalid("Choose a title from the search results.", field="ref")
    if scheme == "title":
        title_id = id_from(rest) if rest.isascii() and rest.isdigit() else None
        if title_id is None:
            raise unknown
        title = db.session.get(Title, title_id)
        if title is None or not can_see(viewer, title):
            raise unknown
        return title
    if scheme == "tmdb":
        kind, _, number = rest.partition(":")
        if kind not in ("movie", "tv") or not (number.isascii() and number.isdigit() and len(number) < 10):
            raise unknown
        known = db.session.scalar(select(Title).where(Title.kind == kind, Title.tmdb_id == int(number)))
        return known if known is not None else _fetch_for_ref(lambda: title_from_tmdb(kind, int(number)))
    if scheme == "musicbrainz":
        mbid = rest.lower()
        if len(mbid) != 36 or not all(c in "0123456789abcdef-" for c in mbid):
            raise unknown
        known = db.session.scalar(select(Title).where(Title.musicbrainz_id == mbid))
        return known if known is not None else _fetch_for_ref(lambda: title_from_musicbrainz(mbid))
    raise unknown


def _fetch_for_ref(load: Callable[[], Title]) -> Title:
    db.session.rollback()
    set_write_intent(False)
    try:
        return load()
    except ProviderError:
        db.session.rollback()
        raise
    except NotFound as error:
        db.session.rollback()
        raise Invalid(error.message, field="ref") from error
    finally:
        set_write_intent(True)


def is_stale(title: Title) -> bool:
    if title.tmdb_id is None and title.musicbrainz_id is None:
        return False
    return title.fetched_at is None or utcnow() - title.fetched_at > DETAILS_MAX_AGE


def can_refresh(title: Title) -> bool:
    """Stale, and the provider that holds its details is configured here."""
    if not is_stale(title):
        return False
    configured = providers().configured
    if title.tmdb_id is not None and title.kind in ("movie", "tv"):
        return configured["tmdb"]
    return title.musicbrainz_id is not None and configured["musicbrainz"]


def refresh(title: Title) -> str | None:
    """Fetch fresh details for a stale title. Returns a note for the page when the
    provider could not be reached (the page shows what the catalog has)."""
    if not is_stale(title):
        return None
    configured = providers().configured
    title_id, kind, tmdb_id, mbid = title.id, title.kind, title.tmdb_id, title.musicbrainz_id
    try:
        if tmdb_id is not None and kind in ("movie", "tv"):
            if not configured["tmdb"]:
                return None
            _fetch_tmdb(kind, tmdb_id)
        elif mbid is not None:
            if not configured["musicbrainz"]:
                return None
            _fetch_album(mbid)
    except ProviderError as error:
        db.session.rollback()
        current_app.logger.info("refresh of title %s failed: %s", title_id, error.detail or error.message)
        return f"{error.message} Showing the details we already have."
    db.session.commit()
    return None


# Search ----------------------------------------------------------------------------

@dataclass
class Hit:
    kind: str
    title: str
    year: int | None
    image_url: str | None
    url: str
    subtitle: str | None = None
    source: str = "catalog"
    genres: list[str] = field(default_factory=list)
    # What a form posts to pick this hit: "title:<id>", "tmdb:<kind>:<id>" or
    # "musicbrainz:<mbid>" (see title_for_ref).
    ref: str = ""


@dataclass
class SearchResults:
    hits: list[Hit]
    page: int
    has_next: bool
    notes: list[str]
    # MusicBrainz's queue was busy: album results were not waited for (see search()).
    albums_pending: bool = False


def _local_hit(title: Title) -> Hit:
    return Hit(kind=title.kind, title=title.title, year=title.year, image_url=title.image_url,
               url=url_for("catalog.title", title_id=title.id), subtitle=title.artist_credit,
               genres=[g.name for g in title.genres], ref=f"title:{title.id}")


def queue_patience() -> float:
    """Seconds a search waits for MusicBrainz's shared queue (SEARCH_QUEUE_WAIT, default 1)."""
    return float(current_app.config["SEARCH_QUEUE_WAIT"])


def search(
    query: str, *, kind: str = "all", page: int = 1, viewer: User | None = None, defer_albums: bool = False
) -> SearchResults:
    """Local titles listed for `viewer`, then TMDB's and MusicBrainz's hits that the
    catalog does not hold.

    MusicBrainz answers one request a second for the whole site: a search waits for its
    turn in that queue (or for another request fetching the same answer) for about a
    second at most (queue_patience). Past that the results come without albums from
    MusicBrainz and `albums_pending` is set; with `defer_albums` the page fetches them
    afterwards (search_albums), otherwise a note asks to search again."""
    notes: list[str] = []
    bundle = providers()
    local = services.search_local(query, kind=kind, limit=PER_PAGE * page + 1, viewer=viewer)
    hits = [_local_hit(t) for t in local[PER_PAGE * (page - 1): PER_PAGE * page]]
    has_next = len(local) > PER_PAGE * page
    seen_tmdb = {(t.kind, t.tmdb_id) for t in local if t.tmdb_id}
    seen_mb = {t.musicbrainz_id for t in local if t.musicbrainz_id}

    if kind in ("all", "movie", "tv"):
        if bundle.tmdb is None:
            notes.append("Film and show search beyond our catalog needs a TMDB key (not configured here).")
        else:
            try:
                found = bundle.tmdb.search(query, page, kind="multi" if kind == "all" else kind)
                if found.stale:
                    notes.append("TMDB is not answering: showing saved results.")
                has_next = has_next or found.page < found.total_pages
                remote = [h for h in found.results if (h.kind, h.tmdb_id) not in seen_tmdb and not h.adult]
                known = _known_tmdb([(h.kind, h.tmdb_id) for h in remote])
                for h in remote:
                    existing = known.get((h.kind, h.tmdb_id))
                    if existing is not None:
                        hits.append(_local_hit(existing))
                        continue
                    hits.append(Hit(kind=h.kind, title=h.title, year=h.year, image_url=h.poster_url, source="TMDB",
                                    url=url_for("catalog.tmdb_title", kind=h.kind, tmdb_id=h.tmdb_id),
                                    ref=f"tmdb:{h.kind}:{h.tmdb_id}"))
            except ProviderError as error:
                notes.append(f"{error.message} Showing results from our catalog only.")

    albums_pending = False
    if kind in ("all", "album"):
        albums = _album_hits(bundle, query, page, seen_mb)
        hits += albums.hits
        notes += albums.notes
        has_next = has_next or albums.has_next
        albums_pending = albums.albums_pending
        if albums_pending and not defer_albums:
            notes.append("MusicBrainz is busy, so album results are still coming: search again in a moment.")
    return SearchResults(hits=hits, page=page, has_next=has_next, notes=notes, albums_pending=albums_pending)


def search_albums(query: str, *, page: int = 1) -> SearchResults:
    """The MusicBrainz part of search() alone, for a page that showed the rest first
    (albums_pending). The catalog's own albums for the query were shown with the rest
    and are left out here."""
    local = services.search_local(query, kind="album", limit=PER_PAGE * page + 1)
    seen_mb = {t.musicbrainz_id for t in local if t.musicbrainz_id}
    return _album_hits(providers(), query, page, seen_mb)


def _album_hits(bundle: Providers, query: str, page: int, seen_mb: set[str | None]) -> SearchResults:
    if bundle.musicbrainz is None:
        return SearchResults([], page, False, ["Album search beyond our catalog uses MusicBrainz, which is switched off here."])
    hits: list[Hit] = []
    notes: list[str] = []
    has_next = False
    try:
        with patience(queue_patience()):
            found_albums = bundle.musicbrainz.search_albums(query, limit=PER_PAGE, offset=PER_PAGE * (page - 1))
    except QueueBusy:
        return SearchResults([], page, False, [], albums_pending=True)
    except ProviderError as error:
        return SearchResults([], page, False, [f"{error.message} Showing results from our catalog only."])
    if found_albums.stale:
        notes.append("MusicBrainz is not answering: showing saved results.")
    has_next = found_albums.next_offset is not None
    remote_albums = [g for g in found_albums.results if g.mbid not in seen_mb]
    known_albums = {t.musicbrainz_id: t for t in db.session.scalars(
        select(Title).where(Title.musicbrainz_id.in_([g.mbid for g in remote_albums])))} if remote_albums else {}
    for group in remote_albums:
        existing = known_albums.get(group.mbid)
        if existing is not None:
            hits.append(_local_hit(existing))
            continue
        hits.append(Hit(kind="album", title=group.title, year=group.year, image_url=None,
                        subtitle=group.artist_credit, source="MusicBrainz",
                        url=url_for("catalog.musicbrainz_title", mbid=group.mbid),
                        ref=f"musicbrainz:{group.mbid}"))
    return SearchResults(hits, page, has_next, notes)


def _known_tmdb(keys: list[tuple[str, int]]) -> dict[tuple[str, int], Title]:
    if not keys:
        return {}
    rows = db.session.scalars(select(Title).where(tuple_(Title.kind, Title.tmdb_id).in_(keys)))
    return {(t.kind, t.tmdb_id): t for t in rows}  # type: ignore[misc]


def refresh_missing(limit: int) -> tuple[int, int]:
    """`flask catalog refresh`: fetch details for titles that have a provider id but no
    (or stale) details, oldest first. Returns (refreshed, failed)."""
    cutoff = utcnow() - DETAILS_MAX_AGE
    candidates = list(db.session.scalars(
        select(Title)
        .where((Title.tmdb_id.is_not(None)) | (Title.musicbrainz_id.is_not(None)))
        .where((Title.fetched_at.is_(None)) | (Title.fetched_at < cutoff))
        .order_by(Title.fetched_at.is_not(None), Title.fetched_at, Title.id)
        .limit(limit)
    ))
    ids = [title.id for title in candidates]
    done = failed = 0
    for title_id in ids:
        title = db.session.get(Title, title_id)
        if title is not None and refresh(title) is None and not is_stale(db.session.get(Title, title_id)):  # type: ignore[arg-type]
            done += 1
        else:
            failed += 1
    return done, failed
