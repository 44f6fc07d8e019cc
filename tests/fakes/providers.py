"""Local TMDB, MusicBrainz, Cover Art Archive and OMDb servers for the test suite.

`FakeProviders` is one WSGI app on 127.0.0.1 (a free port) in a daemon thread, serving
each provider under its own prefix, answering from `tests/fixtures/providers/`:

    /tmdb/3/…             TMDB v3 (search multi/movie/tv, movie and tv details with
                          append_to_response, configuration)
    /musicbrainz/ws/2/…   MusicBrainz (release-group search; release-group, release
                          and artist lookups; 301 for merged MBIDs)
    /coverart/…           Cover Art Archive (front[-250|-500|-1200] → 307; the
                          release-group index → 307 → /coverart-files/…/index.json)
    /omdb/                OMDb (?i=, ?s=)
    /images/…             a tiny placeholder image (posters, covers)

It is strict where the real services are: TMDB wants the token (Bearer) or api_key,
else 401 with status_code 7; MusicBrainz wants a User-Agent like "App/1.0 ( contact )",
else 403, answers XML unless asked for JSON, and refuses unknown `inc` values;
Cover Art Archive's errors are HTML; OMDb's are {"Response": "False", …}, mostly with
HTTP 200. With `mb_min_interval` set, MusicBrainz calls arriving closer together than
that get MusicBrainz's 503 "exceeding the allowable rate limit".

Tests steer it per provider ("tmdb", "musicbrainz", "coverart", "omdb"):

    fake.fail("tmdb", "429", times=1, retry_after="1")   # then normal answers again
    fake.delay["musicbrainz"] = 0.3                        # slow but successful
    fake.calls("tmdb", "/search/multi")                    # the request log

Failure modes: "timeout" (sleeps `timeout_delay` seconds before answering), "401",
"403", "404", "429", "500", "503", "503-busy" (MusicBrainz's global "server is busy",
Retry-After: 0), "malformed" (200 with truncated JSON), "html" (200 with an HTML page),
"limit" (OMDb's "Request limit reached!").

    with FakeProviders() as fake:
        providers = build_providers(fake.settings(), engine)
"""

from __future__ import annotations

import json
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from tests.fakes.server import LocalServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"
PREFIXES = {"tmdb": "/tmdb/3", "musicbrainz": "/musicbrainz/ws/2", "coverart": "/coverart", "omdb": "/omdb"}
PROVIDERS = tuple(PREFIXES)
MODES = ("timeout", "401", "403", "404", "429", "500", "503", "503-busy", "malformed", "html", "limit")

MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# "AppName/1.2.3 ( contact )", as MusicBrainz asks applications to identify themselves.
MB_USER_AGENT = re.compile(r"[^\s/]+/\S+ \( ?\S.*\)")
MB_HELP = "For usage, please see: https://musicbrainz.org/development/mmd"
MB_INC = {
    "release-group": {"artist-credits", "releases", "genres", "tags", "aliases", "ratings", "annotation", "url-rels"},
    "release": {
        "artist-credits", "recordings", "labels", "release-groups", "media", "genres", "tags", "aliases", "isrcs"
    },
    "artist": {"aliases", "genres", "tags", "release-groups", "releases", "ratings", "url-rels"},
}
MB_QUERY_WORDS = {"releasegroup", "artist", "primarytype", "album", "and", "or", "not"}

# Failure mode → (HTTP status, TMDB status_code, status_message), from TMDB's error table.
TMDB_FAILURES = {
    "401": (401, 7, "Invalid API key: You must be granted a valid key."),
    "403": (401, 3, "Authentication failed: You do not have permissions to access the service."),
    "404": (404, 34, "The resource you requested could not be found."),
    "429": (429, 25, "Your request count (41) is over the allowed limit of (40)."),
    "500": (500, 11, "Internal error: Something went wrong, contact TMDB."),
    "503": (503, 46, "The API is undergoing maintenance. Try again later."),
}

HTML_ERROR = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    "<title>{status} {reason}</title>\n<h1>{reason}</h1>\n<p>{message}</p>\n"
)
HTML_PAGE = (
    "<!doctype html>\n<html><head><title>Service Unavailable</title></head>"
    "<body><h1>Please wait…</h1></body></html>\n"
)


@dataclass
class Call:
    """One request the fake received. `path` is below the provider's prefix."""

    provider: str
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    status: int | None = None  # what the fake answered

    def __getitem__(self, key: str) -> str:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass
class Failure:
    mode: str
    times: int | None  # None: until healed
    retry_after: str | None


@dataclass
class _Route:
    provider: str
    handler: Callable[..., Response]



def _placeholder_png() -> bytes:
    """An 8×8 single-colour PNG, built here so no binary file is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((0x5B, 0x4B, 0x8A)) * 8 for _ in range(8))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class FakeProviders(LocalServer):
    """Fake TMDB, MusicBrainz, Cover Art Archive and OMDb; see the module doc."""

    tmdb_token = "fake-tmdb-read-access-token"
    tmdb_api_key = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    omdb_api_key = "fakeomdb"

    thread_name = "fake-providers"

    def __init__(self) -> None:
        super().__init__()
        self.failures: dict[str, Failure] = {}
        self.delay: dict[str, float] = {}
        self.timeout_delay = 1.0
        self.mb_min_interval: float | None = None
        self.requests: list[Call] = []
        self._lock = threading.Lock()
        self._last_mb: float | None = None
        self._image = _placeholder_png()
        self._routes = {
            "tmdb_search": _Route("tmdb", self._tmdb_search),
            "tmdb_details": _Route("tmdb", self._tmdb_details),
            "tmdb_configuration": _Route("tmdb", self._tmdb_configuration),
            "mb_search": _Route("musicbrainz", self._mb_search),
            "mb_lookup": _Route("musicbrainz", self._mb_lookup),
            "caa_front": _Route("coverart", self._caa_front),
            "caa_index": _Route("coverart", self._caa_index),
            "caa_file": _Route("coverart", self._caa_file),
            "omdb": _Route("omdb", self._omdb),
        }
        self._map = Map(
            [
                Rule("/tmdb/3/search/<any(multi, movie, tv):kind>", endpoint="tmdb_search"),
                Rule("/tmdb/3/<any(movie, tv):kind>/<int:tmdb_id>", endpoint="tmdb_details"),
                Rule("/tmdb/3/configuration", endpoint="tmdb_configuration"),
                Rule("/musicbrainz/ws/2/<any('release-group', release, artist):entity>", endpoint="mb_search"),
                Rule("/musicbrainz/ws/2/<any('release-group', release, artist):entity>/<mbid>", endpoint="mb_lookup"),
                Rule("/coverart/<any('release-group', release):entity>/<mbid>/<which>", endpoint="caa_front"),
                Rule("/coverart/<any('release-group', release):entity>/<mbid>", endpoint="caa_index"),
                Rule("/coverart-files/mbid-<mbid>/index.json", endpoint="caa_file"),
                Rule("/omdb/", endpoint="omdb"),
                Rule("/images/<path:name>", endpoint="image"),
            ]
        )

    # -- lifecycle: start/stop/with come from LocalServer ----------------------------------

    def reset(self) -> None:
        """Forget requests, failures, delays and the MusicBrainz spacing check."""
        with self._lock:
            self.requests.clear()
            self.failures.clear()
            self.delay.clear()
            self.timeout_delay = 1.0
            self.mb_min_interval = None
            self._last_mb = None

    # -- addresses and configuration -----------------------------------------------------

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("FakeProviders is not started")
        return self._url

    @property
    def tmdb_url(self) -> str:
        return self.url + PREFIXES["tmdb"]

    @property
    def musicbrainz_url(self) -> str:
        return self.url + PREFIXES["musicbrainz"]

    @property
    def coverart_url(self) -> str:
        return self.url + PREFIXES["coverart"]

    @property
    def omdb_url(self) -> str:
        return self.url + PREFIXES["omdb"] + "/"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings for `build_providers` (or an app's config) pointing at this fake."""
        return {
            "TMDB_TOKEN": self.tmdb_token,
            "TMDB_API_URL": self.tmdb_url,
            "MUSICBRAINZ_ENABLED": "1",
            "MUSICBRAINZ_API_URL": self.musicbrainz_url,
            "MUSICBRAINZ_USER_AGENT": "MarqueeTests/0.1 ( tests@example.com )",
            "COVERART_API_URL": self.coverart_url,
            "OMDB_API_KEY": self.omdb_api_key,
            "OMDB_API_URL": self.omdb_url,
            **overrides,
        }

    # -- steering and the request log ----------------------------------------------------

    def fail(self, provider: str, mode: str, *, times: int | None = None, retry_after: str | None = None) -> None:
        if provider not in PROVIDERS or mode not in MODES:
            raise ValueError(f"unknown provider or mode: {provider!r} {mode!r}")
        with self._lock:
            self.failures[provider] = Failure(mode, times, retry_after)

    def heal(self, provider: str | None = None) -> None:
        with self._lock:
            if provider is None:
                self.failures.clear()
            else:
                self.failures.pop(provider, None)

    def calls(self, provider: str | None = None, path: str | None = None) -> list[Call]:
        """Requests received, optionally for one provider and a path prefix."""
        with self._lock:
            return [
                c
                for c in self.requests
                if (provider is None or c.provider == provider) and (path is None or c.path.startswith(path))
            ]

    # -- WSGI ----------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        adapter = self._map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException as exc:
            return exc.get_response(environ)(environ, start_response)
        if endpoint == "image":
            return Response(self._image, mimetype="image/png")(environ, start_response)
        route = self._routes[endpoint]
        call = self._record(route.provider, request)
        response = self._before(route.provider, request, call)
        if response is None:
            response = route.handler(request, **values)
        call.status = response.status_code
        return response(environ, start_response)

    def _record(self, provider: str, request: Request) -> Call:
        prefix = PREFIXES[provider]
        inside = request.path == prefix or request.path.startswith(f"{prefix}/")
        path = request.path[len(prefix) :] if inside else request.path
        call = Call(
            provider=provider,
            method=request.method,
            path=path or "/",
            params=dict(request.args.items()),
            headers=dict(request.headers.items()),
            at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(call)
        return call

    def _before(self, provider: str, request: Request, call: Call) -> Response | None:
        """Credentials, User-Agent, MusicBrainz spacing, then the steered failure."""
        if provider == "musicbrainz":
            if not MB_USER_AGENT.fullmatch(request.headers.get("User-Agent", "")):
                return self._mb_error(
                    "Your requests are being throttled by MusicBrainz because the application you are using has "
                    "not identified itself. Please update your application, and see "
                    "http://musicbrainz.org/doc/XML_Web_Service/Rate_Limiting for more information.",
                    403,
                    {"x-ratelimit-who": "ua-missing"},
                )
            with self._lock:
                last, self._last_mb = self._last_mb, call.at
            if self.mb_min_interval is not None and last is not None and call.at - last < self.mb_min_interval:
                return self._mb_rate_limited("1")
        with self._lock:
            failure = self.failures.get(provider)
            if failure is not None and failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self.failures[provider]
        if failure is not None:
            if failure.mode == "timeout":
                time.sleep(self.timeout_delay)
            else:
                return self._failure(provider, failure)
        if self.delay.get(provider):
            time.sleep(self.delay[provider])
        if provider == "tmdb" and not self._tmdb_authorised(request):
            return self._tmdb_error(7, "Invalid API key: You must be granted a valid key.", 401)
        return None

    def _failure(self, provider: str, failure: Failure) -> Response:
        mode, retry_after = failure.mode, failure.retry_after
        if mode == "malformed":
            return Response('{"page": 1, "results": [{"id": 12, "title": "Trunc', mimetype="application/json")
        if mode == "html":
            return Response(HTML_PAGE, mimetype="text/html")
        if provider == "tmdb":
            status, code, message = TMDB_FAILURES.get(mode, TMDB_FAILURES["503"])
            headers = {"Retry-After": retry_after or "1"} if status in (429, 503) else None
            return self._tmdb_error(code, message, status, headers)
        if provider == "musicbrainz":
            if mode == "503":
                return self._mb_rate_limited(retry_after or "1")
            if mode == "503-busy":
                return self._mb_error(
                    "The MusicBrainz web server is currently busy. Please try again later.",
                    503,
                    {"x-ratelimit-zone": "global", "Retry-After": retry_after or "0"},
                )
            status = {"401": 401, "403": 403, "404": 404, "429": 429, "500": 500}.get(mode, 503)
            headers = {"Retry-After": retry_after or "1"} if status == 429 else None
            return self._mb_error("Not Found" if status == 404 else f"HTTP {status}", status, headers)
        if provider == "coverart":
            status = {"401": 401, "403": 403, "404": 404, "429": 429, "500": 500}.get(mode, 503)
            headers = {"Retry-After": retry_after or "1"} if status in (429, 503) else None
            message = "The service is not available." if status >= 500 else "No cover art found"
            return self._html_error(status, message, headers)
        # OMDb
        if mode == "401":
            return self._omdb_error("Invalid API key!", 401)
        if mode == "limit":
            return self._omdb_error("Request limit reached!", 401)
        if mode == "404":
            return self._omdb_error("Movie not found!")
        status = {"403": 403, "429": 429, "500": 500}.get(mode, 503)
        headers = {"Retry-After": retry_after or "1"} if status in (429, 503) else None
        return self._html_error(status, "Service unavailable", headers)

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _fixture(relative: str) -> Any | None:
        path = FIXTURES / relative
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None, *, charset: bool = True) -> Response:
        mimetype = "application/json; charset=utf-8" if charset else "application/json"
        response = Response(json.dumps(data), status=status, content_type=mimetype)
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    @staticmethod
    def _html_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        reason = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
                  500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Error")
        body = HTML_ERROR.format(status=status, reason=reason, message=message)
        response = Response(body, status=status, mimetype="text/html")
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    @staticmethod
    def _words(text: str) -> set[str]:
        return set(re.findall(r"[a-z0-9]+", text.casefold()))

    # -- TMDB ----------------------------------------------------------------------------

    def _tmdb_authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header[7:].strip() == self.tmdb_token
        return request.args.get("api_key") == self.tmdb_api_key

    def _tmdb_error(self, code: int, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
        return self._json({"success": False, "status_code": code, "status_message": message}, status, headers)

    def _tmdb_search(self, request: Request, kind: str) -> Response:
        query = request.args.get("query", "").strip()
        if not query:
            return self._json({"errors": ["query must be provided"]}, 422)
        try:
            page = int(request.args.get("page", "1"))
        except ValueError:
            page = 0
        if not 1 <= page <= 500:
            message = "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer."
            return self._tmdb_error(22, message, 400)
        data = self._fixture(f"tmdb/search_{kind}.json")
        words = self._words(query)
        data["results"] = [
            item for item in data["results"] if words & self._words(item.get("title") or item.get("name") or "")
        ]
        data["total_results"] = len(data["results"])
        data["total_pages"] = 1 if data["results"] else 0
        data["page"] = page
        if page > 1:
            data["results"] = []
        return self._json(data)

    def _tmdb_details(self, request: Request, kind: str, tmdb_id: int) -> Response:
        data = self._fixture(f"tmdb/{kind}_{tmdb_id}.json")
        if data is None:
            return self._tmdb_error(34, "The resource you requested could not be found.", 404)
        appends = [a for a in request.args.get("append_to_response", "").split(",") if a]
        if len(appends) > 20:
            message = "Too many append to response objects: The maximum number of remote calls is 20."
            return self._tmdb_error(27, message, 400)
        for name in appends:
            extra = self._fixture(f"tmdb/{kind}_{tmdb_id}_{name}.json")
            if extra is not None:
                data[name] = extra
        return self._json(data)

    def _tmdb_configuration(self, request: Request) -> Response:
        data = self._fixture("tmdb/configuration.json")
        data["images"]["base_url"] = data["images"]["secure_base_url"] = f"{self.url}/images/tmdb/"
        return self._json(data)

    # -- MusicBrainz ---------------------------------------------------------------------

    def _mb_error(self, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
        body: dict[str, str] = {"error": message}
        if status in (400, 404):
            body["help"] = MB_HELP
        return self._json(body, status, headers)

    def _mb_rate_limited(self, retry_after: str) -> Response:
        return self._mb_error(
            "Your requests are exceeding the allowable rate limit. Please see "
            "http://wiki.musicbrainz.org/XMLWebService for more information.",
            503,
            {"Retry-After": retry_after},
        )

    @staticmethod
    def _mb_wants_json(request: Request) -> bool:
        fmt = request.args.get("fmt")
        if fmt is not None:
            return fmt == "json"
        return "application/json" in request.headers.get("Accept", "")

    @staticmethod
    def _mb_xml() -> Response:
        body = '<?xml version="1.0" encoding="UTF-8"?><metadata xmlns="http://musicbrainz.org/ns/mmd-2.0#"/>'
        return Response(body, mimetype="application/xml")

    def _mb_search(self, request: Request, entity: str) -> Response:
        if not self._mb_wants_json(request):
            return self._mb_xml()
        if entity != "release-group":
            return self._mb_error("This fake only searches release groups.", 400)
        try:
            limit = int(request.args.get("limit", "25"))
            offset = int(request.args.get("offset", "0"))
        except ValueError:
            return self._mb_error("Invalid limit or offset.", 400)
        if not 1 <= limit <= 100 or offset < 0:
            return self._mb_error("Invalid limit or offset.", 400)
        data = self._fixture("musicbrainz/release_group_search.json")
        words = self._words(request.args.get("query", "")) - MB_QUERY_WORDS

        def matches(item: dict[str, Any]) -> bool:
            credit = " ".join(c.get("name", "") for c in item.get("artist-credit", []))
            return not words or bool(words & self._words(f"{item['title']} {credit}"))

        hits = [item for item in data["release-groups"] if matches(item)]
        data.update(count=len(hits), offset=offset)
        data["release-groups"] = hits[offset : offset + limit]
        return self._json(data, charset=False)

    def _mb_lookup(self, request: Request, entity: str, mbid: str) -> Response:
        if not MBID.fullmatch(mbid):
            return self._mb_error("Invalid mbid.", 400)
        for inc in filter(None, re.split(r"[+ ]", request.args.get("inc", ""))):
            if inc not in MB_INC[entity]:
                return self._mb_error(f"{inc} is not a valid inc parameter for the {entity} resource.", 400)
        merged = (self._fixture("musicbrainz/redirects.json") or {}).get(mbid)
        if merged:
            response = self._json(self._fixture(f"musicbrainz/{entity}_{merged}.json") or {}, 301)
            query = request.query_string.decode()
            response.headers["Location"] = f"{self.musicbrainz_url}/{entity}/{merged}" + (f"?{query}" if query else "")
            return response
        if not self._mb_wants_json(request):
            return self._mb_xml()
        data = self._fixture(f"musicbrainz/{entity}_{mbid}.json")
        if data is None:
            return self._mb_error("Not Found", 404)
        return self._json(data)

    # -- Cover Art Archive ---------------------------------------------------------------

    def _cover(self, entity: str, mbid: str) -> dict[str, str] | None:
        covers = self._fixture("coverartarchive/covers.json") or {}
        if entity == "release-group":
            return covers.get(mbid)
        return next((c for c in covers.values() if c["release"] == mbid), None)

    def _caa_front(self, request: Request, entity: str, mbid: str, which: str) -> Response:
        if which not in ("front", "front-250", "front-500", "front-1200", "back"):
            return self._html_error(400, f"{which} is not a valid image request")
        if not MBID.fullmatch(mbid):
            return self._html_error(400, "invalid MBID specified")
        cover = self._cover(entity, mbid)
        if cover is None or which == "back":
            label = "release group" if entity == "release-group" else "release"
            return self._html_error(404, f"No cover art found for {label} {mbid}")
        release, image = cover["release"], cover["image"]
        suffix = {"front": "", "front-250": "_thumb250", "front-500": "_thumb500", "front-1200": "_thumb1200"}[which]
        location = f"{self.url}/images/caa/mbid-{release}/mbid-{release}-{image}{suffix}.jpg"
        response = Response(f"See: {location}", status=307, content_type="text/plain; charset=utf-8")
        response.headers["Location"] = location
        return response

    def _caa_index(self, request: Request, entity: str, mbid: str) -> Response:
        if not MBID.fullmatch(mbid):
            return self._html_error(400, "invalid MBID specified")
        cover = self._cover(entity, mbid)
        if cover is None:
            label = "release group" if entity == "release-group" else "release"
            return self._html_error(404, f"No cover art found for {label} {mbid}")
        location = f"{self.url}/coverart-files/mbid-{cover['release']}/index.json"
        response = Response(f"See: {location}", status=307, content_type="text/plain; charset=utf-8")
        response.headers["Location"] = location
        return response

    def _caa_file(self, request: Request, mbid: str) -> Response:
        data = self._fixture(f"coverartarchive/release_{mbid}.json")
        if data is None:
            return self._html_error(404, "Item not found")
        return self._json(data, charset=False)

    # -- OMDb ----------------------------------------------------------------------------

    def _omdb_error(self, message: str, status: int = 200) -> Response:
        return self._json({"Response": "False", "Error": message}, status)

    def _omdb(self, request: Request) -> Response:
        key = request.args.get("apikey")
        if not key:
            return self._omdb_error("No API key provided.", 401)
        if key != self.omdb_api_key:
            return self._omdb_error("Invalid API key!", 401)
        if "i" in request.args:
            imdb_id = request.args["i"]
            if not re.fullmatch(r"tt\d{7,10}", imdb_id):
                return self._omdb_error("Incorrect IMDb ID.")
            data = self._fixture(f"omdb/{imdb_id}.json")
            return self._json(data) if data is not None else self._omdb_error("Movie not found!")
        if "s" in request.args:
            query = request.args["s"].strip()
            if len(query) < 3:
                return self._omdb_error("Too many results.")
            data = self._fixture("omdb/search.json")
            words = self._words(query)
            hits = [item for item in data["Search"] if words <= self._words(item["Title"])]
            if not hits:
                return self._omdb_error("Movie not found!")
            return self._json({"Search": hits, "totalResults": str(len(hits)), "Response": "True"})
        return self._omdb_error("Incorrect IMDb ID.")


__all__ = ["FakeProviders", "Call", "Failure", "FIXTURES", "MODES", "PROVIDERS"]
