"""Export (byte-stable JSON, a zip of CSV files) and import into another account."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.weeks.helpers import fill_years, sample_titles
from webapp.catalog.models import Rating, Title
from webapp.db import db
from webapp.tonight.models import Viewing
from webapp.weeks import services, transfer
from webapp.weeks.iso import IsoWeek
from webapp.weeks.models import Week, WeekPick

IDENTITY = ("username", "email")


@pytest.fixture
def titles(app_ctx):
    found = sample_titles()
    db.session.commit()
    return found


@pytest.fixture
def alice(make_user, titles):
    user = make_user(username="alice", display_name="Alice Moreau", bio="Films on Fridays.", is_private=True)
    fill_years(user, titles, years=(2025, 2026), weeks=3)
    services.save_notes(user, IsoWeek(2026, 53), "Last week of the year, “quotes” and ünïcode.")
    db.session.add(Rating(user_id=user.id, title_id=titles["heat"].id, score=4.5))
    db.session.add(Rating(user_id=user.id, title_id=titles["blue"].id, score=5))
    db.session.add(Viewing(user_id=user.id, title_id=titles["heat"].id, watched_at=datetime(2026, 3, 6, 21, 30)))
    db.session.commit()
    return user


def without_identity(raw: bytes) -> dict:
    data = json.loads(raw)
    for key in IDENTITY:
        data["profile"].pop(key)
    return data


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_json_export_is_byte_stable_and_complete(client, alice):
    login(client, alice)
    first = client.get("/weeks/export.json")
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert first.headers["Content-Disposition"] == 'attachment; filename="marquee-alice.json"'
    assert client.get("/weeks/export.json").data == first.data
    data = json.loads(first.data)
    assert data["format"] == "marquee-export" and data["version"] == 1
    assert data["profile"]["display_name"] == "Alice Moreau" and data["profile"]["is_private"] is True
    assert [(w["iso_year"], w["iso_week"]) for w in data["weeks"]] == [
        (2025, 1), (2025, 2), (2025, 3), (2026, 1), (2026, 2), (2026, 3), (2026, 53)]
    assert [(p["kind"], p["position"]) for p in data["weeks"][0]["picks"]] == [
        ("film", 1), ("film", 2), ("album", 1), ("album", 2)]
    assert [r["score"] for r in data["ratings"]] == [5.0, 4.5]  # Blue (album) sorts before Heat (movie)
    assert [(v["watched_at"], v["title"]["title"]) for v in data["viewings"]] == [("2026-03-06T21:30:00", "Heat")]
    assert first.data == json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2).encode() + b"\n"


def test_round_trip_into_another_account(client, alice, make_user):
    login(client, alice)
    exported = client.get("/weeks/export.json").data
    bob = make_user(username="bob")
    login(client, bob)
    titles_before = count(Title)
    response = client.post("/weeks/import", data={"file": (io.BytesIO(exported), "alice.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    assert count(Title) == titles_before, "the same catalog titles are found again"
    again = client.get("/weeks/export.json").data
    assert without_identity(again) == without_identity(exported)
    assert json.loads(again)["profile"]["username"] == "bob"
    # Importing the same file twice changes nothing.
    client.post("/weeks/import", data={"file": (io.BytesIO(exported), "alice.json")},
                content_type="multipart/form-data")
    assert client.get("/weeks/export.json").data == again


def test_import_into_a_fresh_catalog_adds_manual_titles(app_ctx, alice, make_user):
    data = transfer.parse_export(transfer.export_json(alice))
    for week in data["weeks"]:
        for pick in week["picks"]:
            pick["title"]["title"] += " (elsewhere)"
    bob = make_user()
    transfer.import_data(bob, data)
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Title.title.like("% (elsewhere)"))) == 5


def test_csv_zip(client, alice):
    login(client, alice)
    response = client.get("/weeks/export.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert client.get("/weeks/export.zip").data == response.data
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["picks.csv", "profile.csv", "ratings.csv", "viewings.csv", "weeks.csv"]
    picks = list(csv.DictReader(io.StringIO(archive.read("picks.csv").decode())))
    assert len(picks) == 24 and picks[0]["slot_kind"] == "film" and picks[0]["title"]
    weeks = list(csv.DictReader(io.StringIO(archive.read("weeks.csv").decode())))
    assert weeks[-1]["week_start"] == "2026-12-28" and "ünïcode" in weeks[-1]["notes"]


def valid(alice) -> dict:
    return json.loads(transfer.export_json(alice))


def damaged(alice, change) -> bytes:  # type: ignore[no-untyped-def]
    data = valid(alice)
    change(data)
    return json.dumps(data).encode()


BAD = {
    "not json": lambda a: b"{not json",
    "not an export": lambda a: b'{"hello": 1}',
    "binary": lambda a: b"\xff\xfe\x00",
    "newer version": lambda a: damaged(a, lambda d: d.update(version=99)),
    "week 54": lambda a: damaged(a, lambda d: d["weeks"][0].update(iso_week=54)),
    "week 53 of 2025": lambda a: damaged(a, lambda d: d["weeks"][0].update(iso_year=2025, iso_week=53)),
    "year 0": lambda a: damaged(a, lambda d: d["weeks"][0].update(iso_year=0)),
    "week as text": lambda a: damaged(a, lambda d: d["weeks"][0].update(iso_week="3")),
    "third film": lambda a: damaged(a, lambda d: d["weeks"][0]["picks"].append(
        {**d["weeks"][0]["picks"][0], "position": 3})),
    "album in a film slot": lambda a: damaged(a, lambda d: d["weeks"][0]["picks"][0]["title"].update(kind="album")),
    "slot twice": lambda a: damaged(a, lambda d: d["weeks"][0]["picks"][1].update(position=1)),
    "week twice": lambda a: damaged(a, lambda d: d["weeks"].append(d["weeks"][0])),
    "bad score": lambda a: damaged(a, lambda d: d["ratings"][0].update(score=4.2)),
    "viewing date": lambda a: damaged(a, lambda d: d["viewings"][0].update(watched_at="yesterday")),
    "viewings not a list": lambda a: damaged(a, lambda d: d.update(viewings={"a": 1})),
    "nul in notes": lambda a: damaged(a, lambda d: d["weeks"][0].update(notes="a\x00b")),
    "deep nesting": lambda a: b"[" * 100000,
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_a_422_beside_the_field_and_nothing_is_written(client, alice, make_user, case):
    content = BAD[case](alice)
    bob = make_user(bio="untouched")
    login(client, bob)
    weeks, picks, ratings = count(Week), count(WeekPick), count(Rating)
    response = client.post("/weeks/import", data={"file": (io.BytesIO(content), "x.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 422, case
    body = response.get_data(as_text=True)
    assert 'id="file-error"' in body
    assert (count(Week), count(WeekPick), count(Rating)) == (weeks, picks, ratings)


def test_import_without_a_file(client, auth):
    response = client.post("/weeks/import", data={})
    assert response.status_code == 422
    assert "Choose the .json file of an export." in response.get_data(as_text=True)
