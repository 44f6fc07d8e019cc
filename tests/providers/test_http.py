"""The shared HTTP plumbing: retries honouring Retry-After, timeouts, JSON decoding."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests

from tests.fakes.providers import FakeProviders
from tests.providers.conftest import TIMEOUT
from webapp.providers.errors import ProviderBadResponse, ProviderUnavailable
from webapp.providers.http import (
    DEFAULT_USER_AGENT,
    RetryPolicy,
    cache_key,
    decode_json,
    make_session,
    normalise_query,
    retry_after_seconds,
    send,
)
from webapp.providers.tmdb import TmdbClient

PROVIDERS_DIR = Path(__file__).resolve().parents[2] / "webapp" / "providers"


def search(fake: FakeProviders, session: requests.Session, retry: RetryPolicy) -> requests.Response:
    return send(
        session,
        "GET",
        f"{fake.tmdb_url}/search/movie",
        provider="TMDB",
        timeout=TIMEOUT,
        params={"query": "harbour"},
        headers={"Authorization": f"Bearer {fake.tmdb_token}"},
        retry=retry,
    )


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), (" 0 ", 0.0), ("1.5", 1.5), ("-4", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_in_seconds(header, seconds):
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_http_date():
    now = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=2), usegmt=True), now) == 2.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=9), usegmt=True), now) == 0.0


def test_a_429_is_retried_after_the_retry_after_it_sends(fake, session):
    fake.fail("tmdb", "429", times=1, retry_after="1")
    started = time.monotonic()
    response = search(fake, session, RetryPolicy())
    assert response.status_code == 200
    calls = fake.calls("tmdb")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.95
    assert time.monotonic() - started < 3


def test_at_most_two_retries_then_the_last_answer(fake, session):
    fake.fail("tmdb", "503", retry_after="0")
    response = search(fake, session, RetryPolicy())
    assert response.status_code == 503
    assert len(fake.calls("tmdb")) == 3


def test_a_long_retry_after_is_not_waited_for(fake, session):
    fake.fail("tmdb", "429", retry_after="120")
    started = time.monotonic()
    response = search(fake, session, RetryPolicy())
    assert response.status_code == 429
    assert len(fake.calls("tmdb")) == 1
    assert time.monotonic() - started < 1


def test_backoff_without_retry_after_and_a_total_budget(fake, session):
    fake.fail("tmdb", "500")
    slept: list[float] = []
    policy = RetryPolicy(retries=5, backoff=0.25, budget=1.0)
    response = send(
        session,
        "GET",
        f"{fake.tmdb_url}/configuration",
        provider="TMDB",
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {fake.tmdb_token}"},
        retry=policy,
        sleep=slept.append,
    )
    assert response.status_code == 500
    assert slept == [0.25, 0.5]  # the next wait (1.0) would go past the 1 s budget
    assert len(fake.calls("tmdb")) == 3


def test_client_errors_are_not_retried(fake, session):
    fake.fail("tmdb", "404")
    assert search(fake, session, RetryPolicy()).status_code == 404
    assert len(fake.calls("tmdb")) == 1


def test_pace_runs_before_every_attempt(fake, session):
    fake.fail("tmdb", "503", times=2, retry_after="0")
    paced: list[float] = []
    send(
        session,
        "GET",
        f"{fake.tmdb_url}/configuration",
        provider="TMDB",
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {fake.tmdb_token}"},
        pace=lambda: paced.append(time.monotonic()),
    )
    assert len(paced) == len(fake.calls("tmdb")) == 3


def test_a_timeout_is_unavailable_and_not_retried(fake, session):
    fake.fail("tmdb", "timeout")
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as caught:
        search(fake, session, RetryPolicy())
    assert time.monotonic() - started < fake.timeout_delay
    assert len(fake.calls("tmdb")) == 1
    assert "TMDB is not answering" in caught.value.message


def test_a_refused_connection_is_unavailable_and_leaks_no_credentials(session):
    with FakeProviders() as down:
        url = down.tmdb_url
    client = TmdbClient(session, url, api_key="secret-key-123", timeout=TIMEOUT)
    with pytest.raises(ProviderUnavailable) as caught:
        client.search("harbour")
    error = caught.value
    assert "secret-key-123" not in str(error) and "secret-key-123" not in repr(error.args)
    assert error.__cause__ is None and error.__suppress_context__


def test_session_identifies_marquee():
    with make_session() as session:
        assert session.headers["User-Agent"] == DEFAULT_USER_AGENT
        assert session.headers["Accept"] == "application/json"
    with make_session("Other/2.0 ( ops@example.com )") as session:
        assert session.headers["User-Agent"] == "Other/2.0 ( ops@example.com )"


def _response(body: bytes, content_type: str, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = content_type
    response._content = body
    return response


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<!doctype html><title>502</title>", "text/html; charset=utf-8"),
        (b'{"page": 1, "results": [', "application/json"),
        (b"", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b'{"ok": true}', "text/html"),  # HTML by its label is never parsed
    ],
)
def test_garbage_and_html_are_bad_responses(body, content_type):
    with pytest.raises(ProviderBadResponse) as caught:
        decode_json(_response(body, content_type), "TMDB")
    assert caught.value.message == "TMDB sent an answer Marquee could not read."


def test_json_is_decoded_whatever_its_charset_label():
    assert decode_json(_response('{"name": "Ørland"}'.encode(), "application/json"), "X") == {"name": "Ørland"}


def test_cache_keys_are_stable_and_short():
    assert cache_key("tmdb", "/search/multi", {"query": "alien", "page": 1}) == cache_key(
        "tmdb", "search/multi", {"page": 1, "query": "alien", "year": None}
    )
    assert cache_key("tmdb", "configuration", {}) == "tmdb:configuration"
    long = cache_key("tmdb", "search/multi", {"query": "x" * 600})
    assert len(long) <= 255
    assert long != cache_key("tmdb", "search/multi", {"query": "x" * 601})


def test_queries_are_normalised():
    assert normalise_query("  The   Harbour\tLIGHTS ") == "the harbour lights"


def test_provider_modules_import_nothing_from_flask():
    for path in sorted(PROVIDERS_DIR.glob("*.py")):
        if path.name == "models.py":  # the tables, for the app's migrations
            continue
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")):
                assert "flask" not in stripped.lower(), f"{path.name}: {stripped}"
                assert "webapp.db" not in stripped, f"{path.name}: {stripped}"
