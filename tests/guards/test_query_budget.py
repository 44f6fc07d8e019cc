"""Per-page query budgets, and the budget fixture catching an N+1 page."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy import select

from tests.conftest import login, make_app
from webapp.accounts.models import User
from webapp.db import db


@pytest.mark.parametrize(
    "path,budget,logged_in",
    [
        ("/", 0, False),
        ("/login", 0, False),
        # logged in: the user, then the pending friend-request count for the navigation
        ("/", 2, True),
        # a profile: the user, the friend count, then one query per profile section
        # (this week's picks, recent viewings)
        ("/u/{username}", 6, True),
        ("/u/{username}", 4, False),
        ("/settings", 3, True),
        ("/settings/password", 2, True),
    ],
)
def test_page_budgets(client, make_user, query_budget, path, budget, logged_in):
    user = make_user()
    for _ in range(5):
        make_user()
    if logged_in:
        login(client, user)
    url = path.format(username=user.username)
    with query_budget(budget):
        response = client.get(url)
    assert response.status_code == 200


def test_budget_catches_an_n_plus_one_page(app, database_url, make_user, query_budget):
    bad = make_app(database_url)
    bp = Blueprint("nplus", __name__)

    @bp.route("/everyone")
    def everyone():
        ids = db.session.scalars(select(User.id)).all()
        return ", ".join(db.session.get(User, i).username for i in ids)  # one query per user

    bad.register_blueprint(bp)
    for _ in range(6):
        make_user()
    db.session.commit()
    with pytest.raises(AssertionError, match="7 queries, budget 2"):
        with query_budget(2):
            bad.test_client().get("/everyone")
