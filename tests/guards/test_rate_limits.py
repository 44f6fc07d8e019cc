"""Login and registration are rate limited, with a friendly 429 page."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
from flask import Blueprint

from tests.conftest import make_app
from tests.guards.checks import rate_limit_problems

LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "3 per minute", "RATELIMIT_REGISTER": "2 per minute",
          "RATELIMIT_REDEEM": "2 per minute"}


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "redis"])
def limited_app(request, app, database_url):
    storage = "memory://"
    if request.param == "redis":
        if not _redis_up():
            if os.environ.get("CI"):
                pytest.fail("Redis is not running on 127.0.0.1:6379 in CI")
            pytest.skip("Redis is not running on 127.0.0.1:6379")
        storage = "redis://127.0.0.1:6379/0"
    # A unique key prefix so runs never share counters.
    return make_app(
        database_url, RATELIMIT_STORAGE_URI=storage, RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex}", **LIMITS
    )


def test_login_is_limited(limited_app):
    client = limited_app.test_client()
    assert rate_limit_problems(client, "/login", {"login": "x", "password": "y"}, attempts=3) == []


def test_registration_is_limited(limited_app):
    client = limited_app.test_client()
    assert rate_limit_problems(client, "/register", {"email": "bad"}, attempts=2) == []


@pytest.mark.parametrize("path", ["/friends/redeem", "/groups/join"])
def test_code_redemption_is_limited(limited_app, make_user, path):
    """Guessing friend or group codes: a few tries a minute per address."""
    from tests.conftest import login

    client = limited_app.test_client()
    login(client, make_user())
    assert rate_limit_problems(client, path, {"code": "ZZZZZ-ZZZZZ"}, attempts=2) == []


def test_429_page_for_htmx_takes_over_main(limited_app):
    client = limited_app.test_client()
    for _ in range(3):
        client.post("/login", data={})
    response = client.post("/login", data={}, headers={"HX-Request": "true"})
    assert response.status_code == 429
    assert response.headers["HX-Retarget"] == "#main"
    assert response.headers.get("Retry-After")


def test_reading_the_login_page_is_not_limited(limited_app):
    client = limited_app.test_client()
    assert all(client.get("/login").status_code == 200 for _ in range(6))


def test_check_catches_an_unlimited_form(app, database_url):
    bad = make_app(database_url, **LIMITS)
    bp = Blueprint("open", __name__)

    @bp.route("/open-login", methods=["POST"])
    def open_login():  # no @limiter.limit
        return "try as often as you like"

    bad.register_blueprint(bp)
    problems = rate_limit_problems(bad.test_client(), "/open-login", {}, attempts=3)
    assert problems and "never 429" in problems[0]
