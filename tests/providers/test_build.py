"""build_providers: which clients a settings mapping turns on, and how they are wired."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from tests.providers.conftest import RG_TIDEWATER
from webapp.db import db, write_transaction
from webapp.providers import Providers, build_providers
from webapp.providers.cache import provider_cache
from webapp.providers.http import DEFAULT_USER_AGENT


@pytest.fixture
def build(engine: Engine) -> Iterator[Any]:
    """build_providers(settings, engine), closed after the test."""
    built: list[Providers] = []

    def make(settings: dict[str, Any]) -> Providers:
        built.append(build_providers(settings, engine))
        return built[-1]

    yield make
    for providers in built:
        providers.close()


def test_everything_configured_against_the_fake(fake, build):
    providers = build(fake.settings(MUSICBRAINZ_INTERVAL="0"))
    assert providers.configured == {"tmdb": True, "musicbrainz": True, "coverart": True, "omdb": True}
    assert providers.tmdb is not None and providers.tmdb.search("harbour").results
    assert providers.musicbrainz is not None and providers.musicbrainz.album(RG_TIDEWATER).tracks
    assert providers.coverart is not None and providers.coverart.front_url(RG_TIDEWATER)
    assert providers.omdb is not None and providers.omdb.rating("tt9000001") == 7.2
    # Everything went through the shared cache: asking again reaches nobody.
    before = len(fake.calls())
    providers.tmdb.search("harbour")
    providers.musicbrainz.album(RG_TIDEWATER)
    assert len(fake.calls()) == before
    mb_call = fake.calls("musicbrainz")[0]
    assert mb_call.headers["User-Agent"] == "MarqueeTests/0.1 ( tests@example.com )"


def test_nothing_configured_under_testing(build, engine):
    providers = build({"TESTING": True})
    assert providers.configured == {"tmdb": False, "musicbrainz": False, "coverart": False, "omdb": False}
    # SQLite: an engine of the providers' own on the same file; PostgreSQL: the app's.
    assert providers.cache.engine.url == engine.url
    assert (providers.cache.engine is engine) == (engine.dialect.name == "postgresql") == (not providers.own_engine)


def test_musicbrainz_is_on_by_default_outside_tests(build):
    providers = build({})
    assert providers.musicbrainz is not None and providers.coverart is not None
    assert providers.musicbrainz.base_url == "https://musicbrainz.org/ws/2"
    assert providers.coverart.base_url == "https://coverartarchive.org"
    assert providers.musicbrainz.user_agent == DEFAULT_USER_AGENT
    assert providers.musicbrainz.limiter is not None
    assert providers.musicbrainz.limiter.interval.total_seconds() == 1.0


@pytest.mark.parametrize("value", ["0", "false", "off", "no", False])
def test_musicbrainz_can_be_switched_off(build, value):
    providers = build({"MUSICBRAINZ_ENABLED": value})
    assert providers.musicbrainz is None and providers.coverart is None


def test_tmdb_with_a_v3_key_and_default_urls(build):
    providers = build({"TMDB_API_KEY": "k" * 32, "TESTING": True})
    assert providers.tmdb is not None
    assert providers.tmdb.base_url == "https://api.themoviedb.org/3"
    assert providers.tmdb.auth_params() == {"api_key": "k" * 32} and providers.tmdb.auth_headers() == {}
    providers.close()


def test_the_token_wins_over_the_key(build):
    providers = build({"TMDB_API_KEY": "k", "TMDB_TOKEN": "t", "TESTING": True})
    assert providers.tmdb is not None
    assert providers.tmdb.auth_headers() == {"Authorization": "Bearer t"} and providers.tmdb.auth_params() == {}
    providers.close()


def test_image_url_and_timeout_settings(build):
    providers = build(
        {"TMDB_TOKEN": "t", "TMDB_IMAGE_URL": "https://img.example/t/p/", "PROVIDER_TIMEOUT": "2.5", "TESTING": True}
    )
    assert providers.tmdb is not None
    assert providers.tmdb.poster_url("/a.jpg") == "https://img.example/t/p/w342/a.jpg"
    assert providers.tmdb.timeout == (3.05, 2.5)
    providers.close()


def test_omdb_needs_its_key(build):
    assert build({"OMDB_API_KEY": "", "TESTING": True}).omdb is None
    providers = build({"OMDB_API_KEY": "x", "TESTING": True})
    assert providers.omdb is not None and providers.omdb.base_url == "https://www.omdbapi.com"


def test_providers_work_inside_a_sqlite_write_transaction(fake, build, engine):
    """A form post holds SQLite's write lock from its first query: the cache and the
    limiter must not wait 30 s for it, they step aside (nothing cached, the limit kept
    in-process) and the page still gets its answer."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    providers = build(fake.settings())
    assert providers.tmdb is not None and providers.musicbrainz is not None
    with write_transaction():
        db.session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the lock is now held
        started = time.monotonic()
        assert providers.tmdb.search("harbour").results
        assert providers.musicbrainz.release_group(RG_TIDEWATER).title == "Tidewater Hymns"
        assert time.monotonic() - started < 5
        db.session.rollback()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(provider_cache)).scalar_one() == 0
    assert providers.tmdb.search("harbour").results  # with the lock gone, the cache works again
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(provider_cache)).scalar_one() == 1
