"""How long the current caller is willing to wait for a provider's queue.

The rate limiter (a slot in the one-request-a-second queue) and the response cache (a
fetch of the same answer by another request) wait up to their own limits, 10 seconds,
which suits commands and background work. A page that has something else to show
(search: the local catalog) sets a shorter patience for its calls; past it they raise
QueueBusy instead of holding the request open:

    with patience(1.0):
        client.search_albums("harbour")   # waits at most about a second
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_patience: ContextVar[float | None] = ContextVar("provider_patience", default=None)


@contextlib.contextmanager
def patience(seconds: float | None) -> Iterator[None]:
    """Within the block, waits for a provider's queue last at most `seconds` (None:
    each waits up to its own limit)."""
    token = _patience.set(seconds)
    try:
        yield
    finally:
        _patience.reset(token)


def bounded(limit: float) -> float:
    """`limit`, or the current patience when that is shorter."""
    current = _patience.get()
    return limit if current is None else min(limit, current)


def is_bounded(limit: float) -> bool:
    """True when the current patience is what cuts a wait of `limit` short."""
    current = _patience.get()
    return current is not None and current < limit
