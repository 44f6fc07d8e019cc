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

from markupsafe import Markup
from redis.exceptions import RedisError

from webapp.extensions import cache

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
