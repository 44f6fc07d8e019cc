"""A response cache in the database, shared by every app process.

`ResponseCache.get_or_fetch(key, ttl, fetch)` returns the cached payload while it is
fresh. When it is missing or expired, exactly one caller, in whichever process, wins a
lease on the row and calls `fetch()`; the others meanwhile get the stale copy at once,
or, when there is none yet, wait for the winner's result (at most `wait` seconds).

A fetch that fails with ProviderError is remembered for `failure_hold` seconds, so a
failing provider is not asked again by every waiting request: callers get the stale
copy marked `stale=True` with the `error` (the page can say "showing saved results"),
or, with no copy at all, the error itself.

Row states (table provider_cache, model CachedResponse):
* status 200: `payload` is good until `expires_at`;
* status 0 with `lease_until` ahead: someone is fetching;
* status ≥ 400 with `lease_until` ahead: the last fetch failed (ProviderError.status);
  `payload` still holds the previous good copy, if any.

Leases are claimed with INSERT … ON CONFLICT DO NOTHING RETURNING (new keys) or a
conditional UPDATE whose rowcount says who won (existing keys), so the database decides
every race. Statements go through a plain SQLAlchemy Engine in short transactions of
their own, never while `fetch()` runs.

A fetch that gives up because the provider's queue is busy (QueueBusy, see
patience.py) is not a failure: the lease is let go at once and nothing is remembered,
so the next caller simply tries again. Waiting for another request's fetch also ends
early within `patience()`, with QueueBusy.

Rows do not outlive their use: a row whose copy expired more than `keep_stale` ago
(1 day; stale copies stand in while a provider fails) and that nobody is fetching is
deleted, a small batch at a time after each fetched answer is stored
(`purge_expired`), and all at once by `flask catalog purge-cache`. So the table holds
what was asked for in about the last day, however many different searches are made.

When the cache cannot write (SQLite locked for longer than the engine waits — see
`provider_engine()` — or the database gone), it steps aside: `fetch()` is called
directly and its answer returned uncached, rather than failing the page.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, and_, column, create_engine, delete, or_, select, table, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from webapp.dialect import insert_on
from webapp.providers.errors import DEFAULT_PROVIDER, ProviderError, ProviderUnavailable, QueueBusy, error_class_for
from webapp.providers.patience import bounded, is_bounded

SEARCH_TTL = 10 * 60  # seconds
DETAILS_TTL = 7 * 24 * 3600
# Seconds a cache or rate-limit write waits for SQLite's write lock (provider_engine).
LOCK_WAIT = 0.5
KEEP_STALE = 24 * 3600  # seconds an expired copy is kept to stand in for a failing provider
PURGE_BATCH = 20  # expired rows deleted after each stored answer

log = logging.getLogger(__name__)

FETCHING = 0
OK = 200

# The columns of CachedResponse (webapp/providers/models.py) that the cache uses, as a
# lightweight table clause: this module must not import Flask-SQLAlchemy.
provider_cache = table(
    "provider_cache",
    column("key", String),
    column("payload", Text),
    column("status", Integer),
    column("fetched_at", DateTime),
    column("expires_at", DateTime),
    column("lease_until", DateTime),
)


def provider_engine(engine: Engine) -> Engine:
    """The engine the cache and the rate limiter should use, given the app's.

    PostgreSQL: the same engine. A SQLite file: a separate engine with pysqlite's own
    transactions (reads take no lock) and a short lock wait. The request calling a
    provider may itself hold SQLite's write lock (a form post, after its first query),
    and a write from another connection would then wait out the app's 30 s busy
    timeout; with this engine it gives up after LOCK_WAIT seconds and the cache and
    the limiter step aside instead (see their docs)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    return create_engine(engine.url, connect_args={"timeout": LOCK_WAIT})


def utcnow() -> datetime:
    """Naive UTC, the form the DateTime columns hold on SQLite and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Cached:
    payload: Any
    stale: bool = False
    fetched_at: datetime | None = None
    error: ProviderError | None = None  # why a stale copy is served, when it is


@dataclass(frozen=True)
class _Row:
    payload: str | None
    status: int
    fetched_at: datetime | None
    expires_at: datetime | None
    lease_until: datetime | None


class ResponseCache:
    def __init__(
        self,
        engine: Engine,
        *,
        lease: float = 60.0,
        wait: float = 10.0,
        poll: float = 0.05,
        failure_hold: float = 5.0,
        keep_stale: float = KEEP_STALE,
        purge_batch: int = PURGE_BATCH,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.lease = timedelta(seconds=lease)  # longer than any one fetch may take
        self.wait = wait
        self.poll = poll
        self.failure_hold = timedelta(seconds=failure_hold)
        self.keep_stale = timedelta(seconds=keep_stale)
        self.purge_batch = purge_batch
        self.clock = clock

    def get_or_fetch(
        self, key: str, ttl: float, fetch: Callable[[], Any], *, provider: str = DEFAULT_PROVIDER
    ) -> Cached:
        """The payload for `key`, calling `fetch()` (JSON-able result) at most once per
        expiry across processes. Raises what `fetch` raised when there is no copy."""
        deadline = time.monotonic() + bounded(self.wait)
        while True:
            try:
                row = self._read(key)
                now = self.clock()
                if row is not None and row.status == OK and row.payload is not None and _after(row.expires_at, now):
                    return Cached(json.loads(row.payload), fetched_at=row.fetched_at)
                claimed = self._claim(key, row, now)
            except OperationalError as exc:
                log.warning("provider cache unavailable, fetching %s uncached: %s", key, exc.orig)
                return Cached(fetch())
            if claimed:
                return self._refresh(key, ttl, fetch, row, provider)
            leased = row is not None and _after(row.lease_until, now)
            if row is not None and row.payload is not None:
                error = error_class_for(row.status)(provider) if row.status >= 400 and leased else None
                return Cached(json.loads(row.payload), stale=True, fetched_at=row.fetched_at, error=error)
            if row is not None and row.status >= 400 and leased:
                raise error_class_for(row.status)(provider, detail="remembered failure")
            if time.monotonic() >= deadline:
                error = QueueBusy if is_bounded(self.wait) else ProviderUnavailable
                raise error(provider, detail="another request is still fetching")
            time.sleep(self.poll)

    def forget(self, key: str) -> None:
        """Drop a key, e.g. when an administrator asks for fresh details."""
        with self.engine.begin() as conn:
            conn.execute(provider_cache.delete().where(provider_cache.c.key == key))

    def purge_expired(self, limit: int | None = None) -> int:
        """Delete rows expired more than `keep_stale` ago (and rows left without a copy)
        that nobody is fetching: at most `limit` of them, all when None. Returns how
        many were deleted; a database that cannot be written deletes nothing."""
        c = provider_cache.c
        now = self.clock()
        cutoff = now - self.keep_stale
        dead = and_(
            or_(c.lease_until.is_(None), c.lease_until < now),
            or_(c.expires_at < cutoff, and_(c.payload.is_(None), or_(c.lease_until.is_(None), c.lease_until < cutoff))),
        )
        deleted = 0
        try:
            while limit is None or deleted < limit:
                size = 500 if limit is None else min(500, limit - deleted)
                batch = select(c.key).where(dead).limit(size)
                with self.engine.begin() as conn:
                    count = conn.execute(delete(provider_cache).where(c.key.in_(batch))).rowcount
                deleted += max(count, 0)
                if count < size:
                    break
        except OperationalError as exc:
            log.warning("provider cache could not delete expired rows: %s", exc.orig)
        return deleted

    # -- rows --------------------------------------------------------------------------

    def _read(self, key: str) -> _Row | None:
        c = provider_cache.c
        query = select(c.payload, c.status, c.fetched_at, c.expires_at, c.lease_until).where(c.key == key)
        with self.engine.connect() as conn:
            found = conn.execute(query).first()
            conn.rollback()
        return _Row(*found) if found is not None else None

    def _claim(self, key: str, row: _Row | None, now: datetime) -> bool:
        """Take the lease to fetch `key`; True if this caller won it."""
        c = provider_cache.c
        lease_until = now + self.lease
        with self.engine.begin() as conn:
            if row is None:
                statement = (
                    insert_on(self.engine, provider_cache)
                    .values(key=key, payload=None, status=FETCHING, lease_until=lease_until)
                    .on_conflict_do_nothing()
                    .returning(c.key)
                )
                # RETURNING, not rowcount: with implicit RETURNING drivers report -1.
                return conn.execute(statement).first() is not None
            statement = (
                update(provider_cache)
                .where(
                    c.key == key,
                    or_(c.lease_until.is_(None), c.lease_until <= now),
                    or_(c.status != OK, c.payload.is_(None), c.expires_at.is_(None), c.expires_at <= now),
                )
                .values(status=FETCHING, lease_until=lease_until)
            )
            return conn.execute(statement).rowcount == 1

    def _refresh(
        self, key: str, ttl: float, fetch: Callable[[], Any], row: _Row | None, provider: str
    ) -> Cached:
        try:
            payload = fetch()
        except QueueBusy:
            self._write(key, status=FETCHING, lease_until=None)  # not a failure: let go at once
            if row is not None and row.payload is not None:
                return Cached(json.loads(row.payload), stale=True, fetched_at=row.fetched_at)
            raise
        except ProviderError as error:
            now = self.clock()
            self._write(key, status=error.status, lease_until=now + self.failure_hold)
            if row is not None and row.payload is not None:
                return Cached(json.loads(row.payload), stale=True, fetched_at=row.fetched_at, error=error)
            raise
        except BaseException:
            self._write(key, status=FETCHING, lease_until=None)  # let the next caller try
            raise
        now = self.clock()
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        self._write(
            key,
            payload=text,
            status=OK,
            fetched_at=now,
            expires_at=now + timedelta(seconds=ttl),
            lease_until=None,
        )
        if self.purge_batch:
            self.purge_expired(self.purge_batch)
        return Cached(json.loads(text), fetched_at=now)

    def _write(self, key: str, **values: Any) -> None:
        """Update the row; a failed write only costs the cached copy (and the lease
        runs out by itself)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(update(provider_cache).where(provider_cache.c.key == key).values(**values))
        except OperationalError as exc:
            log.warning("provider cache could not store %s: %s", key, exc.orig)


def _after(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment > now
