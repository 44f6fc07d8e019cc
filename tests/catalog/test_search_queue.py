"""Search never holds a worker in MusicBrainz's one-request-a-second queue: past about a
second it answers with the rest and the album results follow (htmx, or a plain link)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert

from tests.conftest import HTMX, make_app
from tests.fakes.providers import FakeProviders
from webapp.catalog import sync
from webapp.db import db
from webapp.providers.cache import utcnow
from webapp.providers.ratelimit import rate_slots


@pytest.fixture(scope="module")
def fake():
    with FakeProviders() as server:
        yield server


def provider_app(database_url, fake, **extra):
    fake.reset()
    # The real one-second interval: the queue is what these tests are about.
    return make_app(database_url, **fake.settings(MUSICBRAINZ_INTERVAL="1", **extra))


@pytest.fixture
def papp(app, database_url, fake):
    return provider_app(database_url, fake, PROVIDER_TIMEOUT="2")


def set_queue(papp, seconds_away: float) -> None:
    """Make MusicBrainz's shared queue busy (its next free slot `seconds_away` from now)
    or free (negative), as other requests and processes would."""
    with papp.app_context():
        engine = sync.providers().cache.engine
        with engine.begin() as conn:
            conn.execute(delete(rate_slots).where(rate_slots.c.name == "musicbrainz"))
            conn.execute(insert(rate_slots).values(name="musicbrainz", next_at=utcnow() + timedelta(seconds=seconds_away)))


def timed_get(client, url, **kwargs):
    started = time.monotonic()
    response = client.get(url, **kwargs)
    return response, time.monotonic() - started


def test_busy_queue_answers_at_once_and_the_fragment_brings_the_albums_later(papp, fake):
    set_queue(papp, 6)  # the old code waited for this slot (anything under 10 s)
    client = papp.test_client()
    response, took = timed_get(client, "/search?q=harbour")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and took < 3
    assert "Harbour Lights" in html  # TMDB (and the catalog) answer now
    assert "Album results from MusicBrainz are still coming." in html
    assert "Harbour Dub" not in html and fake.calls("musicbrainz") == []
    assert 'hx-get="/search/albums?attempt=0&amp;page=1&amp;q=harbour&amp;type=all"' in html
    assert 'hx-trigger="load"' in html
    assert '<a href="/search/albums?page=1&amp;q=harbour&amp;type=all">Show album results</a>' in html

    set_queue(papp, -1)  # the queue moves on
    fragment = client.get("/search/albums?q=harbour&type=all&page=1&attempt=0", headers=HTMX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and body.lstrip().startswith('<div id="album-results"')
    assert "Harbour Dub" in body and "/titles/musicbrainz/" in body and "still coming" not in body
    assert "Harbour Lights" not in body  # only the albums: the rest is on the page already


def test_without_javascript_the_link_loads_the_page_again_with_the_albums(papp):
    set_queue(papp, 6)
    client = papp.test_client()
    assert "still coming" in client.get("/search?q=harbour&type=album").get_data(as_text=True)
    set_queue(papp, -1)
    page = client.get("/search/albums?q=harbour&type=album&page=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Search</h1>" in html
    assert "Harbour Dub" in html and "still coming" not in html


def test_a_fragment_that_finds_the_queue_still_busy_asks_again_later_then_stops(papp, fake):
    set_queue(papp, 30)
    client = papp.test_client()
    response, took = timed_get(client, "/search/albums?q=harbour&type=all&page=1&attempt=0", headers=HTMX)
    body = response.get_data(as_text=True)
    assert took < 3 and "still coming" in body
    assert 'attempt=1&amp;' in body and 'hx-trigger="load delay:2s"' in body
    last = client.get("/search/albums?q=harbour&type=all&page=1&attempt=5", headers=HTMX).get_data(as_text=True)
    assert "still coming" in last and "hx-get" not in last and "Show album results" in last
    assert fake.calls("musicbrainz") == []


def test_a_slow_musicbrainz_holds_only_the_request_that_asked_it(app, database_url, fake):
    """One search is fetching from a slow MusicBrainz; the same search meanwhile waits
    about a second for that answer, then shows the rest; the answer is cached for later."""
    papp = provider_app(database_url, fake, PROVIDER_TIMEOUT="10")
    set_queue(papp, -1)
    fake.delay["musicbrainz"] = 5
    first: dict[str, str] = {}
    slow = threading.Thread(
        target=lambda: first.update(html=papp.test_client().get("/search?q=harbour&type=album").get_data(as_text=True))
    )
    slow.start()
    deadline = time.monotonic() + 10
    while not fake.calls("musicbrainz") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.calls("musicbrainz"), "the first search never reached MusicBrainz"
    response, took = timed_get(papp.test_client(), "/search?q=harbour&type=album")
    assert took < 3.5 and "Album results from MusicBrainz are still coming." in response.get_data(as_text=True)
    slow.join(timeout=20)
    assert "Harbour Dub" in first["html"]
    fragment = papp.test_client().get("/search/albums?q=harbour&type=album&page=1&attempt=0", headers=HTMX)
    assert "Harbour Dub" in fragment.get_data(as_text=True)
    assert len(fake.calls("musicbrainz")) == 1  # from the cache


def test_group_and_week_searches_say_to_search_again(app_ctx, papp):
    set_queue(papp, 6)
    with papp.test_request_context("/"):
        started = time.monotonic()
        results = sync.search("harbour", kind="album")
        assert time.monotonic() - started < 3
        assert results.albums_pending and any("search again in a moment" in note for note in results.notes)
        db.session.remove()
