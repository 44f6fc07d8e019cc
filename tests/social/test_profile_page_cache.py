"""A signed-in viewer's profile page is kept whole in the cache (webapp.caching.
signed_in_page), under a key naming their navigation, the person, what the viewer may
see and do, and the day. These tests pin that after every kind of change the page
served equals a fresh render, that a viewer never gets another viewer's copy, and that
the CSRF token in a cached page is the viewer's own."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from tests.accounts.test_page_cache import renders
from tests.conftest import login
from webapp.accounts import services as accounts
from webapp.accounts.models import User
from webapp.db import ContextSession, db
from webapp.extensions import cache
from webapp.social import services as social

TOKENS = re.compile(r'(name="csrf-token" content="|name="csrf_token"(?: type="hidden")? value=")[^"]+"')


def normalised(html: str) -> str:
    return TOKENS.sub(r'\1T"', html)


def fresh(app: Flask, client: FlaskClient, path: str) -> str:
    with app.app_context():
        cache.clear()
    response = client.get(path)
    assert response.status_code == 200
    return normalised(response.get_data(as_text=True))


def served(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return normalised(response.get_data(as_text=True))


def signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    login(client, user)
    return client


def test_the_second_view_costs_no_render_and_equals_the_first(csrf_app, make_user):
    ann = make_user(username="ann")
    client = signed_in(csrf_app, ann)
    first = client.get("/u/ann")
    sessions_used: list[object] = []
    own = db.session()  # the test's (the client commits it before each request)

    def used(session, transaction) -> None:  # type: ignore[no-untyped-def]
        if session is not own:
            sessions_used.append(session)

    event.listen(ContextSession, "after_transaction_create", used)
    try:
        with renders(csrf_app) as rendered:
            second = client.get("/u/ann")
    finally:
        event.remove(ContextSession, "after_transaction_create", used)
    assert rendered == []
    assert sessions_used == []  # the account is read on the connection: no ORM session at all
    assert normalised(second.get_data(as_text=True)) == normalised(first.get_data(as_text=True))
    assert second.headers.get("Vary") == first.headers.get("Vary")
    assert second.headers.get("Content-Security-Policy") == first.headers.get("Content-Security-Policy")


def _rename(user: User) -> None:
    accounts.update_profile(user, display_name="Ann Renamed", bio=user.bio, is_private=user.is_private,
                            email=user.email, username=user.username)


def _new_bio(user: User) -> None:
    accounts.update_profile(user, display_name=user.display_name, bio="Films on Fridays.",
                            is_private=user.is_private, email=user.email, username=user.username)


def _go_private(user: User) -> None:
    accounts.update_profile(user, display_name=user.display_name, bio=user.bio, is_private=True,
                            email=user.email, username=user.username)


def _make_admin(user: User) -> None:
    user.is_admin = True


def _request_arrives(user: User) -> None:
    social.send_request(User.query.filter_by(username="bob").one(), user)


def _friend_added(user: User) -> None:
    outcome = social.send_request(user, User.query.filter_by(username="bob").one())
    assert outcome.status == "sent"
    bob = User.query.filter_by(username="bob").one()
    social.accept_request(bob, social.incoming_requests(bob)[0].id)


CHANGES: dict[str, Callable[[User], None]] = {
    "display name": _rename,
    "bio": _new_bio,
    "admin link": _make_admin,
    "pending request in the navigation": _request_arrives,
    "new friend (profile details)": _friend_added,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_your_own_profile_is_fresh_after_every_change(csrf_app, make_user, change):
    ann = make_user(username="ann")
    make_user(username="bob")
    client = signed_in(csrf_app, ann)
    before = served(client, "/u/ann")
    change(db.session.get(User, ann.id))
    db.session.commit()
    after = served(client, "/u/ann")
    assert after != before, "the change shows on the page"
    assert after == fresh(csrf_app, client, "/u/ann")


def test_a_new_username_is_a_new_page_and_the_old_one_is_gone(csrf_app, make_user):
    ann = make_user(username="ann")
    client = signed_in(csrf_app, ann)
    served(client, "/u/ann")
    user = db.session.get(User, ann.id)
    accounts.update_profile(user, display_name=user.display_name, bio=user.bio, is_private=False,
                            email=user.email, username="annie")
    db.session.commit()
    login(client, db.session.get(User, ann.id))
    assert client.get("/u/ann").status_code == 404
    assert served(client, "/u/annie") == fresh(csrf_app, client, "/u/annie")
    assert 'href="/u/annie"' in served(client, "/u/annie")


def test_someone_elses_profile_follows_the_friendship(csrf_app, make_user):
    ann, bob = make_user(username="ann"), make_user(username="bob")
    viewer = signed_in(csrf_app, bob)
    steps: list[str] = []

    def check(expect: str) -> None:
        page = served(viewer, "/u/ann")
        assert expect in page
        assert page == fresh(csrf_app, viewer, "/u/ann")
        steps.append(page)

    check("Add friend")
    social.send_request(db.session.get(User, bob.id), db.session.get(User, ann.id))
    db.session.commit()
    check("Request sent")
    me = db.session.get(User, ann.id)
    social.accept_request(me, social.incoming_requests(me)[0].id)
    db.session.commit()
    check("Unfriend")
    _go_private(db.session.get(User, ann.id))
    db.session.commit()
    check("Unfriend")  # a friend still sees the details
    social.unfriend(db.session.get(User, bob.id), db.session.get(User, ann.id))
    db.session.commit()
    check("This profile is private")
    assert len(set(steps)) == 4, "five steps, four pages: a friend's view doesn't change when they go private"


def test_a_viewer_never_gets_another_viewers_copy(csrf_app, make_user):
    ann, bob = make_user(username="ann"), make_user(username="bob")
    own = served(signed_in(csrf_app, ann), "/u/ann")
    seen_by_bob = served(signed_in(csrf_app, bob), "/u/ann")
    assert "Edit your profile" in own and "Edit your profile" not in seen_by_bob
    assert 'href="/u/bob"' in seen_by_bob and 'href="/u/bob"' not in own


def test_a_cached_pages_token_is_the_viewers_own(csrf_app, make_user):
    ann = make_user(username="ann")
    client = signed_in(csrf_app, ann)
    token = re.compile(r'name="csrf_token" value="([^"]+)"')  # the navigation's logout form
    client.get("/u/ann")
    with renders(csrf_app) as rendered:
        cached = token.search(client.get("/u/ann").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    assert rendered == []
    stranger = signed_in(csrf_app, make_user())
    assert stranger.post("/logout", data={"csrf_token": cached}).status_code == 400
    assert client.post("/logout", data={"csrf_token": cached}).status_code == 303


def test_a_waiting_flash_and_a_query_string_are_rendered_for_their_viewer(csrf_app, make_user):
    ann = make_user(username="ann")
    client = signed_in(csrf_app, ann)
    served(client, "/u/ann")
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Your profile is saved.")]
    with renders(csrf_app) as rendered:
        assert "Your profile is saved." in served(client, "/u/ann")
    assert rendered
    with renders(csrf_app) as rendered:
        assert "Your profile is saved." not in served(client, "/u/ann")
    assert rendered == [], "the page without the flash is the cached one"
    with renders(csrf_app) as rendered:
        served(client, "/u/ann?from=search")
    assert rendered


def test_anonymous_visitors_are_never_served_a_signed_in_copy(csrf_app, make_user):
    ann = make_user(username="ann")
    served(signed_in(csrf_app, ann), "/u/ann")
    page = csrf_app.test_client().get("/u/ann").get_data(as_text=True)
    assert "Log in" in page and "Log out" not in page


def test_only_the_canonical_path_is_kept(csrf_app, make_user):
    """/u/ANN shows ann's page too, but is rendered each time: otherwise every spelling
    of a name would be another entry, and anyone could fill the cache."""
    ann = make_user(username="ann")
    client = signed_in(csrf_app, ann)
    served(client, "/u/ANN")
    with renders(csrf_app) as rendered:
        assert "@ann" in served(client, "/u/ANN")
    assert rendered
