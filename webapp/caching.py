"""Rendered HTML kept under keys that name everything it was made from.

A key carries a version number the database keeps up to date (users.profile_version,
bumped by triggers), so a fragment is never invalidated: a change makes a new key, and
the old entry ages out. Only HTML that is the same for every viewer it is served to may
be cached: nothing about the viewer but what the key says. The one exception is the
CSRF token of whole pages (`same_for_every_visitor` for anonymous visitors,
`signed_in_page` for one signed-in viewer): it is cut out before storing and each
visitor's own is put back.

While templates reload (debug, TEMPLATES_AUTO_RELOAD) nothing is read from or stored in
the cache, so an edited template shows at once. Keys are prefixed with a digest of the
templates and code (config.CACHE_KEY_PREFIX), so a deploy never serves the last one's HTML.

The cache is an optimisation. When it fails (Redis down or slow), the fragment is
rendered as if it had missed, and the failure is logged.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import current_app, make_response, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from webapp.extensions import cache
from webapp.rendering import vary_on_htmx, wants_fragment

if TYPE_CHECKING:
    from webapp.accounts.models import User

log = logging.getLogger(__name__)
CACHE_ERRORS = (RedisError, OSError)


# Where a page's CSRF token was, in its cached HTML. Tokens are URL-safe base64 with
# dots, so no escaping changes them and this marker never collides with one.
CSRF_HOLE = "<!--csrf-token-->"


def cached_html(key: str, render: Callable[[], str]) -> Markup:
    """The HTML stored under `key`, or `render()`'s, stored for next time (always
    `render()`'s while templates reload)."""
    if templates_reload():
        return Markup(render())
    html = _get(key)
    if html is None:
        html = str(render())
        _set(key, html)
    return Markup(html)


def _get(key: str) -> Any:
    try:
        return cache.get(key)
    except CACHE_ERRORS as error:
        log.warning("fragment cache unavailable, rendering %s: %s", key, error)
        return None


def _set(key: str, value: str) -> None:
    try:
        cache.set(key, value)
    except CACHE_ERRORS as error:
        log.warning("fragment cache unavailable, not storing %s: %s", key, error)


def templates_reload() -> bool:
    """Whether templates are read again when edited (debug): then every cache renders."""
    return bool(current_app.jinja_env.auto_reload)


def _servable_from_cache() -> bool:
    """A plain GET with no query string and no flash messages waiting, while templates
    don't reload (debug) and CSRF is on (some tests turn it off)."""
    return (
        request.method == "GET"
        and not request.args
        and not session.get("_flashes")
        and not templates_reload()
        and current_app.config.get("WTF_CSRF_ENABLED", True)
    )


def _page_from_cache(key: str, render_page: Callable[[], Response]) -> Response:
    """The page stored under `key` with the visitor's own CSRF token put in, or
    `render_page()`'s answer, stored with its token cut out when it is a 200."""
    html = _get(key)
    if html is not None:
        return vary_on_htmx(make_response(html.replace(CSRF_HOLE, generate_csrf())))
    response = render_page()
    if response.status_code == 200:
        token, body = generate_csrf(), response.get_data(as_text=True)  # the view's own token
        if token in body:
            _set(key, body.replace(token, CSRF_HOLE))
    return response


def same_for_every_visitor(view: Callable[..., Response]) -> Callable[..., Response]:
    """Serve a form page that every anonymous visitor sees alike from the cache, with the
    visitor's own CSRF token put in (generated, and kept in their session, as always).

    Only a plain GET by someone signed out with no query string and no flash messages
    waiting is served from the cache; anything else, and every page while templates
    reload (debug) or while CSRF is off (some tests), runs the view. The view must
    answer such a GET through `render()` with a 200, the same page for everyone, with
    relative links only: its HTML is stored per endpoint, mount point, and page or htmx
    fragment, with the token cut out. (Not per host: a request's Host header is the
    client's to choose, and must not be able to fill the cache.)"""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        if current_user.is_authenticated or not _servable_from_cache():
            return view(*args, **kwargs)
        key = f"page:{request.endpoint}:{int(wants_fragment())}:{request.script_root}"
        return _page_from_cache(key, lambda: view(*args, **kwargs))

    return wrapper


def signed_in_page(key: str, render_page: Callable[[], Response]) -> Response:
    """A signed-in viewer's page from the cache, with their own CSRF token put in, or
    `render_page()`'s answer, stored for next time (token cut out) when it is a 200.

    `key` must name everything the page shows; `viewer_key()` names the navigation. The
    page's path and mount point are added here. The same guards as for anonymous pages
    apply: a query string, a flash message waiting, reloading templates or CSRF off
    always render."""
    if not _servable_from_cache():
        return render_page()
    return _page_from_cache(f"{key}:{int(wants_fragment())}:{request.path}:{request.script_root}", render_page)


def viewer_key(me: User) -> str:
    """What base.html shows the signed-in viewer `me`: their account (`person_key`), name,
    admin link, count of pending friend requests and unconfirmed-email notice. Kept by
    hand: tests/main/test_html_caches.py changes each of the viewer's columns and fails
    when base.html shows one this key does not name."""
    from webapp import navigation_pending_requests

    return person_key("viewer", me, me.username, int(me.is_admin), navigation_pending_requests(),
                      int(me.email_verified_at is None), me.email)


def shown_fields(user: User, *names: str) -> str:
    """A short digest of a person's fields that a page shows and profile_version does not
    cover (the triggers bump it for their picks, viewings and friendships only)."""
    text = "\x00".join(str(getattr(user, name)) for name in names)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def person_key(kind: str, user: User, *parts: object) -> str:
    """A key for HTML made from one person's data: their id with their creation time
    (SQLite may give a deleted account's id to a new one) and their profile_version,
    then `parts`, which must name everything else the HTML depends on, and the mount
    point its links were built for."""
    return ":".join([kind, str(user.id), f"{user.created_at.timestamp():.6f}", str(user.profile_version),
                     *map(str, parts), request.script_root])
