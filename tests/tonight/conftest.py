"""A group of friends with a watchlist, for the tonight tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from webapp.catalog import services as catalog
from webapp.db import db
from webapp.groups import services as groups
from webapp.groups import watchlist
from webapp.social.models import Friendship


def befriend(a, b) -> None:  # type: ignore[no-untyped-def]
    low, high = sorted((a.id, b.id))
    db.session.add(Friendship(user_low_id=low, user_high_id=high))
    db.session.flush()


def make_title(name: str, *, kind: str = "movie", runtime: int | None = 100, year: int = 2000,
               genres: list[str] = ()):  # type: ignore[no-untyped-def,assignment]
    genre_ids = []
    for genre in genres:
        found = next((g for g in catalog.all_genres() if g.name == genre), None) or catalog.create_genre(genre)
        genre_ids.append(found.id)
    return catalog.create_manual_title(catalog.TitleData(
        kind=kind, title=name, year=year, runtime_minutes=runtime, overview="", genre_ids=genre_ids))


@pytest.fixture
def crew(make_user):  # type: ignore[no-untyped-def]
    """ann owns "Friday club" with bob and cy; five films and a show on its watchlist."""
    ann, bob, cy = make_user(username="ann"), make_user(username="bob"), make_user(username="cy")
    befriend(ann, bob)
    befriend(ann, cy)
    group = groups.create_group(ann, "Friday club", [bob.id, cy.id])
    titles = [
        make_title("Alien", runtime=117, year=1979, genres=["Horror", "Science Fiction"]),
        make_title("Airplane!", runtime=88, year=1980, genres=["Comedy"]),
        make_title("Heat", runtime=170, year=1995, genres=["Crime"]),
        make_title("Paddington 2", runtime=103, year=2017, genres=["Comedy", "Family"]),
        make_title("Arrival", runtime=116, year=2016, genres=["Science Fiction", "Drama"]),
        make_title("Fleabag", kind="tv", runtime=27, year=2016, genres=["Comedy"]),
    ]
    items = [watchlist.add_item(group, [ann, bob, cy][i % 3], title, f"why {i}")[0] for i, title in enumerate(titles)]
    db.session.commit()
    return SimpleNamespace(ann=ann, bob=bob, cy=cy, members=[ann, bob, cy], group=group, titles=titles, items=items)
