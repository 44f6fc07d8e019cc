"""Friend join links name the friend only while the code can be used, and are rate
limited per address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.conftest import login
from webapp.db import db, utcnow
from webapp.social import services
from webapp.social.models import FriendInvite


CSRF_TOKEN = re.compile(r'"[\w-]+\.[\w-]+\.[\w-]+"')


@pytest.fixture
def ann(make_user):  # type: ignore[no-untyped-def]
    return make_user(username="ann", display_name="Annabel Quince")


@pytest.fixture
def bob(make_user):  # type: ignore[no-untyped-def]
    return make_user(username="bob", display_name="Bob")


def _page(client, code: str):  # type: ignore[no-untyped-def]
    response = client.get(f"/friends/join/{code}")
    # The page's CSRF token carries the second it was signed: not part of the comparison.
    return response.status_code, CSRF_TOKEN.sub("", response.get_data(as_text=True))


def test_a_usable_code_names_who_invited(client, ann, bob):
    invite = services.create_invite(ann)
    db.session.commit()
    login(client, bob)
    status, html = _page(client, invite.code)
    assert status == 200 and "Annabel Quince" in html and "@ann" in html


@pytest.mark.parametrize("spoil", ["used", "expired", "revoked"])
def test_a_dead_code_names_nobody_and_looks_unknown(client, ann, bob, make_user, spoil):
    invite = services.create_invite(ann)
    db.session.commit()
    login(client, bob)
    unknown_status, unknown_html = _page(client, "ZZZZZZZZZZ")
    if spoil == "used":
        services.redeem_invite(make_user(username="cy"), invite.code)
    elif spoil == "expired":
        db.session.execute(update(FriendInvite).values(expires_at=utcnow() - timedelta(minutes=1)))
    else:
        services.revoke_invite(ann, invite.id)
    db.session.commit()
    status, html = _page(client, invite.code)
    assert status == unknown_status == 404
    assert "Annabel" not in html and "@ann" not in html
    assert html == unknown_html
    assert "Ask whoever sent it for a new one." in html


def test_join_pages_are_rate_limited_per_address(make_limited_app, ann, bob):
    invite = services.create_invite(ann)
    db.session.commit()
    limited = make_limited_app(RATELIMIT_JOIN_PAGE="2 per minute")
    client = limited.test_client()
    login(client, bob)
    statuses = [client.get(f"/friends/join/{invite.code}").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert "going a little fast" in client.get(f"/friends/join/{invite.code}").get_data(as_text=True)
    # Guessing other codes counts too.
    assert client.get("/friends/join/ZZZZZZZZZZ").status_code == 429
