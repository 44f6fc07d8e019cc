"""MusicBrainz (albums): release-group search and lookups, the track list of a release,
artists.

Every request asks for `fmt=json`, sends a User-Agent that names Marquee and a contact
(MusicBrainz refuses anonymous clients with 403), and first waits for the shared
one-request-per-second slot (ratelimit.py) — retries and redirects included. 503 is
MusicBrainz's "slow down" answer: it is retried honouring Retry-After, then raises
ProviderUnavailable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

import requests

from webapp.providers.cache import DETAILS_TTL, SEARCH_TTL
from webapp.providers.errors import ProviderAuthError, ProviderNotFound
from webapp.providers.http import (
    DEFAULT_USER_AGENT,
    JsonApi,
    RetryPolicy,
    decode_json,
    error_for_status,
    normalise_query,
    try_json,
)
from webapp.providers.ratelimit import RateLimiter

DEFAULT_API_URL = "https://musicbrainz.org/ws/2"
REQUESTS_PER_SECOND = 1
# MusicBrainz asks for at least a second between retries; the limiter adds its own.
RETRY = RetryPolicy(backoff=1.0)
MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')

T = TypeVar("T")


@dataclass(frozen=True)
class ArtistCredit:
    mbid: str
    name: str  # the artist's own name
    credited_as: str  # the name printed on this release group or release
    joinphrase: str = ""


@dataclass(frozen=True)
class ReleaseRef:
    mbid: str
    title: str
    status: str | None  # "Official", "Promotion", "Bootleg", …
    date: str | None  # "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    country: str | None = None


@dataclass(frozen=True)
class ReleaseGroup:
    """An album as MusicBrainz groups its editions (a search hit or a lookup)."""

    mbid: str
    title: str
    primary_type: str | None
    secondary_types: tuple[str, ...]
    first_release_date: str | None
    artist_credit: str  # as printed: "Artist A & Artist B"
    artists: tuple[ArtistCredit, ...]
    releases: tuple[ReleaseRef, ...]
    genres: tuple[str, ...]  # most voted first; tags when there are no genres
    score: int | None = None  # search relevance, 0-100
    stale: bool = False

    @property
    def year(self) -> int | None:
        return partial_date_year(self.first_release_date)

    @property
    def release_date(self) -> date | None:
        return full_date(self.first_release_date)


@dataclass(frozen=True)
class Track:
    disc: int
    position: int
    number: str | None  # as printed: "3", "A1"
    title: str
    length_seconds: int | None
    recording_mbid: str | None = None


@dataclass(frozen=True)
class Release:
    mbid: str
    title: str
    status: str | None
    date: str | None
    country: str | None
    artist_credit: str
    artists: tuple[ArtistCredit, ...]
    release_group_mbid: str | None
    tracks: tuple[Track, ...]  # empty unless looked up with inc=recordings
    track_count: int
    has_front_cover: bool | None  # from "cover-art-archive", when present
    stale: bool = False


@dataclass(frozen=True)
class Album:
    """A release group with the track list of its first official release."""

    release_group: ReleaseGroup
    release: Release | None
    stale: bool = False

    @property
    def mbid(self) -> str:
        return self.release_group.mbid

    @property
    def title(self) -> str:
        return self.release_group.title

    @property
    def artist_credit(self) -> str:
        return self.release_group.artist_credit

    @property
    def genres(self) -> tuple[str, ...]:
        return self.release_group.genres

    @property
    def year(self) -> int | None:
        return self.release_group.year

    @property
    def tracks(self) -> tuple[Track, ...]:
        return self.release.tracks if self.release else ()

    @property
    def runtime_minutes(self) -> int | None:
        lengths = [t.length_seconds for t in self.tracks]
        if not lengths or None in lengths:
            return None
        return max(1, round(sum(lengths) / 60))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Artist:
    mbid: str
    name: str
    sort_name: str
    type: str | None
    country: str | None
    disambiguation: str
    begin: str | None
    end: str | None
    stale: bool = False


@dataclass(frozen=True)
class SearchPage(Generic[T]):
    """MusicBrainz pages by offset: the next page starts at `offset + len(results)`."""

    results: tuple[T, ...]
    count: int
    offset: int
    stale: bool = False

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.results)
        return following if self.results and following < self.count else None


# -- parsing --------------------------------------------------------------------------


def partial_date_year(value: str | None) -> int | None:
    if value and len(value) >= 4 and value[:4].isdigit():
        return int(value[:4])
    return None


def full_date(value: str | None) -> date | None:
    if value and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def parse_artist_credit(credits: list[dict[str, Any]] | None) -> tuple[str, tuple[ArtistCredit, ...]]:
    """("Artist A & Artist B", the credited artists)."""
    artists = []
    printed = []
    for credit in credits or []:
        artist = credit["artist"]
        shown = credit.get("name") or artist["name"]
        joinphrase = credit.get("joinphrase") or ""
        artists.append(ArtistCredit(artist["id"], artist["name"], shown, joinphrase))
        printed.append(shown + joinphrase)
    return "".join(printed).strip(), tuple(artists)


def parse_genres(entity: dict[str, Any]) -> tuple[str, ...]:
    """Genre names, most voted first; the folksonomy tags when there are no genres."""
    votes = entity.get("genres") or entity.get("tags") or []
    ranked = sorted(votes, key=lambda g: -int(g.get("count") or 0))
    return tuple(dict.fromkeys(g["name"] for g in ranked))


def parse_release_ref(item: dict[str, Any]) -> ReleaseRef:
    return ReleaseRef(
        mbid=item["id"],
        title=item.get("title") or "",
        status=item.get("status") or None,
        date=item.get("date") or None,
        country=item.get("country") or None,
    )


def parse_release_group(item: dict[str, Any]) -> ReleaseGroup:
    printed, artists = parse_artist_credit(item.get("artist-credit"))
    score = item.get("score")
    return ReleaseGroup(
        mbid=item["id"],
        title=item["title"],
        primary_type=item.get("primary-type") or None,
        secondary_types=tuple(item.get("secondary-types") or ()),
        first_release_date=item.get("first-release-date") or None,
        artist_credit=printed,
        artists=artists,
        releases=tuple(parse_release_ref(r) for r in item.get("releases") or ()),
        genres=parse_genres(item),
        score=int(score) if score is not None else None,  # very old answers send "100"
    )


def parse_tracks(media: list[dict[str, Any]] | None) -> tuple[Track, ...]:
    tracks = []
    for disc_index, medium in enumerate(media or [], start=1):
        disc = int(medium.get("position") or disc_index)
        for index, track in enumerate(medium.get("tracks") or [], start=1):
            length = track.get("length")
            if length is None:
                length = (track.get("recording") or {}).get("length")
            tracks.append(
                Track(
                    disc=disc,
                    position=int(track.get("position") or index),
                    number=track.get("number") or None,
                    title=track.get("title") or (track.get("recording") or {}).get("title") or "",
                    length_seconds=round(length / 1000) if isinstance(length, (int, float)) else None,
                    recording_mbid=(track.get("recording") or {}).get("id"),
                )
            )
    return tuple(tracks)


def parse_release(item: dict[str, Any]) -> Release:
    """A release lookup (with inc=recordings: its tracks) or a release search hit."""
    printed, artists = parse_artist_credit(item.get("artist-credit"))
    media = item.get("media") or []
    cover = item.get("cover-art-archive")
    track_count = item.get("track-count")
    if track_count is None:
        track_count = sum(int(m.get("track-count") or len(m.get("tracks") or [])) for m in media)
    return Release(
        mbid=item["id"],
        title=item["title"],
        status=item.get("status") or None,
        date=item.get("date") or None,
        country=item.get("country") or None,
        artist_credit=printed,
        artists=artists,
        release_group_mbid=(item.get("release-group") or {}).get("id"),
        tracks=parse_tracks(media),
        track_count=int(track_count),
        has_front_cover=bool(cover["front"]) if isinstance(cover, dict) and "front" in cover else None,
    )


def parse_artist(item: dict[str, Any]) -> Artist:
    life = item.get("life-span") or {}
    return Artist(
        mbid=item["id"],
        name=item["name"],
        sort_name=item.get("sort-name") or item["name"],
        type=item.get("type") or None,
        country=item.get("country") or None,
        disambiguation=item.get("disambiguation") or "",
        begin=life.get("begin") or None,
        end=life.get("end") or None,
    )


def parse_search(data: dict[str, Any], key: str, parse_item: Callable[[dict[str, Any]], T]) -> SearchPage[T]:
    """A search answer: {"count": …, "offset": …, "<entities>": [...]}."""
    return SearchPage(
        results=tuple(parse_item(item) for item in data[key]),
        count=int(data.get("count") or 0),
        offset=int(data.get("offset") or 0),
    )


def pick_release(releases: tuple[ReleaseRef, ...]) -> ReleaseRef | None:
    """The first official release (earliest date, then MusicBrainz's order); any
    release when none is official."""
    if not releases:
        return None
    official = [r for r in releases if (r.status or "").lower() == "official"] or list(releases)
    return min(official, key=lambda r: (r.date is None, r.date or ""))


def lucene_escape(text: str) -> str:
    return LUCENE_SPECIAL.sub(r"\\\1", text)


def album_query(text: str) -> str:
    """A Lucene query for albums whose title or artist matches the words of `text`."""
    words = lucene_escape(text)
    return f"(releasegroup:({words}) OR artist:({words})) AND primarytype:album"


def check_response(response: requests.Response, provider: str = "MusicBrainz") -> Any:
    """The JSON of a 200 answer, or the ProviderError for {"error": "…"}."""
    if response.status_code == 200:
        return decode_json(response, provider)
    body = try_json(response)
    detail = str(body.get("error", "")) if isinstance(body, dict) else ""
    if response.status_code == 403:
        raise ProviderAuthError(
            provider,
            f"{provider} refused Marquee's requests; an administrator needs to check MUSICBRAINZ_USER_AGENT.",
            detail=f"HTTP 403: {detail}",
        )
    raise error_for_status(response, provider, detail)


# -- client ---------------------------------------------------------------------------


class MusicBrainzClient(JsonApi):
    name = "MusicBrainz"
    cache_prefix = "mb"

    def __init__(
        self,
        session: requests.Session,
        base_url: str = DEFAULT_API_URL,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        limiter: RateLimiter | None = None,
        **options: Any,
    ) -> None:
        options.setdefault("retry", RETRY)
        super().__init__(session, base_url, pace=limiter.wait if limiter else None, **options)
        self.user_agent = user_agent
        self.limiter = limiter

    def auth_headers(self) -> dict[str, str]:
        return {"User-Agent": self.user_agent, "Accept": "application/json"}

    def check(self, response: requests.Response) -> Any:
        return check_response(response, self.name)

    def search_albums(self, query: str, *, limit: int = 25, offset: int = 0) -> SearchPage[ReleaseGroup]:
        query = normalise_query(query)
        if not query:
            return SearchPage(results=(), count=0, offset=0)
        params = {
            "query": album_query(query),
            "limit": min(max(limit, 1), 100),
            "offset": max(offset, 0),
            "fmt": "json",
        }
        return self.get(
            "release-group",
            params,
            ttl=SEARCH_TTL,
            parse=lambda d: parse_search(d, "release-groups", parse_release_group),
        )

    def release_group(self, mbid: str) -> ReleaseGroup:
        params = {"inc": "artist-credits+releases+genres", "fmt": "json"}
        return self.get(f"release-group/{self._mbid(mbid)}", params, ttl=DETAILS_TTL, parse=parse_release_group)

    def release(self, mbid: str) -> Release:
        params = {"inc": "recordings", "fmt": "json"}
        return self.get(f"release/{self._mbid(mbid)}", params, ttl=DETAILS_TTL, parse=parse_release)

    def album(self, mbid: str) -> Album:
        """The release group and the track list of its first official release (two
        lookups, each cached and rate-limited on its own)."""
        group = self.release_group(mbid)
        chosen = pick_release(group.releases)
        release = self.release(chosen.mbid) if chosen else None
        return Album(group, release, stale=group.stale or bool(release and release.stale))

    def artist(self, mbid: str) -> Artist:
        return self.get(f"artist/{self._mbid(mbid)}", {"fmt": "json"}, ttl=DETAILS_TTL, parse=parse_artist)

    def _mbid(self, mbid: str) -> str:
        mbid = mbid.strip().lower()
        if not MBID.fullmatch(mbid):
            raise ProviderNotFound(self.name, detail=f"not an MBID: {mbid[:40]!r}")
        return mbid

