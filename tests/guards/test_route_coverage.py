"""Every route has an access expectation, and every expectation holds."""

from __future__ import annotations


import pytest
from flask import Blueprint

from tests.access_matrix import LOGIN, ROLES, ROUTES, Route
from tests.conftest import login, make_app
from tests.guards.checks import access_problems, uncovered_endpoints


def test_every_route_has_an_access_expectation(app):
    assert uncovered_endpoints(app, ROUTES) == set()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.endpoint)
def test_access_matrix(client, world, route, role):
    if role != "anonymous":
        login(client, getattr(world, role))
    assert access_problems(client, route, role, world) == []


# The guard catching violations ------------------------------------------------------

@pytest.fixture
def unguarded_app(app, database_url):
    bad = make_app(database_url)
    bp = Blueprint("leaky", __name__)

    @bp.route("/leaky")
    def secret_page():  # forgot @login_required
        return "everyone sees this"

    bad.register_blueprint(bp)
    return bad


def test_coverage_check_flags_an_undeclared_route(unguarded_app):
    assert uncovered_endpoints(unguarded_app, ROUTES) == {"leaky.secret_page"}


def test_access_check_flags_a_route_missing_its_guard(unguarded_app, world):
    route = Route("leaky.secret_page", expect={"anonymous": LOGIN})
    with unguarded_app.app_context():
        problems = access_problems(unguarded_app.test_client(), route, "anonymous", world)
    assert problems and "expected a redirect to login" in problems[0]
