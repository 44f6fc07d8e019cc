"""The local catalog: search, browse, title and person pages, admin editing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import HTMX, login
from webapp.catalog import services
from webapp.catalog.models import Credit, Genre, Person, Title, Track
from webapp.db import db


def add_title(title, kind="movie", year=None, genres=(), **extra) -> Title:
    item = Title(kind=kind, title=title, sort_title=title.lower(), year=year, source="demo",
                 genres=services.genres_by_names(list(genres)), **extra)
    db.session.add(item)
    db.session.flush()
    return item


@pytest.fixture
def shelf(app_ctx):
    titles = [
        add_title("Alien", year=1979, genres=["Horror", "Science Fiction"], runtime_minutes=117),
        add_title("Aliens", year=1986, genres=["Action", "Science Fiction"]),
        add_title("Alien Nation", kind="tv", year=1989, genres=["Drama"]),
        add_title("The Rise and Fall of Ziggy Stardust", kind="album", year=1972, genres=["Rock"],
                  artist_credit="David Bowie"),
        add_title("Amélie", year=2001, genres=["Comedy", "Romance"]),
    ]
    db.session.commit()
    return titles


class TestSearch:
    def test_local_search_ranks_exact_then_prefix(self, shelf):
        assert [t.title for t in services.search_local("alien")][:2] == ["Alien", "Alien Nation"]
        assert [t.title for t in services.search_local("ALIEN", kind="tv")] == ["Alien Nation"]
        assert [t.title for t in services.search_local("ziggy stardust")] == ["The Rise and Fall of Ziggy Stardust"]
        assert services.search_local("amélie")[0].title == "Amélie"

    @pytest.mark.parametrize("query", ["%", "_", "' OR 1=1 --", "x" * 1000, "   "])
    def test_odd_queries_find_nothing_and_never_fail(self, shelf, query):
        assert services.search_local(query) == []

    def test_search_page_plain_and_htmx(self, client, shelf):
        page = client.get("/search?q=alien")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Alien Nation" in html and "<html" in html
        fragment = client.get("/search?q=alien&type=album", headers=HTMX)
        assert fragment.get_data(as_text=True).lstrip().startswith('<div id="title-results"')
        assert "Nothing matches" in fragment.get_data(as_text=True)

    def test_search_page_rejects_unknown_type_and_huge_query(self, client, shelf):
        assert client.get("/search?q=alien&type=bogus").status_code == 422
        response = client.get("/search", query_string={"q": "a" * 500})
        assert response.status_code == 422 and "Field cannot be longer" in response.get_data(as_text=True)

    def test_search_budget(self, client, shelf, query_budget):
        with query_budget(3):
            assert client.get("/search?q=alien").status_code == 200


class TestBrowse:
    def test_filters_and_orders(self, client, shelf):
        html = client.get("/catalog?genre=science fiction&order=year").get_data(as_text=True)
        assert "2 titles." in html
        assert "1 title." in client.get("/catalog?kind=album").get_data(as_text=True)
        assert "1 title." in client.get("/catalog?year=2001").get_data(as_text=True)
        assert "3 titles." in client.get("/catalog?q=ALIEN").get_data(as_text=True)

    def test_year_order(self, shelf):
        page = services.browse(services.BrowseFilter(order="year"), page=1)
        assert [t.year for t in page.items] == [2001, 1989, 1986, 1979, 1972]

    @pytest.mark.parametrize("query", ["year=abc", "year=99999", "kind=bogus", "order=bogus"])
    def test_bad_filters_are_422_with_results_unfiltered(self, client, shelf, query):
        response = client.get(f"/catalog?{query}")
        assert response.status_code == 422
        assert "5 titles." in response.get_data(as_text=True)

    def test_pagination_and_budget(self, client, app_ctx, query_budget):
        for i in range(60):
            add_title(f"Film {i:03d}", year=2000 + i % 20, genres=["Drama", "Comedy"][: 1 + i % 2])
        db.session.commit()
        with query_budget(4):
            response = client.get("/catalog?page=2")
        html = response.get_data(as_text=True)
        assert "Page 2 of 3" in html and "Film 024" in html
        fragment = client.get("/catalog?page=3", headers=HTMX).get_data(as_text=True)
        assert fragment.lstrip().startswith('<div id="browse-results"')


class TestTitleAndPerson:
    def test_title_page_shows_everything_known(self, client, app_ctx):
        film = add_title("Alien", year=1979, genres=["Horror"], runtime_minutes=117, overview="In space.",
                         tmdb_id=348, imdb_id="tt0078748", adult=False, image_url="https://img.example/alien.jpg")
        scott, weaver = Person(name="Ridley Scott"), Person(name="Sigourney Weaver")
        db.session.add_all([scott, weaver])
        db.session.flush()
        db.session.add_all([
            Credit(title_id=film.id, person_id=scott.id, role="director"),
            Credit(title_id=film.id, person_id=weaver.id, role="cast", character="Ripley", billing_order=0),
        ])
        db.session.commit()
        html = client.get(f"/titles/{film.id}").get_data(as_text=True)
        for text in ["Alien", "(1979)", "1 h 57 min", "Horror", "Ridley Scott", "Sigourney Weaver", "as Ripley",
                     "In space.", "https://www.themoviedb.org/movie/348", "https://www.imdb.com/title/tt0078748/",
                     'alt="Poster of Alien"']:
            assert text in html, text
        person_page = client.get(f"/person/{weaver.id}").get_data(as_text=True)
        assert "Alien" in person_page and "Ripley" in person_page

    def test_album_page_shows_artist_and_tracks(self, client, app_ctx):
        album = add_title("Low", kind="album", year=1977, artist_credit="David Bowie",
                          musicbrainz_id="c3d2aed1-8d8c-3f2a-9a1b-7a3a3b5c2f10")
        db.session.add_all([Track(title_id=album.id, position=1, name="Speed of Life", length_seconds=166),
                            Track(title_id=album.id, position=2, name="Breaking Glass", length_seconds=112)])
        db.session.commit()
        html = client.get(f"/titles/{album.id}").get_data(as_text=True)
        assert "David Bowie" in html and "Speed of Life" in html and "2:46" in html
        assert 'alt="' not in html or "Cover of" in html
        assert "musicbrainz.org/release-group/" in html

    def test_unknown_ids_are_404(self, client):
        assert client.get("/titles/999999").status_code == 404
        assert client.get("/person/999999").status_code == 404

    def test_title_page_budget(self, client, app_ctx, query_budget):
        film = add_title("Crowded", year=2000, genres=["Drama", "Comedy", "Action"])
        for i in range(30):
            person = Person(name=f"Actor {i}")
            db.session.add(person)
            db.session.flush()
            db.session.add(Credit(title_id=film.id, person_id=person.id, role="cast", billing_order=i))
        db.session.commit()
        with query_budget(6):  # title, genres, credits, people, tracks: constant in cast size
            assert client.get(f"/titles/{film.id}").status_code == 200


class TestAdmin:
    @pytest.fixture
    def admin(self, client, make_user):
        user = make_user(is_admin=True, tier="admin")
        login(client, user)
        return user

    def test_genre_crud_and_duplicates(self, client, admin):
        assert client.post("/admin/genres", data={"name": "Film Noir"}).status_code == 303
        duplicate = client.post("/admin/genres", data={"name": "  film noir "})
        assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
        genre = db.session.scalar(select(Genre))
        assert client.post(f"/admin/genres/{genre.id}/edit", data={"name": "Noir"}).status_code == 303
        assert client.get(f"/admin/genres/{genre.id}/delete").status_code == 200  # confirmation page
        assert client.post(f"/admin/genres/{genre.id}/delete").status_code == 303
        assert db.session.scalar(select(func.count(Genre.id))) == 0

    def test_manual_title_validation_keeps_input(self, client, admin):
        response = client.post("/admin/titles/new", data={"kind": "movie", "title": "My Film", "year": "1700",
                                                          "runtime_minutes": "0"})
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Enter a year between 1870 and 2200." in html and "Enter a runtime from 1 to 10000 minutes." in html
        assert 'value="My Film"' in html
        assert db.session.scalar(select(func.count(Title.id))) == 0

    def test_manual_title_create_edit_delete_and_duplicate(self, client, admin):
        genre = services.create_genre("Drama")
        db.session.commit()
        data = {"kind": "movie", "title": "Home Movie", "year": "2020", "runtime_minutes": "90",
                "genre_ids": [str(genre.id)], "overview": "Ours."}
        response = client.post("/admin/titles/new", data=data)
        assert response.status_code == 303
        title = db.session.scalar(select(Title))
        assert title.source == "manual" and [g.name for g in services.get_title(title.id).genres] == ["Drama"]
        again = client.post("/admin/titles/new", data={**data, "title": "home movie"})
        assert again.status_code == 422 and "already in the catalog" in again.get_data(as_text=True)
        edit = client.post(f"/admin/titles/{title.id}/edit", data={**data, "title": "Home Movie II"})
        assert edit.status_code == 303
        assert client.post(f"/admin/titles/{title.id}/delete").status_code == 303
        assert db.session.scalar(select(func.count(Title.id))) == 0

    def test_unknown_genre_choice_is_refused(self, client, admin):
        response = client.post("/admin/titles/new", data={"kind": "movie", "title": "X", "genre_ids": ["999"]})
        assert response.status_code == 422

    def test_provider_titles_are_not_editable_here(self, client, admin, app_ctx):
        provider_title = add_title("From TMDB", tmdb_id=1)
        db.session.commit()
        assert client.get(f"/admin/titles/{provider_title.id}/edit").status_code == 404


def test_search_ranks_the_exact_title_before_sequels_ignoring_articles(app_ctx):
    add_title("The Matrix Reloaded", year=2003)
    add_title("The Matrix", year=1999)
    add_title("The Animatrix", year=2003)
    db.session.commit()
    assert [t.title for t in services.search_local("matrix")] == ["The Matrix", "The Matrix Reloaded", "The Animatrix"]
