"""HTTP plumbing shared by the provider clients: sessions, retries, JSON decoding.

Retries are done here rather than by urllib3's `Retry` so that every attempt, retries
included, can first wait for a rate-limit slot (MusicBrainz: one request per second
across all app processes) and so that the total wait stays bounded. The policy:

* only 429 and 5xx answers are retried, at most `retries` times (2 by default);
* a `Retry-After` header is honoured when it asks for at most `max_retry_after` seconds
  (3 by default); a server asking for longer gets no retry at all: the caller fails at
  once with ProviderUnavailable instead of holding a page open;
* without `Retry-After` the waits are `backoff`, then twice that (0.5 s, 1 s);
* the waits of one call never add up to more than `budget` seconds (5 by default);
* timeouts and refused connections are not retried: with (3.05, 6) second timeouts a
  call gives up within seconds, and a retry would only double that.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, is_dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urljoin

import requests
from requests.adapters import HTTPAdapter

from webapp.providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)

if TYPE_CHECKING:
    from webapp.providers.cache import ResponseCache

T = TypeVar("T")

DEFAULT_USER_AGENT = "Marquee/0.1 ( https://github.com/marquee-app )"
# (connect, read) seconds. Every request states its timeout: requests has none by default.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 6.0)

Timeout = tuple[float, float]
MAX_REDIRECTS = 3


def make_session(user_agent: str = DEFAULT_USER_AGENT, *, pool_size: int = 10) -> requests.Session:
    """A session that identifies Marquee and asks for JSON. Retries are `send()`'s job."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    session.headers["Accept"] = "application/json"
    return session


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    statuses: frozenset[int] = field(default=frozenset({429, 500, 502, 503, 504}))
    backoff: float = 0.5
    max_retry_after: float = 3.0
    budget: float = 5.0


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(retries=0)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (moment - now).total_seconds())


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    provider: str,
    timeout: Timeout,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    pace: Callable[[], None] | None = None,
    allow_redirects: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> requests.Response:
    """One request with the retry policy above; `pace()` runs before every attempt.

    Returns the last response whatever its status; raises ProviderUnavailable when the
    server cannot be reached or does not answer within the timeout."""
    waited = 0.0
    attempt = 0
    while True:
        if pace is not None:
            pace()
        response = _attempt(session, method, url, provider, timeout, params, headers, allow_redirects)
        if response.status_code not in retry.statuses or attempt >= retry.retries:
            return response
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if delay is None:
            delay = retry.backoff * 2**attempt
        elif delay > retry.max_retry_after:
            return response
        if waited + delay > retry.budget:
            return response
        response.close()
        sleep(delay)
        waited += delay
        attempt += 1


def _attempt(
    session: requests.Session,
    method: str,
    url: str,
    provider: str,
    timeout: Timeout,
    params: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None,
    allow_redirects: bool,
) -> requests.Response:
    # The exceptions' own text contains the URL, and so any api_key in its query
    # string: the error keeps only the exception's class name, and drops its cause.
    try:
        return session.request(
            method, url, params=params, headers=headers, timeout=timeout, allow_redirects=allow_redirects
        )
    except requests.Timeout:
        raise ProviderUnavailable(provider, detail="timed out") from None
    except requests.TooManyRedirects:
        raise ProviderBadResponse(provider, detail="too many redirects") from None
    except requests.RequestException as exc:
        raise ProviderUnavailable(provider, detail=type(exc).__name__) from None


def decode_json(response: requests.Response, provider: str) -> Any:
    """The JSON body, or ProviderBadResponse for HTML pages, garbage and truncated JSON."""
    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type:
        raise ProviderBadResponse(provider, detail=f"HTTP {response.status_code} {content_type}")
    try:
        return json.loads(response.content)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise ProviderBadResponse(provider, detail=f"HTTP {response.status_code}: not JSON") from None


def try_json(response: requests.Response) -> Any:
    """The JSON body of an error answer if it has one, else None (never raises)."""
    if "html" in response.headers.get("Content-Type", "").lower():
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def error_for_status(response: requests.Response, provider: str, detail: str = "") -> ProviderError:
    """The ProviderError that a non-success HTTP status stands for."""
    status = response.status_code
    detail = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status in (401, 403):
        return ProviderAuthError(provider, detail=detail)
    if status in (404, 410):
        return ProviderNotFound(provider, detail=detail)
    if status == 429 or status >= 500:
        return ProviderUnavailable(provider, detail=detail)
    return ProviderBadResponse(provider, detail=detail)


def cache_key(prefix: str, path: str, params: Mapping[str, Any]) -> str:
    """A stable key for a request (credentials must not be in `params`), ≤ 255 chars."""
    query = urlencode(sorted((k, str(v)) for k, v in params.items() if v is not None))
    key = f"{prefix}:{path.strip('/')}" + (f"?{query}" if query else "")
    if len(key) > 255:
        key = f"{key[:190]}#{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def normalise_query(text: str) -> str:
    """Search text as sent and cached: trimmed, single spaces, case-folded."""
    return " ".join(text.split()).casefold()


class JsonApi:
    """What the TMDB, MusicBrainz and OMDb clients share: GET a JSON document, check
    it, and keep it in the response cache. Subclasses set `name` (shown to users) and
    `cache_prefix`, and implement `check()`; credentials go in `auth_params()` or
    `auth_headers()`, which are sent but never part of a cache key."""

    name = "The catalog service"
    cache_prefix = "api"

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        cache: ResponseCache | None = None,
        pace: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self.cache = cache
        self.pace = pace

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, params: Mapping[str, Any], *, ttl: float, parse: Callable[[Any], T]) -> T:
        """GET `path` through the cache and parse it; a stale copy sets `stale=True` on
        the parsed dataclass. The payload is parsed before it is cached, so an answer
        that cannot be parsed is never kept."""

        def fetch() -> Any:
            payload = self.fetch_json(path, params)
            parse_payload(parse, payload, self.name)
            return payload

        if self.cache is None:
            return parse_payload(parse, fetch(), self.name)
        key = cache_key(self.cache_prefix, path, params)
        cached = self.cache.get_or_fetch(key, ttl, fetch, provider=self.name)
        result = parse_payload(parse, cached.payload, self.name)
        if cached.stale and is_dataclass(result) and hasattr(result, "stale"):
            result = replace(result, stale=True)  # type: ignore[type-var]
        return result

    def fetch_json(self, path: str, params: Mapping[str, Any]) -> Any:
        # With pacing, redirects are followed here so that every hop waits for its slot.
        url: str = self.url(path)
        query: Mapping[str, Any] | None = {**params, **self.auth_params()}
        for _ in range(MAX_REDIRECTS + 1):
            response = send(
                self.session,
                "GET",
                url,
                provider=self.name,
                timeout=self.timeout,
                params=query,
                headers=self.auth_headers(),
                retry=self.retry,
                pace=self.pace,
                allow_redirects=self.pace is None,
            )
            location = response.headers.get("Location")
            if not (response.is_redirect and location):
                return self.check(response)
            url, query = urljoin(response.url or url, location), None
            response.close()
        raise ProviderBadResponse(self.name, detail="too many redirects")

    def check(self, response: requests.Response) -> Any:
        """The payload of a response, or the ProviderError it stands for."""
        if response.status_code != 200:
            raise error_for_status(response, self.name)
        return decode_json(response, self.name)

    def auth_params(self) -> dict[str, str]:
        return {}

    def auth_headers(self) -> dict[str, str]:
        return {}


def parse_payload(parse: Callable[[Any], T], payload: Any, provider: str) -> T:
    """`parse(payload)`, with a missing field or a wrong type as ProviderBadResponse."""
    try:
        return parse(payload)
    except ProviderError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ProviderBadResponse(provider, detail=f"unexpected shape: {type(exc).__name__}: {exc}") from None
