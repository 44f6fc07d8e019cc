"""Social pages over HTTP, plain and with htmx headers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import HTMX, login
from webapp.db import db
from webapp.social import services
from webapp.social.models import Friendship, FriendRequest


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def ann(make_user):
    return make_user(username="ann", display_name="Ann")


@pytest.fixture
def bob(make_user):
    return make_user(username="bob", display_name="Bob")


class TestInvites:
    def test_create_then_redeem_by_typing(self, app, client, ann, bob):
        login(client, ann)
        response = client.post("/friends/invites", data={"days": "3"})
        assert response.status_code == 303
        page = client.get("/friends/invites").get_data(as_text=True)
        invite = services.active_invites(ann)[0]
        assert services.format_code(invite.code) in page
        assert f"/friends/join/{invite.code}" in page
        other = app.test_client()
        login(other, bob)
        response = other.post("/friends/redeem", data={"code": services.format_code(invite.code).lower()})
        assert response.status_code == 303 and response.headers["Location"] == "/u/ann"
        assert "You and Ann are now friends." in other.get("/u/ann").get_data(as_text=True)
        assert count(Friendship) == 1

    def test_join_link_shows_who_invited_and_a_button(self, client, ann, bob):
        invite = services.create_invite(ann)
        login(client, bob)
        html = client.get(f"/friends/join/{invite.code}").get_data(as_text=True)
        assert "Become friends with Ann?" in html and 'action="/friends/redeem"' in html
        assert count(Friendship) == 0  # GET writes nothing

    def test_join_link_needs_login_and_comes_back(self, client, ann):
        invite = services.create_invite(ann)
        response = client.get(f"/friends/join/{invite.code}")
        assert response.status_code == 302
        assert response.headers["Location"] == f"/login?next=/friends/join/{invite.code}"

    def test_unknown_join_link_is_404(self, client, bob):
        login(client, bob)
        assert client.get("/friends/join/NOPE").status_code == 404

    @pytest.mark.parametrize("code,message", [("", "Enter the code"), ("XXXXX-XXXXX", "know that code")])
    def test_bad_codes_rerender_with_error_and_input(self, client, bob, code, message):
        login(client, bob)
        response = client.post("/friends/redeem", data={"code": code})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert message in html and 'id="code-error"' in html
        if code:
            assert f'value="{code}"' in html

    def test_invalid_expiry_rerenders(self, client, ann):
        login(client, ann)
        response = client.post("/friends/invites", data={"days": "99"})
        assert response.status_code == 422
        assert "Choose 1 to 30 days." in response.get_data(as_text=True)

    def test_revoke(self, client, ann):
        invite = services.create_invite(ann)
        db.session.commit()
        login(client, ann)
        assert client.post(f"/friends/invites/{invite.id}/revoke").status_code == 303
        assert services.active_invites(ann) == []


class TestRequestsOverHttp:
    def test_plain_send_redirects_back(self, client, ann, bob):
        login(client, ann)
        response = client.post("/u/bob/friend-request", data={"next": "/u/bob"})
        assert response.status_code == 303 and response.headers["Location"] == "/u/bob"
        assert count(FriendRequest) == 1

    def test_htmx_send_returns_widget(self, client, ann, bob):
        login(client, ann)
        response = client.post("/u/bob/friend-request", headers=HTMX)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert html.lstrip().startswith(f'<div class="relation" id="relation-{bob.id}"')
        assert "Cancel request" in html and "Friend request sent to Bob." in html
        assert 'hx-target="#nav-requests"' in html
        # Like every response that switches on htmx's headers (webapp/rendering.py).
        assert {"HX-Request", "HX-Request-Type"} <= set(response.vary)

    def test_accept_updates_nav_count_out_of_band(self, client, ann, bob):
        services.send_request(ann, bob)
        db.session.commit()
        login(client, bob)
        page = client.get("/friends/requests").get_data(as_text=True)
        assert "count-badge\">1<" in page and "pending friend request" in page
        request_id = services.incoming_requests(bob)[0].id
        response = client.post(f"/friends/requests/{request_id}/accept", headers=HTMX)
        html = response.get_data(as_text=True)
        assert "now friends" in html and "Unfriend" in html
        partial = html.split('<hx-partial hx-target="#nav-requests"')[1]
        assert "pending friend request" not in partial
        assert "pending friend request" not in client.get("/").get_data(as_text=True)

    def test_plain_accept_without_javascript(self, client, ann, bob):
        services.send_request(ann, bob)
        db.session.commit()
        login(client, bob)
        request_id = services.incoming_requests(bob)[0].id
        response = client.post(f"/friends/requests/{request_id}/accept", data={"next": "/friends/requests"})
        assert response.status_code == 303 and response.headers["Location"] == "/friends/requests"
        assert services.are_friends(ann, bob)

    def test_someone_elses_request_id_is_404_and_nothing_changes(self, client, ann, bob, make_user):
        services.send_request(ann, bob)
        db.session.commit()
        login(client, make_user())
        request_id = services.outgoing_requests(ann)[0].id
        for action in ("accept", "deny", "cancel"):
            assert client.post(f"/friends/requests/{request_id}/{action}").status_code == 404
        assert client.post("/friends/requests/424242/accept").status_code == 404
        assert count(FriendRequest) == 1

    def test_request_to_self_is_a_clear_message(self, client, ann):
        login(client, ann)
        response = client.post("/u/ann/friend-request", headers=HTMX)
        assert "cannot send a friend request to yourself" in response.get_data(as_text=True)
        assert count(FriendRequest) == 0

    def test_request_to_unknown_user_is_404(self, client, ann):
        login(client, ann)
        assert client.post("/u/nobody/friend-request").status_code == 404

    def test_unfriend(self, client, ann, bob):
        services.redeem_invite(bob, services.create_invite(ann).code)
        db.session.commit()
        login(client, ann)
        response = client.post("/u/bob/unfriend", headers=HTMX)
        assert "no longer friends" in response.get_data(as_text=True)
        assert count(Friendship) == 0

    def test_unsafe_next_is_ignored(self, client, ann, bob):
        login(client, ann)
        response = client.post("/u/bob/friend-request", data={"next": "https://evil.example/"})
        assert response.headers["Location"] == "/friends"


class TestSearch:
    def test_results_show_relation_and_action(self, client, ann, bob, make_user):
        make_user(username="bobby", display_name="Bobby Tables")
        services.send_request(ann, bob)
        db.session.commit()
        login(client, ann)
        html = client.get("/people?q=BOB").get_data(as_text=True)
        assert "2 people found." in html
        assert "Request sent" in html and "Add friend" in html

    def test_htmx_returns_results_fragment(self, client, ann, bob):
        login(client, ann)
        response = client.get("/people?q=bo", headers=HTMX)
        html = response.get_data(as_text=True)
        assert html.lstrip().startswith('<div id="search-results"') and "<html" not in html
        assert "HX-Request" in response.headers["Vary"]

    def test_empty_and_odd_queries(self, client, ann):
        login(client, ann)
        assert "Type a username" in client.get("/people").get_data(as_text=True)
        for q in ["%", "' OR 1=1 --", "x" * 500, "😀"]:
            assert client.get("/people", query_string={"q": q}).status_code == 200

    def test_pagination_links_keep_the_query(self, client, ann, make_user):
        for i in range(25):
            make_user(username=f"film{i:02d}")
        login(client, ann)
        html = client.get("/people?q=film").get_data(as_text=True)
        assert "Page 1 of 2" in html and "/people?page=2&amp;q=film" in html


class TestProfiles:
    def test_private_profile_and_friends_list_for_friends_only(self, app, client, ann, bob, make_user):
        ann.bio = "Midnight movies"
        ann.is_private = True
        services.redeem_invite(bob, services.create_invite(ann).code)
        db.session.commit()
        stranger = make_user()
        login(client, stranger)
        html = client.get("/u/ann").get_data(as_text=True)
        assert "Ann" in html and "This profile is private." in html and "Midnight movies" not in html
        assert "only their friends see their friends" in client.get("/u/ann/friends").get_data(as_text=True)
        friend = app.test_client()
        login(friend, bob)
        assert "Midnight movies" in friend.get("/u/ann").get_data(as_text=True)
        assert "Bob" in friend.get("/u/ann/friends").get_data(as_text=True)
        anonymous = app.test_client()
        assert "Midnight movies" not in anonymous.get("/u/ann").get_data(as_text=True)

    def test_profile_offers_the_right_action(self, client, ann, bob):
        login(client, ann)
        assert "Add friend" in client.get("/u/bob").get_data(as_text=True)
        assert "Add friend" not in client.get("/u/ann").get_data(as_text=True)
        assert "1 friend" not in client.get("/u/ann").get_data(as_text=True)

    def test_own_profile_is_not_looked_up_by_name_again(self, client, ann, bob, query_budget):
        # The navigation's "Profile" link: the session has loaded the user already.
        login(client, ann)
        with query_budget(10) as counter:
            assert "Edit your profile" in client.get("/u/ANN").get_data(as_text=True)
        assert not any("WHERE users.username" in s for s in counter.statements)
        with query_budget(10) as counter:
            assert "Add friend" in client.get("/u/bob").get_data(as_text=True)
        assert any("WHERE users.username" in s for s in counter.statements)

    def test_profile_sections_registered_by_features_render(self, client, ann):
        from markupsafe import Markup

        from webapp.social import profile_sections

        @profile_sections.profile_section(99, "test-section")
        def section(user, is_self):
            return Markup(f"<section><h2>Extra for {user.username}{' (you)' if is_self else ''}</h2></section>")

        try:
            assert "Extra for ann" in client.get("/u/ann").get_data(as_text=True)
        finally:
            profile_sections.SECTIONS[:] = [s for s in profile_sections.SECTIONS if s[1] != "test-section"]


class TestQueryBudgets:
    def test_friends_list(self, client, ann, make_user, query_budget):
        for _ in range(30):
            services.redeem_invite(make_user(), services.create_invite(ann).code)
        db.session.commit()
        login(client, ann)
        with query_budget(6):
            response = client.get("/friends")
        assert response.status_code == 200 and "Page 1 of 2" in response.get_data(as_text=True)

    def test_search(self, client, ann, make_user, query_budget):
        for i in range(30):
            other = make_user(username=f"film{i:02d}")
            if i % 3 == 0:
                services.send_request(ann, other)
        db.session.commit()
        login(client, ann)
        with query_budget(6):
            response = client.get("/people?q=film")
        assert response.status_code == 200

    def test_requests_page(self, client, ann, make_user, query_budget):
        for _ in range(15):
            services.send_request(make_user(), ann)
            services.send_request(ann, make_user())
        db.session.commit()
        login(client, ann)
        with query_budget(4):
            assert client.get("/friends/requests").status_code == 200

    def test_others_friends_list(self, client, ann, bob, make_user, query_budget):
        for _ in range(30):
            services.redeem_invite(make_user(), services.create_invite(ann).code)
        db.session.commit()
        login(client, bob)
        with query_budget(8):
            assert client.get("/u/ann/friends").status_code == 200


def test_huge_expiry_is_a_clear_error(client, make_user):
    login(client, make_user())
    response = client.post("/friends/invites", data={"days": "9" * 400})
    assert response.status_code == 422 and "Choose 1 to 30 days." in response.get_data(as_text=True)
