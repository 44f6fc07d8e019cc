"""Error pages (full and htmx fragments) and /health."""

from __future__ import annotations

import pytest
from flask import Blueprint, abort

from tests.conftest import HTMX, make_app
from webapp.errors import Conflict, Forbidden, Invalid, NotFound


@pytest.fixture
def error_app(app, database_url):
    bad = make_app(database_url, RENDER_UNEXPECTED_ERRORS=True)
    bp = Blueprint("boom", __name__)

    @bp.route("/raise/<kind>")
    def raise_(kind):
        errors = {"notfound": NotFound(), "forbidden": Forbidden(), "invalid": Invalid(), "conflict": Conflict()}
        if kind in errors:
            raise errors[kind]
        if kind.isdigit():
            abort(int(kind))
        raise RuntimeError("unexpected")

    bad.register_blueprint(bp)
    return bad


@pytest.mark.parametrize(
    "path,status,text",
    [
        ("/raise/notfound", 404, "Page not found"),
        ("/raise/forbidden", 403, "Not allowed"),
        ("/raise/invalid", 422, "Please correct"),
        ("/raise/conflict", 409, "Conflict"),
        ("/raise/400", 400, "Bad request"),
        ("/raise/422", 422, "Could not process that"),
        ("/raise/429", 429, "Too many requests"),
        ("/raise/500", 500, "Something went wrong"),
        ("/raise/crash", 500, "Something went wrong"),
    ],
)
def test_error_pages_full_and_fragment(error_app, path, status, text):
    client = error_app.test_client()
    full = client.get(path)
    assert full.status_code == status
    html = full.get_data(as_text=True)
    assert text in html and "<main" in html and 'class="site-header"' in html
    fragment = client.get(path, headers=HTMX)
    assert fragment.status_code == status
    body = fragment.get_data(as_text=True)
    assert text in body and "<html" not in body
    assert fragment.headers["HX-Retarget"] == "#main"
    assert "HX-Request" in fragment.headers["Vary"]




def test_404_and_405(client):
    missing = client.get("/definitely/not/here")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    wrong = client.delete("/login")
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]


def test_health_reports_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_reports_unreachable_database(app):
    broken = make_app("postgresql://127.0.0.1:1/nothing-listens-here")
    response = broken.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
