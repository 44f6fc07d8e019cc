"""Hand-made titles are seen only where they were added until an admin publishes them
(issue "Trust", item 4): catalog, search, title and person pages, the choosers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.tonight.conftest import befriend
from webapp.catalog.models import Credit, Person, Title
from webapp.db import db
from webapp.groups import services as groups
from webapp.groups.models import WatchlistItem

NAME = "Dad's Holiday Videos 1994"
SHOWN = "Holiday Videos 1994"  # the apostrophe is escaped in pages


@pytest.fixture
def home_video(client, make_user):  # type: ignore[no-untyped-def]
    """Ann adds the video to her private group's watchlist, which Bob is in too."""
    ann, bob, stranger = make_user(username="ann"), make_user(username="bob"), make_user(username="stranger")
    admin = make_user(username="root", is_admin=True)
    befriend(ann, bob)
    family = groups.create_group(ann, "Family", [bob.id])
    own_group = groups.create_group(stranger, "Stranger's club", [])
    db.session.commit()
    login(client, ann)
    response = client.post(f"/groups/{family.id}/watchlist/manual",
                           data={"kind": "movie", "title": NAME, "year": "1994", "runtime": "95"})
    assert response.status_code == 303
    client.get(response.headers["Location"])  # its flash message, which names the title, is shown
    title = db.session.scalar(select(Title).where(Title.title == NAME))
    assert title is not None and not title.is_published and title.added_by_id == ann.id
    return {"title": title, "ann": ann, "bob": bob, "stranger": stranger, "admin": admin,
            "family": family, "own_group": own_group}


def listed(client, title_id: int) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    pages = {
        "catalog": client.get("/catalog").get_data(as_text=True),
        "catalog search": client.get("/catalog?q=holiday").get_data(as_text=True),
        "search": client.get("/search?q=holiday+videos").get_data(as_text=True),
    }
    found = {name: SHOWN in page for name, page in pages.items()}
    found["title page"] = client.get(f"/titles/{title_id}").status_code == 200
    return found


def as_(client, user) -> None:  # type: ignore[no-untyped-def]
    if user is None:
        client.post("/logout")
    else:
        login(client, user)


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_hidden_from_signed_out_visitors_and_non_members(client, home_video, who):
    title = home_video["title"]
    as_(client, home_video.get(who))
    assert listed(client, title.id) == {"catalog": False, "catalog search": False, "search": False,
                                       "title page": False}
    assert client.get(f"/titles/{title.id}").status_code == 404


@pytest.mark.parametrize("who", ["ann", "bob", "admin"])
def test_seen_by_the_adder_the_group_and_admins(client, home_video, who):
    as_(client, home_video[who])
    assert listed(client, home_video["title"].id) == {"catalog": True, "catalog search": True, "search": True,
                                                      "title page": True}


def test_choosers_and_adding_by_id_refuse_it_to_others(client, home_video):
    title, own_group = home_video["title"], home_video["own_group"]
    as_(client, home_video["stranger"])
    assert SHOWN not in client.get(f"/groups/{own_group.id}/watchlist/add?q=holiday").get_data(as_text=True)
    assert SHOWN not in client.get("/weeks/2026/10/film/choose?q=holiday").get_data(as_text=True)
    assert client.post(f"/groups/{own_group.id}/watchlist", data={"ref": f"title:{title.id}"}).status_code == 422
    assert client.post(f"/titles/{title.id}/add-to-group", data={"group": str(own_group.id)}).status_code == 404
    assert client.post("/weeks/2026/10/film", data={"ref": f"title:{title.id}", "position": "1"}).status_code == 422
    db.session.rollback()
    assert db.session.scalar(select(func.count(WatchlistItem.id)).where(WatchlistItem.title_id == title.id)) == 1
    # Typing the same name makes the stranger a title of their own, not a way in.
    client.post(f"/groups/{own_group.id}/watchlist/manual", data={"kind": "movie", "title": NAME, "year": "1994"})
    db.session.rollback()
    theirs = db.session.scalar(select(Title).where(Title.title == NAME, Title.id != title.id))
    assert theirs is not None and theirs.added_by_id == home_video["stranger"].id


def test_bob_finds_it_in_the_choosers(client, home_video):
    as_(client, home_video["bob"])
    assert SHOWN in client.get("/weeks/2026/10/film/choose?q=holiday").get_data(as_text=True)
    assert client.post("/weeks/2026/10/film", data={"ref": f"title:{home_video['title'].id}",
                                                    "position": "1"}).status_code == 303


def test_an_admin_publishes_it(client, home_video):
    title = home_video["title"]
    as_(client, home_video["admin"])
    page = client.get("/admin/titles").get_data(as_text=True)
    assert "not published" in page and f"/admin/titles/{title.id}/publish" in page
    as_(client, home_video["stranger"])
    assert client.post(f"/admin/titles/{title.id}/publish").status_code == 404
    as_(client, home_video["admin"])
    assert client.post(f"/admin/titles/{title.id}/publish").status_code == 303
    as_(client, None)
    assert listed(client, title.id) == {"catalog": True, "catalog search": True, "search": True, "title page": True}


def test_publishing_needs_a_csrf_token(csrf_app, home_video):
    client = csrf_app.test_client()
    login(client, home_video["admin"])
    assert client.post(f"/admin/titles/{home_video['title'].id}/publish").status_code == 400
    db.session.rollback()
    assert not db.session.get(Title, home_video["title"].id).is_published


@pytest.mark.parametrize("private", [False, True])
def test_a_weekly_pick_opens_its_page_to_who_sees_the_week_but_never_lists_it(client, make_user, private):
    picker, friend, other = make_user(is_private=private), make_user(), make_user()
    befriend(picker, friend)
    db.session.commit()
    login(client, picker)
    response = client.post("/weeks/2026/10/film/manual", data={"title": "Our wedding", "year": "2001",
                                                               "position": "1"})
    assert response.status_code == 303
    client.get(response.headers["Location"])
    title = db.session.scalar(select(Title).where(Title.title == "Our wedding"))
    assert not title.is_published
    for viewer in (friend, other, None):
        as_(client, viewer)
        sees_week = viewer is friend or not private
        assert (client.get(f"/titles/{title.id}").status_code == 200) is sees_week
        assert "Our wedding" not in client.get("/catalog?q=wedding").get_data(as_text=True)
        assert "Our wedding" not in client.get("/search?q=wedding").get_data(as_text=True)
        week = client.get(f"/u/{picker.username}/weeks/2026/10")
        assert ("Our wedding" in week.get_data(as_text=True)) is sees_week


def test_a_person_credited_only_in_hidden_titles_is_a_404(client, home_video):
    person = Person(name="Dad")
    db.session.add(person)
    db.session.flush()
    db.session.add(Credit(title_id=home_video["title"].id, person_id=person.id, role="director"))
    db.session.commit()
    as_(client, None)
    assert client.get(f"/person/{person.id}").status_code == 404
    as_(client, home_video["bob"])
    page = client.get(f"/person/{person.id}")
    assert page.status_code == 200 and SHOWN in page.get_data(as_text=True)


def test_demo_catalog_titles_are_published(app_ctx):
    from webapp.catalog import demo

    demo.load_demo_catalog()
    db.session.commit()
    assert db.session.scalar(select(func.count(Title.id))) > 700
    assert db.session.scalar(select(func.count(Title.id)).where(Title.is_published.is_(False))) == 0


def test_movielens_titles_are_published(app_ctx, tmp_path):
    from tests.catalog.test_movielens_import import write_sample
    from webapp.catalog import importers

    importers.import_movielens(write_sample(tmp_path / "ml"))
    db.session.commit()
    assert db.session.scalar(select(func.count(Title.id)).where(Title.source == "movielens")) > 5
    assert db.session.scalar(select(func.count(Title.id)).where(Title.is_published.is_(False))) == 0
