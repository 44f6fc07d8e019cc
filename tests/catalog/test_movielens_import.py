"""`flask import movielens DIR`: title parsing, linking to titles already in the catalog,
bad rows, idempotent re-runs, flat memory, and the real ml-latest-small when present."""

from __future__ import annotations

import gc
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.accounts.models import User
from webapp.catalog import importers
from webapp.catalog.cli import import_cli
from webapp.catalog.models import Genre, Rating, Title, title_genres
from webapp.db import db

REPO = Path(__file__).resolve().parents[2]
ML_SMALL = (REPO / "../shared/data/movielens/ml-latest-small").resolve()

MOVIES = """\
movieId,title,genres
1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
2,"Usual Suspects, The (1995)",Crime|Mystery|Thriller
3,"City of Lost Children, The (Cité des enfants perdus, La) (1995)",Adventure|Drama|Fantasy|Mystery|Sci-Fi
4,Babylon 5,Sci-Fi
5,From Dusk Till Dawn 2: Texas Blood Money (1999) ,Comedy|Crime|Horror
6,(500) Days of Summer (2009),Comedy|Drama|Romance
7,Fight Club (1999),Action|Crime|Drama|Thriller
8,Twelve Monkeys (a.k.a. 12 Monkeys) (1995),Mystery|Sci-Fi|Thriller
9,Some Documentary (2010),(no genres listed)
10,Same Film Twice (2005),Drama
11,"Same Film Twice, The (2005)",Drama
x,Not a number (2001),Drama
12,Too few fields
"""

LINKS = """\
movieId,imdbId,tmdbId
1,0114709,862
2,0114814,629
3,0112682,902
4,0105946,
5,0138097,18256
6,1022603,19913
7,0137523,550
8,0114746,63
9,12345678,123456
10,0999999,4912
11,0888888,4912
99,0000001,1
"""

RATINGS = """\
userId,movieId,rating,timestamp
1,1,4.0,964982703
1,2,5.0,964981247
1,7,3.5,964982224
2,1,0.5,964982931
2,8,2.0,964983815
2,999,4.0,964984100
3,3,4.5,1445714994
x,1,4.0,964982703
3,4,6.0,964982703
3,5,4.25,964982703
3,6
"""


def write_sample(folder: Path, movies: str = MOVIES, links: str = LINKS, ratings: str = RATINGS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "movies.csv").write_text(movies, encoding="utf-8")
    (folder / "links.csv").write_text(links, encoding="utf-8")
    (folder / "ratings.csv").write_text(ratings, encoding="utf-8")
    return folder


def by_movielens(movielens_id: int) -> Title:
    title = db.session.scalar(select(Title).where(Title.movielens_id == movielens_id))
    assert title is not None, f"no title for MovieLens movie {movielens_id}"
    return title


def genres_of(title: Title) -> list[str]:
    return list(
        db.session.scalars(
            select(Genre.name)
            .join(title_genres, title_genres.c.genre_id == Genre.id)
            .where(title_genres.c.title_id == title.id)
            .order_by(Genre.name)
        )
    )


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def snapshot() -> dict[str, list[tuple]]:
    """Every row the import writes, to compare two runs."""
    return {
        "titles": [tuple(r) for r in db.session.execute(select(Title.__table__).order_by(Title.id))],
        "genres": [tuple(r) for r in db.session.execute(select(Genre.__table__).order_by(Genre.id))],
        "title_genres": sorted(tuple(r) for r in db.session.execute(select(title_genres))),
        "users": [tuple(r) for r in db.session.execute(select(User.__table__).order_by(User.id))],
        "ratings": [tuple(r) for r in db.session.execute(select(Rating.__table__).order_by(Rating.id))],
    }


def add_existing_titles() -> None:
    """Titles that came from elsewhere before the import: TMDB, the demo catalog, a show."""
    drama = Genre(name="Drama", slug="drama")
    db.session.add_all(
        [
            Title(kind="movie", title="Fight Club", sort_title="fight club", year=1999, tmdb_id=550,
                  source="tmdb", fetched_at=datetime(2026, 1, 1), genres=[drama]),
            Title(kind="movie", title="12 Monkeys", sort_title="12 monkeys", year=1995, imdb_id="tt0114746",
                  source="demo", genres=[]),
            # Same TMDB id as Toy Story, but a show: TMDB ids are per kind.
            Title(kind="tv", title="A Show", sort_title="a show", tmdb_id=862, source="tmdb", genres=[]),
        ]
    )
    db.session.commit()


# Parsing -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "title", "year", "original"),
    [
        ("Toy Story (1995)", "Toy Story", 1995, None),
        ("Usual Suspects, The (1995)", "The Usual Suspects", 1995, None),
        ("Summer's Tale, A (Conte d'été) (1996)", "A Summer's Tale", 1996, "Conte d'été"),
        ("City of Lost Children, The (Cité des enfants perdus, La) (1995)", "The City of Lost Children", 1995,
         "La Cité des enfants perdus"),
        ("Bear, The (Ours, L') (1988)", "The Bear", 1988, "L'Ours"),
        ("Crow, The: Wicked Prayer (2005)", "The Crow: Wicked Prayer", 2005, None),
        ("Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
         "The Good, the Bad and the Ugly", 1966, "Il Buono, il brutto, il cattivo"),
        ("This World, Then the Fireworks (1997)", "This World, Then the Fireworks", 1997, None),
        ("Léon: The Professional (a.k.a. The Professional) (Léon) (1994)", "Léon: The Professional", 1994, "Léon"),
        ("Men in Black II (a.k.a. MIIB) (a.k.a. MIB 2) (2002)", "Men in Black II", 2002, None),
        ("Babylon 5", "Babylon 5", None, None),
        ("From Dusk Till Dawn 2: Texas Blood Money (1999) ", "From Dusk Till Dawn 2: Texas Blood Money", 1999, None),
        ("Dark Portals: The Chronicles of Vidocq  (Vidocq) (2001)", "Dark Portals: The Chronicles of Vidocq", 2001,
         "Vidocq"),
        ("(500) Days of Summer (2009)", "(500) Days of Summer", 2009, None),
        ("Frontière(s) (2007)", "Frontière(s)", 2007, None),
        ("Evangelion: 3.0 You Can (Not) Redo (2012)", "Evangelion: 3.0 You Can (Not) Redo", 2012, None),
        ("Death Note: Desu nôto (2006–2007)", "Death Note: Desu nôto", 2006, None),
        ("1984 (1984)", "1984", 1984, None),
        ("(1995)", "(1995)", None, None),
        ("Odd Year (0999)", "Odd Year", None, None),
    ],
)
def test_parse_title(raw, title, year, original):
    parsed = importers.parse_title(raw)
    assert (parsed.title, parsed.year, parsed.original_title) == (title, year, original)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0114709", "tt0114709"), ("114709", "tt0114709"), ("12345678", "tt12345678"), ("tt0114709", "tt0114709"),
     ("", None), ("abc", None), ("0000000", None)],
)
def test_imdb_ids_are_written_as_imdb_does(raw, expected):
    assert importers.imdb_id(raw) == expected


def test_genre_names():
    assert importers.genre_names("Adventure|Children|Sci-Fi|Adventure") == ["Adventure", "Family", "Science Fiction"]
    assert importers.genre_names("(no genres listed)") == []


# The synthetic sample ----------------------------------------------------------------------

def test_import_sample(app_ctx, tmp_path):
    add_existing_titles()
    stats = importers.import_movielens(write_sample(tmp_path / "ml"))

    assert stats.movies_added == 9  # 1-6, 9, 10, 11
    assert stats.movies_linked == 2  # Fight Club (TMDB id) and 12 Monkeys (IMDb id)
    assert stats.skipped["malformed movie rows"] == 2
    assert stats.skipped["links for unknown movies"] == 1
    assert count(Title) == 12

    toy = by_movielens(1)
    assert (toy.kind, toy.title, toy.sort_title, toy.year) == ("movie", "Toy Story", "toy story", 1995)
    assert (toy.tmdb_id, toy.imdb_id, toy.source) == (862, "tt0114709", "movielens")
    assert genres_of(toy) == ["Adventure", "Animation", "Comedy", "Family", "Fantasy"]
    assert by_movielens(2).title == "The Usual Suspects"
    lost = by_movielens(3)
    assert (lost.title, lost.original_title) == ("The City of Lost Children", "La Cité des enfants perdus")
    babylon = by_movielens(4)
    assert (babylon.title, babylon.year, babylon.tmdb_id) == ("Babylon 5", None, None)
    assert by_movielens(5).title == "From Dusk Till Dawn 2: Texas Blood Money"
    assert by_movielens(6).title == "(500) Days of Summer"
    assert genres_of(by_movielens(9)) == []
    assert by_movielens(9).imdb_id == "tt12345678"

    # Linked, not duplicated: the TMDB title keeps its own name and genres.
    fight = by_movielens(7)
    assert (fight.title, fight.source, fight.tmdb_id, fight.imdb_id) == ("Fight Club", "tmdb", 550, "tt0137523")
    assert genres_of(fight) == ["Drama"]
    monkeys = by_movielens(8)
    assert (monkeys.title, monkeys.source, monkeys.tmdb_id) == ("12 Monkeys", "demo", 63)
    assert genres_of(monkeys) == ["Mystery", "Science Fiction", "Thriller"]  # it had none
    show = db.session.scalar(select(Title).where(Title.kind == "tv"))
    assert show is not None and show.movielens_id is None

    # Two MovieLens movies with one TMDB id: the second is kept without it.
    assert by_movielens(10).tmdb_id == 4912
    assert by_movielens(11).tmdb_id is None and by_movielens(11).title == "The Same Film Twice"
    assert stats.links_conflicting == 1

    users = list(db.session.scalars(select(User).order_by(User.username)))
    assert [u.username for u in users] == ["ml1", "ml2", "ml3"]
    assert users[0].display_name == "MovieLens user 1"
    assert all(u.is_imported and u.password_hash is None and u.email is None and not u.can_login for u in users)
    assert stats.users_added == 3

    assert stats.ratings_added == count(Rating) == 6
    assert stats.skipped["ratings for unknown movies"] == 1
    assert stats.skipped["malformed rating rows"] == 2
    assert stats.skipped["ratings outside 0.5-5 in half stars"] == 2
    scores = {
        (username, movielens_id): score
        for username, movielens_id, score in db.session.execute(
            select(User.username, Title.movielens_id, Rating.score)
            .join(User, User.id == Rating.user_id)
            .join(Title, Title.id == Rating.title_id)
        )
    }
    assert scores == {("ml1", 1): 4.0, ("ml1", 2): 5.0, ("ml1", 7): 3.5, ("ml2", 1): 0.5, ("ml2", 8): 2.0,
                      ("ml3", 3): 4.5}
    rating = db.session.scalar(select(Rating).where(Rating.score == 4.5))
    assert rating is not None and rating.created_at == datetime(2015, 10, 24, 19, 29, 54)


def test_a_second_run_adds_nothing_and_changes_nothing(app_ctx, tmp_path):
    add_existing_titles()
    folder = write_sample(tmp_path / "ml")
    importers.import_movielens(folder)
    before = snapshot()
    again = importers.import_movielens(folder)
    assert snapshot() == before
    assert (again.movies_added, again.movies_linked, again.movies_updated, again.movies_unchanged) == (0, 0, 0, 11)
    assert (again.users_added, again.ratings_added, again.ratings_updated, again.ratings_unchanged) == (0, 0, 0, 6)
    assert again.links_added == 0


def test_changed_rows_update_in_place(app_ctx, tmp_path):
    importers.import_movielens(write_sample(tmp_path / "one"))
    movies = MOVIES.replace("4,Babylon 5,Sci-Fi", "4,Babylon 5 (1994),Sci-Fi|Drama")
    ratings = RATINGS.replace("1,1,4.0,964982703", "1,1,3.0,964982703")
    stats = importers.import_movielens(write_sample(tmp_path / "two", movies=movies, ratings=ratings))
    assert (stats.movies_added, stats.movies_updated) == (0, 1)
    babylon = by_movielens(4)
    assert (babylon.title, babylon.year) == ("Babylon 5", 1994)
    assert genres_of(babylon) == ["Drama", "Science Fiction"]
    assert (stats.ratings_added, stats.ratings_updated, stats.ratings_unchanged) == (0, 1, 5)
    assert count(Rating) == 6


def test_a_registered_account_never_receives_imported_ratings(app_ctx, tmp_path, make_user):
    person = make_user(username="ml2")
    stats = importers.import_movielens(write_sample(tmp_path / "ml"))
    assert stats.skipped["ratings by users whose username belongs to a registered account"] == 2
    assert db.session.scalar(select(func.count()).where(Rating.user_id == person.id)) == 0
    assert count(Rating) == 4


def test_files_that_are_not_movielens_are_refused(app_ctx, tmp_path):
    with pytest.raises(importers.MovieLensFormatError, match="No movies.csv"):
        importers.import_movielens(tmp_path)
    write_sample(tmp_path, movies="id,name\n1,Toy Story\n")
    with pytest.raises(importers.MovieLensFormatError, match="movieId, title, genres"):
        importers.import_movielens(tmp_path)
    assert count(Title) == 0


def test_links_and_movies_in_any_order(app_ctx, tmp_path):
    """Only a sorted links.csv is read in step; any other order is still imported right."""
    header, *rows = LINKS.splitlines()
    links = "\n".join([header, *reversed(rows)]) + "\n"
    head, *movie_rows = MOVIES.splitlines()
    movies = "\n".join([head, *reversed(movie_rows)]) + "\n"
    importers.import_movielens(write_sample(tmp_path / "ml", movies=movies, links=links))
    assert by_movielens(1).tmdb_id == 862
    assert by_movielens(8).tmdb_id == 63
    assert {by_movielens(10).tmdb_id, by_movielens(11).tmdb_id} == {4912, None}


def test_cli(app, app_ctx, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(import_cli, ["movielens", str(write_sample(tmp_path / "ml"))])
    assert result.exit_code == 0, result.output
    assert "Movies: 11 added, 0 linked to existing titles" in result.output
    assert "Users: 3 added." in result.output
    assert "Ratings: 6 added, 0 updated, 0 unchanged." in result.output
    assert "Skipped 1 ratings for unknown movies (ratings.csv line 7)." in result.output
    assert "Done in" in result.output

    result = runner.invoke(import_cli, ["movielens", str(tmp_path)])
    assert result.exit_code == 1
    assert "No movies.csv" in result.output


# Memory ----------------------------------------------------------------------------------

def _write_ratings(path: Path, rows: int, first_user: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("userId,movieId,rating,timestamp\n")
        for i in range(rows):
            out.write(f"{first_user + i // 200},{1 + i % 200},{1 + (i % 9) / 2},{1_000_000_000 + i}\n")


def _peak_bytes(run) -> int:  # type: ignore[no-untyped-def]
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_ratings_file_grows(app_ctx, tmp_path):
    movies = "movieId,title,genres\n" + "".join(f"{i},Film {i} (2000),Drama\n" for i in range(1, 201))
    (tmp_path / "movies.csv").write_text(movies, encoding="utf-8")
    for name, rows, first_user in (("warm.csv", 500, 1), ("small.csv", 2_000, 1_000), ("large.csv", 20_000, 2_000)):
        _write_ratings(tmp_path / name, rows, first_user)
    stats = importers.ImportStats()
    importers.import_movies(tmp_path / "movies.csv", None, stats)
    # A first batch fills SQLAlchemy's statement cache; then the two measured runs.
    importers.import_ratings(tmp_path / "warm.csv", stats, batch_size=500)
    small = _peak_bytes(lambda: importers.import_ratings(tmp_path / "small.csv", stats, batch_size=500))
    large = _peak_bytes(lambda: importers.import_ratings(tmp_path / "large.csv", stats, batch_size=500))
    assert stats.ratings_added == 22_500
    # Ten times the rows: were they held, the large run would need megabytes more.
    assert large < small + 256 * 1024, (small, large)


# The real ml-latest-small ----------------------------------------------------------------

# The same settings as the test app, for the import run in a child process.
_CHILD = """
import os, sys, threading, time
from webapp import create_app
from webapp.catalog.cli import import_cli

def rss():  # resident set size now, in bytes (Linux)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

peak, done = [0], threading.Event()
def sample():
    while not done.wait(0.005):
        peak[0] = max(peak[0], rss())

app = create_app({"TESTING": True, "DATABASE_URL": sys.argv[1]})
baseline = rss()
sampler = threading.Thread(target=sample)
sampler.start()
started = time.perf_counter()
result = app.test_cli_runner().invoke(import_cli, ["movielens", sys.argv[2]])
seconds = time.perf_counter() - started
done.set()
sampler.join()
print(result.output)
print("MEASURED", seconds, baseline, max(peak[0], rss()))
sys.exit(result.exit_code)
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="measures memory through /proc (Linux)")
@pytest.mark.skipif(not (ML_SMALL / "ratings.csv").is_file(),
                    reason=f"MovieLens ml-latest-small is not in ../shared/data/movielens (looked in {ML_SMALL})")
def test_real_ml_latest_small(app_ctx, database_url):
    """The real import runs in a fresh process, so that its time is not slowed by
    tracing and its memory (resident set size, sampled every 5 ms) is its own."""
    db.session.commit()  # nothing of ours is pending while the child writes
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, database_url, str(ML_SMALL)],
        cwd=REPO, capture_output=True, text=True, timeout=110, check=False,
    )
    assert child.returncode == 0, child.stdout + child.stderr
    seconds, baseline, peak = child.stdout.split("MEASURED")[1].split()
    growth_mb = (int(peak) - int(baseline)) / 2**20

    assert "Movies: 9742 added" in child.stdout
    assert "Users: 610 added." in child.stdout
    assert "Ratings: 100836 added, 0 updated, 0 unchanged." in child.stdout
    assert "Skipped" not in child.stdout
    assert count(Title) == 9_742
    assert count(Rating) == 100_836
    assert count(User) == 610
    assert db.session.scalar(select(func.count()).where(Title.imdb_id.is_not(None))) == 9_742
    # 8 movies have no TMDB id, and two share one.
    assert db.session.scalar(select(func.count()).where(Title.tmdb_id.is_not(None))) == 9_733
    toy = by_movielens(1)
    assert (toy.title, toy.year, toy.tmdb_id, toy.imdb_id) == ("Toy Story", 1995, 862, "tt0114709")
    assert growth_mb < 100, f"max RSS grew by {growth_mb:.0f} MB"

    started = time.perf_counter()
    again = importers.import_movielens(ML_SMALL)
    rerun_seconds = time.perf_counter() - started
    assert (again.movies_added, again.users_added, again.ratings_added, again.ratings_updated) == (0, 0, 0, 0)
    assert again.ratings_unchanged == 100_836
    print(
        f"\nml-latest-small on {db.engine.dialect.name}: import {float(seconds):.1f} s, peak RSS "
        f"{int(peak) / 2**20:.0f} MB (+{growth_mb:.1f} MB during the import); idempotent re-run {rerun_seconds:.1f} s"
    )
