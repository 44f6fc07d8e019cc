"""Sign-in with OAuth / OpenID Connect, driven end to end against a local fake provider.

Marquee is the Flask test client (host "localhost"); the provider is a real HTTP server on
127.0.0.1 (tests/fakes/oidc.py). The browser's part in between, following the redirect to
the provider and back, is played with `requests`, never following redirects on its own.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from tests import factories
from tests.conftest import login, make_app
from tests.fakes.oidc import FakeOIDCProvider, s256
from webapp.accounts.models import OAuthIdentity, User
from webapp.accounts.services import UNCONFIRMED_ACCOUNT
from webapp.config import oauth_providers_from_env
from webapp.db import db

CALLBACK = "http://localhost/auth/test/callback"
FB_CALLBACK = "http://localhost/auth/facebook/callback"
UNAVAILABLE = "Test ID sign-in is unavailable right now. Please try again later."
NOT_VERIFIED = "Test ID sign-in could not be verified. Please start again."
LINK_INSTEAD = "If you already have a Marquee account, log in to it and link Test ID from your settings instead."
CONFIRMED = datetime(2026, 1, 5, 12, 0)


# -- fixtures and helpers -----------------------------------------------------------


@pytest.fixture
def provider() -> Iterator[FakeOIDCProvider]:
    with FakeOIDCProvider() as fake:
        yield fake


def _build_app(database_url: str, provider: FakeOIDCProvider) -> Flask:
    return make_app(
        database_url,
        OAUTH_PROVIDERS={"test": provider.oauth_config(), "facebook": provider.facebook_config()},
    )


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def oauth_app(app: Flask, database_url: str, provider: FakeOIDCProvider) -> Iterator[Flask]:
    # `app` (the session app) builds the schema and, through conftest, empties the tables
    # after each test; this app shares its database and talks to the fake provider.
    oauth_app = _build_app(database_url, provider)
    yield oauth_app
    _dispose(oauth_app)


@pytest.fixture
def browser(oauth_app: Flask) -> FlaskClient:
    return oauth_app.test_client()


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def start(browser: FlaskClient, provider: FakeOIDCProvider, name: str = "test") -> str:
    """GET Marquee's login route: the provider's authorization URL it redirects to."""
    response = browser.get(f"/auth/{name}/login")
    assert response.status_code == 302, text(response)
    location = response.headers["Location"]
    assert location.startswith(provider.url + "/"), location
    return location


def at_provider(authorize_url: str, decision: str | None = None) -> requests.Response:
    """The browser at the provider: GET the authorization URL and, when the consent page
    is shown, press Allow or Deny in its form."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=5)
    if response.status_code == 200 and decision is not None:
        page = response.text
        action = re.search(r'<form method="post" action="([^"]+)"', page)
        txn = re.search(r'name="txn" value="([^"]+)"', page)
        assert action and txn, page
        base = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
        response = requests.post(
            base + html.unescape(action.group(1)),
            data={"txn": html.unescape(txn.group(1)), "decision": decision},
            allow_redirects=False,
            timeout=5,
        )
    return response


def redirect_back(response: requests.Response, callback: str = CALLBACK) -> str:
    """The provider's redirect back to Marquee: its callback URL with code/error and state."""
    assert response.status_code == 302, (response.status_code, response.text)
    location = response.headers["Location"]
    assert location.split("?")[0] == callback, location
    return location


def callback(browser: FlaskClient, location: str) -> TestResponse:
    """The browser arriving back at Marquee's callback."""
    parts = urlsplit(location)
    assert parts.netloc == "localhost"
    return browser.get(f"{parts.path}?{parts.query}")


def sign_in(
    browser: FlaskClient, provider: FakeOIDCProvider, name: str = "test", decision: str = "allow"
) -> TestResponse:
    """The whole round trip through the consent page; Marquee's last answer."""
    location = start(browser, provider, name)
    back = FB_CALLBACK if name == "facebook" else CALLBACK
    return callback(browser, redirect_back(at_provider(location, decision), back))


def follow(browser: FlaskClient, response: TestResponse) -> TestResponse:
    assert response.status_code in (302, 303), (response.status_code, text(response))
    return browser.get(response.headers["Location"])


def session_user(browser: FlaskClient) -> int | None:
    """The id of the account the browser's session is signed in to."""
    with browser.session_transaction() as sess:
        value = sess.get("_user_id")
    return None if value is None else int(value.partition(":")[0])


def users(oauth_app: Flask) -> list[User]:
    with oauth_app.app_context():
        return list(db.session.scalars(select(User).order_by(User.id)))


def identities(oauth_app: Flask) -> list[OAuthIdentity]:
    with oauth_app.app_context():
        return list(db.session.scalars(select(OAuthIdentity).order_by(OAuthIdentity.id)))


def make_user(oauth_app: Flask, **kwargs: Any) -> User:
    with oauth_app.app_context():
        user = factories.UserFactory(**kwargs)
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def assert_nobody_written(oauth_app: Flask, *, users_before: int = 0) -> None:
    assert len(users(oauth_app)) == users_before
    assert identities(oauth_app) == []


# -- the fake provider itself --------------------------------------------------------


def test_fake_provider_serves_discovery_and_keys(provider: FakeOIDCProvider) -> None:
    metadata = requests.get(provider.metadata_url, timeout=5).json()
    assert metadata["issuer"] == provider.url
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert metadata[key].startswith(provider.url + "/")
    keys = requests.get(metadata["jwks_uri"], timeout=5).json()["keys"]
    assert keys[0]["kty"] == "RSA" and "d" not in keys[0]


def test_fake_provider_refuses_requests_without_pkce(provider: FakeOIDCProvider) -> None:
    provider.auto = "approve"
    response = requests.get(
        f"{provider.url}/authorize",
        params={
            "client_id": provider.client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid email",
            "state": "abc",
        },
        allow_redirects=False,
        timeout=5,
    )
    back = query(redirect_back(response))
    assert back["error"] == "invalid_request" and back["state"] == "abc"
    assert "code" not in back


def test_fake_provider_consent_page_is_accessible(provider: FakeOIDCProvider, browser: FlaskClient) -> None:
    page = requests.get(start(browser, provider), allow_redirects=False, timeout=5)
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "<main" in page.text and "<h1" in page.text and "<title>" in page.text
    assert '<button type="submit" name="decision" value="allow">Allow</button>' in page.text
    assert '<button type="submit" name="decision" value="deny">Deny</button>' in page.text


# -- routes --------------------------------------------------------------------------


def test_unknown_provider_is_404(browser: FlaskClient) -> None:
    assert browser.get("/auth/nope/login").status_code == 404
    assert browser.get("/auth/nope/callback?code=x&state=y").status_code == 404


def test_unconfigured_app_has_no_providers(app: Flask, oauth_app: Flask) -> None:
    # The session app has no OAUTH_PROVIDERS: what other apps registered does not leak in.
    other = app.test_client()
    assert other.get("/auth/test/login").status_code == 404
    assert "Test ID" not in text(other.get("/login"))


def test_login_page_offers_the_providers(browser: FlaskClient) -> None:
    page = text(browser.get("/login"))
    assert 'href="/auth/test/login"' in page and "Test ID" in page
    assert 'href="/auth/facebook/login"' in page


# -- the OpenID Connect flow -----------------------------------------------------------


def test_flow_sends_state_nonce_and_pkce(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    location = start(browser, provider)
    sent = query(location)
    assert location.startswith(f"{provider.url}/authorize?")
    assert sent["response_type"] == "code"
    assert sent["client_id"] == "marquee-test"
    assert sent["redirect_uri"] == CALLBACK
    assert set(sent["scope"].split()) == {"openid", "email", "profile"}
    assert len(sent["state"]) >= 20
    assert len(sent["nonce"]) >= 20
    assert sent["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sent["code_challenge"])

    provider.auto = "approve"
    back = redirect_back(at_provider(location))
    assert query(back)["state"] == sent["state"]
    assert follow(browser, callback(browser, back)).status_code == 200

    # The provider saw the same parameters, then a token request that proves PKCE.
    assert provider.authorize_requests[-1].params == sent
    [token_request] = provider.token_requests
    assert token_request.status == 200
    assert token_request.client_auth == "client_secret_basic"
    assert token_request["grant_type"] == "authorization_code"
    assert token_request["redirect_uri"] == CALLBACK
    assert s256(token_request["code_verifier"]) == sent["code_challenge"]
    assert sent["code_challenge"] != token_request["code_verifier"]
    # ...and the ID token it issued carried the nonce back (Marquee checked it).
    [claims] = provider.issued_id_tokens
    assert claims["nonce"] == sent["nonce"]
    assert claims["aud"] == "marquee-test" and claims["iss"] == provider.url
    assert session_user(browser) is not None


def test_new_account_from_verified_email(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    response = sign_in(browser, provider)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    home = text(follow(browser, response))
    assert "Welcome to Marquee, Alex Example! Your username is alex." in home
    assert "Hello, Alex Example" in home

    assert LINK_INSTEAD not in home  # the account has the address: nothing to sort out
    [user] = users(oauth_app)
    assert (user.email, user.username, user.display_name) == ("alex@example.com", "alex", "Alex Example")
    assert user.email_verified_at is not None  # the provider verified it
    assert user.password_hash is None
    [identity] = identities(oauth_app)
    assert (identity.user_id, identity.provider, identity.subject) == (user.id, "test", "fake-user-1")
    assert identity.email == "alex@example.com"
    assert session_user(browser) == user.id
    with browser.session_transaction() as sess:
        # The flow's state went with the anonymous session; nothing else carried over.
        assert not [key for key in sess if key.startswith("_state_")]


def test_returning_identity_signs_in_to_the_same_account(
    oauth_app: Flask, provider: FakeOIDCProvider
) -> None:
    provider.auto = "approve"
    first, second = oauth_app.test_client(), oauth_app.test_client()
    sign_in(first, provider)
    provider.identity = {**provider.identity, "email": "changed@example.com", "name": "Someone Else"}
    response = sign_in(second, provider)
    assert "Welcome back, Alex Example." in text(follow(second, response))
    [user] = users(oauth_app)
    assert session_user(second) == user.id
    assert len(identities(oauth_app)) == 1


def test_existing_account_is_linked_by_verified_email(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    owner = make_user(oauth_app, username="alexandra", email="alex@example.com", email_verified_at=CONFIRMED)
    provider.identity["email"] = "ALEX@example.com"
    response = sign_in(browser, provider)
    assert "Welcome back, Alexandra." in text(follow(browser, response))
    [user] = users(oauth_app)
    assert user.id == owner.id and user.password_hash == owner.password_hash
    assert user.email_verified_at == CONFIRMED
    [identity] = identities(oauth_app)
    assert identity.user_id == owner.id and identity.email == "alex@example.com"
    assert session_user(browser) == owner.id


def test_an_unconfirmed_account_is_not_linked_by_a_verified_email(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    # Someone signed up with Alex's address and never confirmed it (it may not be theirs):
    # Alex's verified sign-in must not land in that account, nor create a second one.
    make_user(oauth_app, username="squatter", email="alex@example.com", email_verified_at=None)
    provider.auto = "approve"
    response = sign_in(browser, provider)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert UNCONFIRMED_ACCOUNT in text(follow(browser, response))
    assert session_user(browser) is None
    assert_nobody_written(oauth_app, users_before=1)


def test_an_unverified_provider_email_neither_links_nor_reveals_an_account(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    owner = make_user(oauth_app, username="alexandra", email="alex@example.com", email_verified_at=CONFIRMED)
    provider.identity["email_verified"] = False
    response = sign_in(browser, provider)
    assert response.headers["Location"] == "/"
    home = text(follow(browser, response))
    assert "Welcome to Marquee, Alex Example!" in home and LINK_INSTEAD in home
    assert "already uses this email" not in home and "alexandra" not in home.lower()
    alexandra, alex = users(oauth_app)
    assert alexandra.id == owner.id
    assert (alex.email, alex.email_verified_at) == (None, None)
    [identity] = identities(oauth_app)
    assert identity.user_id == alex.id
    assert session_user(browser) == alex.id


def test_unverified_email_starts_an_account_without_that_email(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.identity["email_verified"] = False
    sign_in(browser, provider)
    [user] = users(oauth_app)
    assert (user.email, user.email_verified_at) == (None, None)
    assert user.username == "alex"
    assert session_user(browser) == user.id


def test_imported_account_cannot_be_claimed_by_email(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    make_user(oauth_app, username="ml_alex", email="alex@example.com", is_imported=True, password_hash=None)
    response = sign_in(browser, provider)
    assert "That account cannot sign in." in text(follow(browser, response))
    assert session_user(browser) is None
    assert_nobody_written(oauth_app, users_before=1)


# -- linking and unlinking from settings ------------------------------------------------


def test_link_from_settings_and_settings_lists_the_identity(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    me = make_user(oauth_app, username="sam", email="sam@example.com")
    login(browser, me)
    settings = text(browser.get("/settings"))
    assert 'href="/auth/test/login">Link Test ID</a>' in settings
    assert 'href="/auth/facebook/login">Link Facebook</a>' in settings

    response = sign_in(browser, provider)  # the identity's email is someone else's: no matter
    assert response.status_code == 303 and response.headers["Location"] == "/settings"
    settings = text(follow(browser, response))
    assert "Test ID is linked to your account." in settings
    [identity] = identities(oauth_app)
    assert (identity.user_id, identity.provider, identity.email) == (me.id, "test", "alex@example.com")
    assert "Test ID (alex@example.com)" in settings
    assert f'action="/settings/identities/{identity.id}/unlink"' in settings
    assert "Remove Test ID" in settings
    assert "Link Test ID" not in settings and "Link Facebook" in settings
    assert session_user(browser) == me.id  # still the same session, same account
    assert [u.id for u in users(oauth_app)] == [me.id]


def test_an_identity_linked_to_someone_else_cannot_be_linked(
    oauth_app: Flask, provider: FakeOIDCProvider
) -> None:
    provider.auto = "approve"
    sign_in(oauth_app.test_client(), provider)  # Alex's account now owns the identity
    [alex] = users(oauth_app)
    me = make_user(oauth_app, username="sam", email="sam@example.com")
    browser = oauth_app.test_client()
    login(browser, me)
    response = sign_in(browser, provider)
    assert response.headers["Location"] == "/settings"
    assert "That account is already linked to another Marquee user." in text(follow(browser, response))
    [identity] = identities(oauth_app)
    assert identity.user_id == alex.id
    assert session_user(browser) == me.id


def test_unlink_an_identity_when_a_password_remains(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    me = make_user(oauth_app, username="sam", email="sam@example.com")
    login(browser, me)
    provider.auto = "approve"
    sign_in(browser, provider)
    [identity] = identities(oauth_app)
    response = browser.post(f"/settings/identities/{identity.id}/unlink")
    assert response.status_code == 303 and response.headers["Location"] == "/settings"
    page = text(follow(browser, response))
    assert "That sign-in method is removed." in page
    assert "Link Test ID" in page
    assert identities(oauth_app) == []


def test_the_only_way_to_sign_in_cannot_be_unlinked(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    sign_in(browser, provider)  # an account with no password and one identity
    [identity] = identities(oauth_app)
    response = browser.post(f"/settings/identities/{identity.id}/unlink")
    assert response.headers["Location"] == "/settings"
    assert "Set a password before removing your only way to sign in." in text(follow(browser, response))
    assert [i.id for i in identities(oauth_app)] == [identity.id]


def test_with_two_identities_one_can_go_but_not_the_last(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    sign_in(browser, provider)
    sign_in(browser, provider, "facebook")  # logged in: links Facebook to the same account
    test_identity, facebook_identity = identities(oauth_app)
    assert test_identity.user_id == facebook_identity.user_id
    assert facebook_identity.provider == "facebook"

    response = browser.post(f"/settings/identities/{test_identity.id}/unlink")
    assert "That sign-in method is removed." in text(follow(browser, response))
    response = browser.post(f"/settings/identities/{facebook_identity.id}/unlink")
    assert "Set a password before removing" in text(follow(browser, response))
    assert [i.id for i in identities(oauth_app)] == [facebook_identity.id]


def test_someone_elses_identity_cannot_be_unlinked(
    oauth_app: Flask, provider: FakeOIDCProvider
) -> None:
    provider.auto = "approve"
    sign_in(oauth_app.test_client(), provider)
    [identity] = identities(oauth_app)
    browser = oauth_app.test_client()
    login(browser, make_user(oauth_app, username="sam", email="sam@example.com"))
    assert browser.post(f"/settings/identities/{identity.id}/unlink").status_code == 404
    assert len(identities(oauth_app)) == 1


# -- refusals and failures ----------------------------------------------------------------


@pytest.mark.parametrize("how", ["consent page", "auto"])
def test_denied_consent_is_cancelled(
    how: str, browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    location = start(browser, provider)
    with browser.session_transaction() as sess:
        assert any(key.startswith("_state_test_") for key in sess)
    if how == "auto":
        provider.auto = "deny"
    back = redirect_back(at_provider(location, "deny" if how == "consent page" else None))
    assert query(back)["error"] == "access_denied"
    response = callback(browser, back)
    with browser.session_transaction() as sess:
        assert not any(key.startswith("_state_test_") for key in sess), "abandoned flow state kept"
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "Test ID sign-in was cancelled." in text(follow(browser, response))
    assert session_user(browser) is None
    assert provider.token_requests == []
    assert_nobody_written(oauth_app)


def test_other_provider_errors_do_not_complete(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    state = query(start(browser, provider))["state"]
    response = browser.get(f"/auth/test/callback?error=server_error&state={state}")
    assert response.headers["Location"] == "/login"
    assert "Test ID sign-in did not complete." in text(follow(browser, response))
    with browser.session_transaction() as sess:
        assert not any(key.startswith("_state_test_") for key in sess)
    assert_nobody_written(oauth_app)


@pytest.mark.parametrize("state", ["forged", "none"])
def test_a_forged_error_callback_does_not_end_the_flow(
    state: str, browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    back = redirect_back(at_provider(start(browser, provider)))
    forged = "?error=access_denied" + ("&state=not-this-browsers" if state == "forged" else "")
    response = browser.get("/auth/test/callback" + forged)
    assert response.headers["Location"] == "/login"
    page = text(follow(browser, response))
    assert NOT_VERIFIED in page and "cancelled" not in page
    # The sign-in in progress is still there, and completes.
    response = callback(browser, back)
    assert response.headers["Location"] == "/"
    [user] = users(oauth_app)
    assert session_user(browser) == user.id


@pytest.mark.parametrize("forgery", ["altered state", "no state", "another browser's flow"])
def test_forged_or_mismatched_state_is_refused(
    forgery: str, browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    if forgery == "another browser's flow":
        # Login CSRF: the attacker's own code and state, delivered to the victim's browser.
        attacker = oauth_app.test_client()
        back = redirect_back(at_provider(start(attacker, provider)))
        start(browser, provider)  # the victim may even have a flow of their own going
    else:
        back = redirect_back(at_provider(start(browser, provider)))
        params = query(back)
        if forgery == "altered state":
            state = params["state"]
            altered = state[:-2] + ("xx" if not state.endswith("xx") else "yy")
            back = f"{CALLBACK}?code={params['code']}&state={altered}"
        else:
            back = f"{CALLBACK}?code={params['code']}"
    response = callback(browser, back)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert NOT_VERIFIED in text(follow(browser, response))
    assert provider.token_requests == []  # refused before the code was ever spent
    assert session_user(browser) is None
    assert_nobody_written(oauth_app)


def test_a_replayed_callback_is_refused(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    back = redirect_back(at_provider(start(browser, provider)))
    cookie = browser.get_cookie("marquee_session")
    assert cookie is not None
    anonymous_session = cookie.value  # still holding the flow's state
    assert callback(browser, back).headers["Location"] == "/"
    [user] = users(oauth_app)

    # Replay the same callback, code and cookie included.
    browser.set_cookie("marquee_session", anonymous_session)
    response = callback(browser, back)
    assert response.headers["Location"] == "/login"
    assert NOT_VERIFIED in text(follow(browser, response))
    first, second = provider.token_requests
    assert (first.status, second.status, second.error) == (200, 400, "invalid_grant")
    assert session_user(browser) is None
    assert [u.id for u in users(oauth_app)] == [user.id]
    assert len(identities(oauth_app)) == 1


def test_a_code_from_another_flow_fails_pkce(
    oauth_app: Flask, browser: FlaskClient, provider: FakeOIDCProvider
) -> None:
    # A stolen code injected into a different flow: state matches the victim's session,
    # but the code was bound to another PKCE challenge.
    provider.auto = "approve"
    stolen = query(redirect_back(at_provider(start(oauth_app.test_client(), provider))))["code"]
    own_state = query(redirect_back(at_provider(start(browser, provider))))["state"]
    response = callback(browser, f"{CALLBACK}?code={stolen}&state={own_state}")
    assert NOT_VERIFIED in text(follow(browser, response))
    [token_request] = provider.token_requests
    assert (token_request.status, token_request.error) == (400, "invalid_grant")
    assert_nobody_written(oauth_app)


@pytest.mark.parametrize(
    "tamper",
    [
        {"nonce": "not-the-nonce-we-sent"},
        {"nonce": None},
        {"aud": "someone-else"},
        {"aud": "someone-else", "azp": "marquee-test"},
        {"aud": ["someone-else", "another"], "azp": "marquee-test"},
        {"iss": "http://127.0.0.1:1/not-the-issuer"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
        "unknown key",
    ],
    ids=[
        "wrong nonce",
        "no nonce",
        "wrong audience",
        "wrong audience right azp",
        "audiences without us right azp",
        "wrong issuer",
        "expired",
        "unknown key",
    ],
)
def test_a_bad_id_token_is_refused(
    tamper: Any, browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    if tamper == "unknown key":
        provider.sign_with_unknown_key = True
    else:
        provider.id_token_claims = tamper
    response = sign_in(browser, provider)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert NOT_VERIFIED in text(follow(browser, response))
    assert session_user(browser) is None
    assert_nobody_written(oauth_app)


def test_an_audience_list_naming_this_client_is_accepted(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    provider.id_token_claims = {"aud": ["marquee-test", "another"], "azp": "marquee-test"}
    assert sign_in(browser, provider).headers["Location"] == "/"
    assert len(users(oauth_app)) == 1


# -- claims from UserInfo (standard providers keep them out of the ID token) -------------------


def test_claims_only_in_userinfo_are_read_from_it(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    provider.claims_in_userinfo_only = True
    response = sign_in(browser, provider)
    assert "Welcome to Marquee, Alex Example! Your username is alex." in text(follow(browser, response))
    [claims] = provider.issued_id_tokens
    assert "email" not in claims and "name" not in claims
    [userinfo] = provider.userinfo_requests
    assert userinfo.status == 200 and userinfo.headers["Authorization"].startswith("Bearer ")
    [user] = users(oauth_app)
    assert (user.email, user.display_name) == ("alex@example.com", "Alex Example")
    assert user.email_verified_at is not None


def test_a_verified_email_from_userinfo_links_a_confirmed_account(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    owner = make_user(oauth_app, username="alexandra", email="alex@example.com", email_verified_at=CONFIRMED)
    provider.auto = "approve"
    provider.claims_in_userinfo_only = True
    assert "Welcome back, Alexandra." in text(follow(browser, sign_in(browser, provider)))
    assert [u.id for u in users(oauth_app)] == [owner.id]
    assert identities(oauth_app)[0].user_id == owner.id


def test_an_unverified_email_from_userinfo_does_not_count(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    make_user(oauth_app, username="alexandra", email="alex@example.com", email_verified_at=CONFIRMED)
    provider.auto = "approve"
    provider.claims_in_userinfo_only = True
    provider.identity["email_verified"] = False
    sign_in(browser, provider)
    alexandra, alex = users(oauth_app)
    assert alex.email is None and identities(oauth_app)[0].user_id == alex.id


def test_the_id_token_claims_spare_the_userinfo_call(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    sign_in(browser, provider)
    assert provider.userinfo_requests == []


@pytest.mark.parametrize("sub", ["someone-else", None], ids=["another sub", "no sub"])
def test_userinfo_for_another_subject_is_refused(
    sub: str | None, browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    provider.claims_in_userinfo_only = True
    provider.userinfo_claims = {"sub": sub}
    response = sign_in(browser, provider)
    assert response.headers["Location"] == "/login"
    assert NOT_VERIFIED in text(follow(browser, response))
    assert session_user(browser) is None
    assert_nobody_written(oauth_app)


def test_userinfo_down_is_unavailable(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    provider.claims_in_userinfo_only = True
    provider.userinfo_failing = 503
    response = sign_in(browser, provider)
    assert UNAVAILABLE in text(follow(browser, response))
    assert [r.status for r in provider.userinfo_requests] == [503]
    assert_nobody_written(oauth_app)


# -- the iss parameter of authorization responses (RFC 9207) -------------------------------------


@pytest.mark.parametrize("advertised", [True, False])
def test_the_right_iss_parameter_is_accepted(
    advertised: bool, browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    provider.iss_parameter = provider.issuer
    provider.advertise_iss_parameter = advertised
    back = redirect_back(at_provider(start(browser, provider)))
    assert query(back)["iss"] == provider.issuer
    assert callback(browser, back).headers["Location"] == "/"
    assert len(users(oauth_app)) == 1


@pytest.mark.parametrize("flow", ["approved", "denied"])
@pytest.mark.parametrize("iss", ["http://127.0.0.1:1/another-provider", "missing but promised"])
def test_a_wrong_or_missing_iss_parameter_is_refused(
    flow: str, iss: str, browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve" if flow == "approved" else "deny"
    provider.advertise_iss_parameter = True
    provider.iss_parameter = None if iss.startswith("missing") else iss
    response = sign_in(browser, provider)
    assert response.headers["Location"] == "/login"
    page = text(follow(browser, response))
    assert NOT_VERIFIED in page and "cancelled" not in page
    assert provider.token_requests == []  # refused before the code was spent
    assert session_user(browser) is None
    assert_nobody_written(oauth_app)


def test_provider_down_at_login_start(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.stop()  # the discovery document cannot be fetched: connection refused
    response = browser.get("/auth/test/login")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    page = follow(browser, response)
    assert page.status_code == 200
    assert UNAVAILABLE in text(page)
    assert_nobody_written(oauth_app)


def test_provider_down_at_login_start_when_linking(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    login(browser, make_user(oauth_app, username="sam"))
    provider.stop()
    response = browser.get("/auth/test/login")
    assert response.headers["Location"] == "/settings"
    assert UNAVAILABLE in text(follow(browser, response))


@pytest.mark.parametrize("failure", ["token endpoint 503", "connection refused"])
def test_provider_down_at_callback(
    failure: str, browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    back = redirect_back(at_provider(start(browser, provider)))
    if failure == "token endpoint 503":
        provider.failing = 503
    else:
        provider.stop()
    response = callback(browser, back)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert UNAVAILABLE in text(follow(browser, response))
    if failure == "token endpoint 503":
        assert [r.status for r in provider.token_requests] == [503]
    assert session_user(browser) is None
    assert_nobody_written(oauth_app)


# -- Facebook (plain OAuth 2 and the Graph API) ---------------------------------------------


def test_facebook_flow(browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask) -> None:
    location = start(browser, provider, "facebook")
    sent = query(location)
    assert location.startswith(f"{provider.url}/dialog/oauth?")
    assert sent["redirect_uri"] == FB_CALLBACK
    assert set(sent["scope"].split()) == {"email", "public_profile"}
    assert sent["state"] and sent["code_challenge_method"] == "S256"
    assert "nonce" not in sent  # not OpenID Connect

    response = callback(browser, redirect_back(at_provider(location, "allow"), FB_CALLBACK))
    assert response.headers["Location"] == "/"
    assert "Welcome to Marquee, Alex Example!" in text(follow(browser, response))
    [user] = users(oauth_app)
    # The Graph API does not say the address is verified: the account does not get it.
    assert (user.email, user.email_verified_at) == (None, None)
    [identity] = identities(oauth_app)
    assert identity.email == "alex@example.com"
    assert (identity.provider, identity.subject, identity.user_id) == ("facebook", "fake-user-1", user.id)
    [token_request] = provider.token_requests
    assert token_request.path == "/oauth/access_token" and token_request.status == 200
    assert s256(token_request["code_verifier"]) == sent["code_challenge"]
    [me] = provider.userinfo_requests
    assert me.path == "/me" and me["fields"] == "id,name,email" and me.status == 200
    assert session_user(browser) == user.id


def test_facebook_without_an_email(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    make_user(oauth_app, username="alexandra", email="alex@example.com")
    # Facebook leaves out an address its owner has not confirmed: a separate new account.
    provider.identity["email_verified"] = False
    provider.auto = "approve"
    sign_in(browser, provider, "facebook")
    alexandra, alex = users(oauth_app)
    assert alex.email is None and alex.username == "alexexample"
    assert session_user(browser) == alex.id


def test_facebook_email_does_not_link_a_confirmed_account(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    owner = make_user(oauth_app, username="alexandra", email="alex@example.com", email_verified_at=CONFIRMED)
    provider.auto = "approve"
    response = sign_in(browser, provider, "facebook")
    assert "Welcome to Marquee, Alex Example!" in text(follow(browser, response))
    alexandra, alex = users(oauth_app)
    assert alexandra.id == owner.id and alex.email is None
    [identity] = identities(oauth_app)
    assert identity.user_id == alex.id


def test_facebook_denied(browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask) -> None:
    provider.auto = "deny"
    response = sign_in(browser, provider, "facebook")
    assert "Facebook sign-in was cancelled." in text(follow(browser, response))
    assert_nobody_written(oauth_app)


def test_facebook_token_endpoint_down(
    browser: FlaskClient, provider: FakeOIDCProvider, oauth_app: Flask
) -> None:
    provider.auto = "approve"
    back = redirect_back(at_provider(start(browser, provider, "facebook")), FB_CALLBACK)
    provider.failing = 503
    response = callback(browser, back)
    assert "Facebook sign-in is unavailable right now." in text(follow(browser, response))
    assert_nobody_written(oauth_app)


# -- one registry, many apps ------------------------------------------------------------------


def test_apps_do_not_share_provider_clients(
    database_url: str, oauth_app: Flask, provider: FakeOIDCProvider
) -> None:
    with FakeOIDCProvider(client_id="other-client", client_secret="other-secret") as other:
        other_app = _build_app(database_url, other)
        try:
            # Each app sends its browsers to its own provider, whichever was built last...
            assert start(other_app.test_client(), other).startswith(other.url)
            assert query(start(oauth_app.test_client(), provider))["client_id"] == "marquee-test"
            # ...and completes the flow with its own client credentials.
            other.auto = "approve"
            browser = other_app.test_client()
            response = callback(browser, redirect_back(at_provider(start(browser, other))))
            assert response.headers["Location"] == "/"
            assert other.token_requests[-1].status == 200
            assert provider.token_requests == []
        finally:
            _dispose(other_app)


# -- the provider's configured label ---------------------------------------------------------


def test_the_configured_label_names_the_provider_everywhere(
    app: Flask, database_url: str, provider: FakeOIDCProvider
) -> None:
    settings = oauth_providers_from_env(
        {
            "OAUTH_NODEOIDC_CLIENT_ID": provider.client_id,
            "OAUTH_NODEOIDC_CLIENT_SECRET": provider.client_secret,
            "OAUTH_NODEOIDC_METADATA_URL": provider.metadata_url,
            "OAUTH_NODEOIDC_LABEL": "Node OIDC",
        }
    )
    node_app = make_app(database_url, OAUTH_PROVIDERS=settings)
    try:
        browser = node_app.test_client()
        assert 'href="/auth/nodeoidc/login">Node OIDC</a>' in text(browser.get("/login"))
        provider.auto = "approve"
        provider.claims_in_userinfo_only = True
        location = at_provider(start(browser, provider, "nodeoidc")).headers["Location"]
        assert location.startswith("http://localhost/auth/nodeoidc/callback?")
        assert callback(browser, location).headers["Location"] == "/"
        page = text(browser.get("/settings"))
        assert "Node OIDC (alex@example.com)" in page and "Remove Node OIDC" in page
        assert "Nodeoidc" not in page and "nodeoidc" not in page.replace("/auth/nodeoidc/", "")
    finally:
        _dispose(node_app)
