"""Sign-in with OAuth / OpenID Connect providers, through authlib.

Providers are enabled by configuration (OAUTH_<NAME>_CLIENT_ID and _CLIENT_SECRET).
Google and any other OIDC provider are set up from their discovery document
(OAUTH_<NAME>_METADATA_URL overrides Google's); Facebook speaks plain OAuth 2 with the
Graph API, its endpoints overridable with OAUTH_FACEBOOK_AUTHORIZE_URL, _TOKEN_URL and
_USERINFO_URL. Every flow uses state, PKCE (S256) and, for OIDC, a nonce checked in the
ID token; every call to a provider has a timeout.

A callback is refused unless its `state` names a flow this browser started, error
callbacks included, and, when it carries `iss` (RFC 9207, or the provider says it
always does), unless that is the provider's issuer. An OIDC sign-in needs an ID token
issued by that issuer for this client (`aud` must name it; `azp` alone is not enough).
Standard providers put email and name in UserInfo rather than the ID token: when the ID
token lacks them, UserInfo is asked, and its answer is refused unless its `sub` is the
ID token's. An email counts as verified only when the same source says
`email_verified` is true; Facebook never says so, so its addresses never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from flask import Flask, abort, current_app, flash, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.accounts import services
from webapp.db import db
from webapp.errors import DomainError
from webapp.extensions import oauth
from webapp.rendering import see_other

try:  # authlib >= 1.6 checks ID tokens with joserfc, whose errors are not AuthlibBaseError
    from joserfc.errors import JoseError
except ImportError:  # pragma: no cover - older authlib raises AuthlibBaseError itself
    JoseError = AuthlibBaseError  # type: ignore[misc,assignment]

GOOGLE_METADATA_URL = "https://accounts.google.com/.well-known/openid-configuration"
FACEBOOK_AUTHORIZE_URL = "https://www.facebook.com/v19.0/dialog/oauth"
FACEBOOK_TOKEN_URL = "https://graph.facebook.com/v19.0/oauth/access_token"
FACEBOOK_USERINFO_URL = "https://graph.facebook.com/v19.0/me?fields=id,name,email"


class Refused(Exception):
    """A callback that cannot be trusted: shown as "could not be verified"."""


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    subject: str | None
    email: str | None
    email_verified: bool
    name: str | None


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    oidc: bool
    userinfo_url: str | None = None


def init_providers(app: Flask) -> None:
    providers: list[Provider] = []
    # The authlib registry is module-global and caches one client per name: drop the
    # cached one so this app's settings apply, and keep this app's clients with the app.
    clients: dict[str, Any] = {}
    timeout = app.config["OAUTH_HTTP_TIMEOUT"]
    for name, settings in sorted(app.config.get("OAUTH_PROVIDERS", {}).items()):
        if not settings.get("client_id") or not settings.get("client_secret"):
            continue
        client_kwargs = {"code_challenge_method": "S256", "default_timeout": timeout}
        label = settings.get("label") or default_label(name)
        if name == "facebook":
            client_kwargs["scope"] = "email public_profile"
            # Facebook documents the client secret as a token request parameter.
            client_kwargs["token_endpoint_auth_method"] = "client_secret_post"
            oauth._clients.pop(name, None)
            clients[name] = oauth.register(
                name,
                client_id=settings["client_id"],
                client_secret=settings["client_secret"],
                authorize_url=settings.get("authorize_url", FACEBOOK_AUTHORIZE_URL),
                access_token_url=settings.get("token_url", FACEBOOK_TOKEN_URL),
                client_kwargs=client_kwargs,
                overwrite=True,
            )
            providers.append(
                Provider(name, label, oidc=False, userinfo_url=settings.get("userinfo_url", FACEBOOK_USERINFO_URL))
            )
            continue
        metadata_url = settings.get("metadata_url") or (GOOGLE_METADATA_URL if name == "google" else None)
        if not metadata_url:
            app.logger.warning("OAuth provider %s has no OAUTH_%s_METADATA_URL; skipped", name, name.upper())
            continue
        client_kwargs["scope"] = settings.get("scope", "openid email profile")
        oauth._clients.pop(name, None)
        clients[name] = oauth.register(
            name,
            client_id=settings["client_id"],
            client_secret=settings["client_secret"],
            server_metadata_url=metadata_url,
            client_kwargs=client_kwargs,
            overwrite=True,
        )
        providers.append(Provider(name, label, oidc=True))
    app.extensions["marquee_oauth_providers"] = providers
    app.extensions["marquee_oauth_clients"] = clients
    app.add_template_global(provider_label)


def default_label(name: str) -> str:
    return name.replace("_", " ").title()


def provider_label(name: str) -> str:
    """The configured label of a provider (OAUTH_<NAME>_LABEL), for buttons and settings."""
    for provider in current_app.extensions.get("marquee_oauth_providers", []):
        if provider.name == name:
            return provider.label
    return default_label(name)


def _provider(name: str) -> Provider:
    for provider in current_app.extensions.get("marquee_oauth_providers", []):
        if provider.name == name:
            return provider
    abort(404)


def _client(provider: Provider) -> Any:
    return current_app.extensions["marquee_oauth_clients"][provider.name]


def _back() -> str:
    return url_for("accounts.settings") if current_user.is_authenticated else url_for("accounts.login")


def oauth_login(provider: str) -> Response:
    """Send the browser to the provider (GET: it only starts a flow, it writes nothing)."""
    info = _provider(provider)
    client = _client(info)
    redirect_uri = url_for("accounts.oauth_callback", provider=info.name, _external=True)
    try:
        return client.authorize_redirect(redirect_uri)
    except (requests.RequestException, AuthlibBaseError, ValueError):
        current_app.logger.warning("OAuth provider %s unreachable at login", info.name, exc_info=True)
        flash(f"{info.label} sign-in is unavailable right now. Please try again later.", "error")
        return see_other(_back())


def _is_true(value: Any) -> bool:
    # Some providers send the JSON string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _check_flow(client: Any, info: Provider) -> str:
    """The callback's state must name a flow this browser started; its `iss`, when sent
    (or promised by the provider's metadata), must be the provider's issuer."""
    state = request.args.get("state")
    if not state or not client.framework.get_state_data(session, state):
        raise Refused("no flow of this browser has that state")
    if info.oidc:
        metadata = client.load_server_metadata()
        iss = request.args.get("iss")
        if iss is None and metadata.get("authorization_response_iss_parameter_supported"):
            raise Refused("the provider promises iss in its responses, and sent none")
        if iss is not None and iss != metadata.get("issuer"):
            raise Refused(f"iss {iss!r} is not the provider's issuer")
    return state


def _oidc_identity(client: Any, token: dict[str, Any]) -> Identity:
    claims = token.get("userinfo")  # the ID token's claims, checked by authlib
    if not claims:
        raise Refused("no ID token")
    extra: dict[str, Any] = {}
    if "email" not in claims or "name" not in claims:
        extra = dict(client.userinfo(token=token))
        if str(extra.get("sub")) != str(claims.get("sub")):
            raise Refused("UserInfo answered for another subject")
    # An address and its verified flag are read from the same answer.
    source = claims if "email" in claims else extra
    return Identity(
        subject=claims.get("sub"),
        email=source.get("email"),
        email_verified=_is_true(source.get("email_verified")),
        name=claims.get("name") or extra.get("name"),
    )


def _facebook_identity(client: Any, info: Provider, token: dict[str, Any]) -> Identity:
    response = client.get(info.userinfo_url, token=token)
    response.raise_for_status()
    claims = response.json()
    # The Graph API does not say whether the address was verified: it never counts as such.
    return Identity(claims.get("id"), claims.get("email"), False, claims.get("name"))


def oauth_callback(provider: str) -> Response:
    info = _provider(provider)
    client = _client(info)
    try:
        state = _check_flow(client, info)
        if request.args.get("error"):
            # This browser's flow ended at the provider: drop its state (and PKCE verifier).
            client.framework.clear_state_data(session, state)
            if request.args["error"] == "access_denied":
                flash(f"{info.label} sign-in was cancelled.", "info")
            else:
                flash(f"{info.label} sign-in did not complete.", "error")
            return see_other(_back())
        if info.oidc:
            metadata = client.load_server_metadata()
            token = client.authorize_access_token(
                claims_options={
                    "iss": {"essential": True, "values": [metadata.get("issuer")]},
                    "aud": {"essential": True, "values": [client.client_id]},
                }
            )
            identity = _oidc_identity(client, token)
        else:
            identity = _facebook_identity(client, info, client.authorize_access_token())
    except (Refused, AuthlibBaseError, JoseError) as error:
        current_app.logger.info("OAuth callback refused for %s: %s", info.name, error)
        flash(f"{info.label} sign-in could not be verified. Please start again.", "error")
        return see_other(_back())
    except (requests.RequestException, ValueError):
        current_app.logger.warning("OAuth provider %s failed at callback", info.name, exc_info=True)
        flash(f"{info.label} sign-in is unavailable right now. Please try again later.", "error")
        return see_other(_back())
    if not identity.subject:
        flash(f"{info.label} did not tell us who you are.", "error")
        return see_other(_back())

    from webapp.accounts.views import start_session

    current = current_user._get_current_object() if current_user.is_authenticated else None
    try:
        user, outcome = services.oauth_sign_in(
            provider=info.name,
            subject=identity.subject,
            email=identity.email,
            email_verified=identity.email_verified,
            name=identity.name,
            current=current,
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return see_other(_back())
    db.session.commit()
    if current is not None:
        flash(f"{info.label} is linked to your account.", "success")
        return see_other(url_for("accounts.settings"))
    start_session(user)
    if outcome == "created":
        flash(f"Welcome to Marquee, {user.display_name}! Your username is {user.username}.", "success")
        if user.email is None:
            flash(
                f"If you already have a Marquee account, log in to it and link {info.label} "
                "from your settings instead.",
                "info",
            )
    else:
        flash(f"Welcome back, {user.display_name}.", "success")
    return see_other(url_for("main.index"))
