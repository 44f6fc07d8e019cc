"""The built-in reading of a wish for tonight, the merge with the form, stored constraints."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.tonight.parsing import (
    MAX_TEXT,
    SHORT_RUNTIME,
    Constraints,
    Wish,
    format_minutes,
    merge,
    parse_rules,
)

# A film list and a series list, as the catalog holds them, plus one admin-made genre.
GENRES = (
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family", "Fantasy",
    "Horror", "Mystery", "Romance", "Science Fiction", "Thriller", "TV Movie", "War", "Western",
    "Action & Adventure", "Kids", "Sci-Fi & Fantasy", "Short", "K-Drama",
)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("under 2 hours", 120),
        ("less than 90 minutes", 90),
        ("< 100 min", 100),
        ("<100min", 100),
        ("max 1h45", 105),
        ("max. 90 min", 90),
        ("no longer than an hour and a half", 90),
        ("not longer than 1 hour and a half", 90),
        ("under two hours", 120),
        ("under Twelve hours", 720),
        ("under 1:45", 105),
        ("at most 1 hour 20 minutes", 80),
        ("under 2 h 30 min", 150),
        ("1.5 hours or less", 90),
        ("2 and a half hours max", 150),
        ("under 2½ hours", 150),
        ("half an hour max", 30),
        ("up to an hour", 60),
        ("within 100 minutes", 100),
        ("shorter than a couple of hours", 120),
        ("under 2 hours, ideally under 90 minutes", 90),  # the smallest bound
        ("short", SHORT_RUNTIME),
        ("something short", SHORT_RUNTIME),
        ("nothing too long", SHORT_RUNTIME),
        ("we're short on time", SHORT_RUNTIME),
        ("something short, under 80 minutes", 80),  # a number beats "short"
        ("a 90 minute film", None),  # no bound: not a limit
        ("under 99999 minutes", None),
        ("under 0 minutes", None),
        ("a horror film", None),
        ("shorter films", None),
    ],
)
def test_runtime(text, minutes):
    assert parse_rules(text, GENRES).max_runtime == minutes


@pytest.mark.parametrize(
    ("text", "genres"),
    [
        ("a comedy", ("Comedy",)),
        ("comedies", ("Comedy",)),
        ("something funny", ("Comedy",)),
        ("horror", ("Horror",)),
        ("something scary", ("Horror",)),
        ("sci-fi", ("Science Fiction", "Sci-Fi & Fantasy")),
        ("science fiction", ("Science Fiction", "Sci-Fi & Fantasy")),
        ("a documentary", ("Documentary",)),
        ("animated", ("Animation",)),
        ("animation", ("Animation",)),
        ("romantic", ("Romance",)),
        ("a romance", ("Romance",)),
        ("a thriller", ("Thriller",)),
        ("DRAMA", ("Drama",)),
        ("action", ("Action", "Action & Adventure")),
        ("westerns", ("Western",)),
        ("a murder mystery", ("Mystery",)),
        ("a rom-com", ("Comedy", "Romance")),
        ("for the whole family", ("Family", "Kids")),
        ("a k-drama", ("Drama", "K-Drama")),  # a genre named only in the list still matches
        ("ＣＯＭＥＤＹ", ("Comedy",)),  # full-width letters
        ("a funny horror", ("Comedy", "Horror")),  # in the list's order
        ("nothing scary, a comedy", ("Comedy",)),
        ("no horror or thriller please", ()),
        ("anything but horror", ()),
        ("not a comedy but a drama", ("Drama",)),
        ("something short", ()),  # "Short" is a genre, but not what this means
        ("star wars", ()),
        ("a movie", ()),
    ],
)
def test_genres(text, genres):
    assert parse_rules(text, GENRES).genres == genres


def test_only_known_genres_in_their_spelling():
    assert parse_rules("a funny sci-fi thriller", ["comedy", "SCIENCE FICTION"]).genres == ("comedy", "SCIENCE FICTION")
    assert parse_rules("a funny horror", ["Drama"]).genres == ()
    assert parse_rules("a comedy", []).genres == ()
    assert parse_rules("a comedy", ["Comedy", "comedy", "", "  ", "x" * 500]).genres == ("Comedy",)


@pytest.mark.parametrize(
    ("text", "format"),
    [
        ("a show", "tv"),
        ("a series", "tv"),
        ("tv", "tv"),
        ("an episode or two", "tv"),
        ("a funny show", "tv"),
        ("a sitcom", "tv"),
        ("a film", "movie"),
        ("a movie", "movie"),
        ("movies", "movie"),
        ("a TV movie", "movie"),
        ("a movie or a show", None),  # both: left open
        ("not a series", None),
        ("a film, not a series", "movie"),
        ("it's movie night, something funny", None),
        ("show me something funny", None),
        ("something new", None),
    ],
)
def test_format(text, format):
    assert parse_rules(text, GENRES).format == format


@pytest.mark.parametrize(
    ("text", "exclude"),
    [
        ("something new", True),
        ("nothing we've seen", True),
        ("nothing we’ve seen", True),  # a typographic apostrophe
        ("unwatched", True),
        ("one we haven't seen", True),
        ("a movie none of us has watched", True),
        ("no one has seen it", True),
        ("something new to all of us", True),
        ("a rewatch", False),
        ("an old favourite we've seen before", False),
        ("a comedy", None),
        ("", None),
    ],
)
def test_exclude_watched(text, exclude):
    assert parse_rules(text, GENRES).exclude_watched is exclude


def test_a_whole_wish():
    wish = parse_rules("A comedy film under two hours, nothing we've seen please", GENRES)
    assert wish == Wish(format="movie", max_runtime=120, genres=("Comedy",), exclude_watched=True)
    assert wish.describe() == ["Films only", "Under 2 h", "Comedy", "Nothing anyone has watched"]
    assert not wish.is_empty()


def test_text_beyond_the_first_characters_is_not_read():
    assert parse_rules("x" * MAX_TEXT + " a comedy", GENRES).is_empty()
    assert parse_rules("a comedy " + "x" * 5000, GENRES).genres == ("Comedy",)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\x00\x01\x1b[31m",
        "Robert'); DROP TABLE titles;-- under 2 hours",
        "' OR 1=1 --",
        '"><script>alert(1)</script>',
        "{{ 7*7 }} ${jndi:ldap://x}",
        "\ud800 lone surrogate",
        "🎬🍿 something 👻 scary",
        "مسلسل كوميدي",
        "комедия меньше двух часов",
        "ﬁlm ǅ ß ẞ İ",
        "under ９０ minutes",
        "under " + "9" * 3000 + " minutes",
        "a " * 3000,
        "no " * 1000 + "comedy",
        "((((((((((" * 300,
        "under under under " * 200,
        "1h" * 1000,
    ],
)
def test_odd_text_never_raises(text):
    wish = parse_rules(text, GENRES)
    assert isinstance(wish, Wish)
    assert wish.max_runtime is None or 1 <= wish.max_runtime <= 1000
    assert set(wish.genres) <= set(GENRES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=700))
def test_any_text_gives_a_wish_and_the_same_one_twice(text):
    first = parse_rules(text, GENRES)
    assert first == parse_rules(text, GENRES)
    assert set(first.genres) <= set(GENRES)


def test_empty_wish():
    assert Wish().is_empty() and Wish().describe() == []
    assert not Wish(exclude_watched=False).is_empty()
    assert Wish(format="tv", max_runtime=45, exclude_watched=False).describe() == [
        "Series only", "Under 45 min", "Rewatches welcome"
    ]


@pytest.mark.parametrize(("minutes", "text"), [(45, "45 min"), (60, "1 h"), (90, "1 h 30 min"), (120, "2 h")])
def test_format_minutes(minutes, text):
    assert format_minutes(minutes) == text


# -- merging with the form ---------------------------------------------------------------


def form(**values):  # type: ignore[no-untyped-def]
    return {"format": "any", "max_runtime": None, "genres": [], "exclude_watched": False, **values}


def test_the_wish_fills_what_the_form_left_open():
    wish = Wish(format="tv", max_runtime=100, genres=("Comedy",), exclude_watched=True)
    assert merge(wish, **form()) == Constraints(format="tv", max_runtime=100, genres=("Comedy",), exclude_watched=True)


def test_explicit_form_values_win():
    wish = Wish(format="tv", max_runtime=100, genres=("Comedy",), exclude_watched=False)
    merged = merge(wish, **form(format="movie", max_runtime=90, genres=["Drama", "Comedy"], exclude_watched=True))
    assert merged == Constraints(format="movie", max_runtime=90, genres=("Drama", "Comedy"), exclude_watched=True)


@pytest.mark.parametrize(("form_runtime", "wish_runtime", "merged"), [(90, 120, 90), (150, 120, 120), (None, 80, 80),
                                                                     (80, None, 80), (None, None, None), (0, 80, 80)])
def test_the_smaller_runtime_wins(form_runtime, wish_runtime, merged):
    assert merge(Wish(max_runtime=wish_runtime), **form(max_runtime=form_runtime)).max_runtime == merged


def test_genres_are_a_union_form_first():
    wish = Wish(genres=("Horror", "comedy", "Thriller"))
    assert merge(wish, **form(genres=["Comedy", "Drama", "Comedy"])).genres == ("Comedy", "Drama", "Horror", "Thriller")


def test_an_empty_wish_leaves_the_form_as_it_is():
    assert merge(Wish(), **form()) == Constraints()
    assert merge(Wish(), **form(format="garbage")) == Constraints()


def test_constraints_describe():
    assert Constraints().describe() == []
    constraints = Constraints(format="movie", max_runtime=105, genres=("Comedy", "Horror"), exclude_watched=True)
    assert constraints.describe() == [
        "Films only", "Under 1 h 45 min", "Comedy or Horror", "Nothing anyone has watched"
    ]


# -- stored constraints --------------------------------------------------------------------


@pytest.mark.parametrize(
    "constraints",
    [
        Constraints(),
        Constraints(format="movie", max_runtime=120, genres=("Comedy", "Science Fiction"), exclude_watched=True),
        Constraints(format="tv", genres=("Sci-Fi & Fantasy",)),
    ],
)
def test_round_trip_through_json(constraints):
    data = constraints.to_dict()
    assert list(data) == ["format", "max_runtime", "genres", "exclude_watched"]
    assert Constraints.from_dict(json.loads(json.dumps(data))) == constraints


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, Constraints()),
        ({"format": "MOVIE", "max_runtime": "95", "genres": ["Comedy"], "exclude_watched": "true"},
         Constraints(format="movie", max_runtime=95, genres=("Comedy",), exclude_watched=True)),
        ({"format": "opera", "max_runtime": -5, "genres": "Comedy", "exclude_watched": "maybe"}, Constraints()),
        ({"format": None, "max_runtime": True, "genres": None, "exclude_watched": None}, Constraints()),
        ({"format": ["movie"], "max_runtime": 1e308, "genres": {"a": 1}, "exclude_watched": [True]}, Constraints()),
        ({"max_runtime": float("nan")}, Constraints()),
        ({"max_runtime": 90.0}, Constraints(max_runtime=90)),
        ({"max_runtime": 90.5}, Constraints()),
        ({"max_runtime": 5000}, Constraints()),
        ({"genres": ["Comedy", 3, None, "", " comedy ", "Drama", {"x": 1}, "y" * 61]},
         Constraints(genres=("Comedy", "Drama"))),
        ({"genres": [f"G{i}" for i in range(50)]}, Constraints(genres=tuple(f"G{i}" for i in range(20)))),
        ({"unknown": "key", "exclude_watched": 1}, Constraints(exclude_watched=True)),
    ],
)
def test_from_dict_tolerates_garbage(data, expected):
    assert Constraints.from_dict(data) == expected


@pytest.mark.parametrize("data", [None, [], "format=movie", 42])
def test_from_dict_of_something_else(data):
    assert Constraints.from_dict(data) == Constraints()
