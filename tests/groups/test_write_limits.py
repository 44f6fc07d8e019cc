"""Per-person write limits: new groups (a rate and a total owned), and hand-made titles
on every page that adds them. Limits are keyed by user id, hold across processes
through the limiter's storage, and answer a friendly 429."""

from __future__ import annotations

import os
import socket

import pytest
from sqlalchemy import func, select

from tests.conftest import HTMX, login, make_app
from webapp.catalog.models import Title
from webapp.db import db
from webapp.errors import Invalid
from webapp.groups import services
from webapp.groups.models import Group


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> str:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        return "memory://"
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379 in CI")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/5"


def groups_of(user) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count(Group.id)).where(Group.owner_id == user.id)) or 0


class TestGroupCreation:
    def test_limited_per_person(self, make_limited_app, storage, make_user):
        ann, bob = make_user(username="ann"), make_user(username="bob")
        db.session.commit()
        client = make_limited_app(storage=storage, RATELIMIT_GROUP_CREATE="2 per hour").test_client()
        login(client, ann)
        statuses = [client.post("/groups/new", data={"name": f"Club {n}"}).status_code for n in range(3)]
        assert statuses == [303, 303, 429]
        refused = client.post("/groups/new", data={"name": "One more"}, headers=HTMX)
        assert refused.status_code == 429 and refused.headers["HX-Retarget"] == "#main"
        assert "You have created several groups lately" in refused.get_data(as_text=True)
        assert groups_of(ann) == 2
        # Keyed by the person, not the address: Bob, on the same address, may still create.
        login(client, bob)
        assert client.post("/groups/new", data={"name": "Bob's"}).status_code == 303

    def test_the_limit_holds_across_processes(self, make_limited_app, make_user):
        """Two app instances (two workers) sharing the limiter's Redis storage count
        together."""
        if not _redis_up():
            pytest.skip("Redis is not running on 127.0.0.1:6379")
        ann = make_user(username="ann")
        db.session.commit()
        workers = [make_limited_app(storage="redis://127.0.0.1:6379/5", fresh=not n, RATELIMIT_GROUP_CREATE="2 per hour")
                   for n in range(2)]
        clients = [worker.test_client() for worker in workers]
        for client in clients:
            login(client, ann)
        assert clients[0].post("/groups/new", data={"name": "One"}).status_code == 303
        assert clients[1].post("/groups/new", data={"name": "Two"}).status_code == 303
        assert clients[0].post("/groups/new", data={"name": "Three"}).status_code == 429
        assert clients[1].post("/groups/new", data={"name": "Three"}).status_code == 429

    def test_a_total_cap_on_groups_owned(self, app, database_url, make_user):
        ann = make_user(username="ann")
        db.session.commit()
        client = make_app(database_url, GROUPS_OWNED_MAX=2).test_client()
        login(client, ann)
        for n in range(2):
            assert client.post("/groups/new", data={"name": f"Club {n}"}).status_code == 303
        response = client.post("/groups/new", data={"name": "Third club"})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and 'value="Third club"' in page
        assert 'id="name-error"' in page and "You already own 2 groups" in page
        assert groups_of(ann) == 2

    def test_the_cap_in_the_service(self, make_user):
        ann = make_user(username="ann")
        services.create_group(ann, "One", owned_max=1)
        with pytest.raises(Invalid) as refused:
            services.create_group(ann, "Two", owned_max=1)
        assert refused.value.field == "name"


class TestManualTitles:
    def test_limited_per_person_on_every_page_that_adds_them(self, make_limited_app, storage, make_user):
        from tests.tonight.conftest import befriend

        ann, bob = make_user(username="ann"), make_user(username="bob")
        befriend(ann, bob)
        group = services.create_group(ann, "Club", [bob.id])
        db.session.commit()
        client = make_limited_app(storage=storage, RATELIMIT_MANUAL_TITLE="2 per day").test_client()
        login(client, ann)
        to_group = f"/groups/{group.id}/watchlist/manual"
        to_week = "/weeks/2026/10/film/manual"
        assert client.post(to_group, data={"kind": "movie", "title": "Home movie 1"}).status_code == 303
        assert client.post(to_week, data={"title": "Home movie 2", "position": "1"}).status_code == 303
        for url, data in ((to_group, {"kind": "movie", "title": "Home movie 3"}),
                          (to_week, {"title": "Home movie 3", "position": "2"})):
            refused = client.post(url, data=data)
            assert refused.status_code == 429, url
            assert "added a lot of titles by hand" in refused.get_data(as_text=True)
        fragment = client.post(to_week, data={"title": "Home movie 3"}, headers=HTMX)
        assert fragment.status_code == 429 and fragment.headers["HX-Retarget"] == "#main"
        made = db.session.scalars(select(Title.title).where(Title.source == "manual")).all()
        assert sorted(made) == ["Home movie 1", "Home movie 2"]
        login(client, bob)  # someone else is not held back
        assert client.post(to_group, data={"kind": "movie", "title": "Bob's film"}).status_code == 303
