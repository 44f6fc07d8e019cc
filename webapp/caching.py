"""Rendered HTML kept under keys that name everything it was made from.

A key carries a version number the database keeps up to date (users.profile_version,
bumped by triggers), so a fragment is never invalidated: a change makes a new key, and
the old entry ages out. Only HTML that is the same for every viewer it is served to may
be cached: no CSRF tokens, nothing about the viewer but what the key says.

The cache is an optimisation. When it fails (Redis down or slow), the fragment is
rendered as if it had missed, and the failure is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import request
from markupsafe import Markup
from redis.exceptions import RedisError

from webapp.extensions import cache

if TYPE_CHECKING:
    from webapp.accounts.models import User

log = logging.getLogger(__name__)
CACHE_ERRORS = (RedisError, OSError)


def cached_html(key: str, render: Callable[[], str]) -> Markup:
    """The HTML stored under `key`, or `render()`'s, stored for next time."""
    try:
        html = cache.get(key)
    except CACHE_ERRORS as error:
        log.warning("fragment cache unavailable, rendering %s: %s", key, error)
        return Markup(render())
    if html is None:
        html = str(render())
        try:
            cache.set(key, html)
        except CACHE_ERRORS as error:
            log.warning("fragment cache unavailable, not storing %s: %s", key, error)
    return Markup(html)


def person_key(kind: str, user: User, *parts: object) -> str:
    """A key for HTML made from one person's data: their id with their creation time
    (SQLite may give a deleted account's id to a new one) and their profile_version,
    then `parts`, which must name everything else the HTML depends on, and the mount
    point its links were built for."""
    return ":".join([kind, str(user.id), f"{user.created_at.timestamp():.6f}", str(user.profile_version),
                     *map(str, parts), request.script_root])
