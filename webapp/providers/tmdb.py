"""TMDB (films and shows): search, details with credits, image configuration.

Authentication is the v4 read-access token (`Authorization: Bearer …`, preferred) or
the v3 `api_key` query parameter. Answers: 401 → ProviderAuthError, 404 →
ProviderNotFound, 429 and 5xx are retried (Retry-After honoured, see http.py) and
then raise ProviderUnavailable.

Image URLs are `{base}{size}{file_path}`; the base comes from TMDB_IMAGE_URL when set
(e.g. "https://image.tmdb.org/t/p"), else from /configuration's `secure_base_url`
(cached like details).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Generic, TypeVar

import requests

from webapp.providers.cache import DETAILS_TTL, SEARCH_TTL
from webapp.providers.errors import ProviderError, ProviderNotFound
from webapp.providers.http import JsonApi, decode_json, error_for_status, normalise_query, try_json

DEFAULT_API_URL = "https://api.themoviedb.org/3"
DEFAULT_IMAGE_URL = "https://image.tmdb.org/t/p"
DEFAULT_POSTER_SIZE = "w342"
KINDS = ("movie", "tv")
MAX_PAGE = 500  # TMDB refuses pages beyond 500

T = TypeVar("T")


@dataclass(frozen=True)
class SearchPage(Generic[T]):
    results: tuple[T, ...]
    page: int
    total_pages: int
    # As TMDB counts them: on /search/multi this includes the people and collections
    # that are dropped from `results`.
    total_results: int
    stale: bool = False


@dataclass(frozen=True)
class TmdbHit:
    """A film or show in search results."""

    kind: str  # "movie" | "tv"
    tmdb_id: int
    title: str
    original_title: str | None
    release_date: date | None
    overview: str
    poster_path: str | None
    poster_url: str | None
    adult: bool
    genre_ids: tuple[int, ...]
    vote_average: float | None

    @property
    def year(self) -> int | None:
        return self.release_date.year if self.release_date else None


@dataclass(frozen=True)
class CrewMember:
    tmdb_id: int
    name: str
    job: str
    profile_path: str | None = None


@dataclass(frozen=True)
class CastMember:
    tmdb_id: int
    name: str
    character: str | None
    order: int
    profile_path: str | None = None


@dataclass(frozen=True)
class TmdbTitle:
    """A film or show with its credits (append_to_response=credits)."""

    kind: str
    tmdb_id: int
    title: str
    original_title: str | None
    overview: str
    release_date: date | None  # films: release_date; shows: first_air_date
    runtime_minutes: int | None  # shows: a typical episode
    genres: tuple[str, ...]
    directors: tuple[CrewMember, ...]
    writers: tuple[CrewMember, ...]  # everyone in the Writing department, once each
    creators: tuple[CrewMember, ...]  # shows only (created_by)
    cast: tuple[CastMember, ...]  # in billing order
    poster_path: str | None
    poster_url: str | None
    adult: bool
    imdb_id: str | None
    stale: bool = False

    @property
    def year(self) -> int | None:
        return self.release_date.year if self.release_date else None


@dataclass(frozen=True)
class ImageConfig:
    secure_base_url: str
    poster_sizes: tuple[str, ...]

    def poster_base(self, size: str = DEFAULT_POSTER_SIZE) -> str:
        """The base to put a poster_path after, in `size` or the nearest TMDB offers."""
        if self.poster_sizes and size not in self.poster_sizes:
            size = "w500" if "w500" in self.poster_sizes else self.poster_sizes[-1]
        return f"{self.secure_base_url.rstrip('/')}/{size}"


# -- parsing --------------------------------------------------------------------------


def parse_date(value: Any) -> date | None:
    """TMDB dates are "YYYY-MM-DD", "" or null."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def image_url(base: str | None, path: str | None) -> str | None:
    if not base or not path:
        return None
    return f"{base.rstrip('/')}/{path.lstrip('/')}"


def parse_hit(item: dict[str, Any], kind: str, image_base: str | None = None) -> TmdbHit:
    if kind == "movie":
        title, original, released = item["title"], item.get("original_title"), item.get("release_date")
    else:
        title, original, released = item["name"], item.get("original_name"), item.get("first_air_date")
    return TmdbHit(
        kind=kind,
        tmdb_id=int(item["id"]),
        title=title,
        original_title=original or None,
        release_date=parse_date(released),
        overview=item.get("overview") or "",
        poster_path=item.get("poster_path") or None,
        poster_url=image_url(image_base, item.get("poster_path")),
        adult=bool(item.get("adult", False)),
        genre_ids=tuple(int(g) for g in item.get("genre_ids") or ()),
        vote_average=_float(item.get("vote_average")),
    )


def parse_search(data: dict[str, Any], kind: str = "multi", image_base: str | None = None) -> SearchPage[TmdbHit]:
    """A search page; for kind "multi" only films and shows are kept (no people or
    collections), each by its own `media_type`."""
    hits = []
    for item in data["results"]:
        item_kind = item.get("media_type") if kind == "multi" else kind
        if item_kind in KINDS:
            hits.append(parse_hit(item, item_kind, image_base))
    return SearchPage(
        results=tuple(hits),
        page=int(data.get("page") or 1),
        total_pages=int(data.get("total_pages") or 0),
        total_results=int(data.get("total_results") or 0),
    )


def parse_credits(
    credits: dict[str, Any],
) -> tuple[tuple[CrewMember, ...], tuple[CrewMember, ...], tuple[CastMember, ...]]:
    """(directors, writers, cast) from a credits object."""
    crew = credits.get("crew") or []
    directors = _unique(
        CrewMember(int(p["id"]), p["name"], p["job"], p.get("profile_path")) for p in crew if p.get("job") == "Director"
    )
    writers = _unique(
        CrewMember(int(p["id"]), p["name"], p.get("job") or "Writer", p.get("profile_path"))
        for p in crew
        if p.get("department") == "Writing"
    )
    cast_list = sorted(credits.get("cast") or [], key=lambda p: (p.get("order") is None, p.get("order") or 0))
    cast = tuple(
        CastMember(int(p["id"]), p["name"], p.get("character") or None, int(p.get("order") or i), p.get("profile_path"))
        for i, p in enumerate(cast_list)
    )
    return directors, writers, cast


def parse_details(data: dict[str, Any], kind: str, image_base: str | None = None) -> TmdbTitle:
    """A /movie/{id} or /tv/{id} answer, with or without appended credits."""
    directors, writers, cast = parse_credits(data.get("credits") or {})
    if kind == "movie":
        title, original, released = data["title"], data.get("original_title"), data.get("release_date")
        runtime = _positive(data.get("runtime"))
        imdb_id = data.get("imdb_id") or (data.get("external_ids") or {}).get("imdb_id")
        creators: tuple[CrewMember, ...] = ()
    else:
        title, original, released = data["name"], data.get("original_name"), data.get("first_air_date")
        episode_times = data.get("episode_run_time") or []
        last_episode = data.get("last_episode_to_air") or {}
        runtime = _positive(episode_times[0] if episode_times else last_episode.get("runtime"))
        imdb_id = (data.get("external_ids") or {}).get("imdb_id")
        creators = _unique(
            CrewMember(int(p["id"]), p["name"], "Creator", p.get("profile_path")) for p in data.get("created_by") or []
        )
    return TmdbTitle(
        kind=kind,
        tmdb_id=int(data["id"]),
        title=title,
        original_title=original or None,
        overview=data.get("overview") or "",
        release_date=parse_date(released),
        runtime_minutes=runtime,
        genres=tuple(g["name"] for g in data.get("genres") or []),
        directors=directors,
        writers=writers,
        creators=creators,
        cast=cast,
        poster_path=data.get("poster_path") or None,
        poster_url=image_url(image_base, data.get("poster_path")),
        adult=bool(data.get("adult", False)),
        imdb_id=imdb_id or None,
    )


def parse_image_config(data: dict[str, Any]) -> ImageConfig:
    images = data["images"]
    return ImageConfig(
        secure_base_url=images.get("secure_base_url") or images["base_url"],
        poster_sizes=tuple(images.get("poster_sizes") or ()),
    )


def check_response(response: requests.Response, provider: str = "TMDB") -> Any:
    """The JSON of a 200 answer, or the ProviderError for TMDB's error envelope
    ({"status_code": 7, "status_message": "Invalid API key…"} or {"errors": […]})."""
    if response.status_code == 200:
        return decode_json(response, provider)
    body = try_json(response)
    detail = ""
    if isinstance(body, dict):
        if "status_message" in body:
            detail = f"code {body.get('status_code')}: {body['status_message']}"
        elif body.get("errors"):
            detail = "; ".join(str(e) for e in body["errors"])
    raise error_for_status(response, provider, detail)


def _unique(people: Iterable[CrewMember]) -> tuple[CrewMember, ...]:
    seen: set[int] = set()
    kept = []
    for person in people:
        if person.tmdb_id not in seen:
            seen.add(person.tmdb_id)
            kept.append(person)
    return tuple(kept)


def _positive(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


# -- client ---------------------------------------------------------------------------


class TmdbClient(JsonApi):
    name = "TMDB"
    cache_prefix = "tmdb"

    def __init__(
        self,
        session: requests.Session,
        base_url: str = DEFAULT_API_URL,
        *,
        token: str | None = None,
        api_key: str | None = None,
        image_url: str | None = None,
        poster_size: str = DEFAULT_POSTER_SIZE,
        **options: Any,
    ) -> None:
        if not token and not api_key:
            raise ValueError("TMDB needs a read-access token or an API key")
        super().__init__(session, base_url, **options)
        self.token = token
        self.api_key = api_key
        self.image_url = image_url.rstrip("/") if image_url else None
        self.poster_size = poster_size
        self._image_base: str | None = None

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def auth_params(self) -> dict[str, str]:
        return {} if self.token else {"api_key": self.api_key or ""}

    def check(self, response: requests.Response) -> Any:
        return check_response(response, self.name)

    def search(
        self, query: str, page: int = 1, *, kind: str = "multi", include_adult: bool = False
    ) -> SearchPage[TmdbHit]:
        """Films and shows (kind "multi"), or only "movie" or "tv"."""
        if kind not in ("multi", *KINDS):
            raise ValueError(f"unknown TMDB search kind {kind!r}")
        query = normalise_query(query)
        page = min(max(page, 1), MAX_PAGE)
        if not query:
            return SearchPage(results=(), page=1, total_pages=0, total_results=0)
        params = {"query": query, "page": page, "include_adult": "true" if include_adult else "false"}
        found = self.get(f"search/{kind}", params, ttl=SEARCH_TTL, parse=lambda d: parse_search(d, kind))
        if any(hit.poster_path for hit in found.results):
            results = tuple(replace(hit, poster_url=self.poster_url(hit.poster_path)) for hit in found.results)
            found = replace(found, results=results)
        return found

    def search_movie(self, query: str, page: int = 1) -> SearchPage[TmdbHit]:
        return self.search(query, page, kind="movie")

    def search_tv(self, query: str, page: int = 1) -> SearchPage[TmdbHit]:
        return self.search(query, page, kind="tv")

    def details(self, kind: str, tmdb_id: int) -> TmdbTitle:
        if kind not in KINDS:
            raise ValueError(f"unknown TMDB kind {kind!r}")
        if int(tmdb_id) <= 0:
            raise ProviderNotFound(self.name, detail=f"bad id {tmdb_id!r}")
        # Shows carry their IMDb id in external_ids; films have it at the top level.
        append = "credits" if kind == "movie" else "credits,external_ids"
        title = self.get(
            f"{kind}/{int(tmdb_id)}",
            {"append_to_response": append},
            ttl=DETAILS_TTL,
            parse=lambda d: parse_details(d, kind),
        )
        return replace(title, poster_url=self.poster_url(title.poster_path)) if title.poster_path else title

    def movie(self, tmdb_id: int) -> TmdbTitle:
        return self.details("movie", tmdb_id)

    def tv(self, tmdb_id: int) -> TmdbTitle:
        return self.details("tv", tmdb_id)

    def image_config(self) -> ImageConfig:
        return self.get("configuration", {}, ttl=DETAILS_TTL, parse=parse_image_config)

    def image_base(self) -> str:
        """Where poster paths go after: TMDB_IMAGE_URL, or /configuration's base (asked
        once per process and cached), or TMDB's usual base when that call fails."""
        if self.image_url:
            return f"{self.image_url}/{self.poster_size}"
        if self._image_base is None:
            try:
                self._image_base = self.image_config().poster_base(self.poster_size)
            except ProviderError:
                return f"{DEFAULT_IMAGE_URL}/{self.poster_size}"
        return self._image_base

    def poster_url(self, poster_path: str | None) -> str | None:
        """The full poster URL (None without a path). Asked after a successful call, so a
        failing TMDB is not asked for its configuration as well."""
        return image_url(self.image_base(), poster_path) if poster_path else None
