"""The Cover Art Archive client: front covers by redirect, HTML errors, the image index."""

from __future__ import annotations

import pytest
import requests

from tests.providers.conftest import R_FIRST_OFFICIAL, RG_NIGHT_FERRY, RG_NO_RELEASES, RG_TIDEWATER
from webapp.providers.coverart import CoverArtClient, front_url_from_response
from webapp.providers.errors import ProviderAuthError, ProviderBadResponse, ProviderNotFound, ProviderUnavailable


def test_front_cover_is_read_from_the_redirect(coverart, fake):
    url = coverart.front_url(RG_TIDEWATER)
    assert url == (
        f"{fake.url}/images/caa/mbid-{R_FIRST_OFFICIAL}/mbid-{R_FIRST_OFFICIAL}-31000000001_thumb250.jpg"
    )
    [call] = fake.calls("coverart")
    assert (call.method, call.path, call.status) == ("HEAD", f"/release-group/{RG_TIDEWATER}/front-250", 307)
    assert requests.get(url, timeout=5).headers["Content-Type"] == "image/png"  # the fake's placeholder


def test_other_sizes(coverart, fake):
    assert coverart.front_url(RG_TIDEWATER, size=500).endswith("_thumb500.jpg")
    with pytest.raises(ValueError):
        coverart.front_url(RG_TIDEWATER, size=300)


def test_no_cover_is_none(coverart, fake):
    assert coverart.front_url(RG_NO_RELEASES) is None
    assert fake.calls("coverart")[-1].status == 404


def test_covers_and_their_absence_are_cached(fake, session, cache):
    client = CoverArtClient(session, fake.coverart_url, cache=cache)
    for _ in range(2):
        assert client.front_url(RG_TIDEWATER) is not None
        assert client.front_url(RG_NO_RELEASES) is None
    assert len(fake.calls("coverart")) == 2


def test_a_malformed_mbid_is_not_sent(coverart, fake):
    with pytest.raises(ProviderNotFound):
        coverart.front_url("xyz")
    assert fake.calls() == []


@pytest.mark.parametrize(
    ("mode", "error", "calls"),
    [
        ("503", ProviderUnavailable, 3),
        ("500", ProviderUnavailable, 3),
        ("429", ProviderUnavailable, 3),
        ("timeout", ProviderUnavailable, 1),
        ("403", ProviderAuthError, 1),
    ],
)
def test_html_error_pages_become_provider_errors(coverart, fake, mode, error, calls):
    fake.fail("coverart", mode, retry_after="0")
    with pytest.raises(error):
        coverart.front_url(RG_TIDEWATER)
    assert len(fake.calls("coverart")) == calls


def test_the_html_400_is_a_bad_response_not_a_json_error():
    response = requests.Response()
    response.status_code = 400
    response.headers["Content-Type"] = "text/html"
    response._content = b"<title>400 Bad Request</title><p>invalid MBID specified</p>"
    response.url = "https://coverartarchive.org/release-group/xyz/front-250"
    with pytest.raises(ProviderBadResponse) as caught:
        front_url_from_response(response)
    assert caught.value.detail == "HTTP 400"


def test_http_image_addresses_become_https_behind_an_https_archive(session):
    secure = CoverArtClient(session, "https://coverartarchive.example")
    assert secure._secure("http://archive.example/x.jpg") == "https://archive.example/x.jpg"
    plain = CoverArtClient(session, "http://127.0.0.1:9")
    assert plain._secure("http://127.0.0.1:9/x.jpg") == "http://127.0.0.1:9/x.jpg"


def test_the_image_index_follows_the_redirect(coverart, fake):
    index = coverart.release_group_images(RG_TIDEWATER)
    assert index is not None
    assert index.release.endswith(R_FIRST_OFFICIAL)
    assert [(image.id, image.front, image.types) for image in index.images] == [
        ("31000000001", True, ("Front",)),
        ("31000000002", False, ("Back", "Tray")),
    ]
    assert index.front is not None and index.front.thumbnail(500).endswith("31000000001-500.jpg")
    assert [c.status for c in fake.calls()] == [307, 200]


def test_legacy_thumbnails(coverart):
    index = coverart.release_group_images(RG_NIGHT_FERRY)
    assert index is not None and index.front is not None
    assert index.front.id == "31000000004"
    assert index.front.thumbnail(250).endswith("-250.jpg")  # from "small"
    assert index.front.thumbnail(1200) == index.front.image  # no such size: the original


def test_no_index_is_none(coverart):
    assert coverart.release_group_images(RG_NO_RELEASES) is None
