"""Provider answers expire and are deleted: the cache table does not grow without bound,
and a busy queue is not remembered as a failure."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from tests.conftest import make_app
from webapp.catalog.cli import catalog_cli
from webapp.db import db
from webapp.providers.cache import KEEP_STALE, ResponseCache, provider_cache
from webapp.providers.errors import QueueBusy
from webapp.providers.patience import patience
from webapp.providers.ratelimit import RateLimiter, rate_slots

DAY = 24 * 3600


def keys(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(provider_cache.c.key)))


def add_row(engine, key: str, *, expires_at, payload: str | None = '{"a": 1}', status: int = 200, lease_until=None):
    with engine.begin() as conn:
        conn.execute(insert(provider_cache).values(key=key, payload=payload, status=status, fetched_at=None,
                                                   expires_at=expires_at, lease_until=lease_until))


def test_storing_an_answer_deletes_a_small_batch_of_long_expired_rows(provider_db, clock):
    cache = ResponseCache(provider_db, purge_batch=5, clock=clock)
    now = clock()
    for i in range(12):
        add_row(provider_db, f"old:{i}", expires_at=now - timedelta(seconds=KEEP_STALE + 60 + i))
    add_row(provider_db, "recently-expired", expires_at=now - timedelta(minutes=5))  # kept: a stale stand-in
    add_row(provider_db, "fresh", expires_at=now + timedelta(minutes=5))
    add_row(provider_db, "being-fetched", expires_at=now - timedelta(days=3), lease_until=now + timedelta(seconds=30))
    add_row(provider_db, "dead-failure", expires_at=None, payload=None, status=503,
            lease_until=now - timedelta(seconds=KEEP_STALE + 1))

    cache.get_or_fetch("new:1", 600, lambda: {"b": 2})
    assert len([k for k in keys(provider_db) if k.startswith("old:") or k == "dead-failure"]) == 13 - 5
    cache.get_or_fetch("new:2", 600, lambda: {"b": 2})
    cache.get_or_fetch("new:3", 600, lambda: {"b": 2})
    assert keys(provider_db) == {"recently-expired", "fresh", "being-fetched", "new:1", "new:2", "new:3"}


def test_the_table_stays_bounded_however_many_searches_are_made(provider_db, clock):
    cache = ResponseCache(provider_db, clock=clock)
    sizes = []
    for day in range(6):
        for i in range(15):  # a day's distinct searches, each stored once
            cache.get_or_fetch(f"search:{day}:{i}", 600, lambda: {"results": []})
            clock.advance(60)
        clock.advance(DAY)
        with provider_db.connect() as conn:
            sizes.append(conn.scalar(select(func.count()).select_from(provider_cache)))
    assert max(sizes) <= 30 and sizes[-1] == sizes[-2]  # a day or two of searches, not all six


def test_purge_cache_command_deletes_every_long_expired_row(app, database_url):
    from webapp.catalog import sync
    from webapp.providers.cache import utcnow

    papp = make_app(database_url)
    with papp.app_context():
        engine = sync.providers().cache.engine
        now = utcnow()
        for i in range(30):
            add_row(engine, f"old:{i}", expires_at=now - timedelta(seconds=KEEP_STALE + 60))
        add_row(engine, "fresh", expires_at=now + timedelta(minutes=5))
        result = papp.test_cli_runner().invoke(catalog_cli, ["purge-cache"])
        assert result.exit_code == 0, result.output
        assert "Deleted 30 expired provider answers." in result.output
        assert keys(engine) == {"fresh"}
        db.session.remove()


def test_a_busy_queue_gives_up_within_patience_and_is_not_remembered(provider_db, clock):
    limiter = RateLimiter(provider_db, "busy-test", 1.0, clock=clock, sleep=lambda s: None)
    with provider_db.begin() as conn:
        conn.execute(insert(rate_slots).values(name="busy-test", next_at=clock() + timedelta(seconds=5)))
    cache = ResponseCache(provider_db, clock=clock)
    calls = []

    def fetch():
        limiter.wait()
        calls.append(1)
        return {"ok": True}

    with patience(1.0):
        try:
            cache.get_or_fetch("mb:search", 600, fetch, provider="MusicBrainz")
            raise AssertionError("expected QueueBusy")
        except QueueBusy as busy:
            assert "busy" in busy.message
    assert calls == []
    clock.advance(5)  # the slot comes round: the next caller fetches at once (no failure held)
    with patience(1.0):
        assert cache.get_or_fetch("mb:search", 600, fetch, provider="MusicBrainz").payload == {"ok": True}
    assert calls == [1]


def test_without_patience_the_queue_still_waits_up_to_its_limit(provider_db, clock):
    slept: list[float] = []
    limiter = RateLimiter(provider_db, "patient", 1.0, clock=clock, sleep=slept.append)
    with provider_db.begin() as conn:
        conn.execute(insert(rate_slots).values(name="patient", next_at=clock() + timedelta(seconds=5)))
    limiter.wait()
    assert slept == [5.0]
