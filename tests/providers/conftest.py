"""Fixtures for the provider clients: the fake server, sessions, clients, the engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests
from flask import Flask
from sqlalchemy.engine import Engine

from tests.fakes.providers import FakeProviders
from webapp.db import db
from webapp.providers.cache import ResponseCache, provider_engine, utcnow
from webapp.providers.coverart import CoverArtClient
from webapp.providers.http import RetryPolicy, make_session
from webapp.providers.musicbrainz import MusicBrainzClient
from webapp.providers.omdb import OmdbClient
from webapp.providers.ratelimit import RateLimiter
from webapp.providers.tmdb import TmdbClient

# Short timeouts: the fake answers in milliseconds, and its "timeout" mode sleeps 1 s.
TIMEOUT = (1.0, 0.4)
# Quick retries when no Retry-After is sent, so failure-mode tests stay fast.
FAST_RETRY = RetryPolicy(backoff=0.01)
USER_AGENT = "MarqueeTests/0.1 ( tests@example.com )"

RG_TIDEWATER = "b2b2b2b2-0000-4000-8000-0000000000b1"
RG_NIGHT_FERRY = "b2b2b2b2-0000-4000-8000-0000000000b2"
RG_NO_RELEASES = "b2b2b2b2-0000-4000-8000-0000000000b3"
RG_MERGED = "b2b2b2b2-0000-4000-8000-0000000000b9"
RG_UNKNOWN = "b2b2b2b2-0000-4000-8000-0000000000ff"
R_FIRST_OFFICIAL = "c3c3c3c3-0000-4000-8000-0000000000c2"
ARTIST = "a1a1a1a1-0000-4000-8000-00000000a001"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeProviders) -> Iterator[FakeProviders]:
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with make_session(USER_AGENT) as s:
        yield s


@pytest.fixture
def engine(app: Flask) -> Iterator[Engine]:
    """The test database's engine (tables built by the migrations, emptied after each test)."""
    with app.app_context():
        yield db.engine


@pytest.fixture
def provider_db(engine: Engine) -> Iterator[Engine]:
    """The engine build_providers gives the cache and the limiter (on SQLite, its own)."""
    shared = provider_engine(engine)
    yield shared
    if shared is not engine:
        shared.dispose()


class Clock:
    """A settable clock for the cache: `clock.advance(seconds)`."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(provider_db: Engine) -> ResponseCache:
    return ResponseCache(provider_db, wait=5.0, poll=0.02)


@pytest.fixture
def tmdb(fake: FakeProviders, session: requests.Session) -> TmdbClient:
    return TmdbClient(
        session,
        fake.tmdb_url,
        token=fake.tmdb_token,
        image_url=f"{fake.url}/images/tmdb",
        timeout=TIMEOUT,
        retry=FAST_RETRY,
    )


@pytest.fixture
def musicbrainz(fake: FakeProviders, session: requests.Session) -> MusicBrainzClient:
    """No rate limiter: the limiter has its own tests (test_ratelimit.py)."""
    return MusicBrainzClient(session, fake.musicbrainz_url, user_agent=USER_AGENT, timeout=TIMEOUT, retry=FAST_RETRY)


@pytest.fixture
def limited_musicbrainz(fake: FakeProviders, session: requests.Session, provider_db: Engine) -> MusicBrainzClient:
    limiter = RateLimiter(provider_db, "musicbrainz", 1.0, provider="MusicBrainz")
    return MusicBrainzClient(session, fake.musicbrainz_url, user_agent=USER_AGENT, limiter=limiter, timeout=TIMEOUT)


@pytest.fixture
def coverart(fake: FakeProviders, session: requests.Session) -> CoverArtClient:
    return CoverArtClient(session, fake.coverart_url, timeout=TIMEOUT, retry=FAST_RETRY)


@pytest.fixture
def omdb(fake: FakeProviders, session: requests.Session) -> OmdbClient:
    return OmdbClient(session, fake.omdb_url, api_key=fake.omdb_api_key, timeout=TIMEOUT, retry=FAST_RETRY)
