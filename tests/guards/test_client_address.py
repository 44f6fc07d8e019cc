"""Limits count per real client: search per address and User-Agent (a search without a
User-Agent is refused), and X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import make_app


def limited(database_url, **extra):
    return make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                    RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex}", RATELIMIT_SEARCH="3 per minute",
                    RATELIMIT_LOGIN="3 per minute", **extra)


def search(client, *, agent="Browser/1.0", address="203.0.113.7", forwarded=None, path="/search?q=harbour"):
    headers = {"User-Agent": agent}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": address}).status_code


def login(client, *, address="203.0.113.7", forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/login", data={"login": "nobody", "password": "wrong"}, headers=headers,
                       environ_base={"REMOTE_ADDR": address}).status_code


def test_search_without_a_user_agent_is_refused_with_a_reason(app, database_url):
    client = limited(database_url).test_client()
    for path in ("/search?q=harbour", "/search", "/search/albums?q=harbour"):
        response = client.get(path, headers={"User-Agent": ""})
        assert response.status_code == 400
        assert "Search needs a User-Agent header" in response.get_data(as_text=True)
    assert search(client, path="/search") == 200


def test_search_is_throttled_per_address_and_user_agent(app, database_url):
    client = limited(database_url).test_client()
    assert [search(client) for _ in range(4)] == [200, 200, 200, 429]
    assert search(client, agent="OtherBrowser/2.0") == 200  # same address, another program
    assert search(client, address="198.51.100.9") == 200  # another address, same program
    assert search(client, path="/search/albums?q=harbour") == 200  # the album fragment has its own count
    # Every other read stays free.
    assert all(client.get("/catalog", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 200
               for _ in range(5))


@pytest.mark.parametrize("send", [search, login], ids=["search", "login"])
def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_a_limit(app, database_url, send):
    client = limited(database_url).test_client()  # TRUSTED_PROXY_HOPS defaults to 0
    codes = [send(client, forwarded=f"192.0.2.{i}") for i in range(4)]
    assert codes[:3] != [429] * 3 and codes[3] == 429


@pytest.mark.parametrize("send", [search, login], ids=["search", "login"])
def test_behind_one_trusted_proxy_limits_apply_per_forwarded_address(app, database_url, send):
    client = limited(database_url, TRUSTED_PROXY_HOPS=1).test_client()
    proxy = "10.0.0.2"  # every request arrives from the proxy
    assert [send(client, address=proxy, forwarded="192.0.2.1") for _ in range(4)][3] == 429
    assert send(client, address=proxy, forwarded="192.0.2.2") != 429  # another client behind it
    # A client's own X-Forwarded-For is the leftmost: only the proxy's entry counts.
    assert send(client, address=proxy, forwarded="198.51.100.1, 192.0.2.1") == 429


def test_trusted_proxy_hops_must_be_a_number(app, database_url, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "yes")
    with pytest.raises(RuntimeError, match="TRUSTED_PROXY_HOPS"):
        make_app(database_url)
