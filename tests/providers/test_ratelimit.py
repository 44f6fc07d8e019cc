"""MusicBrainz's one request per second, held in the database across threads and processes."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from tests.providers.conftest import TIMEOUT, USER_AGENT
from webapp.providers.errors import ProviderUnavailable
from webapp.providers.musicbrainz import MusicBrainzClient
from webapp.providers.ratelimit import RateLimiter

WORKER = Path(__file__).with_name("ratelimit_worker.py")
REPO = Path(__file__).resolve().parents[2]
# Seconds between arrivals at the fake ("about a second"): slots are 1.1 s apart, and the
# arrival times, taken by the fake in this process, jitter with scheduling.
SPACING = 0.95


@pytest.fixture
def quiet_gc() -> Iterator[None]:
    """No full garbage collection of the suite's heap in the middle of a timing test."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def gaps(times: list[float]) -> list[float]:
    times = sorted(times)
    return [later - earlier for earlier, later in zip(times, times[1:])]


def test_slots_are_handed_out_one_interval_apart(engine, clock):
    limiter = RateLimiter(engine, "test", 1.0, margin=0, clock=clock)
    start = clock()
    assert [limiter.reserve() for _ in range(3)] == [start, start + timedelta(seconds=1), start + timedelta(seconds=2)]
    clock.advance(10)  # an idle limiter does not bank slots
    assert limiter.reserve() == clock()


def test_slots_are_per_name(engine, clock):
    first, other = RateLimiter(engine, "a", 1.0, clock=clock), RateLimiter(engine, "b", 1.0, clock=clock)
    assert first.reserve() == other.reserve() == clock()


def test_wait_sleeps_until_the_reserved_slot(engine, clock):
    slept: list[float] = []
    limiter = RateLimiter(engine, "test", 1.5, clock=clock, sleep=slept.append)
    limiter.wait()
    limiter.wait()
    assert slept == [1.6]  # the interval and the 100 ms margin


def test_a_queue_longer_than_max_wait_fails_at_once(engine, clock):
    limiter = RateLimiter(engine, "test", 1.0, margin=0, clock=clock, max_wait=2.0, provider="MusicBrainz")
    for _ in range(3):
        limiter.reserve()
    with pytest.raises(ProviderUnavailable) as caught:
        limiter.reserve()
    assert caught.value.message.startswith("MusicBrainz is not answering")


def test_threads_share_the_slot(provider_db, fake, session, quiet_gc):
    fake.mb_min_interval = 0.9  # the fake answers 503 to anything closer together
    limiter = RateLimiter(provider_db, "musicbrainz", 1.0)
    client = MusicBrainzClient(session, fake.musicbrainz_url, user_agent=USER_AGENT, limiter=limiter, timeout=TIMEOUT)
    barrier = threading.Barrier(4)

    def search(number: int) -> None:
        barrier.wait()
        client.search_albums(f"thread {number} ferry")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(search, range(4)))
    calls = fake.calls("musicbrainz")
    assert [c.status for c in calls] == [200] * 4
    assert min(gaps([c.at for c in calls])) >= SPACING


def test_processes_share_the_slot(provider_db, fake, session, database_url, quiet_gc):
    """A second process and this one make two calls each against the same database."""
    fake.mb_min_interval = 0.9
    limiter = RateLimiter(provider_db, "musicbrainz", 1.0)
    client = MusicBrainzClient(session, fake.musicbrainz_url, user_agent=USER_AGENT, limiter=limiter, timeout=TIMEOUT)
    command = [sys.executable, str(WORKER), database_url, fake.musicbrainz_url, USER_AGENT, "2"]
    with subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as worker:
        assert worker.stdin is not None and worker.stdout is not None
        try:
            assert worker.stdout.readline().strip() == "ready"
            worker.stdin.write("go\n")
            worker.stdin.flush()
            for number in range(2):
                client.search_albums(f"main {number} ferry")
            assert worker.stdout.readline().strip() == "done"
            assert worker.wait(timeout=20) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
    calls = fake.calls("musicbrainz")
    seen = [(c["query"].split("(")[2].split()[0], c.status, round(c.at - calls[0].at, 3)) for c in calls]
    assert [status for _, status, _ in seen] == [200] * 4, seen
    assert sorted(who for who, _, _ in seen) == ["main", "main", "worker", "worker"], seen
    assert min(gaps([c.at for c in calls])) >= SPACING, seen
