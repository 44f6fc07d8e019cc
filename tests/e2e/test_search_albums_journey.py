"""Album results that MusicBrainz's busy queue held back arrive after the page: htmx
fills them in, and without JavaScript the "Show album results" link brings them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import delete, insert

from tests.e2e.conftest import LiveServer, Ui, expect
from tests.fakes.providers import FakeProviders
from webapp.providers.cache import provider_cache, utcnow
from webapp.providers.ratelimit import rate_slots

pytestmark = pytest.mark.e2e


@pytest.fixture
def musicbrainz(live_server: LiveServer) -> Iterator[LiveServer]:
    """The live server's search, pointed at the fake providers for this test."""
    from webapp.catalog import sync

    app = live_server.app
    with FakeProviders() as fake:
        settings = fake.settings(MUSICBRAINZ_INTERVAL="1", PROVIDER_TIMEOUT="2")
        settings.pop("TMDB_TOKEN")  # albums only
        # A search waits this long for the queue: the busy queue (two minutes away) still
        # outlasts it, and a freed one is reached well within it on a loaded machine.
        settings["SEARCH_QUEUE_WAIT"] = 3.0
        before = {key: app.config.get(key) for key in settings}
        app.config.update(settings)
        old = app.extensions.pop("marquee_providers", None)
        try:
            with app.app_context():
                sync.providers()
            yield live_server
        finally:
            built = app.extensions.pop("marquee_providers", None)
            if built is not None:
                with app.app_context():
                    with built.cache.engine.begin() as conn:
                        conn.execute(delete(provider_cache))
                        conn.execute(delete(rate_slots))
                built.close()
            app.config.update(before)
            if old is not None:
                app.extensions["marquee_providers"] = old


def set_queue(server: LiveServer, seconds_away: float) -> None:
    with server.app.app_context():
        engine = server.app.extensions["marquee_providers"].cache.engine
        with engine.begin() as conn:
            conn.execute(delete(rate_slots).where(rate_slots.c.name == "musicbrainz"))
            conn.execute(insert(rate_slots).values(name="musicbrainz", next_at=utcnow() + timedelta(seconds=seconds_away)))


def test_album_results_follow_the_page_when_musicbrainz_is_busy(ui: Ui, musicbrainz: LiveServer) -> None:
    page = ui.page
    set_queue(musicbrainz, 120)
    albums = page.locator("#album-results")
    if ui.js:  # the page asks for its albums at once: still busy, it asks again later
        with page.expect_response(lambda r: urlsplit(r.url).path == "/search/albums"):
            ui.goto("/search?q=harbour&type=album")
        ui.wait_for_swap()
    else:
        ui.goto("/search?q=harbour&type=album")
    expect(albums).to_contain_text("Album results from MusicBrainz are still coming.")
    ui.check()
    set_queue(musicbrainz, -1)
    if ui.js:
        expect(albums).to_contain_text("Harbour Dub")
        ui.wait_for_swap()
        ui.expect_path("/search?q=harbour&type=album")  # the page stayed
    else:
        link = albums.get_by_role("link", name="Show album results")
        ui.click_to_page(link, to="/search/albums?page=1&q=harbour&type=album")
        expect(page.locator("#title-results")).to_contain_text("Harbour Dub")
    expect(page.locator("#title-results")).not_to_contain_text("still coming")
    ui.check()
