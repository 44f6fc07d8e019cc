"""The database response cache: one upstream call per key per expiry, stale copies."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from tests.providers.conftest import TIMEOUT
from webapp.providers.cache import DETAILS_TTL, SEARCH_TTL, ResponseCache, provider_cache
from webapp.providers.errors import ProviderBadResponse, ProviderNotFound, ProviderUnavailable
from webapp.providers.models import CachedResponse
from webapp.providers.tmdb import TmdbClient

THREADS = 8


class Upstream:
    """A fetch function that counts its calls and can be slow or fail."""

    def __init__(self, payload: Any = None, delay: float = 0.0) -> None:
        self.payload = payload if payload is not None else {"results": [1, 2, 3]}
        self.delay = delay
        self.error: Exception | None = None
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.payload


def at_once(count: int, work):  # type: ignore[no-untyped-def]
    """Run `work()` in `count` threads released together; results or exceptions."""
    barrier = threading.Barrier(count)

    def run() -> Any:
        barrier.wait()
        try:
            return work()
        except Exception as exc:  # noqa: BLE001 - returned for the test to inspect
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


def test_ttls():
    assert SEARCH_TTL == 600 and DETAILS_TTL == 7 * 24 * 3600


def test_the_table_clause_matches_the_model():
    assert {c.name for c in provider_cache.columns} == {c.name for c in CachedResponse.__table__.columns}


def test_a_fresh_copy_is_served_without_fetching(cache):
    upstream = Upstream()
    first = cache.get_or_fetch("k", 60, upstream)
    second = cache.get_or_fetch("k", 60, upstream)
    assert first.payload == second.payload == {"results": [1, 2, 3]}
    assert not first.stale and not second.stale and second.fetched_at is not None
    assert upstream.calls == 1


def test_eight_threads_one_upstream_call(cache):
    upstream = Upstream(delay=0.3)
    results = at_once(THREADS, lambda: cache.get_or_fetch("tmdb:search/multi?query=x", 600, upstream))
    assert upstream.calls == 1
    assert all(not isinstance(r, Exception) and r.payload == upstream.payload and not r.stale for r in results)


def test_eight_threads_one_request_at_the_fake(fake, session, engine):
    client = TmdbClient(
        session, fake.tmdb_url, token=fake.tmdb_token, image_url="https://img.example", cache=ResponseCache(engine)
    )
    fake.delay["tmdb"] = 0.3
    results = at_once(THREADS, lambda: client.search("harbour"))
    assert len(fake.calls("tmdb")) == 1
    assert len({r.results for r in results}) == 1 and not any(r.stale for r in results)


def test_expiry_fetches_again(engine, clock):
    cache = ResponseCache(engine, clock=clock)
    upstream = Upstream()
    cache.get_or_fetch("k", 600, upstream)
    clock.advance(599)
    cache.get_or_fetch("k", 600, upstream)
    assert upstream.calls == 1
    clock.advance(2)
    upstream.payload = {"results": [4]}
    assert cache.get_or_fetch("k", 600, upstream).payload == {"results": [4]}
    assert upstream.calls == 2


def test_a_failing_provider_gets_the_stale_copy_served(engine, clock):
    cache = ResponseCache(engine, clock=clock, failure_hold=5)
    upstream = Upstream()
    cache.get_or_fetch("k", 60, upstream)
    clock.advance(61)
    upstream.error = ProviderUnavailable("TMDB")
    result = cache.get_or_fetch("k", 60, upstream, provider="TMDB")
    assert (result.payload, result.stale) == ({"results": [1, 2, 3]}, True)
    assert isinstance(result.error, ProviderUnavailable)
    # The failure is remembered for a few seconds: no new upstream call meanwhile.
    again = cache.get_or_fetch("k", 60, upstream, provider="TMDB")
    assert again.stale and isinstance(again.error, ProviderUnavailable) and upstream.calls == 2
    # Then the provider is asked again, and its fresh answer replaces the stale copy.
    clock.advance(6)
    upstream.error, upstream.payload = None, {"results": [9]}
    fresh = cache.get_or_fetch("k", 60, upstream)
    assert (fresh.payload, fresh.stale, fresh.error) == ({"results": [9]}, False, None)
    assert upstream.calls == 3


def test_without_a_copy_the_error_is_raised_once_for_all_waiters(cache):
    upstream = Upstream(delay=0.3)
    upstream.error = ProviderNotFound("TMDB")
    results = at_once(THREADS, lambda: cache.get_or_fetch("k", 60, upstream, provider="TMDB"))
    assert upstream.calls == 1
    assert all(isinstance(r, ProviderNotFound) for r in results)
    assert {r.message for r in results} == {"TMDB has no record of that."}


def test_while_one_refreshes_the_others_get_the_stale_copy_at_once(engine, clock):
    cache = ResponseCache(engine, clock=clock)
    cache.get_or_fetch("k", 60, Upstream({"v": 1}))
    clock.advance(61)
    upstream = Upstream({"v": 2}, delay=0.5)
    worker = threading.Thread(target=cache.get_or_fetch, args=("k", 60, upstream))
    worker.start()
    while upstream.calls == 0:
        time.sleep(0.01)
    started = time.monotonic()
    result = cache.get_or_fetch("k", 60, Upstream({"v": 3}))
    assert (result.payload, result.stale, result.error) == ({"v": 1}, True, None)
    assert time.monotonic() - started < 0.4
    worker.join()
    assert cache.get_or_fetch("k", 60, upstream).payload == {"v": 2}


def test_an_abandoned_lease_is_waited_for_then_taken_over(engine, clock):
    # A process that claimed the key and died: the lease stands until it runs out.
    with engine.begin() as conn:
        conn.execute(insert(provider_cache).values(key="k", status=0, lease_until=clock() + timedelta(seconds=60)))
    cache = ResponseCache(engine, clock=clock, wait=0.2, poll=0.02)
    upstream = Upstream()
    with pytest.raises(ProviderUnavailable):
        cache.get_or_fetch("k", 60, upstream)
    assert upstream.calls == 0
    clock.advance(61)
    assert cache.get_or_fetch("k", 60, upstream).payload == upstream.payload
    assert upstream.calls == 1


def test_an_unexpected_exception_releases_the_lease(cache):
    upstream = Upstream()
    upstream.error = RuntimeError("bug")
    with pytest.raises(RuntimeError):
        cache.get_or_fetch("k", 60, upstream)
    upstream.error = None
    assert cache.get_or_fetch("k", 60, upstream).payload == upstream.payload
    assert upstream.calls == 2


def test_an_unparseable_answer_is_not_kept(fake, session, cache, engine):
    client = TmdbClient(session, fake.tmdb_url, token=fake.tmdb_token, timeout=TIMEOUT, cache=cache)
    with pytest.raises(ProviderBadResponse):
        client.get("configuration", {}, ttl=60, parse=lambda data: data["no such key"])
    with engine.connect() as conn:
        row = conn.execute(select(provider_cache.c.payload, provider_cache.c.status)).one()
    assert row == (None, ProviderBadResponse.status)


def test_a_stale_search_is_marked_on_the_result(fake, session, engine, clock):
    cache = ResponseCache(engine, clock=clock)
    client = TmdbClient(
        session, fake.tmdb_url, token=fake.tmdb_token, image_url="https://img.example", timeout=TIMEOUT, cache=cache
    )
    fresh = client.search("harbour")
    clock.advance(SEARCH_TTL + 1)
    fake.fail("tmdb", "timeout")
    stale = client.search("harbour")
    assert stale.stale and not fresh.stale
    assert stale.results == fresh.results


def test_forget(cache):
    upstream = Upstream()
    cache.get_or_fetch("k", 60, upstream)
    cache.forget("k")
    cache.get_or_fetch("k", 60, upstream)
    assert upstream.calls == 2


def test_payloads_keep_unicode(cache, engine):
    cache.get_or_fetch("k", 60, lambda: {"title": "Ørnen – 鷲"})
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT payload FROM provider_cache")).scalar_one()
    assert "Ørnen – 鷲" in stored
    assert cache.get_or_fetch("k", 60, lambda: None).payload == {"title": "Ørnen – 鷲"}
