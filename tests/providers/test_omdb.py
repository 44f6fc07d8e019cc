"""The OMDb client: errors inside HTTP 200 answers, "N/A" values, the key kept out of caches."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from webapp.providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderNotFound,
    ProviderUnavailable,
)
from webapp.providers.omdb import OmdbClient, error_from_message, parse_rating


def test_title_by_imdb_id(omdb, fake):
    title = omdb.title("tt9000001")
    call = fake.calls("omdb")[-1]
    assert (call["i"], call["apikey"]) == ("tt9000001", fake.omdb_api_key)
    assert (title.imdb_id, title.title, title.year, title.type) == ("tt9000001", "Harbour Lights", "2019", "movie")
    assert (title.imdb_rating, title.imdb_votes, title.metascore) == (7.2, 12408, 71)
    assert (title.runtime_minutes, title.released, title.rated) == (104, date(2019, 3, 8), "PG-13")
    assert title.genres == ("Drama", "Mystery")
    assert title.directors == ("Selma Rask",) and title.writers == ("Selma Rask", "Jonas Weir")
    assert title.poster_url is None  # "N/A"
    assert title.ratings[1] == ("Rotten Tomatoes", "88%")


def test_not_applicable_values_are_none(omdb):
    series = omdb.title("tt9100001")
    assert (series.type, series.year) == ("series", "2021–")
    assert (series.imdb_rating, series.imdb_votes, series.metascore, series.runtime_minutes) == (None, None, None, None)
    assert series.directors == () and series.plot == ""
    assert omdb.rating("tt9100001") is None


@pytest.mark.parametrize(("value", "rating"), [("6.4", 6.4), ("N/A", None), ("", None), (None, None), ("10", 10.0)])
def test_parse_rating(value, rating):
    assert parse_rating(value) == rating


def test_wrong_key_is_an_auth_error(fake, session):
    client = OmdbClient(session, fake.omdb_url, api_key="nope")
    with pytest.raises(ProviderAuthError) as caught:
        client.title("tt9000001")
    assert caught.value.detail == "OMDb: Invalid API key!"


def test_unknown_and_malformed_ids_are_not_found(omdb, fake):
    with pytest.raises(ProviderNotFound) as caught:
        omdb.title("tt0000000")
    assert caught.value.detail == "OMDb: Movie not found!"
    with pytest.raises(ProviderNotFound):
        omdb.title("wrongid")
    assert len(fake.calls("omdb")) == 1  # the malformed id was not sent


@pytest.mark.parametrize(
    ("mode", "error", "calls"),
    [
        ("401", ProviderAuthError, 1),
        ("limit", ProviderUnavailable, 1),
        ("404", ProviderNotFound, 1),
        ("503", ProviderUnavailable, 3),
        ("malformed", ProviderBadResponse, 1),
        ("html", ProviderBadResponse, 1),
        ("timeout", ProviderUnavailable, 1),
    ],
)
def test_failure_modes(omdb, fake, mode, error, calls):
    fake.fail("omdb", mode, retry_after="0")
    with pytest.raises(error) as caught:
        omdb.title("tt9000001")
    assert type(caught.value) is error
    assert len(fake.calls("omdb")) == calls
    if mode == "limit":
        assert caught.value.message == "OMDb's daily request limit is used up."


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("Invalid API key!", ProviderAuthError),
        ("No API key provided.", ProviderAuthError),
        ("Request limit reached!", ProviderUnavailable),
        ("Movie not found!", ProviderNotFound),
        ("Incorrect IMDb ID.", ProviderNotFound),
        ("Too many results.", ProviderNotFound),
        ("Error getting data.", ProviderUnavailable),
        ("Something new", ProviderBadResponse),
    ],
)
def test_error_messages(message, error):
    assert type(error_from_message(message)) is error


def test_search(omdb):
    page = omdb.search("harbour lights")
    assert [(hit.imdb_id, hit.type) for hit in page.results] == [("tt9000001", "movie"), ("tt9000009", "game")]
    assert page.total_results == 2 and page.results[0].poster_url is None
    assert omdb.search("zzz unknown").results == ()
    assert omdb.search("ab").results == ()  # "Too many results."


def test_the_api_key_is_sent_but_not_cached(fake, session, cache, engine):
    client = OmdbClient(session, fake.omdb_url, api_key=fake.omdb_api_key, cache=cache)
    assert client.title("tt9000001") == client.title("tt9000001")
    assert len(fake.calls("omdb")) == 1
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT key FROM provider_cache")).scalars().all()
    assert keys == ["omdb:title?i=tt9000001"]
