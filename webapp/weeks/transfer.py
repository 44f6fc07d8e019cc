"""All of a user's data out (JSON, or a zip of CSV files) and back in.

The JSON is byte-stable: sorted keys, a fixed order for every list, and no timestamp of
the export itself, so two exports of unchanged data are identical. Titles travel with
every id the catalog knows them by, so an import finds the same catalog titles again
(or adds a manual title, unpublished, when this catalog has never heard of one).
Importing checks the whole file first and then writes it in short batches (see Import
below). CSV cells that a spreadsheet would read as a formula are neutralised."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask_wtf import FlaskForm
from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from webapp.accounts.models import User
from webapp.catalog import services as catalog
from webapp.catalog.models import KINDS, Rating, Title
from webapp.catalog.visibility import listed_for
from webapp.tonight.models import Viewing
from webapp.db import db, insert_or_ignore, upsert, utcnow
from webapp.errors import Invalid
from webapp.weeks.iso import IsoWeek, NoSuchWeek
from webapp.weeks.models import PICK_KINDS, SLOTS, Week, WeekPick
from webapp.weeks.services import TITLE_KIND

FORMAT = "marquee-export"
VERSION = 1
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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a
    leading single quote (OWASP's advice for CSV injection). Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    # RFC 4180's CRLF ends a row: the csv module then quotes every cell holding a CR or
    # an LF, so a CR inside a cell no longer splits its row.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_cell(value) for value in row] for row in rows])
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
#
# The whole file is checked first, every field by the same rule as the form that edits
# it (settings, notes, a hand-typed title). Only then is it written, in batches of at
# most BATCH_ROWS entries, each one short write transaction that the caller commits: an
# import never holds the database's write lock for long, and others keep writing
# between batches. Every batch is idempotent (weeks are replaced, ratings and viewings
# kept once, titles found again), so an import cut short is completed by running it
# again.

MAX_ROWS = 5_000  # entries (weeks, picks, ratings, viewings) in one import, by default
BATCH_ROWS = 250
_LONGEST_NUMBER = 18  # digits: more cannot be a year, an id or a week


class _Bad(Exception):
    pass


class _TooLong:
    """A number from the file with too many digits to be anything here."""

    def __init__(self, digits: str) -> None:
        self.digits = digits


def _parse_int(text: str) -> int | _TooLong:
    # Python refuses to convert more than 4,300 digits (ValueError); nothing here
    # needs more than a few, so longer numbers are kept aside and refused by field.
    return _TooLong(text) if len(text.lstrip("-")) > _LONGEST_NUMBER else int(text)


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise _Bad(message)


def _plain(value: Any, where: str) -> str:
    """A field's value as a form would receive it: text, or a whole number as digits."""
    if isinstance(value, _TooLong):
        raise _Bad(f"{where}: the number is too long ({len(value.digits)} digits).")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    _need(isinstance(value, str), f"{where}: expected text, not {_json_type(value)}.")
    _need("\x00" not in value, f"{where}: holds a NUL character.")
    return value


def _json_type(value: Any) -> str:
    return {bool: "true or false", float: "a decimal number", list: "a list", dict: "an object",
            type(None): "nothing"}.get(type(value), "a number")


class _FieldRule:
    """One field of a form, run on imported values: its validators, its messages."""

    def __init__(self, form_class: type[FlaskForm], name: str) -> None:
        self.form = form_class(formdata=None, meta={"csrf": False})
        self.field = self.form[name]

    def __call__(self, value: Any, where: str) -> Any:
        text = _plain(value, where)
        self.field.process(MultiDict([(self.field.name, text)]))
        if not self.field.validate(self.form):
            raise _Bad(f"{where}: {self.field.errors[0]}")
        return self.field.data


class _Rules:
    """The forms' rules, built once per import (forms need the app to build)."""

    def __init__(self) -> None:
        from webapp.accounts.forms import ProfileForm, RegisterForm
        from webapp.weeks.forms import ManualPickForm, NotesForm

        self.display_name = _FieldRule(ProfileForm, "display_name")
        self.bio = _FieldRule(ProfileForm, "bio")
        self.birth_date = _FieldRule(RegisterForm, "birth_date")
        self.notes = _FieldRule(NotesForm, "notes")
        self.title = _FieldRule(ManualPickForm, "title")
        self.year = _FieldRule(ManualPickForm, "year")
        self.artist = _FieldRule(ManualPickForm, "artist")


def _text(value: Any, where: str, *, max_len: int) -> str | None:
    if value is None:
        return None
    _need(isinstance(value, str), f"{where}: expected text, not {_json_type(value)}.")
    _need("\x00" not in value, f"{where}: holds a NUL character.")
    _need(len(value) <= max_len, f"{where}: longer than {max_len} characters.")
    return value  # type: ignore[no-any-return]


def _int(value: Any, where: str, low: int, high: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, _TooLong):
        raise _Bad(f"{where}: the number is too long ({len(value.digits)} digits).")
    _need(isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
          f"{where}: must be a whole number from {low} to {high}.")
    return value


def _label(raw: Any) -> str:
    name = raw.get("title") if isinstance(raw, dict) else None
    return f" “{name[:60]}”" if isinstance(name, str) and name.strip() else ""


def _check_title(raw: Any, where: str, rules: _Rules) -> dict[str, Any]:
    _need(isinstance(raw, dict), f"{where}: the title is missing.")
    kind = raw.get("kind")
    _need(kind in KINDS, f"{where}: unknown title kind.")
    mbid = _text(raw.get("musicbrainz_id"), f"{where}, MusicBrainz id", max_len=36)
    imdb = _text(raw.get("imdb_id"), f"{where}, IMDb id", max_len=16)
    year = raw.get("year")
    artist = raw.get("artist")
    return {
        "kind": kind,
        "title": " ".join(rules.title(raw.get("title"), f"{where}, title").split()),
        "year": None if year is None else rules.year(year, f"{where}, year"),
        "artist": None if artist is None else (rules.artist(artist, f"{where}, artist") or None),
        "tmdb_id": _int(raw.get("tmdb_id"), f"{where}, TMDB id", 1, 2**31 - 1, optional=True),
        "musicbrainz_id": mbid.lower() if mbid else None,
        "imdb_id": imdb or None,
    }


def _stamp(value: Any, where: str) -> datetime:
    text = _text(value, where, max_len=32)
    _need(bool(text), f"{where}: the date is missing.")
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)  # type: ignore[arg-type]
    except ValueError as error:
        raise _Bad(f"{where}: not a date.") from error


def _score(value: Any, where: str) -> float:
    """Ratings have no form: this is the one rule (the ratings table's check says the same)."""
    _need(isinstance(value, (int, float)) and not isinstance(value, bool) and 0.5 <= value <= 5
          and float(value) * 2 == int(float(value) * 2), f"{where}: the score must be 0.5 to 5 in half stars.")
    return float(value)


def _count_rows(data: dict[str, Any]) -> int:
    weeks = data.get("weeks", [])
    ratings = data.get("ratings", [])
    viewings = data.get("viewings", [])
    _need(isinstance(weeks, list), "The weeks part is damaged.")
    _need(isinstance(ratings, list), "The ratings part is damaged.")
    _need(isinstance(viewings, list), "The viewings part is damaged.")
    picks = sum(len(w["picks"]) for w in weeks if isinstance(w, dict) and isinstance(w.get("picks"), list))
    return len(weeks) + picks + len(ratings) + len(viewings)


def parse_export(raw: bytes, *, max_rows: int = MAX_ROWS) -> dict[str, Any]:
    """Check an export file completely; Invalid (beside the file field) names the entry
    and the field that is wrong. Nothing is written."""
    try:
        try:
            data = json.loads(raw.decode("utf-8-sig"), parse_int=_parse_int)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise _Bad("This is not a Marquee export: the file is not JSON.") from error
        _need(isinstance(data, dict) and data.get("format") == FORMAT, "This is not a Marquee export file.")
        _need(data.get("version") == VERSION, "This export comes from a newer Marquee: it cannot be read here.")
        rows = _count_rows(data)
        _need(rows <= max_rows, f"An import takes at most {max_rows:,} entries (weeks, picks, ratings and "
                                f"viewings together); this file holds {rows:,}.")
        rules = _Rules()
        profile = data.get("profile") or {}
        _need(isinstance(profile, dict), "The profile part is damaged.")
        private = profile.get("is_private", False)
        _need(isinstance(private, bool), "Profile, private profile: expected true or false.")
        display_name = profile.get("display_name")
        if display_name is not None and not (isinstance(display_name, str) and not display_name.strip()):
            display_name = rules.display_name(display_name, "Profile, display name").strip()
        birth = profile.get("birth_date")
        clean: dict[str, Any] = {
            "profile": {
                "display_name": display_name or None,
                "bio": "" if profile.get("bio") is None else rules.bio(profile.get("bio"), "Profile, bio") or "",
                "birth_date": None if birth in (None, "") else rules.birth_date(birth, "Profile, birth date"),
                "is_private": private,
            },
            "weeks": [],
            "ratings": [],
            "viewings": [],
        }
        seen_weeks: set[tuple[int, int]] = set()
        for number, raw_week in enumerate(data.get("weeks", []), 1):
            _need(isinstance(raw_week, dict), f"Week entry {number} is damaged.")
            try:
                when = IsoWeek.parse(_int(raw_week.get("iso_year"), f"Week entry {number}, year", 1900, 2200),  # type: ignore[arg-type]
                                     _int(raw_week.get("iso_week"), f"Week entry {number}, week number", 1, 53))  # type: ignore[arg-type]
            except NoSuchWeek as error:
                raise _Bad(f"Week entry {number}: {error}") from error
            where = when.label
            _need((when.year, when.week) not in seen_weeks, f"{where} appears twice.")
            seen_weeks.add((when.year, when.week))
            notes = raw_week.get("notes")
            notes = "" if notes is None else rules.notes(notes, f"{where}, notes") or ""
            picks = raw_week.get("picks", [])
            _need(isinstance(picks, list) and len(picks) <= 4, f"{where}: too many picks.")
            slots: set[tuple[str, int]] = set()
            clean_picks = []
            for raw_pick in picks:
                _need(isinstance(raw_pick, dict), f"{where}: a pick is damaged.")
                kind = raw_pick.get("kind")
                _need(kind in PICK_KINDS, f"{where}: picks are films or albums.")
                position = _int(raw_pick.get("position"), f"{where}, {kind} slot", 1, len(SLOTS))
                _need((kind, position) not in slots, f"{where}: {kind} {position} appears twice.")
                slots.add((kind, position))  # type: ignore[arg-type]
                title = _check_title(raw_pick.get("title"), f"{where}, {kind} {position}", rules)
                _need(title["kind"] == TITLE_KIND[kind], f"{where}: “{title['title']}” does not fit a {kind} slot.")
                clean_picks.append({"kind": kind, "position": position, "title": title})
            clean["weeks"].append({"when": when, "notes": notes.strip(), "picks": clean_picks})
        for number, raw_rating in enumerate(data.get("ratings", []), 1):
            where = f"Rating {number}"
            _need(isinstance(raw_rating, dict), f"{where} is damaged.")
            where += _label(raw_rating.get("title"))
            clean["ratings"].append({"title": _check_title(raw_rating.get("title"), where, rules),
                                     "score": _score(raw_rating.get("score"), f"{where}, score"),
                                     "rated_at": _stamp(raw_rating.get("rated_at"), f"{where}, date")})
        for number, raw_viewing in enumerate(data.get("viewings", []), 1):  # absent before tonight sessions
            where = f"Viewing {number}"
            _need(isinstance(raw_viewing, dict), f"{where} is damaged.")
            where += _label(raw_viewing.get("title"))
            clean["viewings"].append({"title": _check_title(raw_viewing.get("title"), where, rules),
                                      "watched_at": _stamp(raw_viewing.get("watched_at"), f"{where}, date")})
        return clean
    except _Bad as error:
        raise Invalid(str(error), field="file") from error


def _find_titles(user: User, refs: list[dict[str, Any]]) -> dict[tuple[Any, ...], Title]:
    """Catalog titles for the refs, among those `user` can list: by provider ids first
    (a few queries for any number), then by kind, name and year; a new manual title,
    unpublished and added by `user`, for the others (found again by a later run)."""
    found: dict[tuple[Any, ...], Title] = {}
    listed = listed_for(user)
    tmdb = {(r["kind"], r["tmdb_id"]) for r in refs if r["tmdb_id"] and r["kind"] in ("movie", "tv")}
    mb = {r["musicbrainz_id"] for r in refs if r["musicbrainz_id"]}
    imdb = {r["imdb_id"] for r in refs if r["imdb_id"]}
    by_tmdb: dict[tuple[str, int], Title] = {}
    by_mb: dict[str, Title] = {}
    by_imdb: dict[str, Title] = {}
    if tmdb:
        by_tmdb = {(t.kind, t.tmdb_id): t for t in db.session.scalars(  # type: ignore[misc]
            select(Title).where(tuple_(Title.kind, Title.tmdb_id).in_(sorted(tmdb)), listed))}
    if mb:
        by_mb = {t.musicbrainz_id: t for t in db.session.scalars(  # type: ignore[misc]
            select(Title).where(Title.musicbrainz_id.in_(sorted(mb)), listed))}
    if imdb:
        by_imdb = {t.imdb_id: t for t in db.session.scalars(  # type: ignore[misc]
            select(Title).where(Title.imdb_id.in_(sorted(imdb)), listed))}
    by_name: dict[tuple[str, str, int | None], Title] = {}
    names = {catalog.sort_key(r["title"]) for r in refs}
    if names:
        for title in db.session.scalars(select(Title).where(Title.sort_title.in_(sorted(names)), listed)
                                        .order_by(Title.id)):
            by_name.setdefault((title.kind, title.sort_title, title.year), title)
    for ref in refs:
        key = _title_key(ref)
        if key in found:
            continue
        name = (ref["kind"], catalog.sort_key(ref["title"]), ref["year"])
        title = (by_tmdb.get((ref["kind"], ref["tmdb_id"])) or by_mb.get(ref["musicbrainz_id"])
                 or by_imdb.get(ref["imdb_id"]) or by_name.get(name))
        if title is None:
            title = Title(kind=ref["kind"], title=ref["title"], sort_title=name[1], year=ref["year"],
                          artist_credit=ref["artist"], source="manual", created_at=utcnow(), genres=[],
                          is_published=False, added_by_id=user.id)
            db.session.add(title)
            by_name[name] = title
        found[key] = title
    db.session.flush()  # the new titles, in one statement where the driver allows
    return found


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def import_batches(user: User, data: dict[str, Any], *, batch_rows: int = BATCH_ROWS) -> Iterator[None]:
    """Write a checked export into `user`'s account (its profile's details, each week,
    replacing a week of the same number, ratings, viewings), one batch at a time: after
    each batch is flushed it yields, and the caller commits before asking for the next."""
    user_id = user.id
    profile = data["profile"]
    if profile["display_name"]:
        user.display_name = profile["display_name"]
    user.bio = profile["bio"]
    user.birth_date = profile["birth_date"]
    user.is_private = profile["is_private"]
    db.session.flush()
    yield
    for weeks in _chunks(data["weeks"], max(1, batch_rows // 5)):  # a week is at most 5 entries
        titles = _find_titles(user, [p["title"] for w in weeks for p in w["picks"]])
        now = utcnow()
        for item in weeks:
            when: IsoWeek = item["when"]
            insert_or_ignore(Week, user_id=user_id, iso_year=when.year, iso_week=when.week, notes="",
                             created_at=now, updated_at=now)
            week = db.session.scalar(
                select(Week).where(Week.user_id == user_id, Week.iso_year == when.year, Week.iso_week == when.week)
            )
            assert week is not None
            week.notes, week.updated_at = item["notes"], now
            db.session.execute(delete(WeekPick).where(WeekPick.week_id == week.id))
            for pick in item["picks"]:
                db.session.add(WeekPick(week_id=week.id, kind=pick["kind"], position=pick["position"],
                                        title_id=titles[_title_key(pick["title"])].id, created_at=now))
            if not item["picks"] and not item["notes"]:
                db.session.delete(week)
        db.session.flush()
        yield
    for ratings in _chunks(data["ratings"], batch_rows):
        titles = _find_titles(user, [r["title"] for r in ratings])
        rows = {titles[_title_key(r["title"])].id: r for r in ratings}  # a title rated twice: the last one
        upsert(Rating, [{"user_id": user_id, "title_id": title_id, "score": r["score"], "created_at": r["rated_at"]}
                        for title_id, r in rows.items()],
               keys=["user_id", "title_id"], update=["score", "created_at"])
        yield
    for viewings in _chunks(data["viewings"], batch_rows):
        titles = _find_titles(user, [v["title"] for v in viewings])
        for viewing in viewings:
            title_id = titles[_title_key(viewing["title"])].id
            # The same viewing imported twice is kept once.
            db.session.execute(delete(Viewing).where(Viewing.user_id == user_id, Viewing.title_id == title_id,
                                                     Viewing.watched_at == viewing["watched_at"],
                                                     Viewing.session_id.is_(None)))
            db.session.add(Viewing(user_id=user_id, title_id=title_id, watched_at=viewing["watched_at"]))
        db.session.flush()
        yield


def import_data(user: User, data: dict[str, Any]) -> tuple[int, int]:
    """All of a checked export in the caller's one transaction (CLI, tests): every batch
    flushed, none committed. Returns (weeks, ratings)."""
    for _ in import_batches(user, data):
        pass
    return len(data["weeks"]), len(data["ratings"])
