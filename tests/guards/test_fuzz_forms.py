"""Random, oversized, unicode and missing values posted to every form: never a 5xx."""

from __future__ import annotations

import re
import pytest
from flask import Blueprint, Flask, request, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.access_matrix import ROUTES
from tests.conftest import login, make_app

NASTY = st.sampled_from(
    [
        "",
        " ",
        "' OR 1=1 --",
        "\"; DROP TABLE users; --",
        "<script>alert(1)</script>",
        "\x00",
        "a\x00b",
        "😀" * 50,
        "ﷺ" * 40,
        "\u202e" + "evil",
        "9" * 400,
        "-1",
        "1e309",
        "2026-02-30",
        "0000-00-00",
        "y",
        "on",
    ]
)
VALUE = st.one_of(
    NASTY,
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60),
    # Oversized values, built cheaply by repeating a random snippet.
    st.builds(
        lambda snippet, times: (snippet or "é") * times,
        st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8),
        st.integers(min_value=300, max_value=3000),
    ),
)


def form_fields(client: FlaskClient, url: str) -> list[str]:
    """The field names of the form the page shows (if it shows one)."""
    page = client.get(url)
    if page.status_code != 200 or "text/html" not in page.content_type:
        return []
    return sorted(set(re.findall(r'name="([a-z_]+)"', page.get_data(as_text=True))) - {"csrf_token"})


def fuzz(client: FlaskClient, url: str, fields: list[str], examples: int) -> None:
    keys = st.sampled_from([*fields, "extra", "csrf_token"]) if fields else st.sampled_from(["extra", "q"])

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
    @given(data=st.dictionaries(keys, VALUE, max_size=len(fields) + 2))
    def post_anything(data: dict[str, str]) -> None:
        response = client.post(url, data=data)
        assert response.status_code < 500, f"{url} answered {response.status_code} to {data!r}"

    post_anything()


def post_routes():
    return [route for route in ROUTES if route.method == "POST" or route.endpoint in FORM_PAGES]


FORM_PAGES = {"accounts.register", "accounts.login", "accounts.settings", "accounts.change_password",
              "accounts.delete_account", "social.invites", "admin.genres", "admin.new_title",
              "admin.edit_title", "admin.edit_genre", "groups.new", "groups.item"}


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "member"])
@pytest.mark.parametrize("route", post_routes(), ids=lambda r: r.endpoint)
def test_forms_never_answer_5xx(app, client, world, route, logged_in):
    with app.test_request_context():
        url = url_for(route.endpoint, **route.args(world))
    if logged_in:
        login(client, world.admin if route.endpoint.startswith("admin.") else world.owner)
    fields = form_fields(client, url) if route.endpoint in FORM_PAGES else list(route.data(world))
    fuzz(client, url, fields, examples=25)


def test_fuzz_catches_a_fragile_form(app, database_url):
    bad: Flask = make_app(database_url)
    bp = Blueprint("fragile", __name__)

    @bp.route("/fragile", methods=["POST"])
    def fragile():
        return str(100 // int(request.form["count"]))  # KeyError, ValueError, ZeroDivisionError

    bad.register_blueprint(bp)
    with pytest.raises(Exception):
        fuzz(bad.test_client(), "/fragile", ["count"], examples=50)


def test_nul_bytes_are_a_clear_400(client):
    response = client.post("/login", data={"login": "a\x00b", "password": "x"})
    assert response.status_code == 400
    assert "could not be understood" in response.get_data(as_text=True) or "not allowed" in response.get_data(as_text=True)
