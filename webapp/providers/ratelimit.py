"""A request-rate limit shared by every app process, kept in the database.

MusicBrainz allows one request per second per application, counted across all its
processes. The table provider_rate_slots (model RateSlot) holds, per provider, the
next moment a request may start. `RateLimiter.wait()` reserves that moment for its
caller, moving it on by one interval, and then sleeps until the reserved moment.

The reservation is a compare-and-swap: read `next_at`, then
UPDATE … SET next_at = :new WHERE name = :name AND next_at = :seen; a rowcount of 1
means the slot is ours, 0 means another caller took it first, so read again. Each
statement runs in its own short transaction, nothing is held while sleeping, and
the same code is correct on SQLite (whose writers are serialised) and on PostgreSQL
(where a concurrent UPDATE re-checks its WHERE clause against the committed row).

Requests, not just reservations, must be `interval` apart, so two things absorb the
time between deciding on a slot and the request leaving: slots are `interval + margin`
apart (margin 100 ms: MusicBrainz then sees a little under one request a second), and a
caller who wins a slot that started more than a quarter of the margin ago (the database
was slow to confirm it, e.g. SQLite's busy handler waited for another process's lock)
lets it lapse and reserves the next one.
A caller whose slot would be more than `max_wait` seconds away gives up at once with
ProviderUnavailable rather than holding a page open; within `patience(seconds)`
(patience.py) the limit is that patience when shorter, and giving up raises QueueBusy.

When the table cannot be written (SQLite locked for longer than the engine waits, see
cache.provider_engine()), the limit is kept within this process only, from the slots it
has seen, and a warning is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import DateTime, String, column, select, table, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from webapp.dialect import insert_on
from webapp.providers.cache import utcnow
from webapp.providers.errors import ProviderUnavailable, QueueBusy
from webapp.providers.patience import bounded, is_bounded

# The columns of RateSlot (webapp/providers/models.py), without importing Flask-SQLAlchemy.
rate_slots = table("provider_rate_slots", column("name", String), column("next_at", DateTime))

MAX_ATTEMPTS = 100  # compare-and-swap rounds before giving up (each round someone wins)

log = logging.getLogger(__name__)

# The next free moment per limiter name as this process knows it: the fallback when the
# database cannot be written.
_local_lock = threading.Lock()
_local_next: dict[str, datetime] = {}


class RateLimiter:
    def __init__(
        self,
        engine: Engine,
        name: str,
        interval: float,
        *,
        provider: str | None = None,
        margin: float = 0.1,
        max_wait: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.name = name
        self.interval = timedelta(seconds=interval)
        self.spacing = timedelta(seconds=interval + margin) if interval else timedelta(0)
        self.tolerance = timedelta(seconds=margin / 4)
        self.provider = provider or name
        self.max_wait = timedelta(seconds=max_wait)
        self.clock = clock
        self.sleep = sleep

    def wait(self) -> None:
        """Block until this caller may send its request."""
        if not self.interval:
            return
        delay = (self.reserve() - self.clock()).total_seconds()
        if delay > 0:
            self.sleep(delay)

    def reserve(self) -> datetime:
        """Reserve the next free moment and return it (it may be now)."""
        try:
            start = self._reserve_shared()
        except OperationalError as exc:
            log.warning("rate-limit slots unavailable, limiting %s in this process only: %s", self.name, exc.orig)
            return self._reserve_local()
        with _local_lock:
            _local_next[self.name] = max(_local_next.get(self.name, start), start + self.spacing)
        return start

    def _reserve_local(self) -> datetime:
        with _local_lock:
            now = self.clock()
            start = max(_local_next.get(self.name, now), now)
            self._check_wait(start - now)
            _local_next[self.name] = start + self.spacing
            return start

    def _check_wait(self, wait: timedelta) -> None:
        """Give up when the slot is further away than this caller will wait."""
        limit = self.max_wait.total_seconds()
        if wait.total_seconds() <= bounded(limit):
            return
        if is_bounded(limit):
            raise QueueBusy(self.provider, detail=f"rate-limit slot {wait.total_seconds():.1f} s away")
        raise ProviderUnavailable(self.provider, detail="rate-limit queue too long")

    def _reserve_shared(self) -> datetime:
        c = rate_slots.c
        for _ in range(MAX_ATTEMPTS):
            with self.engine.connect() as conn:
                seen = conn.execute(select(c.next_at).where(c.name == self.name)).scalar_one_or_none()
                conn.rollback()
            now = self.clock()  # after the read: a reservation starts as late as it can
            if seen is None:
                start = now
                if not self._create(start + self.spacing):
                    continue
            else:
                start = max(seen, now)
                self._check_wait(start - now)
                with self.engine.begin() as conn:
                    taken = conn.execute(
                        update(rate_slots)
                        .where(c.name == self.name, c.next_at == seen)
                        .values(next_at=start + self.spacing)
                    ).rowcount
                if taken != 1:
                    continue  # another caller took this slot first
            if self.clock() - start <= self.tolerance:
                return start
            # Won, but too late to use it without crowding the next slot: let it lapse.
        raise ProviderUnavailable(self.provider, detail="rate-limit slot contention")

    def _create(self, next_at: datetime) -> bool:
        statement = (
            insert_on(self.engine, rate_slots)
            .values(name=self.name, next_at=next_at)
            .on_conflict_do_nothing()
            .returning(rate_slots.c.name)
        )
        with self.engine.begin() as conn:
            return conn.execute(statement).first() is not None
