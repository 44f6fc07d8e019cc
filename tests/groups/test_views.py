"""Group and watchlist pages: forms with and without htmx, bad input, adding from
search results (the local catalog and TMDB through the local fake), query budgets."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import HTMX, login, make_app
from tests.fakes.providers import FakeProviders
from tests.tonight.conftest import befriend, make_title
from webapp.catalog.models import Title
from webapp.db import db
from webapp.groups import services, watchlist
from webapp.groups.models import Group, WatchlistItem


@pytest.fixture
def club(make_user):  # type: ignore[no-untyped-def]
    ann, bob = make_user(username="ann"), make_user(username="bob")
    befriend(ann, bob)
    group = services.create_group(ann, "Club", [bob.id])
    db.session.commit()
    return group, ann, bob


def items() -> int:
    return db.session.scalar(select(func.count(WatchlistItem.id)))


class TestCreate:
    def test_create_with_a_friend(self, client, club, make_user):
        _, ann, bob = club
        login(client, ann)
        page = client.get("/groups/new").get_data(as_text=True)
        assert f'value="{bob.id}"' in page
        response = client.post("/groups/new", data={"name": "Second", "members": [str(bob.id)]})
        assert response.status_code == 303
        group = db.session.scalar(select(Group).where(Group.name == "Second"))
        assert response.headers["Location"] == f"/groups/{group.id}"
        assert [m.username for m in services.members(group)] == ["ann", "bob"]

    @pytest.mark.parametrize("data,message", [
        ({"name": ""}, "Give the group a name."),
        ({"name": "x" * 81}, "Field cannot be longer than 80 characters."),
        ({"name": "Mine", "members": ["{stranger}"]}, "You can only add your friends to a group."),
        ({"name": "Mine", "members": ["99999"]}, "You can only add your friends to a group."),
    ])
    def test_bad_input_keeps_the_form(self, client, club, make_user, data, message):
        _, ann, _ = club
        stranger = make_user()
        login(client, ann)
        data = {k: [v.format(stranger=stranger.id) for v in vs] if isinstance(vs, list) else vs
                for k, vs in data.items()}
        before = db.session.scalar(select(func.count(Group.id)))
        response = client.post("/groups/new", data=data)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert message in page
        if data["name"] and len(data["name"]) <= 80:
            assert f'value="{data["name"]}"' in page
        assert db.session.scalar(select(func.count(Group.id))) == before


class TestWatchlistPage:
    def test_rows_act_in_place_with_htmx(self, client, club):
        group, ann, _ = club
        item, _ = watchlist.add_item(group, ann, make_title("Heat"))
        db.session.commit()
        login(client, ann)
        base = f"/groups/{group.id}/items/{item.id}"
        response = client.post(f"{base}/snooze", data={"preset": "week"}, headers=HTMX)
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and body.startswith(f'<li class="item" id="item-{item.id}"')
        assert "snoozed until" in body and "is snoozed until" in body  # the row, and the flash out of band
        body = client.post(f"{base}/unsnooze", headers=HTMX).get_data(as_text=True)
        assert "snoozed until" not in body.split("</li>")[0]
        body = client.post(f"{base}/status", data={"status": "watched"}, headers=HTMX).get_data(as_text=True)
        assert '<span class="badge">watched</span>' in body
        body = client.post(f"{base}/remove", headers=HTMX).get_data(as_text=True)
        assert 'id="item-' not in body and "Removed “Heat”" in body
        assert items() == 0

    def test_plain_forms_redirect_back_to_the_filtered_list(self, client, club):
        group, ann, _ = club
        item, _ = watchlist.add_item(group, ann, make_title("Heat"))
        db.session.commit()
        login(client, ann)
        back = f"/groups/{group.id}/watchlist?kind=movie"
        response = client.post(f"/groups/{group.id}/items/{item.id}/snooze", data={"preset": "month", "next": back})
        assert response.status_code == 303 and response.headers["Location"] == back
        response = client.post(f"/groups/{group.id}/items/{item.id}/snooze",
                               data={"preset": "week", "next": "https://elsewhere.example/"})
        assert response.headers["Location"] == "/groups"

    def test_a_snooze_date_in_the_past_is_a_422_beside_the_field(self, client, club):
        group, ann, _ = club
        item, _ = watchlist.add_item(group, ann, make_title("Heat"))
        db.session.commit()
        login(client, ann)
        response = client.post(f"/groups/{group.id}/items/{item.id}/snooze", data={"preset": "date", "until": "2001-01-01"})
        assert response.status_code == 422
        assert re.search(r'id="snoozed_until-error"[^>]*>Choose a date after today.', response.get_data(as_text=True))
        response = client.post(f"/groups/{group.id}/items/{item.id}",
                               data={"note": "keep me", "status": "watchlist", "snoozed_until": "2001-01-01"})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and 'value="keep me"' in page and "Choose a date after today." in page
        db.session.refresh(item)
        assert item.note == "" and item.snoozed_until is None  # nothing half-written

    def test_tampered_ids_are_404(self, client, club, make_user):
        group, ann, _ = club
        other_group = services.create_group(ann, "Other")
        foreign, _ = watchlist.add_item(other_group, ann, make_title("Elsewhere"))
        db.session.commit()
        login(client, ann)
        assert client.post(f"/groups/{group.id}/items/{foreign.id}/remove").status_code == 404
        assert client.get(f"/groups/{group.id}/items/999999").status_code == 404
        assert client.post(f"/groups/{group.id}/items/{foreign.id}/status", data={"status": "lost"}).status_code == 404

    def test_filters_are_a_get_form_and_bad_values_are_a_422(self, client, club):
        group, ann, _ = club
        watchlist.add_item(group, ann, make_title("Heat"))
        watchlist.add_item(group, ann, make_title("Fleabag", kind="tv"))
        db.session.commit()
        login(client, ann)
        page = client.get(f"/groups/{group.id}/watchlist?kind=tv", headers=HTMX).get_data(as_text=True)
        assert page.startswith('<div id="watchlist-items">') and "Fleabag" in page and "Heat" not in page
        assert client.get(f"/groups/{group.id}/watchlist?sort=evil").status_code == 422


class TestAdding:
    def test_add_a_local_search_result_once(self, client, club):
        group, ann, bob = club
        title = make_title("Heat")
        db.session.commit()
        login(client, bob)
        page = client.get(f"/groups/{group.id}/watchlist/add?q=heat").get_data(as_text=True)
        assert f'value="title:{title.id}"' in page
        back = f"/groups/{group.id}/watchlist/add?q=heat"
        response = client.post(f"/groups/{group.id}/watchlist", data={"ref": f"title:{title.id}", "note": "Pacino",
                                                                      "next": back})
        assert response.status_code == 303 and response.headers["Location"] == back
        page = client.get(back).get_data(as_text=True)
        assert "Added “Heat” to the watchlist." in page and "on the watchlist" in page
        client.post(f"/groups/{group.id}/watchlist", data={"ref": f"title:{title.id}"})
        assert "is already on the watchlist" in client.get(f"/groups/{group.id}/watchlist").get_data(as_text=True)
        assert items() == 1

    def test_add_from_a_title_page(self, client, club, make_user):
        group, ann, bob = club
        title = make_title("Heat")
        db.session.commit()
        login(client, bob)
        page = client.get(f"/titles/{title.id}").get_data(as_text=True)
        assert f'<option value="{group.id}">Club</option>' in page
        response = client.post(f"/titles/{title.id}/add-to-group", data={"group": str(group.id)})
        assert response.status_code == 303 and response.headers["Location"] == f"/titles/{title.id}"
        assert "Added “Heat” to the watchlist of “Club”." in client.get(f"/titles/{title.id}").get_data(as_text=True)
        client.post(f"/titles/{title.id}/add-to-group", data={"group": str(group.id)})
        assert items() == 1
        other = services.create_group(make_user(), "Not mine")
        db.session.commit()
        for value in (str(other.id), "", "x", "9" * 40):
            assert client.post(f"/titles/{title.id}/add-to-group", data={"group": value}).status_code == 404
        assert client.post("/titles/999999/add-to-group", data={"group": str(group.id)}).status_code == 404
        assert items() == 1

    @pytest.mark.parametrize("ref", ["", "title:0", "nonsense", "tmdb:movie:abc", "' OR 1=1 --"])
    def test_bad_refs(self, client, club, ref):
        group, ann, _ = club
        login(client, ann)
        assert client.post(f"/groups/{group.id}/watchlist", data={"ref": ref}).status_code in (404, 422)
        assert items() == 0

    def test_manual_titles(self, client, club):
        group, ann, _ = club
        login(client, ann)
        response = client.post(f"/groups/{group.id}/watchlist/manual",
                               data={"kind": "movie", "title": "Our home movie", "year": "2024", "runtime": "12"})
        assert response.status_code == 303 and items() == 1
        response = client.post(f"/groups/{group.id}/watchlist/manual",
                               data={"kind": "movie", "title": "Bad year", "year": "99999", "runtime": "-1"})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and 'value="Bad year"' in page
        assert re.search(r'id="year-error"', page) and re.search(r'id="runtime-error"', page)
        assert items() == 1

    @pytest.fixture
    def fake(self):  # type: ignore[no-untyped-def]
        with FakeProviders() as server:
            yield server

    def test_add_a_tmdb_result(self, club, database_url, fake):
        group, ann, _ = club
        app = make_app(database_url, **fake.settings(PROVIDER_TIMEOUT="0.5"))
        client = app.test_client()
        login(client, ann)
        page = client.get(f"/groups/{group.id}/watchlist/add?q=harbour&type=movie").get_data(as_text=True)
        assert 'value="tmdb:movie:9001"' in page
        response = client.post(f"/groups/{group.id}/watchlist", data={"ref": "tmdb:movie:9001"})
        assert response.status_code == 303
        db.session.rollback()
        title = db.session.scalar(select(Title).where(Title.tmdb_id == 9001))
        assert title is not None and title.fetched_at is not None
        assert db.session.scalar(select(WatchlistItem.title_id)) == title.id

    def test_a_provider_failing_leaves_a_note_and_nothing_written(self, club, database_url, fake):
        group, ann, _ = club
        fake.fail("tmdb", "503")
        app = make_app(database_url, **fake.settings(PROVIDER_TIMEOUT="0.5"))
        client = app.test_client()
        login(client, ann)
        response = client.post(f"/groups/{group.id}/watchlist", data={"ref": "tmdb:movie:9001"})
        assert response.status_code == 503 and "try again in a moment" in response.get_data(as_text=True)
        db.session.rollback()
        assert items() == 0


class TestInvitePages:
    def test_join_by_link(self, client, club, make_user):
        group, ann, _ = club
        invite = services.create_invite(services.membership(ann, group.id), max_uses=2)
        newcomer = make_user(username="newcomer")
        db.session.commit()
        login(client, newcomer)
        page = client.get(f"/groups/join/{invite.code}").get_data(as_text=True)
        assert "Join “Club”" in page
        response = client.post("/groups/join", data={"code": services.format_code(invite.code).lower()})
        assert response.status_code == 303 and response.headers["Location"] == f"/groups/{group.id}"
        assert client.get(f"/groups/{group.id}").status_code == 200

    def test_bad_codes_keep_the_form(self, client, club, make_user):
        login(client, make_user())
        response = client.post("/groups/join", data={"code": "ZZZZZ-ZZZZZ"})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and 'value="ZZZZZ-ZZZZZ"' in page
        assert re.search(r'id="code-error"[^>]*>We don&#39;t know that code', page)
        assert client.get("/groups/join/ZZZZZZZZZZ").status_code == 404


class TestBudgets:
    def test_group_page(self, client, club, query_budget):
        group, ann, bob = club
        for i in range(30):
            watchlist.add_item(group, [ann, bob][i % 2], make_title(f"Film {i}", genres=["Drama"]))
        db.session.commit()
        login(client, ann)
        url = f"/groups/{group.id}"
        # user, membership, due check, recent items + count, sessions + count, members,
        # this week's picks (users, picks), watchlist counts, open session
        with query_budget(12):
            assert client.get(url).status_code == 200

    def test_watchlist_with_200_items(self, client, club, query_budget):
        group, ann, bob = club
        for i in range(200):
            watchlist.add_item(group, [ann, bob][i % 2], make_title(f"Film {i:03}", genres=["Drama", "Comedy"]))
        db.session.commit()
        login(client, bob)
        for page in (1, 4):
            url = f"/groups/{group.id}/watchlist?page={page}"
            with query_budget(5):  # user, membership, count, rows, the counts line
                response = client.get(url)
            assert response.status_code == 200
        assert response.get_data(as_text=True).count('class="item"') == 50


class TestClubWeek:
    def test_the_group_page_shows_this_weeks_picks_with_privacy(self, client, club, make_user):
        from webapp.weeks import services as weeks

        group, ann, bob = club
        cy = make_user(username="cy", is_private=True)
        befriend(ann, cy)
        services.add_members(services.membership(ann, group.id), ann, [cy.id])
        weeks.add_pick(bob, weeks.this_week(), "film", make_title("Heat"))
        weeks.add_pick(cy, weeks.this_week(), "film", make_title("Secret film"))
        db.session.commit()
        login(client, bob)  # not a friend of cy, whose profile is private
        page = client.get(f"/groups/{group.id}").get_data(as_text=True)
        assert 'id="club-week"' in page and "Heat" in page
        assert "Secret film" not in page and "1 member keeps their picks for friends only." in page
        login(client, ann)  # cy's friend
        assert "Secret film" in client.get(f"/groups/{group.id}").get_data(as_text=True)


def test_every_search_box_keeps_a_refused_query_and_says_why_beside_it(client, club):
    """The catalog search, a group's add page and a week's choose page share one search
    box (_macros/forms.html search_box)."""
    group, ann, _ = club
    login(client, ann)
    typed = "Heat " + "x" * 300
    for path in ("/search", f"/groups/{group.id}/watchlist/add", "/weeks/2026/10/film/choose"):
        response = client.get(path, query_string={"q": typed})
        page = response.get_data(as_text=True)
        assert response.status_code == 422, path
        assert f'value="{typed}"' in page, f"{path} dropped what was typed"
        assert 'aria-describedby="q-error"' in page and 'id="q-error"' in page, path
