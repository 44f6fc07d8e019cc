"""Response headers every page carries, and the session cookie's signer.

Written by hand rather than with Flask-Talisman: the policy is a dozen lines, and
Talisman's HTTPS redirect and per-view options would be more to configure than this.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Request, Response, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# The session key flask-login keeps a signed-in visitor's id under.
SIGNED_IN = "_user_id"

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def init_security_headers(app: Flask) -> None:
    headers = dict(HEADERS)
    if app.config.get("HSTS_ENABLED", True):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.update(headers)
        if SIGNED_IN in session and request.endpoint != "static":
            # What a signed-in visitor sees is theirs: no shared cache keeps it, and the
            # back button after logout does not show it from the browser's cache. (Pages
            # from the page cache pass here too; anonymous pages and the static files,
            # the same for everyone, keep their headers.)
            response.headers["Cache-Control"] = "private, no-store"
        return response


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signature of a cookie checked once.

    The signing serializer is built once for the current keys instead of on every
    request, and a cookie that verified is remembered with its signing time and
    contents: the same cookie again (a signed-in visitor's next page) is only
    decoded, as long as it is younger than PERMANENT_SESSION_LIFETIME. Checking the
    signature again cost 4% of a page served from the cache. Only a cookie this
    process has verified can match, byte for byte, so nothing unsigned is ever let
    in; each request still gets its own session data. A new SECRET_KEY or
    SECRET_KEY_FALLBACKS starts afresh."""

    REMEMBERED = 4096  # cookies per process; more and the memory starts afresh

    # (keys, serializer, {cookie: (signed at, JSON of the contents)}); one per app
    _built: tuple[Any, Any, dict[str, tuple[int, str]]] | None = None

    def _current(self, app: Flask) -> tuple[Any, Any, dict[str, tuple[int, str]]]:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._built is None or self._built[0] != keys:
            self._built = (keys, super().get_signing_serializer(app), {})
        return self._built

    def get_signing_serializer(self, app: Flask) -> Any:
        return self._current(app)[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        _, serializer, verified = self._current(app)
        value = request.cookies.get(self.get_cookie_name(app))
        if serializer is None or not value:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = verified.get(value)
        if known is None:
            try:
                data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            if len(verified) >= self.REMEMBERED:
                verified.clear()
            verified[value] = (int(signed_at.timestamp()), serializer.serializer.dumps(data))
            return self.session_class(data)
        signed_at, contents = known
        if int(time.time()) - signed_at > max_age:
            return self.session_class()  # expired, as the signer would say
        return self.session_class(serializer.serializer.loads(contents))
