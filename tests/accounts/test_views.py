"""Account pages over HTTP, plain and with htmx headers."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.conftest import HTMX, login
from tests.factories import DEFAULT_PASSWORD
from webapp.accounts import services
from webapp.accounts.models import User
from webapp.db import db

GOOD = "velvet-marquee-42"
REGISTRATION = {
    "email": "ann@example.com",
    "username": "ann",
    "display_name": "Ann",
    "password": GOOD,
    "birth_date": "1990-05-17",
}


def users() -> int:
    return db.session.scalar(select(func.count(User.id)))


class TestRegister:
    def test_page_renders_form(self, client):
        page = client.get("/register")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        for name in ("email", "username", "display_name", "password", "birth_date"):
            assert f'name="{name}"' in html
        assert 'autocomplete="new-password"' in html

    def test_success_mails_a_link_that_signs_in(self, client, mailbox):
        response = client.post("/register", data=REGISTRATION)
        assert response.status_code == 303
        assert response.headers["Location"] == "/register/check-inbox"
        assert "Check your inbox" in client.get("/register/check-inbox").get_data(as_text=True)
        assert "Hello, Ann" not in client.get("/").get_data(as_text=True)  # not signed in yet
        assert db.session.scalar(select(User.email_verified_at)) is None
        link = urlsplit(mailbox.last_link("ann@example.com")).path
        assert "Confirm my email" in client.get(link).get_data(as_text=True)
        response = client.post(link)
        assert response.status_code == 303 and response.headers["Location"] == "/"
        assert "Hello, Ann" in client.get("/").get_data(as_text=True)
        assert db.session.scalar(select(User.email_verified_at)) is not None

    def test_htmx_success_uses_hx_redirect(self, client):
        response = client.post("/register", data=REGISTRATION, headers=HTMX)
        assert response.status_code == 204
        assert response.headers["HX-Redirect"] == "/register/check-inbox"

    def test_errors_rerender_with_input_kept_but_not_password(self, client, make_user):
        make_user(username="ann")
        response = client.post("/register", data={**REGISTRATION, "email": "new@example.com"})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "That username is taken." in html
        assert 'value="new@example.com"' in html
        assert GOOD not in html
        assert 'aria-invalid="true"' in html
        assert users() == 1

    def test_htmx_error_returns_only_the_form(self, client):
        response = client.post("/register", data={**REGISTRATION, "password": "password"}, headers=HTMX)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert html.lstrip().startswith("<form")
        assert "<html" not in html
        assert "password-strength" in html
        assert "HX-Request" in response.headers["Vary"]
        assert users() == 0

    @pytest.mark.parametrize(
        "field,value,message",
        [
            ("email", "not-an-email", "Invalid email address."),
            ("username", "a b", "Usernames are"),
            ("password", "short", "Use 8 to 128 characters."),
            ("birth_date", "2999-01-01", "cannot be in the future"),
            ("birth_date", "yesterday", "Not a valid date value."),
            ("display_name", "", "This field is required."),
        ],
    )
    def test_field_errors_beside_the_field(self, client, field, value, message):
        response = client.post("/register", data={**REGISTRATION, field: value})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert f'id="{field}-error"' in html
        assert message in html
        assert users() == 0

    def test_logged_in_user_is_sent_home(self, client, auth):
        assert client.get("/register").status_code == 303


class TestPasswordStrength:
    def test_fragment_scores_password(self, client):
        response = client.post("/password-strength", data={"password": "password"}, headers=HTMX)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'id="password-strength"' in html and "Very weak" in html
        strong = client.post("/password-strength", data={"password": GOOD}, headers=HTMX)
        assert "strong" in strong.get_data(as_text=True).lower()
        assert "<hx-partial" not in strong.get_data(as_text=True)  # no flash to carry

    def test_empty_password_gives_empty_meter(self, client):
        html = client.post("/password-strength", data={}, headers=HTMX).get_data(as_text=True)
        assert "<meter" not in html


class TestLogin:
    @pytest.mark.parametrize("login_name", ["ann", "ANN", "ann@example.com", "Ann@Example.com"])
    def test_login_by_username_or_email(self, client, make_user, login_name):
        make_user(username="ann", email="ann@example.com")
        response = client.post("/login", data={"login": login_name, "password": DEFAULT_PASSWORD})
        assert response.status_code == 303
        assert "Hello, Ann" in client.get("/").get_data(as_text=True)

    def test_wrong_password_keeps_login_not_password(self, client, make_user):
        make_user(username="ann")
        response = client.post("/login", data={"login": "ann", "password": "wrong-password"})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "do not match" in html
        assert 'value="ann"' in html
        assert "wrong-password" not in html

    def test_login_rotates_session(self, client, make_user):
        make_user(username="ann")
        with client.session_transaction() as sess:
            sess["planted"] = "by an attacker"
        client.post("/login", data={"login": "ann", "password": DEFAULT_PASSWORD})
        with client.session_transaction() as sess:
            assert "planted" not in sess
            assert sess["_user_id"]

    @pytest.mark.parametrize(
        "next_url,expected",
        [
            ("/settings", "/settings"),
            ("/u/ann?tab=1", "/u/ann?tab=1"),
            ("https://evil.example/", "/"),
            ("//evil.example/", "/"),
            ("/\\evil.example", "/"),
            ("javascript:alert(1)", "/"),
            ("", "/"),
        ],
    )
    def test_next_redirect_is_local_only(self, client, make_user, next_url, expected):
        make_user(username="ann")
        response = client.post(
            "/login", query_string={"next": next_url}, data={"login": "ann", "password": DEFAULT_PASSWORD}
        )
        assert response.headers["Location"] == expected

    def test_protected_page_redirects_to_login_with_next(self, client):
        response = client.get("/settings")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=/settings")

    def test_htmx_protected_request_gets_hx_redirect(self, client):
        response = client.get("/settings", headers=HTMX)
        assert response.status_code == 401
        assert response.headers["HX-Redirect"].startswith("/login?next=")

    def test_imported_account_cannot_log_in(self, client, make_user):
        make_user(username="ml1", is_imported=True)
        assert client.post("/login", data={"login": "ml1", "password": DEFAULT_PASSWORD}).status_code == 422


class TestLogout:
    def test_logout_ends_this_browsers_session_only(self, app, client, make_user):
        user = make_user()
        other_device = app.test_client()
        login(client, user)
        login(other_device, user)
        assert other_device.get("/settings").status_code == 200
        response = client.post("/logout")
        assert response.status_code == 303
        assert client.get("/settings").status_code == 302
        assert other_device.get("/settings").status_code == 200

    def test_logout_is_post_only(self, client, auth):
        assert client.get("/logout").status_code == 405


class TestSettings:
    def test_edit_profile(self, client, auth):
        response = client.post(
            "/settings",
            data={
                "display_name": "Annie",
                "username": "annie",
                "email": "annie@example.com",
                "bio": "Films at midnight.",
                "is_private": "y",
            },
        )
        assert response.status_code == 303
        db.session.refresh(auth.user)
        assert (auth.user.display_name, auth.user.username, auth.user.bio, auth.user.is_private) == (
            "Annie", "annie", "Films at midnight.", True,
        )

    def test_duplicate_email_is_not_told_and_not_taken(self, client, auth, make_user):
        """Item 7: a taken address gets the same answer as a free one (its owner is told)."""
        make_user(email="taken@example.com")
        answers = []
        for address in ("taken@example.com", "free@example.com"):
            response = client.post(
                "/settings",
                data={"display_name": "X", "username": auth.user.username, "email": address, "bio": ""},
                headers=HTMX,
            )
            answers.append((response.status_code, response.headers.get("HX-Redirect")))
        assert answers[0] == answers[1] == (204, "/settings")
        db.session.refresh(auth.user)
        assert auth.user.email == f"{auth.user.username}@example.com"

    def test_htmx_success_redirects(self, client, auth):
        response = client.post(
            "/settings",
            data={"display_name": "Z", "username": auth.user.username, "email": auth.user.email, "bio": ""},
            headers=HTMX,
        )
        assert response.status_code == 204 and response.headers["HX-Redirect"] == "/settings"


class TestChangePassword:
    def test_change_password_keeps_this_session_and_ends_others(self, app, client, auth):
        other = app.test_client()
        login(other, auth.user)
        response = client.post(
            "/settings/password",
            data={"current_password": DEFAULT_PASSWORD, "password": "brand-new-secret-9", "confirm": "brand-new-secret-9"},
        )
        assert response.status_code == 303
        assert client.get("/settings").status_code == 200
        assert other.get("/settings").status_code == 302

    def test_wrong_current_password(self, client, auth):
        response = client.post(
            "/settings/password",
            data={"current_password": "nope-nope-nope", "password": "brand-new-secret-9", "confirm": "brand-new-secret-9"},
        )
        assert response.status_code == 422
        assert "not your current password" in response.get_data(as_text=True)

    def test_mismatch(self, client, auth):
        response = client.post(
            "/settings/password",
            data={"current_password": DEFAULT_PASSWORD, "password": "brand-new-secret-9", "confirm": "other"},
        )
        assert response.status_code == 422
        assert "The passwords differ." in response.get_data(as_text=True)


class TestDeleteAccount:
    def test_confirmation_page_then_delete(self, client, auth):
        page = client.get("/settings/delete")
        assert page.status_code == 200 and "cannot be undone" in page.get_data(as_text=True)
        wrong = client.post("/settings/delete", data={"confirm_username": "someone-else"})
        assert wrong.status_code == 422
        assert users() == 1
        response = client.post("/settings/delete", data={"confirm_username": auth.user.username.upper()})
        assert response.status_code == 303
        assert users() == 0
        assert client.get("/settings").status_code == 302


class TestProfile:
    def test_public_profile(self, client, make_user):
        make_user(username="ann", bio="Hello there")
        html = client.get("/u/ann").get_data(as_text=True)
        assert "Hello there" in html

    def test_private_profile_hides_details_from_others(self, client, make_user, auth):
        make_user(username="ann", bio="Secret bio", is_private=True)
        html = client.get("/u/ann").get_data(as_text=True)
        assert "Secret bio" not in html and "This profile is private." in html

    def test_owner_sees_own_private_profile(self, client, auth):
        auth.user.bio = "Mine"
        auth.user.is_private = True
        db.session.commit()
        assert "Mine" in client.get(f"/u/{auth.user.username}").get_data(as_text=True)

    def test_unknown_profile_is_404(self, client):
        assert client.get("/u/nobody").status_code == 404


def test_revoked_session_is_told_to_log_in_again(client, make_user):
    user = make_user()
    login(client, user)
    services.revoke_sessions(user)  # "sign out everywhere" on another device
    db.session.commit()
    response = client.get("/settings", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "your session has ended" in html
    assert 'id="login-form"' in html
