from __future__ import annotations

import pytest
from sqlalchemy import func, select

from webapp.accounts import passwords, services
from webapp.accounts.models import OAuthIdentity, User
from webapp.db import db, utcnow
from webapp.errors import Invalid, NotFound

GOOD = "velvet-marquee-42"


def register(**kw):
    data = dict(email="Ann@Example.com", username="Ann_1", display_name="Ann", password=GOOD)
    data.update(kw)
    return services.register(**data)


def test_register_normalises_and_hashes(app_ctx):
    user = register()
    db.session.commit()
    assert user.email == "ann@example.com"
    assert user.username == "ann_1"
    assert user.password_hash and GOOD not in user.password_hash
    assert user.password_hash.startswith("scrypt:")


@pytest.mark.parametrize("username", ["ab", "a" * 31, "has space", "émile", "semi;colon", "ml42"])
def test_register_rejects_bad_usernames(app_ctx, username):
    with pytest.raises(Invalid) as err:
        register(username=username)
    assert err.value.field == "username"


def test_usernames_and_emails_are_unique_case_insensitively(app_ctx):
    register()
    db.session.commit()
    with pytest.raises(Invalid) as err:
        register(email="other@example.com", username="ANN_1")
    assert err.value.field == "username"
    with pytest.raises(Invalid) as err:
        register(email="ANN@example.COM", username="someone")
    assert err.value.field == "email"


@pytest.mark.parametrize("password", ["password", "12345678", "qwertyuiop", "short1!", "ann_1ann_1"])
def test_weak_or_common_passwords_are_rejected_with_feedback(app_ctx, password):
    with pytest.raises(Invalid) as err:
        register(password=password)
    assert err.value.field == "password"
    assert err.value.message


def test_strength_assessment_explains_itself():
    weak = passwords.assess("password1")
    assert not weak.acceptable and weak.score < 2 and weak.problems
    strong = passwords.assess("velvet-marquee-42")
    assert strong.acceptable and strong.score >= 2
    assert not passwords.assess("x" * 129).acceptable
    assert passwords.assess("Tr0ub4dor&3-" * 11).acceptable is False  # over 128 characters


def test_authenticate_by_email_or_username(app_ctx):
    user = register()
    db.session.commit()
    assert services.authenticate("ann_1", GOOD) == user
    assert services.authenticate("ANN@example.com", GOOD) == user
    assert services.authenticate("ann_1", "wrong-password") is None
    assert services.authenticate("nobody", GOOD) is None


def test_imported_accounts_cannot_log_in(make_user):
    user = make_user(is_imported=True)
    assert services.authenticate(user.username, "velvet-marquee-42") is None


def test_change_password_checks_current_and_revokes_sessions(make_user):
    user = make_user()
    services.open_login_session(user, user_agent="")
    with pytest.raises(Invalid) as err:
        services.change_password(user, current_password="nope", new_password="another-good-one-77")
    assert err.value.field == "current_password"
    assert len(services.login_sessions_of(user)) == 1
    services.change_password(user, current_password="velvet-marquee-42", new_password="another-good-one-77")
    db.session.commit()
    assert services.login_sessions_of(user) == []
    assert services.authenticate(user.username, "another-good-one-77") == user


def test_oauth_only_account_sets_password_without_current(make_user):
    user = make_user(password_hash=None)
    services.change_password(user, current_password=None, new_password="another-good-one-77")
    assert user.has_password


def test_update_profile_validates_uniqueness(make_user):
    ann = make_user(username="ann")
    make_user(username="bob")
    with pytest.raises(Invalid) as err:
        services.update_profile(
            ann, display_name="Ann", bio="", is_private=False, email="ann@example.com", username="Bob"
        )
    assert err.value.field == "username"
    db.session.rollback()
    requested = services.update_profile(
        ann, display_name=" Annie ", bio=" hi ", is_private=True, email="ANNIE@example.com", username="annie"
    )
    db.session.commit()
    # The email changes only through the link mailed to the new address.
    assert requested == "annie@example.com"
    assert (ann.display_name, ann.bio, ann.is_private, ann.email, ann.username) == (
        "Annie", "hi", True, "ann@example.com", "annie",
    )


def test_delete_account_removes_user_and_identities(make_user):
    user = make_user()
    db.session.add(OAuthIdentity(user_id=user.id, provider="google", subject="123"))
    db.session.commit()
    services.delete_account(user)
    db.session.commit()
    assert db.session.scalar(select(User)) is None
    assert db.session.scalar(select(OAuthIdentity)) is None


def test_create_admin_creates_or_promotes(app_ctx, make_user):
    admin = services.create_admin(email="boss@example.com", username="boss", display_name="Boss", password=GOOD)
    assert admin.email_verified_at is not None  # an admin made at the console is verified
    assert admin.is_admin and admin.tier == "admin"
    existing = make_user(username="carol")
    promoted = services.create_admin(email="x@example.com", username="carol", display_name="C", password=GOOD)
    assert promoted.id == existing.id and promoted.is_admin


def test_get_user_hides_imported_and_unknown(make_user):
    make_user(username="ghost", is_imported=True)
    with pytest.raises(NotFound):
        services.get_user("ghost")
    with pytest.raises(NotFound):
        services.get_user("nobody")


class TestOAuthSignIn:
    def test_creates_account_for_new_identity(self, app_ctx):
        user, outcome = services.oauth_sign_in(
            provider="google", subject="g-1", email="New@Example.com", email_verified=True, name="New Person"
        )
        assert outcome == "created"
        assert user.email == "new@example.com" and user.username == "new" and not user.has_password
        again, outcome = services.oauth_sign_in(
            provider="google", subject="g-1", email="new@example.com", email_verified=True, name="x"
        )
        assert (again.id, outcome) == (user.id, "existing")

    def test_links_by_verified_email_only(self, make_user):
        ann = make_user(email="ann@example.com", email_verified_at=utcnow())
        # An address the provider does not vouch for is not even looked up.
        user, outcome = services.oauth_sign_in(
            provider="idp", subject="s0", email="ann@example.com", email_verified=False, name="Ann"
        )
        assert outcome == "created" and user.id != ann.id and user.email is None
        user, outcome = services.oauth_sign_in(
            provider="idp", subject="s", email="ANN@example.com", email_verified=True, name="Ann"
        )
        assert (user.id, outcome) == (ann.id, "linked")

    def test_an_unconfirmed_account_is_never_linked_by_email(self, make_user):
        make_user(email="ann@example.com", email_verified_at=None)
        with pytest.raises(Invalid, match="never confirmed"):
            services.oauth_sign_in(
                provider="idp", subject="s", email="ann@example.com", email_verified=True, name="Ann"
            )
        assert db.session.scalars(select(OAuthIdentity)).all() == []
        assert db.session.scalar(select(func.count(User.id))) == 1

    def test_a_verified_email_makes_a_confirmed_account(self, app_ctx):
        user, _ = services.oauth_sign_in(
            provider="idp", subject="s", email="ann@example.com", email_verified=True, name="Ann"
        )
        assert user.email == "ann@example.com" and user.email_verified_at is not None

    def test_linking_confirms_the_owners_own_address(self, make_user):
        ann = make_user(email="ann@example.com", email_verified_at=None)
        services.oauth_sign_in(
            provider="idp", subject="s", email="Ann@example.com", email_verified=True, name="A", current=ann
        )
        assert ann.email_verified_at is not None
        bob = make_user(email="bob@example.com", email_verified_at=None)
        services.oauth_sign_in(
            provider="idp", subject="b", email="bob@example.com", email_verified=False, name="B", current=bob
        )
        services.oauth_sign_in(
            provider="idp2", subject="b", email="other@example.com", email_verified=True, name="B", current=bob
        )
        assert bob.email_verified_at is None

    def test_a_new_account_is_named_after_the_person_not_the_provider(self, app_ctx):
        user, _ = services.oauth_sign_in(
            provider="nodeoidc", subject="s", email=None, email_verified=False, name=None
        )
        assert "nodeoidc" not in (user.display_name.lower(), user.username)

    def test_links_to_logged_in_account(self, make_user):
        ann = make_user(email="ann@example.com")
        user, outcome = services.oauth_sign_in(
            provider="idp", subject="s", email="elsewhere@example.com", email_verified=False, name="A",
            current=ann,
        )
        assert (user.id, outcome) == (ann.id, "linked")

    def test_refuses_identity_owned_by_someone_else(self, make_user):
        ann, bob = make_user(), make_user()
        services.oauth_sign_in(provider="idp", subject="s", email=None, email_verified=False, name=None, current=ann)
        with pytest.raises(Invalid):
            services.oauth_sign_in(provider="idp", subject="s", email=None, email_verified=False, name=None, current=bob)

    def test_unverified_email_never_taken_for_new_account(self, make_user):
        user, _ = services.oauth_sign_in(
            provider="idp", subject="s2", email="free@example.com", email_verified=False, name="Free"
        )
        assert user.email is None

    def test_unlink_keeps_a_way_to_sign_in(self, make_user):
        user = make_user(password_hash=None)
        services.oauth_sign_in(provider="idp", subject="s", email=None, email_verified=False, name=None, current=user)
        identity = services.identities_of(user)[0]
        with pytest.raises(Invalid):
            services.unlink_identity(user, identity.id)
        other = make_user()
        with pytest.raises(NotFound):
            services.unlink_identity(other, identity.id)
