"""The profile's details are cached under users.profile_version, which database triggers
bump on every change the details show (migration 0007). These tests pin both halves:
each kind of write bumps the right people, and a cached profile always equals a fresh
render. They run on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid

import pytest

from sqlalchemy import delete, insert, select, update

from tests.conftest import login, make_app
from webapp.accounts import services as accounts
from webapp.accounts.models import User
from webapp.catalog import services as catalog
from webapp.catalog.models import Credit, Person, Title, title_genres
from webapp.db import db
from webapp.extensions import cache
from webapp.social import services as social
from webapp.tonight.models import Viewing
from webapp.weeks import services as weeks


def version(user: User) -> int:
    return db.session.scalar(select(User.profile_version).where(User.id == user.id).execution_options(
        populate_existing=True))


def versions(*users: User) -> list[int]:
    return [version(user) for user in users]


def film(name: str = "Cached Film") -> Title:
    return catalog.create_manual_title(catalog.TitleData(kind="movie", title=name, year=2001, runtime_minutes=90,
                                                         overview="", genre_ids=[]))


def befriend(a: User, b: User) -> None:
    social.redeem_invite(b, social.create_invite(a).code)
    db.session.commit()


class TestVersionTriggers:
    def test_a_new_account_starts_at_zero(self, make_user):
        assert version(make_user()) == 0

    def test_weekly_picks_bump_their_owner_only(self, make_user):
        ann, bob = make_user(), make_user()
        first, second = film("First"), film("Second")
        db.session.commit()
        when = weeks.this_week()
        start = versions(ann, bob)

        weeks.add_pick(ann, when, "film", first)
        db.session.commit()
        after_add = version(ann)
        assert after_add > start[0]
        weeks.add_pick(ann, when, "film", second)
        weeks.swap_picks(ann, when, "film")
        db.session.commit()
        after_swap = version(ann)
        assert after_swap > after_add
        weeks.remove_pick(ann, when, "film", 1)
        weeks.remove_pick(ann, when, "film", 2)  # the last pick: the empty week goes too
        db.session.commit()
        assert version(ann) > after_swap
        assert version(bob) == start[1]

    def test_a_new_week_bumps_and_its_notes_do_not(self, make_user):
        ann = make_user()
        weeks.save_notes(ann, weeks.this_week(), "Quiet week.")  # a new year in the stats' list
        db.session.commit()
        assert version(ann) == 1
        weeks.save_notes(ann, weeks.this_week(), "Still quiet.")
        db.session.commit()
        assert version(ann) == 1

    def test_genres_directors_and_artists_bump_pickers(self, make_user):
        picker, other = make_user(), make_user()
        title = film()
        db.session.commit()
        weeks.add_pick(picker, weeks.this_week(), "film", title)
        db.session.commit()

        def bumped(change) -> bool:
            before = versions(picker, other)
            change()
            db.session.commit()
            after = versions(picker, other)
            assert after[1] == before[1], "someone who never picked the title was bumped"
            return after[0] > before[0]

        genre = catalog.create_genre("Noir")
        db.session.commit()
        assert bumped(lambda: db.session.execute(insert(title_genres).values(title_id=title.id, genre_id=genre.id)))
        assert bumped(lambda: catalog.rename_genre(genre, "Neo-noir"))
        person = Person(name="A. Director")
        db.session.add(person)
        db.session.commit()
        assert bumped(lambda: db.session.add(Credit(title_id=title.id, person_id=person.id, role="director")))
        assert bumped(lambda: setattr(person, "name", "A. N. Director"))
        assert not bumped(lambda: setattr(person, "image_url", "https://x/p.jpg"))
        assert bumped(lambda: db.session.execute(delete(Credit).where(Credit.title_id == title.id)))
        assert bumped(lambda: db.session.execute(delete(title_genres).where(title_genres.c.title_id == title.id)))

    def test_viewings_bump_the_viewer(self, make_user):
        ann, bob = make_user(), make_user()
        title = film()
        db.session.commit()
        db.session.add(Viewing(user_id=ann.id, title_id=title.id))
        db.session.commit()
        assert versions(ann, bob) == [1, 0]
        db.session.execute(delete(Viewing).where(Viewing.user_id == ann.id))
        db.session.commit()
        assert versions(ann, bob) == [2, 0]

    def test_friendships_bump_both_people(self, make_user):
        ann, bob, cid = make_user(), make_user(), make_user()
        befriend(ann, bob)
        assert versions(ann, bob, cid) == [1, 1, 0]
        social.unfriend(bob, ann)
        db.session.commit()
        assert versions(ann, bob, cid) == [2, 2, 0]

    def test_deleting_an_account_bumps_its_friends(self, make_user):
        ann, bob = make_user(), make_user()
        befriend(ann, bob)
        before = version(bob)
        accounts.delete_account(ann)
        db.session.commit()
        assert version(bob) == before + 1

    def test_shown_title_fields_bump_pickers_and_watchers(self, make_user):
        picker, watcher, other = make_user(), make_user(), make_user()
        title = film()
        db.session.commit()
        weeks.add_pick(picker, weeks.this_week(), "film", title)
        db.session.add(Viewing(user_id=watcher.id, title_id=title.id))
        db.session.commit()
        start = versions(picker, watcher, other)

        db.session.execute(update(Title).where(Title.id == title.id).values(overview="Not shown on profiles."))
        db.session.commit()
        assert versions(picker, watcher, other) == start
        db.session.execute(update(Title).where(Title.id == title.id).values(title=title.title))
        db.session.commit()
        assert versions(picker, watcher, other) == start, "an unchanged value is no change"
        db.session.execute(update(Title).where(Title.id == title.id).values(title="Renamed", image_url="https://x/y.jpg"))
        db.session.commit()
        assert versions(picker, watcher, other) == [start[0] + 1, start[1] + 1, start[2]]


CSRF = re.compile(r'(name="csrf_token" value|name="csrf-token" content)="[^"]*"')


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return CSRF.sub(r'\1=""', response.get_data(as_text=True))


class TestCachedProfile:
    def test_a_cached_profile_always_equals_a_fresh_render(self, app, client, make_user):
        ann, bob = make_user(username="ann"), make_user(username="bob")
        title = film("Night Train")
        db.session.commit()
        login(client, ann)

        def check(expect: str | None = None, absent: str | None = None) -> None:
            cached = page(client, "/u/ann")
            page(client, "/u/ann")  # served from the cache
            cache.clear()
            assert cached == page(client, "/u/ann"), "the cache served a stale profile"
            if expect:
                assert expect in cached
            if absent:
                assert absent not in cached

        check(expect="0 friends", absent="Night Train")
        weeks.add_pick(ann, weeks.this_week(), "film", title)
        db.session.commit()
        check(expect="Night Train")
        befriend(ann, bob)
        check(expect="1 friend<")
        db.session.add(Viewing(user_id=ann.id, title_id=title.id))
        db.session.commit()
        check(expect="Recently watched together")
        db.session.execute(update(Title).where(Title.id == title.id).values(title="Night Train (restored)"))
        db.session.commit()
        check(expect="Night Train (restored)")
        weeks.remove_pick(ann, weeks.this_week(), "film", 1)
        social.unfriend(ann, bob)
        db.session.commit()
        check(expect="Nothing picked this week yet", absent="1 friend<")

    def test_the_owner_and_a_visitor_get_their_own_details(self, app, client, make_user):
        ann, bob = make_user(username="ann"), make_user(username="bob")
        login(client, ann)
        assert "Fill this week" in page(client, "/u/ann")
        login(client, bob)
        assert "Fill this week" not in page(client, "/u/ann")
        client.post("/logout")
        assert "Fill this week" not in page(client, "/u/ann")

    def test_the_cache_holds_no_tokens_and_nothing_of_the_viewer(self, app, client, make_user):
        ann, viewer = make_user(username="ann"), make_user(username="viewerperson")
        login(client, viewer)
        page(client, "/u/ann")
        stored = [cache.get(key) for key in cache.cache._cache]  # SimpleCache: the process's entries
        assert stored and all("csrf" not in html and "viewerperson" not in html for html in stored)

    def test_a_new_account_never_sees_a_deleted_ones_details(self, client, make_user):
        ann = make_user(username="ann")
        weeks.add_pick(ann, weeks.this_week(), "film", film("Old Secret"))
        db.session.commit()
        login(client, ann)
        assert "Old Secret" in page(client, "/u/ann")
        accounts.delete_account(ann)
        db.session.commit()
        again = make_user(username="ann")  # SQLite may hand out the same id again
        weeks.add_pick(again, weeks.this_week(), "film", film("New Pick"))  # the same version number
        db.session.commit()
        login(client, again)
        body = page(client, "/u/ann")
        assert "New Pick" in body and "Old Secret" not in body

    def test_cached_stats_always_equal_a_fresh_render(self, client, make_user):
        ann = make_user(username="ann")
        title = film("Stats Film")
        db.session.commit()
        login(client, ann)

        def check(path: str, expect: str) -> None:
            cached = page(client, path)
            page(client, path)
            cache.clear()
            assert cached == page(client, path), f"the cache served stale stats at {path}"
            assert expect in cached, expect

        check("/u/ann/weeks/stats", "No picks yet")
        weeks.add_pick(ann, weeks.this_week(), "film", title)
        db.session.commit()
        check("/u/ann/weeks/stats", "1 pick over 1 week")
        genre = catalog.create_genre("Slow Cinema")
        db.session.execute(insert(title_genres).values(title_id=title.id, genre_id=genre.id))
        db.session.commit()
        check("/u/ann/weeks/stats", "Slow Cinema")
        catalog.rename_genre(genre, "Very Slow Cinema")
        db.session.commit()
        check("/u/ann/weeks/stats", "Very Slow Cinema")
        person = Person(name="Stats Director")
        db.session.add(person)
        db.session.flush()
        db.session.add(Credit(title_id=title.id, person_id=person.id, role="director"))
        db.session.commit()
        check("/u/ann/weeks/stats", "Stats Director")
        person.name = "Renamed Director"
        db.session.commit()
        check("/u/ann/weeks/stats", "Renamed Director")
        weeks.save_notes(ann, weeks.IsoWeek(2019, 5), "Notes from long ago.")
        db.session.commit()
        check("/u/ann/weeks/stats", ">2019<")
        check("/u/ann/weeks/stats?year=2019", "No picks in 2019 yet")

    def test_a_warm_own_profile_costs_one_query(self, client, make_user, query_budget):
        ann = make_user(username="ann")
        weeks.add_pick(ann, weeks.this_week(), "film", film())
        db.session.commit()
        login(client, ann)
        page(client, "/u/ann")
        with query_budget(1) as counter:
            assert "Cached Film" in page(client, "/u/ann")
        assert counter.count == 1  # the session's user, with the navigation's request count


def test_the_profile_renders_when_the_cache_server_is_down(database_url, make_user, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(database_url, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=f"redis://127.0.0.1:{port}/0",
                   CACHE_OPTIONS={"socket_timeout": 0.2, "socket_connect_timeout": 0.2})
    ann = make_user(username="ann")
    weeks.add_pick(ann, weeks.this_week(), "film", film("Still Here"))
    db.session.commit()
    client = app.test_client()
    login(client, ann)
    with caplog.at_level(logging.WARNING, logger="webapp.caching"):
        body = page(client, "/u/ann")
    assert "Still Here" in body
    assert any("fragment cache unavailable" in record.getMessage() for record in caplog.records)


def test_one_redis_cache_serves_every_app_server(database_url, make_user):
    """Two app servers (two apps here) sharing Redis: what one renders, the other serves."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379 in CI")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    from tests.conftest import count_queries

    settings = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": "redis://127.0.0.1:6379/0",
                "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}:", "CACHE_OPTIONS": {"socket_timeout": 1}}
    first, second = make_app(database_url, **settings), make_app(database_url, **settings)
    ann = make_user(username="ann")
    weeks.add_pick(ann, weeks.this_week(), "film", film("Shared Film"))
    db.session.commit()
    try:
        clients = [first.test_client(), second.test_client()]
        for client in clients:
            login(client, ann)
        assert "Shared Film" in page(clients[0], "/u/ann")
        with count_queries() as counter:
            assert "Shared Film" in page(clients[1], "/u/ann")
        assert counter.count == 1, counter.statements
    finally:
        with first.app_context():
            cache.clear()  # this test's prefix only
