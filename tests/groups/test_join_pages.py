"""Group join links name the group only while the code can admit someone, never say
whom to ask, and are rate limited per address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.conftest import login
from tests.tonight.conftest import befriend
from webapp.db import db, utcnow
from webapp.groups import services
from webapp.groups.models import GroupInvite


CSRF_TOKEN = re.compile(r'"[\w-]+\.[\w-]+\.[\w-]+"')


@pytest.fixture
def club(make_user):  # type: ignore[no-untyped-def]
    ann, bob = make_user(username="ann", display_name="Annabel Quince"), make_user(username="bob")
    befriend(ann, bob)
    group = services.create_group(ann, "Secret Cinema Society", [bob.id])
    db.session.commit()
    return group, ann, bob


def _page(client, code: str):  # type: ignore[no-untyped-def]
    response = client.get(f"/groups/join/{code}")
    # The page's CSRF token carries the second it was signed: not part of the comparison.
    return response.status_code, CSRF_TOKEN.sub("", response.get_data(as_text=True))


def test_a_usable_code_names_the_group(client, club, make_user):
    group, ann, _ = club
    invite = services.create_invite(services.membership(ann, group.id), max_uses=2)
    db.session.commit()
    login(client, make_user(username="newcomer"))
    status, html = _page(client, invite.code)
    assert status == 200 and "Secret Cinema Society" in html


@pytest.mark.parametrize("spoil", ["used", "expired", "revoked"])
def test_a_dead_code_names_neither_group_nor_owner(client, club, make_user, spoil):
    group, ann, _ = club
    invite = services.create_invite(services.membership(ann, group.id), max_uses=1)
    db.session.commit()
    login(client, make_user(username="newcomer"))
    unknown_status, unknown_html = _page(client, "ZZZZZZZZZZ")
    if spoil == "used":
        services.redeem_invite(make_user(username="first"), invite.code)
    elif spoil == "expired":
        db.session.execute(update(GroupInvite).values(expires_at=utcnow() - timedelta(minutes=1)))
    else:
        services.revoke_invite(services.membership(ann, group.id), invite.id)
    db.session.commit()
    status, html = _page(client, invite.code)
    assert status == unknown_status == 404
    for secret in ("Secret Cinema", "Annabel", "@ann", "owner"):
        assert secret not in html
    assert html == unknown_html
    assert "Ask whoever sent it for a new one." in html


def test_join_pages_are_rate_limited_per_address(make_limited_app, club, make_user):
    group, ann, _ = club
    invite = services.create_invite(services.membership(ann, group.id), max_uses=2)
    newcomer = make_user(username="newcomer")
    db.session.commit()
    limited = make_limited_app(RATELIMIT_JOIN_PAGE="2 per minute")
    client = limited.test_client()
    login(client, newcomer)
    statuses = [client.get(f"/groups/join/{invite.code}").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert client.get("/groups/join/ZZZZZZZZZZ").status_code == 429
