"""Security headers, cookies, the SECRET_KEY rule, CSRF and body size."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import HTMX, login, make_app, track_app
from tests.guards.checks import header_problems
from webapp import create_app
from webapp.accounts.models import User
from webapp.db import db



@pytest.mark.parametrize("path", ["/", "/login", "/register", "/health", "/no-such-page", "/static/css/app.css"])
def test_every_response_carries_the_headers(client, path):
    response = client.get(path)
    response.close()
    assert header_problems(response.headers, production=False) == []


def test_production_sets_hsts_and_secure_cookies(database_url, app, monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    production = track_app(create_app({"DATABASE_URL": database_url}))  # no TESTING, no overrides
    response = production.test_client().get("/login")
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie"), "the login page sets the session cookie"
    assert header_problems(response.headers, production=True) == []


def test_header_check_catches_an_unguarded_app():
    bare = Flask("bare")
    bare.config["SECRET_KEY"] = "x"

    @bare.route("/")
    def index():
        from flask import session

        session["x"] = 1
        return "hello"

    response = bare.test_client().get("/")
    problems = header_problems(response.headers, production=True)
    assert "missing Content-Security-Policy" in problems
    assert "missing X-Content-Type-Options" in problems
    assert "missing HSTS" in problems
    assert any(p.startswith("cookie without Secure") for p in problems)


def test_refuses_to_start_without_secret_key_outside_debug(monkeypatch, database_url):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": database_url})


def test_debug_runs_without_secret_key(monkeypatch, database_url, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = track_app(create_app({"DATABASE_URL": database_url}))
    assert app.config["SECRET_KEY"] and app.config["SESSION_COOKIE_SECURE"] is False


class TestCSRF:
    def test_missing_token_is_a_friendly_400(self, csrf_app, make_user):
        make_user(username="ann")
        client = csrf_app.test_client()
        response = client.post("/login", data={"login": "ann", "password": "velvet-marquee-42"})
        assert response.status_code == 400
        assert "Your form expired" in response.get_data(as_text=True)

    def test_wrong_token_is_refused_and_nothing_written(self, csrf_app):
        client = csrf_app.test_client()
        client.get("/register")
        response = client.post(
            "/register",
            data={"csrf_token": "forged", "email": "a@example.com", "username": "ann",
                  "display_name": "A", "password": "velvet-marquee-42"},
        )
        assert response.status_code == 400
        with csrf_app.app_context():
            assert db.session.scalar(select(func.count(User.id))) == 0

    def test_htmx_sends_token_in_header(self, csrf_app, make_user):
        make_user(username="ann")
        client = csrf_app.test_client()
        html = client.get("/login").get_data(as_text=True)
        assert 'name="csrf-token"' not in html  # anonymous pages: the form field carries it
        token = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post(
            "/login",
            data={"login": "ann", "password": "velvet-marquee-42"},
            headers={**HTMX, "X-CSRFToken": token},
        )
        assert response.status_code == 204 and response.headers["HX-Redirect"] == "/"
        # Signed in, the page carries the token for app.js to send as a header.
        html = client.get("/settings").get_data(as_text=True)
        meta_token = html.split('name="csrf-token" content="')[1].split('"')[0]
        response = client.post("/logout", headers={**HTMX, "X-CSRFToken": meta_token})
        assert response.status_code == 204

    def test_htmx_csrf_failure_takes_over_main(self, csrf_app):
        response = csrf_app.test_client().post("/login", data={}, headers=HTMX)
        assert response.status_code == 400
        assert response.headers["HX-Retarget"] == "#main"
        assert "<html" not in response.get_data(as_text=True)


def test_oversized_body_is_refused_with_413(client):
    response = client.post("/register", data={"email": "a@example.com", "bio": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_anonymous_reading_sets_no_cookie(client):
    response = client.get("/")
    assert response.headers.getlist("Set-Cookie") == []


def test_session_cookies_follow_the_secret_key_and_its_fallbacks(database_url, make_user):
    """The session signer is built once per key set: a new SECRET_KEY ends every session
    at once, and putting the old key in SECRET_KEY_FALLBACKS brings them back."""
    app = make_app(database_url, SECRET_KEY="first-key-" + "x" * 30)
    user = make_user()
    client = app.test_client()
    login(client, user)
    assert client.get("/settings").status_code == 200
    assert client.get("/settings").status_code == 200  # the same signer, reused

    app.secret_key = app.config["SECRET_KEY"] = "second-key-" + "y" * 30
    assert client.get("/settings").status_code == 302, "signed with the old key: logged out"

    login(client, user)  # a session signed with the new key
    assert client.get("/settings").status_code == 200
    app.secret_key = app.config["SECRET_KEY"] = "third-key-" + "z" * 30
    app.config["SECRET_KEY_FALLBACKS"] = ["second-key-" + "y" * 30]
    assert client.get("/settings").status_code == 200, "the fallback still verifies it"


def test_a_remembered_session_cookie_still_expires(database_url, make_user, monkeypatch):
    """A cookie verified once is only decoded on later requests, but its age is still
    checked: past PERMANENT_SESSION_LIFETIME (30 days) it opens no session."""
    app = make_app(database_url)
    client = app.test_client()
    login(client, make_user())
    assert client.get("/settings").status_code == 200
    assert client.get("/settings").status_code == 200  # remembered by now
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 29 * 24 * 3600)
    assert client.get("/settings").status_code == 200
    monkeypatch.setattr(time, "time", lambda: now + 31 * 24 * 3600)
    assert client.get("/settings").status_code == 302, "expired: logged out"


def test_a_remembered_session_cookie_gives_each_request_its_own_data(app):
    """Two requests with the same cookie each get fresh session data: what one request
    changes without sending a new cookie back never shows in the next."""
    with app.test_request_context("/"):
        from flask import session

        session["cart"] = ["a"]
        cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    name = app.config["SESSION_COOKIE_NAME"]
    for _ in range(3):
        with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}) as ctx:
            assert ctx.session["cart"] == ["a"]
            ctx.session["cart"].append("b")
            ctx.session["extra"] = True


def test_a_tampered_session_cookie_opens_no_session(database_url, make_user):
    app = make_app(database_url)
    client = app.test_client()
    login(client, make_user())
    assert client.get("/settings").status_code == 200
    name = app.config["SESSION_COOKIE_NAME"]
    good = client.get_cookie(name).value
    # Change whole characters that carry signed bits: the last base64 character of
    # the signature also holds padding bits, so changing it may decode to the same
    # bytes and prove nothing.
    cut = good.rindex(".") + 1
    other = "A" if good[cut] != "A" else "B"
    for bad in (good[:cut] + other + good[cut + 1 :], good[:5] + other + good[6:], good + "x", good[1:]):
        client.set_cookie(name, bad)
        assert client.get("/settings").status_code == 302, bad
    client.set_cookie(name, good)
    assert client.get("/settings").status_code == 200
