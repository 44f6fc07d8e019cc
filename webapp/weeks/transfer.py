"""All of a user's data out (JSON, or a zip of CSV files) and back in.

The JSON is byte-stable: sorted keys, a fixed order for every list, and no timestamp of
the export itself, so two exports of unchanged data are identical. Titles travel with
every id the catalog knows them by, so an import finds the same catalog titles again
(or adds a manual title when this catalog has never heard of one). Importing checks the
whole file first and then writes everything in the request's one transaction."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.catalog import services as catalog
from webapp.catalog.models import KINDS, Rating, Title
from webapp.tonight.models import Viewing
from webapp.db import db, insert_or_ignore, utcnow
from webapp.errors import Invalid
from webapp.weeks.iso import IsoWeek, NoSuchWeek
from webapp.weeks.models import PICK_KINDS, SLOTS, Week, WeekPick
from webapp.weeks.services import NOTES_MAX, TITLE_KIND

FORMAT = "marquee-export"
VERSION = 1
MAX_WEEKS = 20_000
MAX_RATINGS = 100_000
ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed member times: the zip is byte-stable too


# Export ----------------------------------------------------------------------------

def _title(title: Title) -> dict[str, Any]:
    return {
        "kind": title.kind,
        "title": title.title,
        "year": title.year,
        "artist": title.artist_credit,
        "tmdb_id": title.tmdb_id,
        "musicbrainz_id": title.musicbrainz_id,
        "imdb_id": title.imdb_id,
    }


def _title_key(data: dict[str, Any]) -> tuple[Any, ...]:
    return (data["kind"], data["title"].lower(), data["year"] or 0, data["tmdb_id"] or 0,
            data["musicbrainz_id"] or "", data["imdb_id"] or "")


def export_data(user: User) -> dict[str, Any]:
    weeks = db.session.scalars(
        select(Week).where(Week.user_id == user.id)
        .options(selectinload(Week.picks).joinedload(WeekPick.title))
        .order_by(Week.iso_year, Week.iso_week)
    ).all()
    ratings = db.session.execute(
        select(Rating, Title).join(Title, Title.id == Rating.title_id).where(Rating.user_id == user.id)
    ).all()
    rating_rows = sorted(
        ({"title": _title(title), "score": rating.score, "rated_at": rating.created_at.isoformat(timespec="seconds")}
         for rating, title in ratings),
        key=lambda r: _title_key(r["title"]),
    )
    viewings = db.session.execute(
        select(Viewing.watched_at, Title).join(Title, Title.id == Viewing.title_id).where(Viewing.user_id == user.id)
    ).all()
    viewing_rows = sorted(
        ({"title": _title(title), "watched_at": watched_at.isoformat(timespec="seconds")}
         for watched_at, title in viewings),
        key=lambda v: (v["watched_at"], _title_key(v["title"])),
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "profile": {
            "username": user.username,
            "email": user.email,
            "display_name": user.display_name,
            "bio": user.bio or "",
            "birth_date": user.birth_date.isoformat() if user.birth_date else None,
            "is_private": user.is_private,
        },
        "weeks": [
            {
                "iso_year": week.iso_year,
                "iso_week": week.iso_week,
                "notes": week.notes,
                "picks": [
                    {"kind": pick.kind, "position": pick.position, "title": _title(pick.title)}
                    for pick in sorted(week.picks, key=lambda p: (PICK_KINDS.index(p.kind), p.position))
                ],
            }
            for week in weeks
        ],
        "ratings": rating_rows,
        # What the user watched with a group ("We watched it" after a tonight session).
        "viewings": viewing_rows,
    }


def export_json(user: User) -> bytes:
    return (json.dumps(export_data(user), sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode()


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    return out.getvalue().encode()


TITLE_COLUMNS = ["kind", "title", "year", "artist", "tmdb_id", "musicbrainz_id", "imdb_id"]


def export_zip(user: User) -> bytes:
    data = export_data(user)
    profile = data["profile"]
    files = {
        "profile.csv": _csv(list(profile), [list(profile.values())]),
        "weeks.csv": _csv(
            ["iso_year", "iso_week", "week_start", "notes"],
            [[w["iso_year"], w["iso_week"], IsoWeek(w["iso_year"], w["iso_week"]).monday.isoformat(), w["notes"]]
             for w in data["weeks"]],
        ),
        "picks.csv": _csv(
            ["iso_year", "iso_week", "slot_kind", "position", *TITLE_COLUMNS],
            [[w["iso_year"], w["iso_week"], p["kind"], p["position"], *(p["title"][c] for c in TITLE_COLUMNS)]
             for w in data["weeks"] for p in w["picks"]],
        ),
        "ratings.csv": _csv(
            ["score", "rated_at", *TITLE_COLUMNS],
            [[r["score"], r["rated_at"], *(r["title"][c] for c in TITLE_COLUMNS)] for r in data["ratings"]],
        ),
        "viewings.csv": _csv(
            ["watched_at", *TITLE_COLUMNS],
            [[v["watched_at"], *(v["title"][c] for c in TITLE_COLUMNS)] for v in data["viewings"]],
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


# Import ----------------------------------------------------------------------------

class _Bad(Exception):
    pass


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise _Bad(message)


def _text(value: Any, name: str, *, max_len: int, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    _need(isinstance(value, str), f"{name} must be text.")
    _need(len(value) <= max_len, f"{name} is longer than {max_len} characters.")
    _need(not required or bool(value.strip()), f"{name} is empty.")
    _need("\x00" not in value, f"{name} holds a NUL character.")
    return value


def _int(value: Any, name: str, low: int, high: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    _need(isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
          f"{name} must be a whole number from {low} to {high}.")
    return value


def _check_title(raw: Any, where: str) -> dict[str, Any]:
    _need(isinstance(raw, dict), f"{where}: the title is missing.")
    kind = raw.get("kind")
    _need(kind in KINDS, f"{where}: unknown title kind.")
    mbid = _text(raw.get("musicbrainz_id"), f"{where} MusicBrainz id", max_len=36)
    imdb = _text(raw.get("imdb_id"), f"{where} IMDb id", max_len=16)
    return {
        "kind": kind,
        "title": " ".join((_text(raw.get("title"), f"{where} title", max_len=300, required=True) or "").split()),
        "year": _int(raw.get("year"), f"{where} year", 1870, 2200, optional=True),
        "artist": _text(raw.get("artist"), f"{where} artist", max_len=300),
        "tmdb_id": _int(raw.get("tmdb_id"), f"{where} TMDB id", 1, 2**31 - 1, optional=True),
        "musicbrainz_id": mbid.lower() if mbid else None,
        "imdb_id": imdb or None,
    }


def parse_export(raw: bytes) -> dict[str, Any]:
    """Check an export file completely; Invalid (beside the file field) says what is wrong."""
    try:
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise _Bad("This is not a Marquee export: the file is not JSON.") from error
        _need(isinstance(data, dict) and data.get("format") == FORMAT, "This is not a Marquee export file.")
        _need(data.get("version") == VERSION, "This export comes from a newer Marquee: it cannot be read here.")
        profile = data.get("profile") or {}
        _need(isinstance(profile, dict), "The profile part is damaged.")
        birth = _text(profile.get("birth_date"), "The birth date", max_len=10)
        try:
            birth_date = date.fromisoformat(birth) if birth else None
        except ValueError as error:
            raise _Bad("The birth date is not a date.") from error
        private = profile.get("is_private", False)
        _need(isinstance(private, bool), "The privacy setting is damaged.")
        clean: dict[str, Any] = {
            "profile": {
                "display_name": _text(profile.get("display_name"), "The display name", max_len=50),
                "bio": _text(profile.get("bio"), "The bio", max_len=2000) or "",
                "birth_date": birth_date,
                "is_private": private,
            },
            "weeks": [],
            "ratings": [],
            "viewings": [],
        }
        weeks = data.get("weeks", [])
        _need(isinstance(weeks, list) and len(weeks) <= MAX_WEEKS, "The weeks part is damaged.")
        seen_weeks: set[tuple[int, int]] = set()
        for raw_week in weeks:
            _need(isinstance(raw_week, dict), "A week is damaged.")
            try:
                when = IsoWeek.parse(_int(raw_week.get("iso_year"), "A week's year", 1900, 2200),  # type: ignore[arg-type]
                                     _int(raw_week.get("iso_week"), "A week's number", 1, 53))  # type: ignore[arg-type]
            except NoSuchWeek as error:
                raise _Bad(str(error)) from error
            where = when.label
            _need((when.year, when.week) not in seen_weeks, f"{where} appears twice.")
            seen_weeks.add((when.year, when.week))
            notes = _text(raw_week.get("notes"), f"{where}: the notes", max_len=NOTES_MAX) or ""
            picks = raw_week.get("picks", [])
            _need(isinstance(picks, list) and len(picks) <= 4, f"{where}: too many picks.")
            slots: set[tuple[str, int]] = set()
            clean_picks = []
            for raw_pick in picks:
                _need(isinstance(raw_pick, dict), f"{where}: a pick is damaged.")
                kind = raw_pick.get("kind")
                _need(kind in PICK_KINDS, f"{where}: picks are films or albums.")
                position = _int(raw_pick.get("position"), f"{where}: a slot", 1, len(SLOTS))
                _need((kind, position) not in slots, f"{where}: {kind} {position} appears twice.")
                slots.add((kind, position))  # type: ignore[arg-type]
                title = _check_title(raw_pick.get("title"), where)
                _need(title["kind"] == TITLE_KIND[kind], f"{where}: “{title['title']}” does not fit a {kind} slot.")
                clean_picks.append({"kind": kind, "position": position, "title": title})
            clean["weeks"].append({"when": when, "notes": notes.strip(), "picks": clean_picks})
        ratings = data.get("ratings", [])
        _need(isinstance(ratings, list) and len(ratings) <= MAX_RATINGS, "The ratings part is damaged.")
        for raw_rating in ratings:
            _need(isinstance(raw_rating, dict), "A rating is damaged.")
            score = raw_rating.get("score")
            _need(isinstance(score, (int, float)) and not isinstance(score, bool) and 0.5 <= score <= 5
                  and float(score) * 2 == int(float(score) * 2), "A rating is not 0.5 to 5 in half stars.")
            stamp = _text(raw_rating.get("rated_at"), "A rating's date", max_len=32, required=True)
            try:
                rated_at = datetime.fromisoformat(stamp)  # type: ignore[arg-type]
            except ValueError as error:
                raise _Bad("A rating's date is not a date.") from error
            clean["ratings"].append({"title": _check_title(raw_rating.get("title"), "A rating"),
                                     "score": float(score), "rated_at": rated_at.replace(tzinfo=None)})
        viewings = data.get("viewings", [])  # absent from exports made before tonight sessions
        _need(isinstance(viewings, list) and len(viewings) <= MAX_RATINGS, "The viewings part is damaged.")
        for raw_viewing in viewings:
            _need(isinstance(raw_viewing, dict), "A viewing is damaged.")
            stamp = _text(raw_viewing.get("watched_at"), "A viewing's date", max_len=32, required=True)
            try:
                watched_at = datetime.fromisoformat(stamp)  # type: ignore[arg-type]
            except ValueError as error:
                raise _Bad("A viewing's date is not a date.") from error
            clean["viewings"].append({"title": _check_title(raw_viewing.get("title"), "A viewing"),
                                      "watched_at": watched_at.replace(tzinfo=None)})
        return clean
    except _Bad as error:
        raise Invalid(str(error), field="file") from error


def _find_titles(refs: list[dict[str, Any]]) -> dict[tuple[Any, ...], Title]:
    """Catalog titles for the refs, by provider ids first: a few queries for any number."""
    found: dict[tuple[Any, ...], Title] = {}
    tmdb = {(r["kind"], r["tmdb_id"]) for r in refs if r["tmdb_id"] and r["kind"] in ("movie", "tv")}
    mb = {r["musicbrainz_id"] for r in refs if r["musicbrainz_id"]}
    imdb = {r["imdb_id"] for r in refs if r["imdb_id"]}
    by_tmdb: dict[tuple[str, int], Title] = {}
    by_mb: dict[str, Title] = {}
    by_imdb: dict[str, Title] = {}
    if tmdb:
        by_tmdb = {(t.kind, t.tmdb_id): t for t in db.session.scalars(  # type: ignore[misc]
            select(Title).where(tuple_(Title.kind, Title.tmdb_id).in_(sorted(tmdb))))}
    if mb:
        by_mb = {t.musicbrainz_id: t for t in db.session.scalars(  # type: ignore[misc]
            select(Title).where(Title.musicbrainz_id.in_(sorted(mb))))}
    if imdb:
        by_imdb = {t.imdb_id: t for t in db.session.scalars(  # type: ignore[misc]
            select(Title).where(Title.imdb_id.in_(sorted(imdb))))}
    for ref in refs:
        key = _title_key(ref)
        if key in found:
            continue
        title = (by_tmdb.get((ref["kind"], ref["tmdb_id"])) or by_mb.get(ref["musicbrainz_id"])
                 or by_imdb.get(ref["imdb_id"]))
        if title is None:
            same_year = Title.year.is_(None) if ref["year"] is None else Title.year == ref["year"]
            title = db.session.scalar(
                select(Title).where(Title.kind == ref["kind"], Title.sort_title == catalog.sort_key(ref["title"]),
                                    same_year).order_by(Title.id).limit(1)
            )
        if title is None:
            title = Title(kind=ref["kind"], title=ref["title"], sort_title=catalog.sort_key(ref["title"]),
                          year=ref["year"], artist_credit=ref["artist"], source="manual", created_at=utcnow(),
                          genres=[])
            db.session.add(title)
            db.session.flush()
        found[key] = title
    return found


def import_data(user: User, data: dict[str, Any]) -> tuple[int, int]:
    """Restore a checked export into `user`'s account: the profile's details, each week
    (replacing a week of the same number), ratings and viewings. Returns (weeks, ratings)."""
    profile = data["profile"]
    if profile["display_name"] and profile["display_name"].strip():
        user.display_name = profile["display_name"].strip()
    user.bio = profile["bio"]
    user.birth_date = profile["birth_date"]
    user.is_private = profile["is_private"]
    refs = [p["title"] for w in data["weeks"] for p in w["picks"]] + [r["title"] for r in data["ratings"]]
    refs += [v["title"] for v in data["viewings"]]
    titles = _find_titles(refs)
    now = utcnow()
    for item in data["weeks"]:
        when: IsoWeek = item["when"]
        insert_or_ignore(Week, user_id=user.id, iso_year=when.year, iso_week=when.week, notes="",
                         created_at=now, updated_at=now)
        week = db.session.scalar(
            select(Week).where(Week.user_id == user.id, Week.iso_year == when.year, Week.iso_week == when.week)
        )
        assert week is not None
        week.notes, week.updated_at = item["notes"], now
        db.session.execute(delete(WeekPick).where(WeekPick.week_id == week.id))
        for pick in item["picks"]:
            db.session.add(WeekPick(week_id=week.id, kind=pick["kind"], position=pick["position"],
                                    title_id=titles[_title_key(pick["title"])].id, created_at=now))
        if not item["picks"] and not item["notes"]:
            db.session.delete(week)
    for rating in data["ratings"]:
        title_id = titles[_title_key(rating["title"])].id
        db.session.execute(delete(Rating).where(Rating.user_id == user.id, Rating.title_id == title_id))
        db.session.add(Rating(user_id=user.id, title_id=title_id, score=rating["score"], created_at=rating["rated_at"]))
    for viewing in data["viewings"]:
        title_id = titles[_title_key(viewing["title"])].id
        # The same viewing imported twice is kept once.
        db.session.execute(delete(Viewing).where(Viewing.user_id == user.id, Viewing.title_id == title_id,
                                                 Viewing.watched_at == viewing["watched_at"],
                                                 Viewing.session_id.is_(None)))
        db.session.add(Viewing(user_id=user.id, title_id=title_id, watched_at=viewing["watched_at"]))
    db.session.flush()
    return len(data["weeks"]), len(data["ratings"])
