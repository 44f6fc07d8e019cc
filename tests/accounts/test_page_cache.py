"""The login and sign-up pages are the same for every anonymous visitor but for the CSRF
token, so they are rendered once and served from the cache with each visitor's own token
put in (webapp.caching.same_for_every_visitor). These tests pin that a cached page equals
a fresh one, that its token is the visitor's own and works, and that anything a page may
vary by (a flash message, a `next` link, a signed-in visitor, an htmx fragment) is never
served from another visitor's copy."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask, template_rendered
from sqlalchemy import func, select

from tests.accounts.test_views import REGISTRATION
from tests.conftest import login, make_app
from webapp.accounts.models import User
from webapp.db import db

PAGES = ["/login", "/register"]
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
HTMX = {"HX-Request": "true"}


@contextmanager
def renders(app: Flask) -> Iterator[list[str]]:
    """The names of the templates rendered inside the block."""
    names: list[str] = []

    def record(sender, template, context, **extra):  # type: ignore[no-untyped-def]
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


def token_of(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_the_second_visitor_gets_the_same_page_without_a_render(csrf_app, path):
    first, second = csrf_app.test_client(), csrf_app.test_client()
    fresh = first.get(path)
    with renders(csrf_app) as rendered:
        cached = second.get(path)
    assert rendered == []
    assert cached.status_code == fresh.status_code == 200
    fresh_html, cached_html = fresh.get_data(as_text=True), cached.get_data(as_text=True)
    assert token_of(fresh_html) != token_of(cached_html)
    assert cached_html.replace(token_of(cached_html), "T") == fresh_html.replace(token_of(fresh_html), "T")
    assert cached.headers.get("Vary") == fresh.headers.get("Vary")
    assert cached.headers.get("Content-Type") == fresh.headers.get("Content-Type")
    assert cached.headers.get("Content-Security-Policy") == fresh.headers.get("Content-Security-Policy")
    assert cached.headers.getlist("Set-Cookie"), "the visitor's token lives in their own session"


def test_a_cached_pages_token_is_the_visitors_own_and_logs_them_in(csrf_app, make_user):
    make_user(username="ann")
    first, second = csrf_app.test_client(), csrf_app.test_client()
    first_token = token_of(first.get("/login").get_data(as_text=True))
    second_token = token_of(second.get("/login").get_data(as_text=True))  # from the cache
    credentials = {"login": "ann", "password": "velvet-marquee-42"}

    refused = second.post("/login", data={**credentials, "csrf_token": first_token})
    assert refused.status_code == 400, "another visitor's token must not work"
    accepted = second.post("/login", data={**credentials, "csrf_token": second_token})
    assert accepted.status_code == 303


def test_a_cached_sign_up_page_signs_up(csrf_app):
    csrf_app.test_client().get("/register")
    client = csrf_app.test_client()
    token = token_of(client.get("/register").get_data(as_text=True))
    response = client.post("/register", data={**REGISTRATION, "csrf_token": token})
    assert response.status_code == 303
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_a_waiting_flash_message_is_shown_not_cached(csrf_app):
    csrf_app.test_client().get("/login")  # the page is cached
    client = csrf_app.test_client()
    with client.session_transaction() as sess:
        sess["_flashes"] = [("info", "Please log in to see that page.")]
    html = client.get("/login").get_data(as_text=True)
    assert "Please log in to see that page." in html
    assert "Please log in" not in csrf_app.test_client().get("/login").get_data(as_text=True)


def test_a_next_link_is_rendered_for_its_visitor(csrf_app):
    csrf_app.test_client().get("/login")
    html = csrf_app.test_client().get("/login?next=/groups").get_data(as_text=True)
    assert 'action="/login?next=/groups"' in html
    assert "next=" not in csrf_app.test_client().get("/login").get_data(as_text=True)


def test_the_htmx_fragment_and_the_page_are_kept_apart(csrf_app):
    client = csrf_app.test_client()
    fragment = client.get("/login", headers=HTMX).get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    again = csrf_app.test_client().get("/login", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "<html" not in again
    assert "<html" in page
    assert 'id="login-form"' in again and token_of(again) != token_of(fragment)


def test_a_signed_in_visitor_is_sent_on(csrf_app, make_user):
    csrf_app.test_client().get("/login")
    client = csrf_app.test_client()
    login(client, make_user())
    for path in PAGES:
        assert client.get(path).status_code == 303


def test_templates_that_reload_are_never_served_from_the_cache(app, database_url):
    """In debug, templates reload when edited: each visit renders."""
    reloading = make_app(database_url, WTF_CSRF_ENABLED=True, TEMPLATES_AUTO_RELOAD=True)
    reloading.test_client().get("/login")
    with renders(reloading) as rendered:
        reloading.test_client().get("/login")
    assert "accounts/login.html" in rendered


def test_without_tokens_the_page_is_rendered_every_time(client, app):
    """No token to put back (CSRF off): nothing is stored, and no session is started."""
    client.get("/login")
    with renders(app) as rendered:
        response = client.get("/login")
    assert response.status_code == 200
    assert "accounts/login.html" in rendered
    assert response.headers.getlist("Set-Cookie") == []


def test_the_pages_render_when_the_cache_server_is_down(app, database_url, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = make_app(database_url, WTF_CSRF_ENABLED=True, CACHE_TYPE="RedisCache",
                    CACHE_REDIS_URL=f"redis://127.0.0.1:{port}/0",
                    CACHE_OPTIONS={"socket_timeout": 0.2, "socket_connect_timeout": 0.2})
    with caplog.at_level(logging.WARNING, logger="webapp.caching"):
        for path in PAGES:
            response = down.test_client().get(path)
            assert response.status_code == 200
            token_of(response.get_data(as_text=True))
    assert any("fragment cache unavailable" in record.getMessage() for record in caplog.records)


def test_one_copy_serves_every_host_name(csrf_app):
    """The Host header is the client's to choose: it is not part of the key, so it cannot
    fill the cache, and the page holds no absolute link that would need it to be."""
    fresh = csrf_app.test_client().get("/login", headers={"Host": "marquee.example"}).get_data(as_text=True)
    assert "marquee.example" not in fresh
    with renders(csrf_app) as rendered:
        for n in range(5):
            csrf_app.test_client().get("/login", headers={"Host": f"h{n}.example"})
    assert rendered == []


def test_a_page_under_a_mount_point_keeps_its_links(csrf_app):
    csrf_app.test_client().get("/login")
    mounted = csrf_app.test_client().get("/login", base_url="http://localhost/marquee").get_data(as_text=True)
    assert 'action="/marquee/login"' in mounted
    assert 'action="/login"' in csrf_app.test_client().get("/login").get_data(as_text=True)
