"""The TMDB client against the fake server: parsing, authentication, failures."""

from __future__ import annotations

from datetime import date

import pytest

from tests.providers.conftest import FAST_RETRY, TIMEOUT
from webapp.providers.cache import ResponseCache
from webapp.providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderNotFound,
    ProviderUnavailable,
)
from webapp.providers.tmdb import DEFAULT_IMAGE_URL, TmdbClient, parse_image_config


def test_multi_search_keeps_films_and_shows_only(tmdb, fake):
    page = tmdb.search("Harbour")
    assert [(hit.kind, hit.tmdb_id) for hit in page.results] == [("movie", 9001), ("tv", 9101), ("movie", 9002)]
    assert (page.page, page.total_pages, page.total_results, page.stale) == (1, 1, 5, False)
    film, show, sequel = page.results
    assert (film.title, film.original_title, film.release_date, film.year) == (
        "Harbour Lights",
        "Havnelys",
        date(2019, 3, 8),
        2019,
    )
    assert film.poster_url == f"{fake.url}/images/tmdb/w342/hlPoster9001.jpg"
    assert (show.title, show.original_title, show.release_date) == ("Harbour Watch", "Havnevakt", date(2021, 9, 12))
    assert (sequel.release_date, sequel.poster_path, sequel.poster_url, sequel.year) == (None, None, None, None)
    call = fake.calls("tmdb")[-1]
    assert (call.path, call["query"], call["page"], call["include_adult"]) == ("/search/multi", "harbour", "1", "false")


def test_movie_and_tv_searches(tmdb):
    films = tmdb.search_movie("harbour")
    assert [hit.tmdb_id for hit in films.results] == [9001, 9002, 9003]
    assert all(hit.kind == "movie" for hit in films.results)
    assert films.results[2].adult is True
    shows = tmdb.search_tv("harbours")
    assert [(hit.kind, hit.title) for hit in shows.results] == [("tv", "Harbours of the North Sea")]


def test_an_empty_query_asks_nothing(tmdb, fake):
    assert tmdb.search("   ").results == ()
    assert fake.calls() == []


def test_pages_past_the_last_are_empty(tmdb, fake):
    page = tmdb.search("harbour", page=3)
    assert page.results == () and page.page == 3
    assert tmdb.search("harbour", page=9999).page == 500  # TMDB's own ceiling
    assert fake.calls("tmdb")[-1]["page"] == "500"


def test_movie_details_with_credits(tmdb, fake):
    film = tmdb.movie(9001)
    assert fake.calls("tmdb")[-1]["append_to_response"] == "credits"
    assert (film.kind, film.tmdb_id, film.title, film.original_title) == ("movie", 9001, "Harbour Lights", "Havnelys")
    assert (film.runtime_minutes, film.release_date, film.year) == (104, date(2019, 3, 8), 2019)
    assert film.genres == ("Drama", "Mystery")
    assert (film.imdb_id, film.adult) == ("tt9000001", False)
    assert film.overview.startswith("A harbour pilot")
    # The director of photography is not a director; a writer credited twice is listed once.
    assert [(p.name, p.job) for p in film.directors] == [("Selma Rask", "Director")]
    assert [(p.name, p.job) for p in film.writers] == [("Selma Rask", "Screenplay"), ("Jonas Weir", "Novel")]
    assert [(p.name, p.character, p.order) for p in film.cast] == [
        ("Maren Holt", "Ingrid Vale", 0),
        ("Tobias Crane", "Harbourmaster", 1),
        ("Ada Lind", None, 2),
    ]
    assert film.poster_url == f"{fake.url}/images/tmdb/w342/hlPoster9001.jpg"
    assert film.creators == ()


def test_tv_details(tmdb, fake):
    show = tmdb.tv(9101)
    assert fake.calls("tmdb")[-1]["append_to_response"] == "credits,external_ids"
    assert (show.kind, show.title, show.release_date) == ("tv", "Harbour Watch", date(2021, 9, 12))
    # episode_run_time is empty (as TMDB now often sends it): the last episode's runtime.
    assert show.runtime_minutes == 47
    assert show.imdb_id == "tt9100001"
    assert [p.name for p in show.creators] == ["Nils Brand"]
    assert [p.name for p in show.directors] == ["Hedda Moe"]
    assert [p.character for p in show.cast] == ["Officer Lund", "Sergeant Berg"]


def test_bearer_token_is_sent_and_no_api_key(tmdb, fake):
    tmdb.search("harbour")
    call = fake.calls("tmdb")[-1]
    assert call.headers["Authorization"] == f"Bearer {fake.tmdb_token}"
    assert "api_key" not in call.params


def test_v3_api_key_goes_in_the_query(fake, session):
    client = TmdbClient(session, fake.tmdb_url, api_key=fake.tmdb_api_key, image_url="https://img.example/t/p")
    assert client.movie(9001).title == "Harbour Lights"
    call = fake.calls("tmdb")[-1]
    assert call["api_key"] == fake.tmdb_api_key and "Authorization" not in call.headers


@pytest.mark.parametrize("credentials", [{"token": "wrong"}, {"api_key": "0" * 32}])
def test_wrong_credentials_are_an_auth_error(fake, session, credentials):
    client = TmdbClient(session, fake.tmdb_url, timeout=TIMEOUT, image_url="https://img.example", **credentials)
    with pytest.raises(ProviderAuthError) as caught:
        client.search("harbour")
    assert "code 7" in caught.value.detail
    assert "TMDB refused Marquee's credentials" in caught.value.message
    assert len(fake.calls("tmdb")) == 1  # 401 is not retried


def test_a_client_needs_some_credential(session):
    with pytest.raises(ValueError):
        TmdbClient(session, "http://127.0.0.1:9")


def test_unknown_title_is_not_found(tmdb):
    with pytest.raises(ProviderNotFound):
        tmdb.movie(12345)
    with pytest.raises(ProviderNotFound):
        tmdb.tv(0)


@pytest.mark.parametrize(
    ("mode", "error", "calls"),
    [
        ("401", ProviderAuthError, 1),
        ("404", ProviderNotFound, 1),
        ("429", ProviderUnavailable, 3),
        ("500", ProviderUnavailable, 3),
        ("503", ProviderUnavailable, 3),
        ("malformed", ProviderBadResponse, 1),
        ("html", ProviderBadResponse, 1),
        ("timeout", ProviderUnavailable, 1),
    ],
)
def test_failure_modes(tmdb, fake, mode, error, calls):
    fake.fail("tmdb", mode, retry_after="0")
    with pytest.raises(error) as caught:
        tmdb.movie(9001)
    assert type(caught.value) is error
    assert caught.value.provider == "TMDB" and caught.value.message.startswith("TMDB ")
    assert len(fake.calls("tmdb")) == calls


def test_429_then_success_honours_retry_after(tmdb, fake):
    fake.fail("tmdb", "429", times=1, retry_after="1")
    assert tmdb.search("harbour").results
    first, second = fake.calls("tmdb")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.95


def test_image_configuration_is_asked_once_and_used(fake, session):
    client = TmdbClient(session, fake.tmdb_url, token=fake.tmdb_token, timeout=TIMEOUT)
    assert client.movie(9001).poster_url == f"{fake.url}/images/tmdb/w342/hlPoster9001.jpg"
    assert client.search("harbour").results[0].poster_url == f"{fake.url}/images/tmdb/w342/hlPoster9001.jpg"
    assert len(fake.calls("tmdb", "/configuration")) == 1


def test_image_configuration_is_cached_across_clients(fake, session, cache):
    for _ in range(2):
        client = TmdbClient(session, fake.tmdb_url, token=fake.tmdb_token, timeout=TIMEOUT, cache=cache)
        assert client.image_base() == f"{fake.url}/images/tmdb/w342"
    assert len(fake.calls("tmdb", "/configuration")) == 1


def test_a_failing_configuration_falls_back_to_the_usual_base(fake, session):
    client = TmdbClient(session, fake.tmdb_url, token=fake.tmdb_token, timeout=TIMEOUT, retry=FAST_RETRY)
    film = client.movie(9001)
    fake.fail("tmdb", "500")
    assert client.poster_url("/x.jpg") == f"{fake.url}/images/tmdb/w342/x.jpg"  # remembered from before
    fresh = TmdbClient(session, fake.tmdb_url, token=fake.tmdb_token, timeout=TIMEOUT, retry=FAST_RETRY)
    assert fresh.poster_url(film.poster_path) == f"{DEFAULT_IMAGE_URL}/w342/hlPoster9001.jpg"


def test_a_failing_search_does_not_also_ask_for_the_configuration(fake, session):
    client = TmdbClient(session, fake.tmdb_url, token=fake.tmdb_token, timeout=TIMEOUT, retry=FAST_RETRY)
    fake.fail("tmdb", "timeout")
    with pytest.raises(ProviderUnavailable):
        client.search("harbour")
    assert [c.path for c in fake.calls("tmdb")] == ["/search/multi"]


def test_poster_sizes_fall_back_to_what_tmdb_offers():
    images = {"base_url": "http://i/", "secure_base_url": "https://i/t/p/", "poster_sizes": ["w92", "w500", "original"]}
    config = parse_image_config({"images": images})
    assert config.poster_base("w342") == "https://i/t/p/w500"
    assert config.poster_base("w92") == "https://i/t/p/w92"


def test_searches_and_details_are_cached(fake, session, engine):
    client = TmdbClient(
        session, fake.tmdb_url, token=fake.tmdb_token, image_url="https://img.example", cache=ResponseCache(engine)
    )
    assert client.search("Harbour ") == client.search("harbour")  # one key for both spellings
    assert client.movie(9001) == client.movie(9001)
    assert [c.path for c in fake.calls("tmdb")] == ["/search/multi", "/movie/9001"]
