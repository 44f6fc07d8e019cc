"""The MusicBrainz client against the fake server."""

from __future__ import annotations

from datetime import date

import pytest

from tests.providers.conftest import (
    ARTIST,
    R_FIRST_OFFICIAL,
    RG_MERGED,
    RG_NIGHT_FERRY,
    RG_NO_RELEASES,
    RG_TIDEWATER,
    RG_UNKNOWN,
    TIMEOUT,
    USER_AGENT,
)
from webapp.providers.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderNotFound,
    ProviderUnavailable,
)
from webapp.providers.musicbrainz import (
    MusicBrainzClient,
    ReleaseRef,
    album_query,
    lucene_escape,
    pick_release,
)


def test_album_search(musicbrainz, fake):
    page = musicbrainz.search_albums("Night  Ferry")
    call = fake.calls("musicbrainz")[-1]
    assert call.path == "/release-group"
    assert call["query"] == "(releasegroup:(night ferry) OR artist:(night ferry)) AND primarytype:album"
    assert (call["fmt"], call["limit"], call["offset"]) == ("json", "25", "0")
    assert call.headers["User-Agent"] == USER_AGENT
    [album] = page.results
    assert (album.mbid, album.title, album.primary_type, album.secondary_types) == (
        RG_NIGHT_FERRY,
        "Night Ferry",
        "Album",
        ("Live",),
    )
    assert album.artist_credit == "Mara Quell & The Tides"
    assert [a.name for a in album.artists] == ["Mara Quell", "The Tides"]
    assert (album.score, album.first_release_date, album.year, album.release_date) == (87, "2020", 2020, None)
    assert (page.count, page.offset, page.next_offset) == (1, 0, None)


def test_search_pages_by_offset(musicbrainz):
    first = musicbrainz.search_albums("harbour tidewater ferry", limit=2)
    assert [a.title for a in first.results] == ["Tidewater Hymns", "Night Ferry"]
    assert (first.count, first.next_offset) == (3, 2)
    second = musicbrainz.search_albums("harbour tidewater ferry", limit=2, offset=first.next_offset)
    assert [a.title for a in second.results] == ["Harbour Dub"]
    assert second.next_offset is None
    assert second.results[0].year is None


def test_album_is_the_group_and_its_first_official_release(musicbrainz, fake):
    album = musicbrainz.album(RG_TIDEWATER)
    group_call, release_call = fake.calls("musicbrainz")
    assert group_call.path == f"/release-group/{RG_TIDEWATER}"
    assert group_call["inc"] == "artist-credits+releases+genres"
    # Not the earlier promo, not the later reissue.
    assert release_call.path == f"/release/{R_FIRST_OFFICIAL}" and release_call["inc"] == "recordings"
    assert (album.mbid, album.title, album.artist_credit, album.year) == (
        RG_TIDEWATER,
        "Tidewater Hymns",
        "The Quiet Harbour",
        2018,
    )
    assert album.release_group.release_date == date(2018, 5, 4)
    assert album.genres == ("folk", "indie folk")  # most voted first
    assert [(t.disc, t.position, t.title, t.length_seconds) for t in album.tracks] == [
        (1, 1, "Low Water", 241),
        (1, 2, "Salt Psalm", 200),
        (1, 3, "The Pilot's Daughter", 312),
        (2, 1, "Low Water (demo)", 180),
        (2, 2, "Untitled", None),
    ]
    assert album.runtime_minutes is None  # a track without a length
    assert album.release is not None and album.release.has_front_cover is True


def test_tags_stand_in_for_missing_genres(musicbrainz):
    album = musicbrainz.album(RG_NIGHT_FERRY)
    assert album.genres == ("dream pop", "live")
    assert [t.number for t in album.tracks] == ["A1", "A2"]
    assert album.runtime_minutes == 9


def test_a_group_without_releases_has_no_tracks(musicbrainz, fake):
    album = musicbrainz.album(RG_NO_RELEASES)
    assert (album.release, album.tracks, album.year) == (None, (), None)
    assert len(fake.calls("musicbrainz")) == 1


def test_artist_lookup(musicbrainz):
    artist = musicbrainz.artist(ARTIST)
    assert (artist.name, artist.sort_name, artist.type, artist.country, artist.begin, artist.end) == (
        "The Quiet Harbour",
        "Quiet Harbour, The",
        "Group",
        "NO",
        "2011",
        None,
    )


def test_a_merged_mbid_is_followed(musicbrainz, fake):
    group = musicbrainz.release_group(RG_MERGED)
    assert group.mbid == RG_TIDEWATER
    assert [c.status for c in fake.calls("musicbrainz")] == [301, 200]


def test_a_merged_mbid_is_followed_through_the_rate_limit(limited_musicbrainz, fake):
    limited_musicbrainz.release_group(RG_MERGED)
    first, second = fake.calls("musicbrainz")
    assert second.at - first.at >= 0.95


@pytest.mark.parametrize("mbid", ["not-an-mbid", "", "B2B2B2B2-0000-4000-8000"])
def test_a_malformed_mbid_is_not_sent(musicbrainz, fake, mbid):
    with pytest.raises(ProviderNotFound):
        musicbrainz.album(mbid)
    assert fake.calls() == []


def test_an_unknown_mbid_is_not_found(musicbrainz):
    with pytest.raises(ProviderNotFound) as caught:
        musicbrainz.release_group(RG_UNKNOWN)
    assert caught.value.detail == "HTTP 404: Not Found"


@pytest.mark.parametrize("user_agent", ["python-requests/2.32.3", "", "Marquee"])
def test_an_anonymous_user_agent_is_refused(fake, session, user_agent):
    client = MusicBrainzClient(session, fake.musicbrainz_url, user_agent=user_agent, timeout=TIMEOUT)
    with pytest.raises(ProviderAuthError) as caught:
        client.search_albums("ferry")
    assert "MUSICBRAINZ_USER_AGENT" in caught.value.message


def test_503_honours_retry_after_then_succeeds(musicbrainz, fake):
    fake.fail("musicbrainz", "503", times=1, retry_after="1")
    assert musicbrainz.search_albums("ferry").results
    first, second = fake.calls("musicbrainz")
    assert (first.status, second.status) == (503, 200)
    assert second.at - first.at >= 0.95


def test_busy_503_with_retry_after_zero_still_waits_for_the_slot(limited_musicbrainz, fake):
    fake.fail("musicbrainz", "503-busy", times=1)
    limited_musicbrainz.search_albums("ferry")
    first, second = fake.calls("musicbrainz")
    assert first.status == 503 and second.status == 200
    assert second.at - first.at >= 0.95


@pytest.mark.parametrize(
    ("mode", "error", "calls"),
    [
        ("503", ProviderUnavailable, 3),
        ("503-busy", ProviderUnavailable, 3),
        ("404", ProviderNotFound, 1),
        ("403", ProviderAuthError, 1),
        ("500", ProviderUnavailable, 3),
        ("malformed", ProviderBadResponse, 1),
        ("html", ProviderBadResponse, 1),
        ("timeout", ProviderUnavailable, 1),
    ],
)
def test_failure_modes(musicbrainz, fake, mode, error, calls):
    fake.fail("musicbrainz", mode, retry_after="0")
    with pytest.raises(error) as caught:
        musicbrainz.release_group(RG_TIDEWATER)
    assert type(caught.value) is error and caught.value.provider == "MusicBrainz"
    assert len(fake.calls("musicbrainz")) == calls


def test_pick_release_prefers_the_earliest_official():
    promo = ReleaseRef("1", "A", "Promotion", "2001-01-01")
    late = ReleaseRef("2", "A", "Official", "2005")
    early = ReleaseRef("3", "A", "Official", "2002-03")
    undated = ReleaseRef("4", "A", "Official", None)
    assert pick_release((promo, undated, late, early)) == early
    assert pick_release((promo,)) == promo
    assert pick_release(()) is None


def test_lucene_special_characters_are_escaped():
    assert lucene_escape('AC/DC: "Back" (in) [Black]!') == r"AC\/DC\: \"Back\" \(in\) \[Black\]\!"
    assert album_query("a-ha") == r"(releasegroup:(a\-ha) OR artist:(a\-ha)) AND primarytype:album"
