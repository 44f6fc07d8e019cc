"""Contract tests: every real response captured under ../shared/apidata (next to the
repository) goes through the same checks and parsers the clients use.

Each captured body becomes a `requests.Response` with the status and headers recorded
beside it (`<name>.headers.json`), or, where none were recorded, the status its file
name or SOURCES.md gives. A file no rule below knows about fails, so that a new capture
gets a parser check too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from webapp.providers import coverart, musicbrainz, omdb, tmdb
from webapp.providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderNotFound,
    ProviderUnavailable,
)
from webapp.providers.http import decode_json, retry_after_seconds

REPO = Path(__file__).resolve().parents[2]
APIDATA = (REPO / ".." / "shared" / "apidata").resolve()

# OMDb errors come without recorded headers; SOURCES.md gives their HTTP status.
OMDB_STATUS = {"invalid_api_key": 401, "no_api_key": 401, "request_limit_reached": 401}


def captured_files() -> list[Any]:
    if not APIDATA.is_dir():
        reason = "../shared/apidata (the captured API responses) is absent"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason))]
    # imports/ holds files people upload (Letterboxd, IMDb, Trakt exports), not provider
    # answers: the importers' own tests read those.
    files = sorted(
        p for p in APIDATA.rglob("*")
        if p.is_file() and p.suffix != ".md" and p.relative_to(APIDATA).parts[0] != "imports"
    )
    return [pytest.param(p, id=str(p.relative_to(APIDATA))) for p in files]


def headers_file(body: Path) -> Path:
    stem = body.name.split(".")[0]
    return body.with_name(f"{stem}.headers.json")


def captured_response(body: Path) -> requests.Response:
    """The capture as the clients would receive it."""
    response = requests.Response()
    recorded = headers_file(body)
    if recorded.is_file():
        meta = json.loads(recorded.read_text())
        response.status_code = int(meta["status"])
        response.headers = CaseInsensitiveDict(dict(meta["headers"]))
        response.url = meta["request"]["url"]
    else:
        match = re.match(r"error_(\d{3})_", body.name)
        name = body.stem.removeprefix("error_")
        response.status_code = int(match.group(1)) if match else OMDB_STATUS.get(name, 200)
        kind = {".json": "application/json", ".html": "text/html", ".txt": "text/plain"}[body.suffix]
        response.headers = CaseInsensitiveDict({"Content-Type": kind})
        response.url = "https://provider.invalid/"
    response._content = body.read_bytes()
    return response


def expect_error(
    error: type[ProviderError], check: Callable[[requests.Response], Any], response: requests.Response
) -> None:
    with pytest.raises(error) as caught:
        check(response)
    assert type(caught.value) is error
    assert caught.value.message  # something to show on the page


# -- TMDB ---------------------------------------------------------------------------


def tmdb_search(kind: str) -> Callable[[requests.Response], None]:
    def check(response: requests.Response) -> None:
        data = tmdb.check_response(response)
        page = tmdb.parse_search(data, kind, "https://image.example/t/p/w342")
        raw = data["results"]
        expected = [r for r in raw if r.get("media_type") in ("movie", "tv")] if kind == "multi" else raw
        assert len(page.results) == len(expected)
        assert all(hit.kind in ("movie", "tv") and hit.title and hit.tmdb_id > 0 for hit in page.results)
        assert all((hit.poster_url is None) == (hit.poster_path is None) for hit in page.results)
        assert page.page >= 1 and page.total_results >= len(page.results)

    return check


def tmdb_details(kind: str) -> Callable[[requests.Response], None]:
    def check(response: requests.Response) -> None:
        data = tmdb.check_response(response)
        title = tmdb.parse_details(data, kind)
        assert title.title and title.tmdb_id == data["id"]
        assert all(g for g in title.genres)
        if "credits" in data:
            assert title.directors and title.cast
            assert [p.order for p in title.cast] == sorted(p.order for p in title.cast)
            assert len({p.tmdb_id for p in title.writers}) == len(title.writers)
        if kind == "movie":
            assert title.imdb_id and title.imdb_id.startswith("tt")
            assert title.runtime_minutes and title.release_date

    return check


def tmdb_credits(response: requests.Response) -> None:
    directors, writers, cast = tmdb.parse_credits(tmdb.check_response(response))
    assert [p.job for p in directors] == ["Director"] * len(directors) and directors
    assert writers and cast
    assert [p.order for p in cast] == sorted(p.order for p in cast)


def tmdb_configuration(response: requests.Response) -> None:
    config = tmdb.parse_image_config(tmdb.check_response(response))
    assert config.secure_base_url.startswith("https://")
    assert config.poster_base().endswith("/w342")


def tmdb_error(response: requests.Response) -> None:
    error = {401: ProviderAuthError, 404: ProviderNotFound, 422: ProviderBadResponse, 429: ProviderUnavailable}
    expect_error(error[response.status_code], tmdb.check_response, response)


# -- MusicBrainz --------------------------------------------------------------------


def mb_search(key: str, parse: Callable[[dict[str, Any]], Any]) -> Callable[[requests.Response], None]:
    def check(response: requests.Response) -> None:
        data = musicbrainz.check_response(response)
        page = musicbrainz.parse_search(data, key, parse)
        assert len(page.results) == len(data[key]) and page.count >= len(page.results)
        for hit in page.results:
            assert hit.mbid and (getattr(hit, "title", None) or getattr(hit, "name", None))
        if key == "release-groups":
            assert all(hit.artist_credit and isinstance(hit.score, int) for hit in page.results)

    return check


def mb_release(response: requests.Response) -> None:
    data = musicbrainz.check_response(response)
    release = musicbrainz.parse_release(data)
    assert release.mbid == data["id"] and release.title
    assert len(release.tracks) == sum(m["track-count"] for m in data["media"]) == release.track_count
    assert all(t.title and t.position >= 1 for t in release.tracks)
    assert all(t.length_seconds is None or t.length_seconds > 0 for t in release.tracks)
    assert release.has_front_cover is not None
    if "artist-credit" in data:
        assert release.artist_credit


def mb_artist(response: requests.Response) -> None:
    data = musicbrainz.check_response(response)
    artist = musicbrainz.parse_artist(data)
    assert artist.mbid == data["id"] and artist.name and artist.sort_name


def mb_error(response: requests.Response) -> None:
    error = {400: ProviderBadResponse, 403: ProviderAuthError, 404: ProviderNotFound, 503: ProviderUnavailable}
    expect_error(error[response.status_code], musicbrainz.check_response, response)


def mb_redirect(response: requests.Response) -> None:
    # requests follows the 301 (or, with pacing, JsonApi does); the target's body is JSON.
    assert response.is_redirect and musicbrainz.MBID.search(response.headers["Location"])
    response.status_code = 200
    assert musicbrainz.check_response(response)["id"] in response.headers["Location"]


# -- Cover Art Archive --------------------------------------------------------------


def caa_index(response: requests.Response) -> None:
    index = coverart.parse_image_index(coverart.check_response(response))
    assert index is not None and index.images and index.release
    for image in index.images:
        assert image.id and image.image and image.thumbnail(250) and image.thumbnail(500)
    assert index.front is not None


def caa_redirect(response: requests.Response) -> None:
    assert coverart.front_url_from_response(response) == response.headers["Location"]


def caa_error(response: requests.Response) -> None:
    with pytest.raises(ProviderBadResponse):
        decode_json(response, "Cover Art Archive")  # HTML, never parsed as JSON
    if response.status_code == 404:
        assert coverart.front_url_from_response(response) is None
        assert coverart.check_response(response) is None
    else:
        expect_error(ProviderBadResponse, coverart.front_url_from_response, response)


# -- OMDb ---------------------------------------------------------------------------


def omdb_title(response: requests.Response) -> None:
    title = omdb.parse_title(omdb.check_response(response))
    assert title.imdb_id.startswith("tt") and title.title
    assert title.imdb_rating is None or 0 <= title.imdb_rating <= 10
    assert title.runtime_minutes and title.genres and title.released


def omdb_search(response: requests.Response) -> None:
    page = omdb.parse_search(omdb.check_response(response))
    assert len(page.results) == 10 and page.total_results > 10


def omdb_error(response: requests.Response) -> None:
    error = type(omdb.error_from_message(json.loads(response.content)["Error"]))
    assert error in (ProviderAuthError, ProviderNotFound, ProviderUnavailable)
    expect_error(error, omdb.check_response, response)


def headers_only(path: Path) -> None:
    meta = json.loads(path.read_text())
    assert isinstance(meta["status"], int) and meta["request"]["method"] in ("GET", "HEAD")
    headers = CaseInsensitiveDict(dict(meta["headers"]))
    assert "Content-Type" in headers
    if meta["status"] in (301, 302, 307):
        assert headers["Location"].startswith("http")
    if "Retry-After" in headers:
        assert retry_after_seconds(headers["Retry-After"]) is not None


RULES: list[tuple[str, Callable[[requests.Response], None]]] = [
    (r"tmdb/search_multi.*\.json", tmdb_search("multi")),
    (r"tmdb/search_movie.*\.json", tmdb_search("movie")),
    (r"tmdb/search_tv.*\.json", tmdb_search("tv")),
    (r"tmdb/movie_details.*\.json", tmdb_details("movie")),
    (r"tmdb/tv_details.*\.json", tmdb_details("tv")),
    (r"tmdb/movie_credits\.json", tmdb_credits),
    (r"tmdb/configuration.*\.json", tmdb_configuration),
    (r"tmdb/error_\d{3}_.*\.json", tmdb_error),
    (r"musicbrainz/release_group_search\.json", mb_search("release-groups", musicbrainz.parse_release_group)),
    (r"musicbrainz/release_search.*\.json", mb_search("releases", musicbrainz.parse_release)),
    (r"musicbrainz/artist_search.*\.json", mb_search("artists", musicbrainz.parse_artist)),
    (r"musicbrainz/release_lookup.*\.json", mb_release),
    (r"musicbrainz/artist_lookup.*\.json", mb_artist),
    (r"musicbrainz/error_\d{3}_.*\.json", mb_error),
    (r"musicbrainz/redirect_301_.*\.json", mb_redirect),
    (r"coverartarchive/release_.*(index.*|urls)\.json", caa_index),
    (r"coverartarchive/.*_307\..*txt", caa_redirect),
    (r"coverartarchive/error_.*\.html", caa_error),
    (r"omdb/title_by_id_.*\.json", omdb_title),
    (r"omdb/search_.*\.json", omdb_search),
    (r"omdb/error_.*\.json", omdb_error),
]


@pytest.mark.parametrize("path", captured_files())
def test_captured_response(path: Path) -> None:
    relative = path.relative_to(APIDATA).as_posix()
    if relative.endswith(".headers.json"):
        headers_only(path)
        return
    for pattern, check in RULES:
        if re.fullmatch(pattern, relative):
            check(captured_response(path))
            return
    pytest.fail(f"no contract rule for {relative}: add one to tests/providers/test_contract.py")
