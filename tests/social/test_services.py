from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from webapp.db import db, utcnow
from webapp.errors import Invalid, NotFound
from webapp.social import services
from webapp.social.models import FriendInvite, Friendship, FriendRequest
from webapp.social.services import Relation


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def ann(make_user):
    return make_user(username="ann")


@pytest.fixture
def bob(make_user):
    return make_user(username="bob")


class TestInviteCodes:
    def test_code_shape_and_normalising(self, ann):
        invite = services.create_invite(ann)
        assert len(invite.code) == 10 and set(invite.code) <= set(services.CODE_ALPHABET)
        assert invite.expires_at - invite.created_at == timedelta(days=7)
        typed = services.format_code(invite.code).lower().replace("0", "o").replace("1", "l")
        assert services.invite_by_code(f"  {typed} ").id == invite.id

    def test_redeem_makes_friends_once(self, ann, bob):
        invite = services.create_invite(ann)
        outcome = services.redeem_invite(bob, invite.code)
        db.session.commit()
        assert outcome.status == "friends" and outcome.friend.id == ann.id
        assert services.are_friends(ann, bob) and services.are_friends(bob, ann)
        assert count(Friendship) == 1
        assert invite.used_by_id == bob.id and invite.used_at is not None

    def test_own_code(self, ann):
        invite = services.create_invite(ann)
        with pytest.raises(Invalid, match="your own code"):
            services.redeem_invite(ann, invite.code)

    def test_used_code(self, ann, bob, make_user):
        invite = services.create_invite(ann)
        services.redeem_invite(bob, invite.code)
        with pytest.raises(Invalid, match="already been used"):
            services.redeem_invite(make_user(), invite.code)

    def test_expired_code(self, ann, bob):
        invite = services.create_invite(ann, days=1, now=utcnow() - timedelta(days=2))
        with pytest.raises(Invalid, match="expired"):
            services.redeem_invite(bob, invite.code)
        assert count(Friendship) == 0

    @pytest.mark.parametrize("code", ["", "ABC", "!!!!!!!!!!", "Z" * 10, "' OR 1=1 --", "😀" * 10])
    def test_unknown_or_malformed_code(self, bob, code):
        with pytest.raises(Invalid, match="don't know that code"):
            services.redeem_invite(bob, code)

    def test_already_friends_is_a_noop_that_keeps_the_code(self, ann, bob):
        services.redeem_invite(bob, services.create_invite(ann).code)
        second = services.create_invite(ann)
        outcome = services.redeem_invite(bob, second.code)
        assert outcome.status == "already_friends"
        assert second.used_at is None and count(Friendship) == 1

    @pytest.mark.parametrize("days", [0, -1, 31, 10_000])
    def test_expiry_bounds(self, ann, days):
        with pytest.raises(Invalid):
            services.create_invite(ann, days=days)

    def test_revoke_and_active_list(self, ann, bob):
        first, second = services.create_invite(ann), services.create_invite(ann)
        services.revoke_invite(ann, first.id)
        assert [i.id for i in services.active_invites(ann)] == [second.id]
        with pytest.raises(NotFound):
            services.revoke_invite(bob, second.id)


class TestRequests:
    def test_send_accept(self, ann, bob):
        assert services.send_request(ann, bob).status == "sent"
        assert services.relations(ann, [bob])[bob.id][0] is Relation.OUTGOING
        assert services.relations(bob, [ann])[ann.id][0] is Relation.INCOMING
        assert services.pending_count(bob) == 1
        request_id = services.incoming_requests(bob)[0].id
        assert services.accept_request(bob, request_id).id == ann.id
        assert services.are_friends(ann, bob) and count(FriendRequest) == 0
        assert services.relations(ann, [bob])[bob.id][0] is Relation.FRIENDS

    def test_duplicate_request_is_a_noop(self, ann, bob):
        services.send_request(ann, bob)
        assert services.send_request(ann, bob).status == "already_sent"
        assert count(FriendRequest) == 1

    def test_asking_back_accepts(self, ann, bob):
        services.send_request(ann, bob)
        assert services.send_request(bob, ann).status == "accepted"
        assert count(Friendship) == 1 and count(FriendRequest) == 0

    def test_request_to_friend_or_self(self, ann, bob):
        services.redeem_invite(bob, services.create_invite(ann).code)
        assert services.send_request(ann, bob).status == "already_friends"
        with pytest.raises(Invalid, match="yourself"):
            services.send_request(ann, ann)
        assert count(FriendRequest) == 0

    def test_deny_and_cancel(self, ann, bob):
        services.send_request(ann, bob)
        services.deny_request(bob, services.incoming_requests(bob)[0].id)
        assert count(FriendRequest) == 0 and count(Friendship) == 0
        with pytest.raises(services.CoolingDown):  # tests/social/test_request_cooldown.py
            services.send_request(ann, bob)
        services.send_request(bob, ann)
        services.cancel_request(bob, services.outgoing_requests(bob)[0].id)
        assert count(FriendRequest) == 0

    def test_nobody_else_can_act_on_a_request(self, ann, bob, make_user):
        carol = make_user()
        services.send_request(ann, bob)
        request_id = services.outgoing_requests(ann)[0].id
        for act in (services.accept_request, services.deny_request, services.cancel_request):
            with pytest.raises(NotFound):
                act(carol, request_id)
        with pytest.raises(NotFound):
            services.accept_request(ann, request_id)  # the sender cannot accept
        with pytest.raises(NotFound):
            services.cancel_request(bob, request_id)  # the recipient cannot cancel
        with pytest.raises(NotFound):
            services.accept_request(bob, 999_999)
        assert count(FriendRequest) == 1

    def test_unfriend(self, ann, bob):
        services.redeem_invite(bob, services.create_invite(ann).code)
        assert services.unfriend(bob, ann) is True
        assert not services.are_friends(ann, bob)
        assert services.unfriend(bob, ann) is False

    def test_imported_accounts_cannot_be_asked(self, ann, make_user):
        with pytest.raises(NotFound):
            services.send_request(ann, make_user(is_imported=True))


class TestSearchAndPrivacy:
    def test_search_is_case_insensitive_on_username_and_display_name(self, make_user):
        make_user(username="annika", display_name="Annika Berg")
        make_user(username="zed", display_name="Joanna Z")
        make_user(username="bob", display_name="Bob")
        make_user(username="ml_ann", is_imported=True)
        result = services.search_users("ANN", page=1)
        assert [u.username for u in result.items] == ["annika", "zed"]
        assert services.search_users("berg", page=1).total == 1

    @pytest.mark.parametrize("query", ["%", "_", "\\", "' OR 1=1 --"])
    def test_search_treats_wildcards_literally(self, make_user, query):
        make_user(username="plain")
        assert services.search_users(query, page=1).total == 0

    def test_search_paginates(self, make_user):
        for i in range(25):
            make_user(username=f"film{i:02d}")
        first = services.search_users("film", page=1, per_page=20)
        second = services.search_users("film", page=2, per_page=20)
        assert first.total == 25 and len(first.items) == 20 and len(second.items) == 5

    def test_private_profile_visibility(self, ann, bob, make_user):
        ann.is_private = True
        carol = make_user()
        assert services.can_see_profile(ann, ann)
        assert not services.can_see_profile(bob, ann)
        assert not services.can_see_profile(None, ann)
        services.redeem_invite(bob, services.create_invite(ann).code)
        assert services.can_see_profile(bob, ann)
        assert not services.can_see_profile(carol, ann)
        assert services.can_see_profile(None, bob)

    def test_friends_page_and_count(self, ann, make_user):
        for _ in range(3):
            other = make_user()
            services.redeem_invite(other, services.create_invite(ann).code)
        assert services.friend_count(ann) == 3
        assert services.friends_page(ann, page=1).total == 3


def test_deleting_an_account_removes_its_friendships_requests_and_codes(ann, bob, make_user):
    from webapp.accounts.services import delete_account

    services.redeem_invite(bob, services.create_invite(ann).code)
    services.send_request(ann, make_user())
    services.create_invite(ann)
    db.session.commit()
    delete_account(ann)
    db.session.commit()
    assert count(Friendship) == count(FriendRequest) == count(FriendInvite) == 0
