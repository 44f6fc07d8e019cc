"""A local OAuth 2 / OpenID Connect provider for the test suite.

`FakeOIDCProvider` is a small WSGI app served on 127.0.0.1 (a free port) in a daemon
thread. It speaks just enough of the real protocols for Marquee's sign-in to run end
to end, and it is strict where a careless client would otherwise pass:

* OpenID Connect: a discovery document, /authorize (authorization code flow; state and
  PKCE S256 required), /token (client_secret_basic or client_secret_post, one-time codes,
  redirect_uri and PKCE verifier checked, RS256 ID token echoing the nonce), /jwks and
  /userinfo (Bearer token).
* Facebook-shaped plain OAuth 2 (no OIDC): /dialog/oauth, /oauth/access_token and the
  Graph-style /me?fields=id,name,email.

Tests steer it through attributes: `identity` (the claims of the next sign-in), `auto`
(None shows an HTML consent page; "approve" or "deny" answers at once), `failing` (a
status code the token endpoints answer with) and `stop()` (provider down: connection
refused). Modes real providers have: `claims_in_userinfo_only` (the ID token carries no
email or name, as node-oidc-provider and other standard providers do by default),
`userinfo_claims` (merged over the UserInfo answer: a wrong `sub`...), `userinfo_failing`
(a status code UserInfo answers with), `iss_parameter`
(the `iss` sent back with every authorization response, RFC 9207) and
`advertise_iss_parameter` (the discovery document promises it); `id_token_claims`
changes the ID token (a wrong `aud` with the right `azp`...). Every request it receives is recorded (`authorize_requests`, `token_requests`,
`userinfo_requests`, `consent_requests`) so tests can check what a client sent.

    with FakeOIDCProvider() as provider:
        app = make_app(url, OAUTH_PROVIDERS={"test": provider.oauth_config()})
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.server import LocalServer

CODE_LIFETIME = 60  # seconds an authorization code may wait before redemption
ACCESS_TOKEN_LIFETIME = 3600
ID_TOKEN_LIFETIME = 300
PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")

DEFAULT_IDENTITY: dict[str, Any] = {
    "sub": "fake-user-1",
    "email": "alex@example.com",
    "email_verified": True,
    "name": "Alex Example",
}


@dataclass
class RecordedRequest:
    """One request the provider received. `params` holds the query string (authorize,
    /me) or the form body merged over it (token, consent). Subscripting reads params:
    `provider.authorize_requests[-1]["code_challenge_method"]`."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    client_auth: str | None = None  # token endpoints: client_secret_basic / client_secret_post
    status: int | None = None  # the status the provider answered with
    error: str | None = None  # the OAuth error it answered with, if any

    def __getitem__(self, key: str) -> str:
        return self.params[key]

    def __contains__(self, key: object) -> bool:
        return key in self.params

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass
class _Grant:
    """An authorization code and what it was issued for."""

    code: str
    kind: str  # "oidc" or "facebook"
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    nonce: str | None
    identity: dict[str, Any]
    issued_at: int
    used: bool = False
    access_tokens: list[str] = field(default_factory=list)


class _OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status = error, description, status


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 section 4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _add_params(uri: str, params: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _equal(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


class FakeOIDCProvider(LocalServer):
    """A local OpenID Connect (and Facebook-shaped OAuth 2) provider; see the module doc."""

    thread_name = "fake-oidc"

    def __init__(
        self,
        client_id: str = "marquee-test",
        client_secret: str = "test-secret",
        *,
        redirect_uris: Iterable[str] | None = None,
        label: str = "Fake ID",
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        # None: any absolute http(s) redirect_uri is accepted; otherwise exact matches only.
        self.redirect_uris: list[str] | None = list(redirect_uris) if redirect_uris is not None else None
        self.label = label
        self.identity: dict[str, Any] = dict(DEFAULT_IDENTITY)
        self.auto: str | None = None  # None (consent page), "approve" or "deny"
        self.failing: int | None = None  # a status code for the token endpoints
        self.require_pkce = True
        # Test knobs for the ID token: claims merged over the real ones (a None value
        # removes the claim), and signing with a key that is not in the JWKS.
        self.id_token_claims: dict[str, Any] = {}
        self.sign_with_unknown_key = False
        # Email, email_verified and name only from UserInfo, never in the ID token.
        self.claims_in_userinfo_only = False
        # Merged over the UserInfo answer (a None value removes the claim).
        self.userinfo_claims: dict[str, Any] = {}
        self.userinfo_failing: int | None = None  # a status code for /userinfo
        # RFC 9207: the `iss` added to authorization responses (None: not sent), and
        # whether the discovery document says it always is.
        self.iss_parameter: str | None = None
        self.advertise_iss_parameter = False

        self.authorize_requests: list[RecordedRequest] = []
        self.consent_requests: list[RecordedRequest] = []
        self.token_requests: list[RecordedRequest] = []
        self.userinfo_requests: list[RecordedRequest] = []
        self.issued_id_tokens: list[dict[str, Any]] = []  # the claims of every ID token issued

        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {}
        self._access_tokens: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, tuple[str, dict[str, str]]] = {}
        self._key: RSAKey | None = None
        self._map = Map(
            [
                Rule("/.well-known/openid-configuration", endpoint="discovery", methods=["GET"]),
                Rule("/jwks", endpoint="jwks", methods=["GET"]),
                Rule("/authorize", endpoint="authorize", methods=["GET", "POST"]),
                Rule("/token", endpoint="token", methods=["POST"]),
                Rule("/userinfo", endpoint="userinfo", methods=["GET", "POST"]),
                Rule("/dialog/oauth", endpoint="fb_authorize", methods=["GET", "POST"]),
                Rule("/oauth/access_token", endpoint="fb_token", methods=["GET", "POST"]),
                Rule("/me", endpoint="fb_me", methods=["GET"]),
            ]
        )

    # -- lifecycle (start/stop/with: LocalServer) ---------------------------------------

    def _before_start(self) -> None:
        if self._key is None:
            self._key = RSAKey.generate_key(2048, auto_kid=True)

    # -- addresses and configuration -------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, http://127.0.0.1:PORT (kept after stop(), which is the point)."""
        if self._url is None:
            raise RuntimeError("FakeOIDCProvider is not started")
        return self._url

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def oauth_config(self, name: str = "test", label: str = "Test ID") -> dict[str, str]:
        """The value for Marquee's OAUTH_PROVIDERS[name] (an OIDC provider)."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "metadata_url": self.metadata_url,
            "label": label,
        }

    def facebook_config(self) -> dict[str, str]:
        """The value for Marquee's OAUTH_PROVIDERS["facebook"]."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "authorize_url": f"{self.url}/dialog/oauth",
            "token_url": f"{self.url}/oauth/access_token",
            "userinfo_url": f"{self.url}/me?fields=id,name,email",
        }

    @property
    def public_jwk(self) -> dict[str, Any]:
        assert self._key is not None
        return {**self._key.as_dict(private=False), "use": "sig", "alg": "RS256"}

    # -- WSGI ----------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        adapter = self._map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
            response = getattr(self, f"_{endpoint}")(request, **values)
        except HTTPException as exc:
            response = exc.get_response(environ)
        return response(environ, start_response)

    def _record(
        self, bucket: list[RecordedRequest], request: Request, *, form: bool = False
    ) -> RecordedRequest:
        params = dict(request.args.items())
        if form:
            params.update(request.form.items())
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            params=params,
            headers={k: v for k, v in request.headers.items()},
        )
        with self._lock:
            bucket.append(record)
        return record

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        response = Response(json.dumps(data), status=status, mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    def _page(self, title: str, body: str, status: int = 200) -> Response:
        document = (
            "<!doctype html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)} · {html.escape(self.label)}</title>\n"
            "</head>\n<body>\n"
            f'<main aria-labelledby="page-title">\n<h1 id="page-title">{html.escape(title)}</h1>\n'
            f"{body}\n</main>\n</body>\n</html>\n"
        )
        return Response(document, status=status, mimetype="text/html")

    # -- discovery and keys ----------------------------------------------------------

    def _discovery(self, request: Request) -> Response:
        base = self.url
        extra = {"authorization_response_iss_parameter_supported": True} if self.advertise_iss_parameter else {}
        return self._json(
            {
                **extra,
                "issuer": self.issuer,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "userinfo_endpoint": f"{base}/userinfo",
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "email", "profile"],
                "claims_supported": ["iss", "aud", "sub", "exp", "iat", "nonce", "email", "email_verified", "name"],
            }
        )

    def _jwks(self, request: Request) -> Response:
        return self._json({"keys": [self.public_jwk]})

    # -- authorization -------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        return self._authorization(request, kind="oidc")

    def _fb_authorize(self, request: Request) -> Response:
        return self._authorization(request, kind="facebook")

    def _authorization(self, request: Request, *, kind: str) -> Response:
        if request.method == "POST":
            return self._consent_decision(request, kind=kind)
        record = self._record(self.authorize_requests, request)
        params = record.params
        # Errors about the client or the redirect URI are shown, never redirected (RFC 6749 4.1.2.1).
        if params.get("client_id") != self.client_id:
            record.status, record.error = 400, "invalid_client"
            return self._page("Unknown application", "<p>This application is not registered.</p>", 400)
        redirect_uri = params.get("redirect_uri", "")
        if not self._redirect_uri_allowed(redirect_uri):
            record.status, record.error = 400, "invalid_redirect_uri"
            return self._page("Invalid redirect address", "<p>The redirect address is not allowed.</p>", 400)
        state = params.get("state")
        problem = self._authorization_problem(params, kind=kind)
        if problem is not None:
            error, description = problem
            record.status, record.error = 302, error
            return self._redirect(
                redirect_uri, error=error, error_description=description, state=state, iss=self._iss(kind)
            )
        if self.auto == "approve":
            record.status = 302
            return self._approve(kind, params)
        if self.auto == "deny":
            record.status, record.error = 302, "access_denied"
            return self._deny(kind, params)
        txn = secrets.token_urlsafe(16)
        with self._lock:
            self._pending[txn] = (kind, params)
        record.status = 200
        return self._consent_page(request.path, txn, params)

    def _redirect_uri_allowed(self, uri: str) -> bool:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return False
        return self.redirect_uris is None or uri in self.redirect_uris

    def _authorization_problem(self, params: dict[str, str], *, kind: str) -> tuple[str, str] | None:
        response_type = params.get("response_type", "code" if kind == "facebook" else None)
        if response_type != "code":
            return "unsupported_response_type", "Only response_type=code is supported."
        if not params.get("state"):
            return "invalid_request", "The state parameter is required."
        challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
        if self.require_pkce and not challenge:
            return "invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256."
        if challenge and method != "S256":
            return "invalid_request", "Only code_challenge_method=S256 is supported."
        if challenge and not re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge):
            return "invalid_request", "The code_challenge is not an S256 challenge."
        if kind == "oidc" and "openid" not in params.get("scope", "").split():
            return "invalid_scope", "This provider needs the openid scope."
        return None

    def _consent_page(self, path: str, txn: str, params: dict[str, str]) -> Response:
        who = html.escape(str(self.identity.get("name") or self.identity.get("sub")))
        email = self.identity.get("email")
        email_html = f" ({html.escape(str(email))})" if email else ""
        scopes = params.get("scope", "").replace(",", " ").split()
        asks = (("profile", "your name"), ("public_profile", "your name"), ("email", "your email address"))
        wanted = dict.fromkeys(text for scope, text in asks if scope in scopes) or {"your account id": None}
        wanted_html = "".join(f"<li>{html.escape(item)}</li>" for item in wanted)
        client = html.escape(params.get("client_id", ""))
        body = (
            f"<p>You are signed in to {html.escape(self.label)} as <strong>{who}</strong>{email_html}.</p>\n"
            f'<p id="consent-summary">The application <strong>{client}</strong> would like:</p>\n'
            f'<ul aria-labelledby="consent-summary">{wanted_html}</ul>\n'
            f'<form method="post" action="{html.escape(path)}" aria-label="Consent">\n'
            f'<input type="hidden" name="txn" value="{html.escape(txn)}">\n'
            '<button type="submit" name="decision" value="allow">Allow</button>\n'
            '<button type="submit" name="decision" value="deny">Deny</button>\n'
            "</form>"
        )
        return self._page(f"Allow {params.get('client_id', 'this application')} to sign you in?", body)

    def _consent_decision(self, request: Request, *, kind: str) -> Response:
        record = self._record(self.consent_requests, request, form=True)
        with self._lock:
            pending = self._pending.pop(record.params.get("txn", ""), None)
        if pending is None or pending[0] != kind:
            record.status, record.error = 400, "invalid_request"
            return self._page("This request has expired", "<p>Please start again from the application.</p>", 400)
        _, params = pending
        decision = record.params.get("decision")
        record.status = 302
        if decision == "allow":
            return self._approve(kind, params)
        record.error = "access_denied"
        return self._deny(kind, params)

    def _approve(self, kind: str, params: dict[str, str]) -> Response:
        code = secrets.token_urlsafe(24)
        grant = _Grant(
            code=code,
            kind=kind,
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            scope=params.get("scope", ""),
            code_challenge=params.get("code_challenge"),
            nonce=params.get("nonce"),
            identity=dict(self.identity),
            issued_at=int(time.time()),
        )
        with self._lock:
            self._grants[code] = grant
        return self._redirect(params["redirect_uri"], code=code, state=params.get("state"), iss=self._iss(kind))

    def _deny(self, kind: str, params: dict[str, str]) -> Response:
        extra: dict[str, str | None] = {"error": "access_denied"}
        if kind == "facebook":
            extra.update(error_code="200", error_description="Permissions error", error_reason="user_denied")
        else:
            extra["error_description"] = "The user denied the request."
        return self._redirect(params["redirect_uri"], **extra, state=params.get("state"), iss=self._iss(kind))

    def _iss(self, kind: str) -> str | None:
        return self.iss_parameter if kind == "oidc" else None

    @staticmethod
    def _redirect(uri: str, **params: str | None) -> Response:
        response = Response(status=302)
        response.headers["Location"] = _add_params(uri, params)
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- tokens --------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        return self._token_exchange(request, kind="oidc")

    def _fb_token(self, request: Request) -> Response:
        return self._token_exchange(request, kind="facebook")

    def _token_exchange(self, request: Request, *, kind: str) -> Response:
        record = self._record(self.token_requests, request, form=True)
        if self.failing is not None:
            record.status = self.failing
            return Response("The service is unavailable.", status=self.failing, mimetype="text/plain")
        try:
            record.client_auth, client_id = self._authenticate_client(request, record.params)
            grant = self._redeem(record.params, client_id, kind=kind)
            body = self._issue_tokens(grant)
        except _OAuthError as error:
            record.status, record.error = error.status, error.error
            headers = {"WWW-Authenticate": 'Basic realm="fake-oidc"'} if error.status == 401 else None
            if kind == "facebook":
                payload: dict[str, Any] = {
                    "error": {"message": error.description, "type": "OAuthException", "code": 100}
                }
            else:
                payload = {"error": error.error, "error_description": error.description}
            return self._json(payload, error.status, headers)
        record.status = 200
        return self._json(body)

    def _authenticate_client(self, request: Request, params: dict[str, str]) -> tuple[str, str]:
        header = request.headers.get("Authorization", "")
        if header[:6].lower() == "basic ":
            if "client_secret" in params:
                raise _OAuthError("invalid_request", "Use one client authentication method, not two.")
            try:
                raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise _OAuthError("invalid_client", "Malformed Basic credentials.", 401) from None
            client_id, sep, secret = raw.partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
            if not sep or client_id != self.client_id or not _equal(secret, self.client_secret):
                raise _OAuthError("invalid_client", "Client authentication failed.", 401)
            if params.get("client_id", client_id) != client_id:
                raise _OAuthError("invalid_request", "client_id does not match the authenticated client.")
            return "client_secret_basic", client_id
        if "client_secret" in params:
            client_id = params.get("client_id", "")
            if client_id != self.client_id or not _equal(params["client_secret"], self.client_secret):
                raise _OAuthError("invalid_client", "Client authentication failed.", 401)
            return "client_secret_post", client_id
        raise _OAuthError("invalid_client", "Client authentication is required.", 401)

    def _redeem(self, params: dict[str, str], client_id: str, *, kind: str) -> _Grant:
        if kind == "oidc" and params.get("grant_type") != "authorization_code":
            raise _OAuthError("unsupported_grant_type", "Only authorization_code is supported.")
        code = params.get("code", "")
        with self._lock:
            grant = self._grants.get(code)
            if grant is None or grant.kind != kind:
                raise _OAuthError("invalid_grant", "Unknown authorization code.")
            if grant.used:
                # A replayed code: refuse it and revoke what the first use obtained (RFC 6749 4.1.2).
                for token in grant.access_tokens:
                    self._access_tokens.pop(token, None)
                raise _OAuthError("invalid_grant", "The authorization code has already been used.")
            grant.used = True
        if time.time() - grant.issued_at > CODE_LIFETIME:
            raise _OAuthError("invalid_grant", "The authorization code has expired.")
        if grant.client_id != client_id:
            raise _OAuthError("invalid_grant", "The code was issued to another client.")
        if params.get("redirect_uri") != grant.redirect_uri:
            raise _OAuthError("invalid_grant", "redirect_uri does not match the authorization request.")
        verifier = params.get("code_verifier")
        if grant.code_challenge is not None:
            if not verifier or not PKCE_VERIFIER.fullmatch(verifier):
                raise _OAuthError("invalid_grant", "A valid code_verifier is required.")
            if not _equal(s256(verifier), grant.code_challenge):
                raise _OAuthError("invalid_grant", "The code_verifier does not match the code_challenge.")
        elif verifier:
            raise _OAuthError("invalid_grant", "No code_challenge was sent for this code.")
        return grant

    def _issue_tokens(self, grant: _Grant) -> dict[str, Any]:
        access_token = secrets.token_urlsafe(32)
        scopes = grant.scope.replace(",", " ").split()
        with self._lock:
            self._access_tokens[access_token] = {
                "identity": grant.identity,
                "scopes": scopes,
                "kind": grant.kind,
                "expires_at": time.time() + ACCESS_TOKEN_LIFETIME,
            }
            grant.access_tokens.append(access_token)
        if grant.kind == "facebook":
            return {"access_token": access_token, "token_type": "bearer", "expires_in": ACCESS_TOKEN_LIFETIME}
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": " ".join(scopes),
        }
        if "openid" in scopes:
            body["id_token"] = self._id_token(grant, access_token, scopes)
        return body

    def _id_token(self, grant: _Grant, access_token: str, scopes: list[str]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "sub": str(grant.identity["sub"]),
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
            "auth_time": grant.issued_at,
            # at_hash: the left half of SHA-256 of the access token (OIDC Core 3.1.3.6).
            "at_hash": _b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16]),
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        if not self.claims_in_userinfo_only:
            claims.update(self._identity_claims(grant.identity, scopes))
        for key, value in self.id_token_claims.items():
            if value is None:
                claims.pop(key, None)
            else:
                claims[key] = value
        key = RSAKey.generate_key(2048, auto_kid=True) if self.sign_with_unknown_key else self._key
        assert key is not None
        with self._lock:
            self.issued_id_tokens.append(claims)
        return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": key.kid}, claims, key)

    @staticmethod
    def _identity_claims(identity: dict[str, Any], scopes: list[str]) -> dict[str, Any]:
        wanted = set()
        if "email" in scopes:
            wanted |= {"email", "email_verified"}
        if "profile" in scopes:
            wanted |= {"name"}
        return {k: v for k, v in identity.items() if k in wanted and v is not None}

    # -- resources -----------------------------------------------------------------

    def _bearer(self, request: Request, *, kind: str, allow_query: bool = False) -> dict[str, Any] | None:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        if token is None and allow_query:
            token = request.args.get("access_token")
        if token is None and request.method == "POST":
            token = request.form.get("access_token")
        with self._lock:
            grant = self._access_tokens.get(token or "")
        if grant is None or grant["kind"] != kind or grant["expires_at"] < time.time():
            return None
        return grant

    def _userinfo(self, request: Request) -> Response:
        record = self._record(self.userinfo_requests, request, form=request.method == "POST")
        if self.userinfo_failing is not None:
            record.status = self.userinfo_failing
            return Response("The service is unavailable.", status=self.userinfo_failing, mimetype="text/plain")
        grant = self._bearer(request, kind="oidc")
        if grant is None:
            record.status, record.error = 401, "invalid_token"
            return self._json(
                {"error": "invalid_token"}, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        record.status = 200
        identity = grant["identity"]
        answer = {"sub": str(identity["sub"]), **self._identity_claims(identity, grant["scopes"])}
        for key, value in self.userinfo_claims.items():
            if value is None:
                answer.pop(key, None)
            else:
                answer[key] = value
        return self._json(answer)

    def _fb_me(self, request: Request) -> Response:
        record = self._record(self.userinfo_requests, request)
        grant = self._bearer(request, kind="facebook", allow_query=True)
        if grant is None:
            record.status, record.error = 400, "invalid_token"
            return self._json(
                {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}},
                400,
            )
        record.status = 200
        identity = grant["identity"]
        fields = [f.strip() for f in request.args.get("fields", "id,name").split(",") if f.strip()]
        data: dict[str, Any] = {}
        for name in fields:
            if name == "id":
                data["id"] = str(identity["sub"])
            elif name == "name" and identity.get("name"):
                data["name"] = identity["name"]
            elif name == "email" and identity.get("email") and identity.get("email_verified"):
                # The Graph API only returns a confirmed address, and only with the email permission.
                if "email" in grant["scopes"]:
                    data["email"] = identity["email"]
        data.setdefault("id", str(identity["sub"]))
        return self._json(data)
