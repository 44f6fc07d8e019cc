"""The bundled demo catalog: every row valid, idempotent loading, linking to titles
already known, and its TMDB ids checked against MovieLens when ../shared has it."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
import uuid

import pytest
from sqlalchemy import func, select

from webapp.catalog import demo, importers
from webapp.catalog.cli import catalog_cli
from webapp.catalog.models import Credit, Genre, Person, Title, title_genres
from webapp.db import db

from tests.catalog.test_movielens_import import ML_SMALL, write_sample

ENTRIES = demo.read_demo_catalog()


def count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


# The file ----------------------------------------------------------------------------

def test_every_row_is_valid():
    kinds = {kind: [e for e in ENTRIES if e.kind == kind] for kind in ("movie", "tv", "album")}
    assert len(kinds["movie"]) >= 200 and len(kinds["tv"]) >= 20 and len(kinds["album"]) >= 50
    for entry in ENTRIES:
        low, high = demo.RUNTIME_BOUNDS[entry.kind]
        assert entry.runtime is None or low <= entry.runtime <= high, entry
        assert demo.YEAR_BOUNDS[0] <= entry.year <= demo.YEAR_BOUNDS[1], entry
        assert entry.genres and all(g == g.strip() for g in entry.genres), entry
        if entry.musicbrainz_id:
            assert entry.kind == "album"
            assert str(uuid.UUID(entry.musicbrainz_id)) == entry.musicbrainz_id
        if entry.tmdb_id:
            assert entry.kind in ("movie", "tv") and entry.tmdb_id > 0
    assert all(e.people for e in kinds["movie"] + kinds["album"])  # directors, artists
    # Most films carry a TMDB id; the file says where an id is missing on purpose.
    assert sum(1 for e in kinds["movie"] if e.tmdb_id) / len(kinds["movie"]) > 0.9


def _bad(**changes):  # type: ignore[no-untyped-def]
    row = {"kind": "movie", "title": "A Film", "year": 2000, "runtime": 100, "genres": ["Drama"],
           "tmdb_id": 1, "directors": ["Someone"]}
    row.update(changes)
    return {key: value for key, value in row.items() if value is not None}


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (_bad(kind="book"), "kind"),
        (_bad(title=" padded "), "title"),
        (_bad(year=1700), "year"),
        (_bad(year="2000"), "year"),
        (_bad(runtime=5), "runtime"),
        (_bad(genres=[]), "genres"),
        (_bad(genres=["Drama", "drama"]), "repeat"),
        (_bad(tmdb_id=-3), "tmdb_id"),
        (_bad(directors=[]), "director"),
        (_bad(musicbrainz_id="f5093c06-23e3-404f-aeaa-40f72885ee3a"), "MusicBrainz"),
        (_bad(kind="album", tmdb_id=None, directors=None, artist="X", musicbrainz_id="not-a-uuid"), "UUID"),
        (_bad(kind="album", tmdb_id=None, directors=None, artist="X",
              musicbrainz_id="F5093C06-23E3-404F-AEAA-40F72885EE3A"), "lower-case"),
        (_bad(kind="album", tmdb_id=None, directors=None), "artist"),
        (_bad(kind="tv", directors=None, runtime=500), "runtime"),
        (_bad(poster="x.jpg"), "unknown keys"),
    ],
)
def test_bad_rows_are_refused(tmp_path, row, problem):
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({"titles": [row]}), encoding="utf-8")
    with pytest.raises(demo.DemoCatalogError, match=problem):
        demo.read_demo_catalog(path)


def test_duplicate_rows_are_refused(tmp_path):
    path = tmp_path / "demo.json"
    same_id = [_bad(), _bad(title="Another Film")]
    path.write_text(json.dumps({"titles": same_id}), encoding="utf-8")
    with pytest.raises(demo.DemoCatalogError, match="same title"):
        demo.read_demo_catalog(path)
    same_title = [_bad(), _bad(title="a film", tmdb_id=2)]
    path.write_text(json.dumps({"titles": same_title}), encoding="utf-8")
    with pytest.raises(demo.DemoCatalogError, match="same title"):
        demo.read_demo_catalog(path)


# Loading -------------------------------------------------------------------------------

def _snapshot() -> dict[str, list[tuple]]:
    return {
        "titles": [tuple(r) for r in db.session.execute(select(Title.__table__).order_by(Title.id))],
        "genres": [tuple(r) for r in db.session.execute(select(Genre.__table__).order_by(Genre.id))],
        "title_genres": sorted(tuple(r) for r in db.session.execute(select(title_genres))),
        "people": [tuple(r) for r in db.session.execute(select(Person.__table__).order_by(Person.id))],
        "credits": [tuple(r) for r in db.session.execute(select(Credit.__table__).order_by(Credit.id))],
    }


def test_loading_twice_adds_nothing(app_ctx):
    first = demo.load_demo_catalog()
    assert first.added == count(Title) == len(ENTRIES)
    before = _snapshot()
    second = demo.load_demo_catalog()
    assert (second.added, second.linked, second.unchanged) == (0, 0, len(ENTRIES))
    assert _snapshot() == before

    godfather = db.session.scalar(select(Title).where(Title.kind == "movie", Title.tmdb_id == 238))
    assert godfather is not None
    assert (godfather.title, godfather.year, godfather.runtime_minutes, godfather.source) == (
        "The Godfather", 1972, 175, "demo")
    directors = db.session.scalars(
        select(Person.name).join(Credit, Credit.person_id == Person.id)
        .where(Credit.title_id == godfather.id, Credit.role == "director")
    ).all()
    assert directors == ["Francis Ford Coppola"]
    album = db.session.scalar(select(Title).where(Title.musicbrainz_id == "b1392450-e666-3926-a536-22c65f834433"))
    assert album is not None and (album.title, album.artist_credit, album.kind) == ("OK Computer", "Radiohead", "album")
    # One person per name, however many titles credit them.
    assert db.session.scalar(select(func.count()).where(Person.name == "Christopher Nolan")) == 1


def test_a_new_catalog_finds_something_on_the_first_search(app_ctx):
    demo.load_demo_catalog()
    found = db.session.scalars(select(Title.title).where(Title.sort_title.contains("godfather"))).all()
    assert "The Godfather" in found
    for kind in ("movie", "tv", "album"):
        assert db.session.scalar(select(func.count()).where(Title.kind == kind, Title.source == "demo")) > 10


def test_titles_already_in_the_catalog_are_completed_not_duplicated(app_ctx):
    db.session.add_all(
        [
            # From TMDB, found by its id; keeps its own genres.
            Title(kind="movie", title="Fight Club", sort_title="fight club", year=1999, tmdb_id=550,
                  source="tmdb", genres=[Genre(name="Thriller", slug="thriller")]),
            # Added by hand, found by (kind, title, year): gains the MusicBrainz id.
            Title(kind="album", title="OK Computer", sort_title="ok computer", year=1997, source="manual",
                  genres=[]),
            # Same name, other kind: not the demo's show.
            Title(kind="movie", title="Breaking Bad", sort_title="breaking bad", year=2008, source="manual",
                  genres=[]),
        ]
    )
    db.session.commit()
    stats = demo.load_demo_catalog()
    assert stats.added == len(ENTRIES) - 2
    assert stats.linked == 2
    fight = db.session.scalar(select(Title).where(Title.tmdb_id == 550))
    assert fight is not None and (fight.source, fight.runtime_minutes) == ("tmdb", 139)
    assert db.session.scalars(
        select(Genre.name).join(title_genres).where(title_genres.c.title_id == fight.id)
    ).all() == ["Thriller"]
    ok = db.session.scalar(select(Title).where(Title.kind == "album", Title.sort_title == "ok computer"))
    assert ok is not None
    assert (ok.source, ok.musicbrainz_id, ok.artist_credit) == (
        "manual", "b1392450-e666-3926-a536-22c65f834433", "Radiohead")
    assert db.session.scalar(select(func.count()).where(Title.sort_title == "breaking bad")) == 2
    assert demo.load_demo_catalog().added == 0


def test_movielens_links_to_demo_titles(app_ctx, tmp_path):
    demo.load_demo_catalog()
    stats = importers.import_movielens(write_sample(tmp_path / "ml"))
    # Toy Story, The Usual Suspects, Fight Club and Twelve Monkeys are demo films.
    assert stats.movies_linked == 4
    toy = db.session.scalar(select(Title).where(Title.movielens_id == 1))
    assert toy is not None and (toy.source, toy.title, toy.imdb_id) == ("demo", "Toy Story", "tt0114709")


def test_cli(app, app_ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(catalog_cli, ["load-demo"])
    assert result.exit_code == 0, result.output
    assert f"Demo catalog: {len(ENTRIES)} added, 0 matched existing titles, 0 already loaded." in result.output
    result = runner.invoke(catalog_cli, ["load-demo"])
    assert f"0 added, 0 matched existing titles, {len(ENTRIES)} already loaded." in result.output


# Checked against MovieLens ---------------------------------------------------------------

def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text).split())


@pytest.mark.skipif(not (ML_SMALL / "links.csv").is_file(),
                    reason=f"MovieLens ml-latest-small is not in ../shared/data/movielens (looked in {ML_SMALL})")
def test_demo_tmdb_ids_agree_with_movielens():
    """For each demo film that MovieLens has under the same title (or one of its
    alternative titles) and year, links.csv must give the same TMDB id; and a demo
    TMDB id that MovieLens knows must belong to a film of that year (give or take one)."""
    with (ML_SMALL / "links.csv").open(encoding="utf-8") as file:
        links = {row["movieId"]: row for row in csv.DictReader(file)}
    by_name: dict[tuple[str, int | None], set[int]] = {}
    years_by_tmdb: dict[int, list[tuple[str, int | None]]] = {}
    with (ML_SMALL / "movies.csv").open(encoding="utf-8") as file:
        movies = list(csv.DictReader(file))
    for row in movies:
        parsed = importers.parse_title(row["title"])
        tmdb = int(links[row["movieId"]]["tmdbId"] or 0)
        names = {parsed.title, parsed.original_title or ""} | _alternatives(row["title"])
        for name in names - {""}:
            by_name.setdefault((_norm(name), parsed.year), set()).add(tmdb)
        if tmdb:
            years_by_tmdb.setdefault(tmdb, []).append((row["title"], parsed.year))

    films = [e for e in ENTRIES if e.kind == "movie"]
    by_title = [(e, by_name[(_norm(e.title), e.year)]) for e in films if (_norm(e.title), e.year) in by_name]
    title_mismatches = [(e.title, e.year, e.tmdb_id, ids) for e, ids in by_title if e.tmdb_id not in ids]
    known = [(e, years_by_tmdb[e.tmdb_id]) for e in films if e.tmdb_id in years_by_tmdb]
    id_mismatches = [
        (e.title, e.year, e.tmdb_id, found)
        for e, found in known
        if not any(year is None or abs(year - e.year) <= 1 for _title, year in found)
    ]
    print(f"\ndemo films: {len(films)}; matched in MovieLens by title and year: {len(by_title)}; "
          f"TMDB ids known to MovieLens: {len(known)}")
    assert title_mismatches == []
    assert id_mismatches == []
    assert len(by_title) >= 100


def _alternatives(raw: str) -> set[str]:
    """MovieLens's other names for a film: "(a.k.a. Se7en)", "(Léon)"."""
    text = " ".join(raw.split())
    match = importers._YEAR_RE.search(text)
    if match:
        text = text[: match.start()].rstrip()
    head, alternatives = importers._split_trailing_parentheses(text)
    return {importers.fix_article(head)} | {importers.fix_article(a.removeprefix("a.k.a. ")) for a in alternatives}
