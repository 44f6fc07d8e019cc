"""Search and title pages with providers, against the local fake servers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import HTMX, make_app
from tests.fakes.providers import FakeProviders
from webapp.catalog.cli import catalog_cli
from webapp.catalog.models import Title
from webapp.db import db, utcnow

RG_TIDEWATER = "b2b2b2b2-0000-4000-8000-0000000000b1"


@pytest.fixture(scope="module")
def fake():
    with FakeProviders() as server:
        yield server


@pytest.fixture
def papp(app, database_url, fake):
    fake.reset()
    return make_app(database_url, **fake.settings(MUSICBRAINZ_INTERVAL="0.05", PROVIDER_TIMEOUT="0.5"))


@pytest.fixture
def pclient(papp):
    with papp.app_context():
        yield papp.test_client()
        db.session.remove()


def titles() -> int:
    return db.session.scalar(select(func.count(Title.id)))


def local(title, kind="movie", **extra) -> Title:
    item = Title(kind=kind, title=title, sort_title=title.lower(), source="demo", genres=[], **extra)
    db.session.add(item)
    db.session.commit()
    return item


def test_search_merges_catalog_tmdb_and_musicbrainz_without_duplicates(pclient, fake):
    local("Harbour Lights", tmdb_id=9001, year=2019)
    html = pclient.get("/search?q=harbour").get_data(as_text=True)
    assert html.count(">Harbour Lights<") == 1  # the local title stands for TMDB's 9001
    assert "Harbour Lights: The Return" in html and "/titles/tmdb/movie/9002" in html
    assert "Harbour Watch" in html and "/titles/tmdb/tv/9101" in html
    assert "Harbour Quinn" not in html and "Harbour Lights Collection" not in html  # people, collections
    assert "Harbour Dub" in html and f"/titles/musicbrainz/" in html
    assert "class=\"notice\"" not in html


def test_search_is_cached_and_types_filter(pclient, fake):
    pclient.get("/search?q=harbour")
    pclient.get("/search?q=Harbour")
    assert len(fake.calls("tmdb", "/search/multi")) == 1
    albums = pclient.get("/search?q=harbour&type=album").get_data(as_text=True)
    assert "Harbour Dub" in albums and "Harbour Watch" not in albums


def test_following_a_tmdb_result_creates_the_title_once(pclient, fake):
    response = pclient.get("/titles/tmdb/movie/9001")
    assert response.status_code == 303
    page = pclient.get(response.headers["Location"]).get_data(as_text=True)
    assert "Harbour Lights" in page and "Drama" in page and "Directed by" in page and "IMDb" in page
    again = pclient.get("/titles/tmdb/movie/9001")
    assert again.headers["Location"] == response.headers["Location"]
    assert titles() == 1
    title = db.session.scalar(select(Title))
    assert title.imdb_id == "tt9000001" and title.fetched_at is not None and title.runtime_minutes == 104


def test_following_an_album_result_brings_tracks_and_cover(pclient, fake):
    response = pclient.get(f"/titles/musicbrainz/{RG_TIDEWATER}")
    assert response.status_code == 303
    page = pclient.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tidewater Hymns" in page and "Tracks" in page
    album = db.session.scalar(select(Title).where(Title.musicbrainz_id == RG_TIDEWATER))
    assert album.kind == "album" and album.artist_credit


def test_unknown_provider_ids_are_404(pclient):
    assert pclient.get("/titles/tmdb/movie/424242").status_code == 404
    assert pclient.get("/titles/tmdb/person/9001").status_code == 404
    assert pclient.get("/titles/musicbrainz/b2b2b2b2-0000-4000-8000-0000000000ff").status_code == 404
    assert titles() == 0


@pytest.mark.parametrize("mode", ["503", "429", "timeout", "malformed", "401", "html"])
def test_failing_tmdb_leaves_a_working_page_with_a_note(pclient, fake, mode):
    local("Harbour Nights", year=2001)
    fake.fail("tmdb", mode)
    response = pclient.get("/search?q=harbour&type=movie")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="notice"' in html and "Harbour Nights" in html


def test_stale_copy_is_served_when_tmdb_fails(papp, pclient, fake):
    pclient.get("/search?q=harbour&type=movie")
    with papp.app_context():
        from webapp.providers.models import CachedResponse

        db.session.execute(db.update(CachedResponse).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    fake.fail("tmdb", "503")
    html = pclient.get("/search?q=harbour&type=movie").get_data(as_text=True)
    assert "showing saved results" in html and "Harbour Lights" in html


def test_failing_provider_while_resolving_is_a_503_page(pclient, fake):
    fake.fail("tmdb", "503")
    response = pclient.get("/titles/tmdb/movie/9001")
    assert response.status_code == 503 and "try again" in response.get_data(as_text=True)
    assert titles() == 0


def test_stale_title_is_refreshed_on_view_and_kept_when_the_provider_fails(pclient, fake):
    stale = local("Old Harbour", tmdb_id=9001, fetched_at=utcnow() - timedelta(days=30), overview="Old text")
    fake.fail("tmdb", "503")
    html = pclient.get(f"/titles/{stale.id}").get_data(as_text=True)
    assert "Old text" in html and "Showing the details we already have." in html
    fake.heal()
    from webapp.providers.models import CachedResponse

    db.session.execute(db.delete(CachedResponse))  # the cache remembers a failure for a few seconds
    db.session.commit()
    html = pclient.get(f"/titles/{stale.id}").get_data(as_text=True)
    assert "Harbour Lights" in html and "Showing the details" not in html


@pytest.mark.parametrize("mode", ["404", "503"])  # Cover Art Archive answers errors in HTML
def test_cover_art_errors_leave_the_album_without_cover(pclient, fake, mode):
    fake.fail("coverart", mode)
    response = pclient.get(f"/titles/musicbrainz/{RG_TIDEWATER}")
    assert response.status_code == 303
    album = db.session.scalar(select(Title).where(Title.musicbrainz_id == RG_TIDEWATER))
    assert album.image_url is None
    assert pclient.get(response.headers["Location"]).status_code == 200


def test_htmx_search_fragment(pclient):
    fragment = pclient.get("/search?q=harbour", headers=HTMX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="title-results"')


def test_cached_search_page_budget(pclient, query_budget):
    pclient.get("/search?q=harbour")
    with query_budget(8):  # local search, cache reads for TMDB and MusicBrainz, known-id lookups
        assert pclient.get("/search?q=harbour").status_code == 200


def test_catalog_refresh_command_fills_missing_details(papp, pclient, fake):
    local("Harbour Lights", tmdb_id=9001)
    local("No ids here")
    result = papp.test_cli_runner().invoke(catalog_cli, ["refresh", "--limit", "10"])
    assert result.exit_code == 0, result.output
    assert "Refreshed 1 titles" in result.output
    refreshed = db.session.scalar(select(Title).where(Title.tmdb_id == 9001))
    assert refreshed.fetched_at is not None and refreshed.runtime_minutes == 104


def test_without_keys_search_answers_from_the_catalog_with_a_note(client, app_ctx):
    local("Harbour Nights", year=2001)
    html = client.get("/search?q=harbour").get_data(as_text=True)
    assert "Harbour Nights" in html and "needs a TMDB key" in html
