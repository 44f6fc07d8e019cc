"""A declined friend request cannot be sent again during a cool-down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import HTMX, login, make_app
from webapp.db import db, utcnow
from webapp.social import services
from webapp.social.models import FriendRequest, FriendRequestDenial


@pytest.fixture
def ann(make_user):  # type: ignore[no-untyped-def]
    return make_user(username="ann", display_name="Ann")


@pytest.fixture
def bob(make_user):  # type: ignore[no-untyped-def]
    return make_user(username="bob", display_name="Bob")


def _deny(ann, bob, *, now=None) -> None:  # type: ignore[no-untyped-def]
    services.send_request(ann, bob)
    services.deny_request(bob, services.incoming_requests(bob)[0].id, now=now)
    db.session.commit()


def pending() -> int:
    return db.session.scalar(select(func.count(FriendRequest.id))) or 0


class TestService:
    def test_asking_again_after_a_denial_waits_for_the_cooldown(self, ann, bob):
        denied = utcnow()
        _deny(ann, bob, now=denied)
        with pytest.raises(services.CoolingDown) as refused:
            services.send_request(ann, bob, now=denied + timedelta(days=6, hours=23))
        until = denied + timedelta(days=7)
        assert refused.value.message == f"Bob declined your last request. You can ask again from {until.day} {until:%B %Y}."
        assert refused.value.status == 409
        assert pending() == 0
        assert services.send_request(ann, bob, now=denied + timedelta(days=7, seconds=1)).status == "sent"

    def test_the_cooldown_is_configurable(self, ann, bob):
        denied = utcnow()
        _deny(ann, bob, now=denied)
        assert services.send_request(ann, bob, cooldown=timedelta(0), now=denied + timedelta(seconds=1)).status == "sent"

    def test_only_the_declined_direction_waits(self, ann, bob):
        _deny(ann, bob)
        assert services.send_request(bob, ann).status == "sent"  # the one who declined may ask
        # ...and asking back accepts, cool-down or not; friends leave no denial behind.
        assert services.send_request(ann, bob).status == "accepted"
        assert db.session.scalar(select(func.count(FriendRequestDenial.id))) == 0

    def test_a_second_denial_starts_a_new_cooldown(self, ann, bob):
        first = utcnow() - timedelta(days=30)
        _deny(ann, bob, now=first)
        _deny(ann, bob)
        with pytest.raises(services.CoolingDown):
            services.send_request(ann, bob)
        assert db.session.scalar(select(func.count(FriendRequestDenial.id))) == 1


class TestViews:
    def test_plain_form_says_why_beside_the_action(self, client, ann, bob):
        _deny(ann, bob)
        login(client, ann)
        response = client.post("/u/bob/friend-request", data={"next": "/u/bob"})
        assert response.status_code == 303 and response.headers["Location"] == "/u/bob"
        page = client.get("/u/bob").get_data(as_text=True)
        assert "Bob declined your last request. You can ask again from" in page
        assert pending() == 0

    def test_htmx_gets_the_widget_with_the_message(self, client, ann, bob):
        _deny(ann, bob)
        login(client, ann)
        response = client.post("/u/bob/friend-request", headers=HTMX)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "Bob declined your last request." in html
        assert pending() == 0

    def test_the_app_reads_its_cooldown_from_config(self, database_url, app, ann, bob):
        _deny(ann, bob)
        relaxed = make_app(database_url, FRIEND_REQUEST_COOLDOWN_DAYS=0)
        client = relaxed.test_client()
        login(client, ann)
        client.post("/u/bob/friend-request")
        assert pending() == 1
