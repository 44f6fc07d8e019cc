"""An import cannot stall the site, flood the catalog or store what the forms refuse
(issue "Trust", items 3, 8, 10 and 11)."""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.conftest import login, make_app
from tests.factories import DEFAULT_PASSWORD
from webapp.accounts.models import User
from webapp.catalog.models import Rating, Title
from webapp.db import db
from webapp.tonight.models import Viewing
from webapp.weeks import transfer
from webapp.weeks.models import Week, WeekPick


def export(*, profile: dict[str, Any] | None = None, weeks: list[dict[str, Any]] | None = None,
           ratings: list[dict[str, Any]] | None = None, viewings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "format": "marquee-export", "version": 1,
        "profile": {"username": "x", "email": "x@example.com", "display_name": "Imported", "bio": "From the file.",
                    "birth_date": "1990-05-01", "is_private": False, **(profile or {})},
        "weeks": weeks or [], "ratings": ratings or [], "viewings": viewings or [],
    }


def film(name: str, year: int | None = 1994) -> dict[str, Any]:
    return {"kind": "movie", "title": name, "year": year, "artist": None, "tmdb_id": None,
            "musicbrainz_id": None, "imdb_id": None}


def rating(name: str, score: Any = 4) -> dict[str, Any]:
    return {"title": film(name), "score": score, "rated_at": "2026-01-02T20:00:00"}


def week(number: int, *, notes: str = "", picks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"iso_year": 2026, "iso_week": number, "notes": notes, "picks": picks or []}


def upload(client, content: bytes | dict[str, Any]):  # type: ignore[no-untyped-def]
    raw = content if isinstance(content, bytes) else json.dumps(content, separators=(",", ":")).encode()
    # Encoded here, in memory: the test client spools bodies over 500 kB to a temporary
    # file that it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(raw), "export.json")})
    return client.post("/weeks/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def count(model: Any, *where: Any) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# Item 3: the write lock, the cap, the rate limit, the catalog -------------------------

def test_another_person_logs_in_while_a_large_import_runs(app, app_ctx, make_user):
    """The import is paused right after one of its batches is committed (by a hook on
    the ORM session's after_commit): someone else's login, which writes, goes through
    at once. An import written in one transaction never reaches that point before it
    has finished."""
    importer, other = make_user(username="importer"), make_user(username="other")
    db.session.commit()
    big = export(weeks=[week(n, notes=f"Week {n}", picks=[{"kind": "film", "position": 1,
                                                               "title": film(f"Home film {n}")}])
                        for n in range(1, 41)],
                 ratings=[rating(f"Tape {n}", score=(n % 10 + 1) / 2) for n in range(1200)],
                 viewings=[{"title": film(f"Tape {n}"), "watched_at": "2026-02-01T21:00:00"} for n in range(300)])
    importing: dict[str, Any] = {"thread": None, "commits": 0}
    between, resume = threading.Event(), threading.Event()

    def after_commit(_session: Any) -> None:
        if threading.get_ident() != importing["thread"]:
            return
        importing["commits"] += 1
        # The request's own transaction and the profile's batch are committed: pause
        # before the next batch begins.
        if importing["commits"] == 2:
            between.set()
            resume.wait(60)

    result: dict[str, Any] = {}
    client = app.test_client()
    login(client, importer)

    def run_import() -> None:
        importing["thread"] = threading.get_ident()
        result["response"] = upload(client, big)

    event.listen(Session, "after_commit", after_commit)
    thread = threading.Thread(target=run_import)
    thread.start()
    try:
        paused = between.wait(30)
        if paused:
            assert count(Rating) == 0, "paused before its ratings were written"
            db.session.rollback()
            # Another person's request, in a thread (and app context) of its own.
            other_thread = threading.Thread(target=lambda: result.update(login=app.test_client().post(
                "/login", data={"login": "other", "password": DEFAULT_PASSWORD})))
            other_thread.start()
            other_thread.join(60)
    finally:
        resume.set()
        thread.join(120)
        event.remove(Session, "after_commit", after_commit)
    assert paused, f"the import held one write transaction from start to end {importing} {result}"
    assert result["login"].status_code == 303 and result["login"].headers["Location"] == "/"
    assert result["response"].status_code == 303
    assert count(Rating) == 1200 and count(Viewing) == 300 and count(WeekPick) == 40
    assert importing["commits"] >= 2 + 1200 // transfer.BATCH_ROWS, "written in many short transactions"


def test_an_import_cut_short_is_completed_by_running_it_again(app_ctx, make_user):
    user = make_user()
    db.session.commit()
    data = transfer.parse_export(json.dumps(export(ratings=[rating(f"Tape {n}") for n in range(30)])).encode())
    batches = transfer.import_batches(user, data, batch_rows=10)
    for _ in range(3):  # the profile and two batches of ratings, then the request dies
        next(batches)
        db.session.commit()
    batches.close()
    assert count(Rating) == 20
    for _ in transfer.import_batches(user, data, batch_rows=10):
        db.session.commit()
    assert count(Rating) == 30 and count(Title) == 30, "nothing twice"


def test_the_import_is_capped_in_rows(client, make_user, app):
    user = make_user(bio="untouched")
    login(client, user)
    cap = transfer.MAX_ROWS
    too_many = export(weeks=[week(1, picks=[{"kind": "film", "position": 1, "title": film("A")}])],
                      ratings=[rating("Same tape")] * (cap - 1))
    response = upload(client, too_many)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f"at most {cap:,} entries" in body and f"holds {cap + 1:,}" in body and 'id="file-error"' in body
    assert count(Rating) == 0 and count(Week) == 0 and count(Title) == 0
    assert db.session.get(User, user.id).bio == "untouched"
    assert upload(client, export(ratings=[rating("Same tape")] * cap)).status_code == 303


def test_imports_are_rate_limited_per_account(database_url, app, make_user):
    limited = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_IMPORT="2 per hour",
                       RATELIMIT_STORAGE_URI="memory://", RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex}")
    first, second = make_user(), make_user()
    db.session.commit()
    client = limited.test_client()
    login(client, first)
    assert [upload(client, export()).status_code for _ in range(2)] == [303, 303]
    refused = upload(client, export())
    assert refused.status_code == 429 and refused.headers.get("Retry-After")
    # The same address, another account: its own count.
    login(client, second)
    assert upload(client, export()).status_code == 303


def test_titles_an_import_creates_stay_out_of_the_public_catalog(client, make_user):
    importer, other = make_user(), make_user()
    login(client, importer)
    assert upload(client, export(ratings=[rating("Dad's Holiday Videos 1994")])).status_code == 303
    title = db.session.scalar(select(Title).where(Title.title == "Dad's Holiday Videos 1994"))
    assert title is not None and not title.is_published and title.added_by_id == importer.id
    assert "Holiday Videos" in client.get("/catalog?q=holiday").get_data(as_text=True), "the importer sees it"
    assert client.get(f"/titles/{title.id}").status_code == 200
    for viewer in (other, None):
        if viewer is None:
            client.post("/logout")
        else:
            login(client, viewer)
        assert "Holiday Videos" not in client.get("/catalog?q=holiday").get_data(as_text=True)
        assert "Holiday Videos" not in client.get("/catalog").get_data(as_text=True)
        assert "Holiday Videos" not in client.get("/search?q=holiday").get_data(as_text=True)
        assert client.get(f"/titles/{title.id}").status_code == 404


# Item 10: numbers too long for Python's int() ---------------------------------------

def _with_number(digits: int, where: Callable[[dict[str, Any], str], None]) -> bytes:
    data = export(weeks=[week(1, picks=[{"kind": "film", "position": 1, "title": film("A")}])],
                  ratings=[rating("B")])
    where(data, "@NUMBER@")
    return json.dumps(data).replace('"@NUMBER@"', "9" * digits).encode()


NUMBER_PLACES: dict[str, Callable[[dict[str, Any], str], None]] = {
    "week year": lambda d, n: d["weeks"][0].update(iso_year=n),
    "pick slot": lambda d, n: d["weeks"][0]["picks"][0].update(position=n),
    "title year": lambda d, n: d["weeks"][0]["picks"][0]["title"].update(year=n),
    "TMDB id": lambda d, n: d["ratings"][0]["title"].update(tmdb_id=n),
    "score": lambda d, n: d["ratings"][0].update(score=n),
    "format version": lambda d, n: d.update(version=n),
}


@pytest.mark.parametrize("digits", [4300, 5000])
@pytest.mark.parametrize("place", list(NUMBER_PLACES))
def test_a_huge_number_in_an_import_is_a_422(client, make_user, place, digits):
    user = make_user(bio="untouched")
    login(client, user)
    response = upload(client, _with_number(digits, NUMBER_PLACES[place]))
    assert response.status_code == 422, place
    assert 'id="file-error"' in response.get_data(as_text=True)
    assert count(Rating) == 0 and count(Week) == 0
    assert db.session.get(User, user.id).bio == "untouched"


# Item 11: the forms' rules, all checked before anything is written ------------------

BAD_FIELDS: dict[str, tuple[dict[str, Any], str]] = {
    "bio over 500": (export(profile={"bio": "b" * 2000}), "Profile, bio"),
    "display name over 50": (export(profile={"display_name": "d" * 51}), "Profile, display name"),
    "birth date in the future": (export(profile={"birth_date": "2999-01-01"}), "cannot be in the future"),
    "birth date before 1900": (export(profile={"birth_date": "1850-01-01"}), "from 1900 on"),
    "birth date not a date": (export(profile={"birth_date": "soon"}), "Profile, birth date"),
    "private not a boolean": (export(profile={"is_private": "yes"}), "Profile, private profile"),
    "notes too long": (export(weeks=[week(3, notes="n" * 2001)]), "Week 3, 2026, notes"),
    "title too long": (export(ratings=[rating("t" * 301)]), "Rating 1"),
    "title empty": (export(ratings=[rating("   ")]), "Give the title."),
    "year out of range": (export(ratings=[{**rating("Old"), "title": film("Old", 1869)}]), "between 1870 and 2200"),
    "year as a decimal": (export(ratings=[{**rating("Old"), "title": film("Old", 1994.5)}]), "Rating 1 “Old”, year"),
    "score out of range": (export(ratings=[rating("S", 7)]), "Rating 1 “S”, score"),
    "score off the half stars": (export(ratings=[rating("S", 4.2)]), "half stars"),
    "viewing date": (export(viewings=[{"title": film("V"), "watched_at": "yesterday"}]), "Viewing 1 “V”, date"),
}


@pytest.mark.parametrize("case", list(BAD_FIELDS))
def test_each_field_follows_its_form_and_names_the_entry(client, make_user, case):
    data, named = BAD_FIELDS[case]
    user = make_user(bio="untouched", display_name="Kept")
    login(client, user)
    response = upload(client, data)
    assert response.status_code == 422, case
    body = response.get_data(as_text=True)
    assert 'id="file-error"' in body and named in body, body
    assert count(Week) == 0 and count(Rating) == 0 and count(Viewing) == 0 and count(Title) == 0
    fresh = db.session.get(User, user.id)
    assert (fresh.bio, fresh.display_name) == ("untouched", "Kept")


def test_a_bad_last_entry_leaves_nothing_written(client, make_user):
    """The whole file is checked before the first batch is written."""
    user = make_user(bio="untouched")
    login(client, user)
    data = export(weeks=[week(n, notes="fine") for n in range(1, 30)],
                  ratings=[rating(f"Tape {n}") for n in range(3 * transfer.BATCH_ROWS)] + [rating("Last", 9)])
    response = upload(client, data)
    assert response.status_code == 422 and f"Rating {3 * transfer.BATCH_ROWS + 1}" in response.get_data(as_text=True)
    assert count(Week) == 0 and count(Rating) == 0 and count(Title) == 0
    assert db.session.get(User, user.id).bio == "untouched"


def test_a_500_character_bio_is_imported(client, make_user):
    user = make_user()
    login(client, user)
    assert upload(client, export(profile={"bio": "b" * 500})).status_code == 303
    assert db.session.get(User, user.id).bio == "b" * 500


# Item 8: CSV cells never start a formula --------------------------------------------

@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_start_like_a_formula_are_neutralised(client, make_user, start):
    user = make_user(display_name=f"{start}HYPERLINK(\"http://evil.example\")", bio=f"{start}1+1")
    db.session.add(Week(user_id=user.id, iso_year=2026, iso_week=5, notes=f"{start}cmd|' /C calc'!A0"))
    db.session.commit()
    login(client, user)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/weeks/export.zip").data))
    profile = next(csv.DictReader(io.StringIO(archive.read("profile.csv").decode(), newline="")))
    weeks = next(csv.DictReader(io.StringIO(archive.read("weeks.csv").decode(), newline="")))
    assert profile["display_name"] == f"'{start}HYPERLINK(\"http://evil.example\")"
    assert profile["bio"] == f"'{start}1+1"
    assert weeks["notes"] == f"'{start}cmd|' /C calc'!A0"
    assert weeks["iso_year"] == "2026", "numbers are left alone"
