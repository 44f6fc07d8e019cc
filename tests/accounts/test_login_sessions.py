"""Login sessions: a session cookie authenticates only the account that signed in, and
only while its login_sessions row exists (webapp._init_login, accounts.services).
Logout ends this browser's session; settings list the others and end one or all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text, update

from tests.conftest import count_queries, login
from tests.factories import DEFAULT_PASSWORD
from webapp.accounts import services
from webapp.accounts.models import LoginSession, User
from webapp.db import db, utcnow

COOKIE = "marquee_session"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Safari/537.36")
NEW_PASSWORD = "another-good-one-77"


def sign_in(client: FlaskClient, username: str, user_agent: str = FIREFOX, password: str = DEFAULT_PASSWORD) -> str:
    """Log in through the form; the session cookie it got."""
    response = client.post("/login", data={"login": username, "password": password},
                           headers={"User-Agent": user_agent})
    assert response.status_code == 303
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def browser_with(app: Flask, cookie: str) -> FlaskClient:
    """A new browser that presents a copy of a session cookie."""
    browser = app.test_client()
    browser.set_cookie(COOKIE, cookie)
    return browser


def signed_in(browser: FlaskClient) -> bool:
    response = browser.get("/settings", headers={"User-Agent": FIREFOX})
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_an_old_cookie_opens_nothing_once_its_account_is_deleted_and_another_registers(app, client, make_user):
    ann = make_user(username="ann", email="ann@example.com")
    ann_id = ann.id
    kept = sign_in(client, "ann")
    assert signed_in(browser_with(app, kept))
    response = client.post("/settings/delete", data={"confirm_username": "ann"})
    assert response.status_code == 303
    assert db.session.scalars(select(LoginSession)).all() == []  # the account's sessions went with it

    bob = make_user(username="bob", email="bob@example.com")  # the next account on the database
    assert bob.id != ann_id  # SQLite would hand out the deleted top id without AUTOINCREMENT
    replay = browser_with(app, kept)
    assert not signed_in(replay)
    assert "bob@example.com" not in replay.get("/").get_data(as_text=True)


def test_even_a_reused_id_would_not_open_the_next_account(app, client, make_user):
    """The token, not the id, carries the session: a row given the deleted account's id
    (by hand here; the database no longer does it) is still not signed in."""
    make_user(username="ann")
    kept = sign_in(client, "ann")
    ann_id = db.session.scalar(select(User.id).where(User.username == "ann"))
    client.post("/settings/delete", data={"confirm_username": "ann"})
    make_user(id=ann_id, username="bob", email="bob@example.com")
    db.session.commit()
    assert not signed_in(browser_with(app, kept))


def test_ids_deleted_from_the_top_are_not_reused(app_ctx, make_user):
    first = make_user()
    top = make_user()
    top_id = top.id
    services.delete_account(top)
    db.session.commit()
    assert make_user().id > top_id > first.id


def test_every_table_with_ids_in_urls_never_reuses_them(app_ctx):
    """Models and the database agree: AUTOINCREMENT on SQLite (PostgreSQL's sequences
    never hand out a value twice)."""
    names = {"users", "login_sessions", "oauth_identities", "friend_requests", "friend_invites", "groups",
             "group_invites", "watchlist_items", "tonight_sessions", "tonight_candidates", "titles", "people",
             "genres", "weeks"}
    tables = db.metadata.tables
    assert {name for name in names if tables[name].dialect_kwargs.get("sqlite_autoincrement")} == names
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as conn:
        schema = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
    assert {name for name in names if "AUTOINCREMENT" in schema[name]} == names


def test_a_forged_cookie_with_the_right_id_and_a_wrong_token_fails(app, client, make_user):
    ann = make_user(username="ann")
    sign_in(client, "ann")
    forger = app.test_client()
    with forger.session_transaction() as sess:
        sess["_user_id"] = f"{ann.id}:{'A' * 43}"
        sess["_fresh"] = True
    assert not signed_in(forger)
    with forger.session_transaction() as sess:
        sess["_user_id"] = f"{ann.id}:1"  # the old id:session_version form
    assert not signed_in(forger)
    assert signed_in(client)


def test_a_token_opens_only_the_account_it_was_issued_for(app, client, make_user):
    make_user(username="ann")
    bob = make_user(username="bob")
    token = sign_in(client, "ann")
    with client.session_transaction() as sess:
        ann_token = sess["_user_id"].partition(":")[2]
    forger = app.test_client()
    with forger.session_transaction() as sess:
        sess["_user_id"] = f"{bob.id}:{ann_token}"
    assert not signed_in(forger)
    assert signed_in(browser_with(app, token))


def test_only_a_hash_of_the_token_is_stored(client, make_user):
    make_user(username="ann")
    sign_in(client, "ann")
    with client.session_transaction() as sess:
        token = sess["_user_id"].partition(":")[2]
    stored = db.session.scalars(select(LoginSession)).one()
    assert stored.token_hash == services.token_hash(token) and token not in stored.token_hash
    assert stored.device == "Firefox on Linux"


def test_logout_ends_this_browser_only(app, client, make_user):
    make_user(username="ann")
    here = sign_in(client, "ann")
    there = browser_with(app, sign_in(app.test_client(), "ann", CHROME_MAC))
    response = client.post("/logout")
    assert response.status_code == 303
    assert not signed_in(browser_with(app, here))  # a copy of this browser's cookie too
    assert signed_in(there)
    assert [s.device for s in db.session.scalars(select(LoginSession))] == ["Chrome on macOS"]


def test_sign_out_everywhere_ends_every_session(app, client, make_user):
    make_user(username="ann")
    here = sign_in(client, "ann")
    there = browser_with(app, sign_in(app.test_client(), "ann", CHROME_MAC))
    response = client.post("/settings/sessions/end-all")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert not signed_in(client)
    assert not signed_in(browser_with(app, here))
    assert not signed_in(there)


def test_revoke_sessions_ends_every_session_of_the_account_only(app_ctx, make_user):
    ann, bob = make_user(), make_user()
    for user in (ann, ann, bob):
        services.open_login_session(user, user_agent=FIREFOX)
    services.revoke_sessions(ann)
    db.session.commit()
    assert services.login_sessions_of(ann) == []
    assert len(services.login_sessions_of(bob)) == 1


def test_a_password_change_signs_other_browsers_out_and_keeps_this_one(app, client, make_user):
    make_user(username="ann")
    sign_in(client, "ann")
    other = app.test_client()
    other_cookie = sign_in(other, "ann", CHROME_MAC)
    response = client.post("/settings/password", data={
        "current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
    })
    assert response.status_code == 303, response.get_data(as_text=True)
    assert signed_in(client)
    assert not signed_in(other)
    assert not signed_in(browser_with(app, other_cookie))
    assert len(db.session.scalars(select(LoginSession)).all()) == 1


class TestSettingsList:
    def test_lists_browsers_and_marks_this_one(self, app, client, make_user):
        make_user(username="ann")
        sign_in(client, "ann")
        sign_in(app.test_client(), "ann", CHROME_MAC)
        html = client.get("/settings").get_data(as_text=True)
        assert "Firefox on Linux" in html and "Chrome on macOS" in html
        assert html.count("(this browser)") == 1
        assert html.index("Firefox on Linux") < html.index("(this browser)")
        other = db.session.scalar(select(LoginSession.id).where(LoginSession.device == "Chrome on macOS"))
        assert f'action="/settings/sessions/{other}/end"' in html
        assert 'action="/settings/sessions/end-all"' in html
        assert html.count("/end\"") == 1  # no "Sign out" button for this browser itself

    def test_signing_another_browser_out(self, app, client, make_user):
        make_user(username="ann")
        sign_in(client, "ann")
        other = app.test_client()
        sign_in(other, "ann", CHROME_MAC)
        other_id = db.session.scalar(select(LoginSession.id).where(LoginSession.device == "Chrome on macOS"))
        response = client.post(f"/settings/sessions/{other_id}/end")
        assert response.status_code == 303 and response.headers["Location"] == "/settings"
        assert not signed_in(other)
        assert signed_in(client)

    def test_signing_this_browser_out_from_the_list_logs_out(self, client, make_user):
        make_user(username="ann")
        sign_in(client, "ann")
        this_id = db.session.scalar(select(LoginSession.id))
        response = client.post(f"/settings/sessions/{this_id}/end")
        assert response.status_code == 303 and response.headers["Location"] == "/"
        assert not signed_in(client)

    def test_someone_elses_session_is_404_and_stays(self, app, client, make_user):
        make_user(username="ann")
        make_user(username="bob")
        sign_in(client, "ann")
        bobs = app.test_client()
        sign_in(bobs, "bob")
        bob_session = db.session.scalar(
            select(LoginSession.id).join(User).where(User.username == "bob")
        )
        assert client.post(f"/settings/sessions/{bob_session}/end").status_code == 404
        assert client.post(f"/settings/sessions/{10**30}/end").status_code == 404
        assert signed_in(bobs)


class TestLastSeen:
    def test_a_fresh_session_costs_one_query_and_writes_nothing(self, csrf_app, make_user):
        user = make_user(username="ann")
        client = csrf_app.test_client()  # CSRF on: pages come from the page cache
        login(client, user)
        client.get(f"/u/{user.username}")  # warm the page cache
        seen = db.session.scalar(select(LoginSession.last_seen_at))
        db.session.commit()
        with count_queries() as counter:
            assert client.get("/u/ann").status_code == 200
        assert counter.count == 1, "\n---\n".join(s[-300:] for s in counter.statements)
        db.session.expire_all()
        assert db.session.scalar(select(LoginSession.last_seen_at)) == seen

    @pytest.mark.parametrize("method", ["GET", "POST"])
    def test_a_stale_last_seen_is_written_once(self, app, client, make_user, method):
        user = make_user(username="ann")
        login(client, user)
        long_ago = utcnow() - timedelta(hours=3)
        db.session.execute(update(LoginSession).values(last_seen_at=long_ago))
        db.session.commit()
        if method == "GET":
            assert client.get(f"/u/{user.username}").status_code == 200
        else:  # a write request: it joins the request's transaction, committed with it
            assert client.post("/settings", data={
                "display_name": "Ann", "username": "ann", "email": user.email, "bio": "",
            }).status_code == 303
        db.session.expire_all()
        seen = db.session.scalar(select(LoginSession.last_seen_at))
        assert seen > long_ago + timedelta(hours=2)
        client.get(f"/u/{user.username}")
        db.session.expire_all()
        assert db.session.scalar(select(LoginSession.last_seen_at)) == seen  # not again for a while


@pytest.mark.parametrize(("user_agent", "device"), [
    (FIREFOX, "Firefox on Linux"),
    (CHROME_MAC, "Chrome on macOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
     "Safari/537.36 Edg/126.0.0.0", "Edge on Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
     "Mobile Safari/537.36", "Chrome on Android"),
    ("curl/8.5.0", "An unknown browser"),
    ("", "An unknown browser"),
])
def test_device_descriptions(user_agent, device):
    assert services.describe_device(user_agent) == device


def test_sessions_older_than_their_cookie_are_not_listed_and_are_forgotten(app, client, make_user):
    ann = make_user(username="ann")
    services.open_login_session(ann, user_agent=CHROME_MAC)
    db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(days=40)))
    db.session.commit()
    sign_in(client, "ann")
    assert "Chrome on macOS" not in client.get("/settings").get_data(as_text=True)
    assert [s.device for s in db.session.scalars(select(LoginSession))] == ["Firefox on Linux"]


@pytest.fixture
def sqlite_app(tmp_path, database_url):  # type: ignore[no-untyped-def]
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL's tables are not recreated")
    from tests.conftest import make_app

    return make_app(f"sqlite:///{tmp_path / 'upgrade.sqlite3'}")


def test_the_migration_keeps_rows_indexes_and_triggers_and_leaves_foreign_keys_on(sqlite_app):
    from flask_migrate import upgrade

    with sqlite_app.app_context():
        upgrade(revision="0008")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, username, display_name, bio, is_private, is_admin, is_imported, tier,"
                " session_version, created_at) VALUES (1, 'ann', 'Ann', '', 0, 0, 0, 'free', 1, '2026-01-01'),"
                " (2, 'bob', 'Bob', '', 0, 0, 0, 'free', 1, '2026-01-01')"))
            conn.execute(text("INSERT INTO weeks (id, user_id, iso_year, iso_week, notes, created_at, updated_at)"
                              " VALUES (7, 2, 2026, 3, '', '2026-01-01', '2026-01-01')"))
            conn.execute(text("DELETE FROM users WHERE id = 1"))
            before = dict(conn.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL")).all())
        upgrade()
        with db.engine.connect() as conn:  # the connection the migrations ran on
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            after = dict(conn.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL")).all())
            assert {name: sql for name, sql in after.items() if name in before} == before
            assert conn.execute(text("SELECT id, username, profile_version FROM users")).all() == [(2, "bob", 1)]
            assert conn.execute(text("SELECT id, user_id FROM weeks")).all() == [(7, 2)]
            conn.execute(text("DELETE FROM weeks"))  # a 0007 trigger on a recreated table
            assert conn.execute(text("SELECT profile_version FROM users")).scalar() == 2
            conn.execute(text("INSERT INTO users (username, display_name, bio, is_private, is_admin, is_imported,"
                              " tier, created_at) VALUES ('cy', 'Cy', '', 0, 0, 0, 'free', '2026-01-01')"))
            assert conn.execute(text("SELECT max(id) FROM users")).scalar() == 3
            conn.rollback()
        db.session.remove()
