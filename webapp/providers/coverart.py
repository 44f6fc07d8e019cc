"""Cover Art Archive: the front cover of a release group.

`/release-group/{mbid}/front-250` answers 307 with the image's address in `Location`;
the client reads that address (HEAD, redirects not followed) and never downloads the
image. 404 means "no cover" and gives None. Error bodies are HTML pages and are never
parsed as JSON. The image index (`/release-group/{mbid}`, JSON after a redirect) is
available too, for the larger sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests

from webapp.providers.cache import DETAILS_TTL
from webapp.providers.errors import ProviderNotFound
from webapp.providers.http import JsonApi, cache_key, decode_json, error_for_status, send
from webapp.providers.musicbrainz import MBID

DEFAULT_API_URL = "https://coverartarchive.org"
SIZES = (250, 500, 1200)


@dataclass(frozen=True)
class CoverImage:
    id: str
    image: str
    front: bool
    back: bool
    types: tuple[str, ...]
    # "250", "500", "1200" and the legacy "small" (= 250) and "large" (= 500).
    thumbnails: dict[str, str] = field(default_factory=dict, hash=False)

    def thumbnail(self, size: int = 250) -> str:
        legacy = {250: "small", 500: "large"}.get(size, "")
        return self.thumbnails.get(str(size)) or self.thumbnails.get(legacy) or self.image


@dataclass(frozen=True)
class CoverIndex:
    release: str  # the MusicBrainz URL of the release the images belong to
    images: tuple[CoverImage, ...]
    stale: bool = False

    @property
    def front(self) -> CoverImage | None:
        return next((image for image in self.images if image.front), None)


def parse_image_index(data: dict[str, Any] | None) -> CoverIndex | None:
    if data is None:
        return None
    return CoverIndex(
        release=data["release"],
        images=tuple(
            CoverImage(
                id=str(item["id"]),  # a number, or a string in older entries
                image=item["image"],
                front=bool(item.get("front")),
                back=bool(item.get("back")),
                types=tuple(item.get("types") or ()),
                thumbnails={str(k): v for k, v in (item.get("thumbnails") or {}).items()},
            )
            for item in data["images"]
        ),
    )


def front_url_from_response(response: requests.Response, provider: str = "Cover Art Archive") -> str | None:
    """The image address from a front-cover answer: the redirect's Location (or the
    URL itself when a server sends the image directly); None on 404."""
    if response.is_redirect and response.headers.get("Location"):
        return urljoin(response.url, response.headers["Location"])
    if response.status_code == 200:
        return response.url
    if response.status_code == 404:
        return None
    raise error_for_status(response, provider)


def check_response(response: requests.Response, provider: str = "Cover Art Archive") -> Any:
    """The JSON of an image index, None for 404 (no cover art: a valid, cacheable
    answer), else the ProviderError. Error bodies are HTML and are not read."""
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise error_for_status(response, provider)
    return decode_json(response, provider)


class CoverArtClient(JsonApi):
    name = "Cover Art Archive"
    cache_prefix = "caa"

    def check(self, response: requests.Response) -> Any:
        return check_response(response, self.name)

    def front_url(self, release_group_mbid: str, size: int = 250) -> str | None:
        """The address of the group's front cover at `size` px, or None if it has none."""
        if size not in SIZES:
            raise ValueError(f"Cover Art Archive sizes are {SIZES}")
        path = f"release-group/{self._mbid(release_group_mbid)}/front-{size}"

        def fetch() -> dict[str, str | None]:
            response = send(
                self.session,
                "HEAD",
                self.url(path),
                provider=self.name,
                timeout=self.timeout,
                retry=self.retry,
                pace=self.pace,
                allow_redirects=False,
            )
            return {"url": self._secure(front_url_from_response(response, self.name))}

        if self.cache is None:
            return fetch()["url"]
        cached = self.cache.get_or_fetch(cache_key(self.cache_prefix, path, {}), DETAILS_TTL, fetch, provider=self.name)
        return cached.payload["url"]

    def release_group_images(self, release_group_mbid: str) -> CoverIndex | None:
        """All images of the release chosen as the group's cover, or None."""
        path = f"release-group/{self._mbid(release_group_mbid)}"
        return self.get(path, {}, ttl=DETAILS_TTL, parse=parse_image_index)

    def _secure(self, url: str | None) -> str | None:
        # The archive answers http:// addresses; a page served over https wants https.
        if url and url.startswith("http://") and self.base_url.startswith("https://"):
            return "https://" + url[len("http://") :]
        return url

    def _mbid(self, mbid: str) -> str:
        mbid = mbid.strip().lower()
        if not MBID.fullmatch(mbid):
            raise ProviderNotFound(self.name, detail=f"not an MBID: {mbid[:40]!r}")
        return mbid
