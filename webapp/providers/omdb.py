"""OMDb (optional enrichment): a title by IMDb id, with its IMDb rating.

OMDb answers most errors with HTTP 200 and {"Response": "False", "Error": "…"}, and
key problems and the daily limit with 401 and the same envelope, so the envelope is
read first: "Invalid API key!" / "No API key provided." → ProviderAuthError,
"Movie not found!" / "Incorrect IMDb ID." → ProviderNotFound, "Request limit
reached!" → ProviderUnavailable. Every value is a string; "N/A" means missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import requests

from webapp.providers.cache import DETAILS_TTL, SEARCH_TTL
from webapp.providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)
from webapp.providers.http import JsonApi, error_for_status, normalise_query, try_json

DEFAULT_API_URL = "https://www.omdbapi.com/"
IMDB_ID = re.compile(r"tt\d{7,10}")


@dataclass(frozen=True)
class OmdbTitle:
    imdb_id: str
    title: str
    year: str  # "2016", or a range for series: "1999–2001"
    type: str  # "movie", "series", "episode"
    rated: str | None
    released: date | None
    runtime_minutes: int | None
    genres: tuple[str, ...]
    directors: tuple[str, ...]
    writers: tuple[str, ...]
    actors: tuple[str, ...]
    plot: str
    poster_url: str | None
    imdb_rating: float | None
    imdb_votes: int | None
    metascore: int | None
    ratings: tuple[tuple[str, str], ...]  # (source, value) as OMDb writes them
    stale: bool = False


@dataclass(frozen=True)
class OmdbHit:
    imdb_id: str
    title: str
    year: str
    type: str
    poster_url: str | None


@dataclass(frozen=True)
class OmdbSearchPage:
    results: tuple[OmdbHit, ...]
    total_results: int  # ten per page
    page: int
    stale: bool = False


# -- parsing --------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return None if value in ("", "N/A") else value


def _list(value: Any) -> tuple[str, ...]:
    text = _text(value)
    return tuple(part.strip() for part in text.split(",") if part.strip()) if text else ()


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    text = _text(value)
    if text is None:
        return None
    try:
        return kind(text.replace(",", ""))
    except ValueError:
        return None


def parse_rating(value: Any) -> float | None:
    """imdbRating: "6.4" → 6.4, "N/A" → None."""
    return _number(value, float)


def _released(value: Any) -> date | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%d %b %Y").date()
    except ValueError:
        return None


def _minutes(value: Any) -> int | None:
    text = _text(value)
    match = re.match(r"(\d+)\s*min", text or "")
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def parse_title(data: dict[str, Any]) -> OmdbTitle:
    return OmdbTitle(
        imdb_id=data["imdbID"],
        title=data["Title"],
        year=_text(data.get("Year")) or "",
        type=_text(data.get("Type")) or "",
        rated=_text(data.get("Rated")),
        released=_released(data.get("Released")),
        runtime_minutes=_minutes(data.get("Runtime")),
        genres=_list(data.get("Genre")),
        directors=_list(data.get("Director")),
        writers=_list(data.get("Writer")),
        actors=_list(data.get("Actors")),
        plot=_text(data.get("Plot")) or "",
        poster_url=_text(data.get("Poster")),
        imdb_rating=parse_rating(data.get("imdbRating")),
        imdb_votes=_number(data.get("imdbVotes"), int),
        metascore=_number(data.get("Metascore"), int),
        ratings=tuple((r["Source"], r["Value"]) for r in data.get("Ratings") or ()),
    )


def parse_search(data: dict[str, Any], page: int = 1) -> OmdbSearchPage:
    return OmdbSearchPage(
        results=tuple(
            OmdbHit(
                imdb_id=item["imdbID"],
                title=item["Title"],
                year=_text(item.get("Year")) or "",
                type=_text(item.get("Type")) or "",
                poster_url=_text(item.get("Poster")),
            )
            for item in data["Search"]
        ),
        total_results=_number(data.get("totalResults"), int) or 0,
        page=page,
    )


def error_from_message(message: str, provider: str = "OMDb") -> ProviderError:
    """The ProviderError for OMDb's {"Response": "False", "Error": message}."""
    text = message.lower()
    detail = f"OMDb: {message}"
    if "api key" in text:
        return ProviderAuthError(provider, detail=detail)
    if "limit" in text:
        return ProviderUnavailable(provider, f"{provider}'s daily request limit is used up.", detail=detail)
    if "not found" in text or "incorrect imdb id" in text or "too many results" in text:
        return ProviderNotFound(provider, detail=detail)
    if "error getting data" in text:
        return ProviderUnavailable(provider, detail=detail)
    return ProviderBadResponse(provider, detail=detail)


def check_response(response: requests.Response, provider: str = "OMDb") -> Any:
    body = try_json(response)
    if isinstance(body, dict) and str(body.get("Response", "")).lower() == "false":
        raise error_from_message(str(body.get("Error") or ""), provider)
    if response.status_code != 200:
        raise error_for_status(response, provider)
    if not isinstance(body, dict):
        raise ProviderBadResponse(provider, detail="HTTP 200: not a JSON object")
    return body


# -- client ---------------------------------------------------------------------------


class OmdbClient(JsonApi):
    name = "OMDb"
    cache_prefix = "omdb"

    def __init__(
        self, session: requests.Session, base_url: str = DEFAULT_API_URL, *, api_key: str, **options: Any
    ) -> None:
        if not api_key:
            raise ValueError("OMDb needs an API key")
        super().__init__(session, base_url, **options)
        self.api_key = api_key

    def url(self, path: str) -> str:
        return f"{self.base_url}/"  # every OMDb call is a query on the root

    def auth_params(self) -> dict[str, str]:
        return {"apikey": self.api_key}

    def check(self, response: requests.Response) -> Any:
        return check_response(response, self.name)

    def title(self, imdb_id: str) -> OmdbTitle:
        imdb_id = imdb_id.strip().lower()
        if not IMDB_ID.fullmatch(imdb_id):
            raise ProviderNotFound(self.name, detail=f"not an IMDb id: {imdb_id[:20]!r}")
        return self.get("title", {"i": imdb_id}, ttl=DETAILS_TTL, parse=parse_title)

    def rating(self, imdb_id: str) -> float | None:
        return self.title(imdb_id).imdb_rating

    def search(self, query: str, page: int = 1) -> OmdbSearchPage:
        query = normalise_query(query)
        page = min(max(page, 1), 100)
        if not query:
            return OmdbSearchPage(results=(), total_results=0, page=1)
        try:
            return self.get("search", {"s": query, "page": page}, ttl=SEARCH_TTL, parse=lambda d: parse_search(d, page))
        except ProviderNotFound:  # "Movie not found!", "Too many results."
            return OmdbSearchPage(results=(), total_results=0, page=page)
