"""Clients for external catalog services (TMDB, MusicBrainz, Cover Art Archive, OMDb).

The clients import nothing from Flask: they take a requests.Session, a base URL and
credentials, set explicit timeouts, return dataclasses and raise ProviderError."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from webapp.providers import coverart, musicbrainz, omdb, tmdb
from webapp.providers.cache import DETAILS_TTL, SEARCH_TTL, Cached, ResponseCache, provider_engine
from webapp.providers.coverart import CoverArtClient
from webapp.providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)
from webapp.providers.http import DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, make_session
from webapp.providers.musicbrainz import MusicBrainzClient
from webapp.providers.omdb import OmdbClient
from webapp.providers.ratelimit import RateLimiter
from webapp.providers.tmdb import TmdbClient

__all__ = [
    "Cached",
    "CoverArtClient",
    "DETAILS_TTL",
    "MusicBrainzClient",
    "OmdbClient",
    "ProviderAuthError",
    "ProviderBadResponse",
    "ProviderError",
    "ProviderNotFound",
    "ProviderUnavailable",
    "Providers",
    "RateLimiter",
    "ResponseCache",
    "SEARCH_TTL",
    "TmdbClient",
    "build_providers",
]


@dataclass(frozen=True)
class Providers:
    """The configured clients; a client is None when its provider is not configured."""

    tmdb: TmdbClient | None
    musicbrainz: MusicBrainzClient | None
    coverart: CoverArtClient | None
    omdb: OmdbClient | None
    cache: ResponseCache
    own_engine: bool = False  # the cache's engine was made for the providers (SQLite)

    @property
    def configured(self) -> dict[str, bool]:
        return {
            "tmdb": self.tmdb is not None,
            "musicbrainz": self.musicbrainz is not None,
            "coverart": self.coverart is not None,
            "omdb": self.omdb is not None,
        }

    def close(self) -> None:
        """Close the sessions, and the engine build_providers made for SQLite."""
        for client in (self.tmdb, self.musicbrainz, self.coverart, self.omdb):
            if client is not None:
                client.session.close()
        if self.own_engine:
            self.cache.engine.dispose()


def build_providers(settings: Mapping[str, Any], engine: Engine) -> Providers:
    """The clients that `settings` configure (a plain mapping, e.g. app.config):

    * TMDB with TMDB_TOKEN (v4 read-access token, preferred) or TMDB_API_KEY; base
      TMDB_API_URL; TMDB_IMAGE_URL (e.g. "https://image.tmdb.org/t/p") skips the
      /configuration call.
    * MusicBrainz and Cover Art Archive need no key and are on unless
      MUSICBRAINZ_ENABLED is false ("0", "false", "no", "off") — and off by default
      when TESTING is true, so a test reaches them only by asking (with a fake's URL).
      MUSICBRAINZ_USER_AGENT names the app and a contact; MUSICBRAINZ_INTERVAL (seconds
      between requests, default 1) exists for tests against a local fake.
    * OMDb with OMDB_API_KEY; base OMDB_API_URL.
    * PROVIDER_TIMEOUT: the read timeout in seconds (default 6; connecting: 3.05).

    On SQLite the cache and the rate limiter get an engine of their own (see
    cache.provider_engine); `Providers.close()` disposes of it.
    """
    timeout = (DEFAULT_TIMEOUT[0], float(settings.get("PROVIDER_TIMEOUT") or DEFAULT_TIMEOUT[1]))
    app_engine, engine = engine, provider_engine(engine)
    cache = ResponseCache(engine)

    tmdb_client = None
    if settings.get("TMDB_TOKEN") or settings.get("TMDB_API_KEY"):
        tmdb_client = TmdbClient(
            make_session(),
            settings.get("TMDB_API_URL") or tmdb.DEFAULT_API_URL,
            token=settings.get("TMDB_TOKEN") or None,
            api_key=settings.get("TMDB_API_KEY") or None,
            image_url=settings.get("TMDB_IMAGE_URL") or None,
            timeout=timeout,
            cache=cache,
        )

    musicbrainz_client = coverart_client = None
    if _flag(settings.get("MUSICBRAINZ_ENABLED"), default=not _flag(settings.get("TESTING"), default=False)):
        user_agent = settings.get("MUSICBRAINZ_USER_AGENT") or DEFAULT_USER_AGENT
        interval = settings.get("MUSICBRAINZ_INTERVAL")
        interval = 1.0 / musicbrainz.REQUESTS_PER_SECOND if interval in (None, "") else float(interval)
        limiter = RateLimiter(engine, "musicbrainz", interval, provider=MusicBrainzClient.name)
        musicbrainz_client = MusicBrainzClient(
            make_session(user_agent),
            settings.get("MUSICBRAINZ_API_URL") or musicbrainz.DEFAULT_API_URL,
            user_agent=user_agent,
            limiter=limiter,
            timeout=timeout,
            cache=cache,
        )
        coverart_client = CoverArtClient(
            make_session(),
            settings.get("COVERART_API_URL") or coverart.DEFAULT_API_URL,
            timeout=timeout,
            cache=cache,
        )

    omdb_client = None
    if settings.get("OMDB_API_KEY"):
        omdb_client = OmdbClient(
            make_session(),
            settings.get("OMDB_API_URL") or omdb.DEFAULT_API_URL,
            api_key=settings["OMDB_API_KEY"],
            timeout=timeout,
            cache=cache,
        )

    return Providers(
        tmdb=tmdb_client,
        musicbrainz=musicbrainz_client,
        coverart=coverart_client,
        omdb=omdb_client,
        cache=cache,
        own_engine=engine is not app_engine,
    )


def _flag(value: Any, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() not in {"0", "false", "no", "off"}
    return bool(value)
