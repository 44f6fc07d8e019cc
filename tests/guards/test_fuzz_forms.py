"""Random, oversized, unicode and missing values posted to every form, and put in every
route's URL parameters and query string: never a 5xx."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from flask import Blueprint, Flask, request, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from tests.access_matrix import QUERY_ARGS, ROUTES, Route
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


# URL parameters and query strings ---------------------------------------------------

# Numbers around the database's limits: 32-bit ids on PostgreSQL, 64-bit on SQLite.
NUMBER = st.one_of(
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**20, -(2**63) - 1]).map(str),
    st.integers().map(str),
    st.text(alphabet="0123456789", min_size=19, max_size=5000),  # past 64 bits, and past int()'s 4,300 digits
)
PARAM = st.one_of(NUMBER, VALUE)


def _rule(app: Flask, route: Route):  # type: ignore[no-untyped-def]
    rules = [r for r in app.url_map.iter_rules(route.endpoint) if route.method in (r.methods or ())]
    return rules[0]


ANY_QUERY_ARG = sorted({name for names in QUERY_ARGS.values() for name in names} | {"page", "extra"})


def fuzz_url(client: FlaskClient, rule, real: dict[str, str], method: str, data: dict, examples: int,  # type: ignore[no-untyped-def]
             query_args: tuple[str, ...] = ()) -> None:
    """Send `method` to `rule` with random values for its parameters (or the real ones,
    so that query strings reach real pages too) and a random query string: each of
    `query_args` (what the route reads) or not, and maybe any other name."""
    names = sorted(rule.arguments)
    params = st.fixed_dictionaries({name: st.one_of(st.just(real[name]), PARAM) for name in names})
    query = st.builds(
        lambda read, others: {**others, **read},
        st.fixed_dictionaries({}, optional={name: PARAM for name in query_args}),
        st.dictionaries(st.sampled_from(ANY_QUERY_ARG), PARAM, max_size=2),
    )

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
    @given(values=params, args=query)
    def open_anything(values: dict[str, str], args: dict[str, str]) -> None:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: quote(values[m.group(1)], safe=""), rule.rule)
        url = path + ("?" + urlencode(args) if args else "")
        response = client.open(url, method=method, data=data)
        assert response.status_code < 500, f"{method} {url} answered {response.status_code}"

    open_anything()


def _real_args(app: Flask, route: Route, world) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {name: str(value) for name, value in route.args(world).items()}


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "member"])
@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.endpoint != "static"], ids=lambda r: f"{r.method} {r.endpoint}"
)
def test_urls_and_query_strings_never_answer_5xx(app, client, world, route, logged_in):
    # Static files are left out: the web server serves them in production.
    if logged_in:
        login(client, world.admin if route.endpoint.startswith("admin.") else world.owner)
    fuzz_url(client, _rule(app, route), _real_args(app, route, world), route.method, route.data(world), examples=15,
             query_args=QUERY_ARGS.get(route.endpoint, ()))


def _routes_with_integers() -> list[Route]:
    """The routes whose URL holds an <int:…> parameter, read from an app's URL map."""
    from webapp import create_app
    from tests.conftest import TEST_CONFIG

    url_map = create_app({**TEST_CONFIG, "DATABASE_URL": "sqlite://"}).url_map
    with_integers = {
        rule.endpoint
        for rule in url_map.iter_rules()
        if any(isinstance(converter, IntegerConverter) for converter in rule._converters.values())
    }
    return [route for route in ROUTES if route.endpoint in with_integers]


OUT_OF_RANGE = ["2147483648", "9223372036854775807", "9223372036854775808", "99999999999999999999", "9" * 5000]


@pytest.mark.parametrize("route", _routes_with_integers(), ids=lambda r: f"{r.method} {r.endpoint}")
def test_huge_ids_answer_404(app, client, world, route):
    """Every integer in a route's URL, past what the database stores: 404, never 500."""
    login(client, world.admin if route.endpoint.startswith("admin.") else world.owner)
    rule = _rule(app, route)
    numbers = [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]
    real = _real_args(app, route, world)
    for name in numbers:
        for huge in OUT_OF_RANGE:
            values = {**real, name: huge}
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: quote(values[m.group(1)], safe=""), rule.rule)
            response = client.open(path, method=route.method, data=route.data(world))
            assert response.status_code == 404, f"{route.method} {path[:80]} answered {response.status_code}"


@pytest.mark.parametrize("url", ["/catalog?page=9223372036854775807", "/catalog?page=99999999999999999999",
                                 "/search?q=alien&page=9223372036854775807", "/people?q=a&page=9223372036854775807",
                                 "/friends?page=9223372036854775807", "/u/owner/friends?page=9223372036854775807",
                                 "/u/owner/weeks?page=9223372036854775807", "/u/owner/weeks?year=99999999999999999999"])
def test_huge_query_numbers_answer_404(client, world, url):
    login(client, world.owner)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("huge", ["2147483648", "99999999999", "99999999999999999999"])
def test_ids_sent_in_forms_past_the_range_are_refused(client, world, huge):
    """Ids inside form fields and references: a clear 4xx, never the database's error."""
    login(client, world.owner)
    group, session = world.group.id, world.session.id
    posts = [
        (f"/groups/{group}/watchlist", {"ref": f"title:{huge}", "note": ""}),
        ("/weeks/2026/10/album", {"ref": f"title:{huge}", "position": ""}),
        (f"/sessions/{session}/vote", {"candidate": huge, "vote": "yes"}),
        (f"/sessions/{session}/ballot", {f"vote-{huge}": "yes"}),
        (f"/titles/{world.title.id}/add-to-group", {"group": huge}),
        (f"/sessions/{world.decided.id}/watched", {"present": [huge]}),
        (f"/groups/{group}/members", {"members": [huge]}),
        ("/groups/new", {"name": "Huge", "members": [huge]}),
    ]
    for url, data in posts:
        status = client.post(url, data=data).status_code
        assert 400 <= status < 500 or status == 303, f"{url} {data}: {status}"


@pytest.mark.parametrize("url", ["/u/%00", "/u/a%00b/weeks", "/u/%00/weeks/stats", "/friends/join/%00", "/groups/join/%00"])
def test_nul_bytes_in_a_path_answer_404(client, world, url):
    """PostgreSQL refuses text with NUL: such an address is no page (a 500 before)."""
    login(client, world.owner)
    assert client.get(url).status_code == 404


def test_group_pages_with_huge_query_numbers_answer_404(client, world):
    login(client, world.owner)
    group = world.group.id
    for url in (f"/groups/{group}/watchlist?page=9223372036854775807", f"/groups/{group}/sessions?page=9223372036854775807"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/sessions/{world.session.id}?card=99999999999999999999").status_code == 404


def test_url_fuzz_catches_a_fragile_route(app, database_url):
    bad: Flask = make_app(database_url)
    bp = Blueprint("fragile_url", __name__)

    @bp.route("/fragile/<int:number>")
    def fragile(number: int):
        return str(100 // int(request.args.get("page", "1")))  # ValueError, ZeroDivisionError

    bad.register_blueprint(bp)
    rule = next(bad.url_map.iter_rules("fragile_url.fragile"))
    with pytest.raises(Exception):
        # About one example in seven reaches the crash; 200 leave no real chance of a miss.
        fuzz_url(bad.test_client(), rule, {"number": "1"}, "GET", {}, examples=200, query_args=("page",))
