"""The group watchlist: one item per (group, title), who added it and why, watched or
not, snoozed or not; filters and sorting for its page, and the pool tonight draws from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import contains_eager, joinedload

from webapp.accounts.models import User
from webapp.catalog.models import Genre, Title, title_genres
from webapp.db import db, insert_or_ignore, utcnow
from webapp.errors import Invalid, NotFound
from webapp.groups.models import Group, WatchlistItem

NOTE_MAX = 200
PER_PAGE = 50
SNOOZE_PRESETS = {"tomorrow": 1, "week": 7, "month": 30}
SNOOZE_DAYS_MAX = 366
SORTS = {
    "added": "Recently added",
    "title": "Title",
    "year": "Year",
    "runtime": "Shortest first",
}
STATUS_FILTERS = {"": "Any status", "watchlist": "To watch", "watched": "Watched"}
KIND_FILTERS = {"": "Any kind", "movie": "Films", "tv": "Shows", "album": "Albums"}


@dataclass(frozen=True)
class Filters:
    status: str = ""
    kind: str = ""
    tonight: bool = False  # only items a tonight session could draw
    sort: str = "added"


# Items -----------------------------------------------------------------------------

def _clean_note(note: str | None) -> str:
    cleaned = " ".join((note or "").split())
    if len(cleaned) > NOTE_MAX:
        raise Invalid(f"Keep the note to {NOTE_MAX} characters.", field="note")
    return cleaned


def add_item(group: Group, user: User, title: Title, note: str = "", *, now: datetime | None = None) -> tuple[WatchlistItem, bool]:
    """Put a title on the watchlist. Returns (item, added); adding a title that is
    already there changes nothing (added is False), even when two members add it at once."""
    cleaned = _clean_note(note)
    added = insert_or_ignore(
        WatchlistItem, group_id=group.id, title_id=title.id, added_by_id=user.id, note=cleaned,
        status="watchlist", added_at=now or utcnow(),
    )
    item = db.session.scalar(
        select(WatchlistItem).where(WatchlistItem.group_id == group.id, WatchlistItem.title_id == title.id)
    )
    assert item is not None
    return item, added


def get_item(group: Group, item_id: int) -> WatchlistItem:
    item = db.session.scalar(
        select(WatchlistItem)
        .where(WatchlistItem.id == item_id, WatchlistItem.group_id == group.id)
        .options(joinedload(WatchlistItem.title), joinedload(WatchlistItem.added_by))
    )
    if item is None:
        raise NotFound()
    return item


def set_status(item: WatchlistItem, status: str, *, now: datetime | None = None) -> None:
    if status not in ("watchlist", "watched"):
        raise Invalid("Choose to watch or watched.", field="status")
    item.status = status
    item.watched_at = (now or utcnow()) if status == "watched" else None
    db.session.flush()


def set_note(item: WatchlistItem, note: str) -> None:
    item.note = _clean_note(note)
    db.session.flush()


def snooze_until(preset: str | None, on: date | None, *, today: date) -> datetime:
    """The moment a snooze ends: a preset ("tomorrow", "week", "month") or a date."""
    if preset in SNOOZE_PRESETS:
        day = today + timedelta(days=SNOOZE_PRESETS[preset])
    elif on is not None:
        day = on
    else:
        raise Invalid("Choose how long to snooze it, or a date.", field="until")
    if day <= today:
        raise Invalid("Choose a date after today.", field="until")
    if day > today + timedelta(days=SNOOZE_DAYS_MAX):
        raise Invalid("Snooze for at most a year.", field="until")
    return datetime.combine(day, time.min)


def snooze(item: WatchlistItem, until: datetime) -> None:
    item.snoozed_until = until
    db.session.flush()


def unsnooze(item: WatchlistItem) -> None:
    item.snoozed_until = None
    db.session.flush()


def remove_item(item: WatchlistItem) -> None:
    db.session.delete(item)
    db.session.flush()


def mark_watched_by_title(group_id: int, title_id: int, *, now: datetime) -> None:
    db.session.execute(
        update(WatchlistItem)
        .where(WatchlistItem.group_id == group_id, WatchlistItem.title_id == title_id)
        .values(status="watched", watched_at=now, snoozed_until=None)
    )


# Lists -----------------------------------------------------------------------------

def eligible(query, now: datetime):  # type: ignore[no-untyped-def]
    """Restrict a WatchlistItem query to what tonight can draw: to watch, not snoozed."""
    return query.where(
        WatchlistItem.status == "watchlist",
        (WatchlistItem.snoozed_until.is_(None)) | (WatchlistItem.snoozed_until <= now),
    )


def items_page(group: Group, filters: Filters, *, page: int, now: datetime | None = None,
               per_page: int = PER_PAGE):  # type: ignore[no-untyped-def]
    """One page of items with their titles and who added them: two queries (count,
    rows) whatever the page size."""
    now = now or utcnow()
    query = (
        select(WatchlistItem)
        .join(WatchlistItem.title)
        .where(WatchlistItem.group_id == group.id)
        .options(contains_eager(WatchlistItem.title), joinedload(WatchlistItem.added_by))
    )
    if filters.status in ("watchlist", "watched"):
        query = query.where(WatchlistItem.status == filters.status)
    if filters.kind in KIND_FILTERS and filters.kind:
        query = query.where(Title.kind == filters.kind)
    if filters.tonight:
        query = eligible(query, now)
    order = {
        "title": (Title.sort_title, WatchlistItem.id),
        "year": (Title.year.desc().nulls_last(), Title.sort_title, WatchlistItem.id),
        "runtime": (Title.runtime_minutes.asc().nulls_last(), Title.sort_title, WatchlistItem.id),
    }.get(filters.sort, (WatchlistItem.added_at.desc(), WatchlistItem.id.desc()))
    return db.paginate(query.order_by(*order), page=page, per_page=per_page, error_out=False)


def counts(group: Group, *, now: datetime | None = None) -> dict[str, int]:
    """How many items to watch, watched, and eligible for tonight (one query)."""
    now = now or utcnow()
    snoozed = (WatchlistItem.snoozed_until.is_not(None)) & (WatchlistItem.snoozed_until > now)
    row = db.session.execute(
        select(
            func.count(WatchlistItem.id).filter(WatchlistItem.status == "watchlist"),
            func.count(WatchlistItem.id).filter(WatchlistItem.status == "watched"),
            func.count(WatchlistItem.id).filter(WatchlistItem.status == "watchlist", snoozed),
        ).where(WatchlistItem.group_id == group.id)
    ).one()
    to_watch, watched, snoozed_count = (int(v or 0) for v in row)
    return {"watchlist": to_watch, "watched": watched, "snoozed": snoozed_count, "eligible": to_watch - snoozed_count}


def pool(group: Group, *, now: datetime) -> list[WatchlistItem]:
    """Every item tonight may draw, with titles and genres, in a stable order."""
    query = (
        select(WatchlistItem)
        .join(WatchlistItem.title)
        .where(WatchlistItem.group_id == group.id)
        .options(contains_eager(WatchlistItem.title).selectinload(Title.genres))
        .order_by(WatchlistItem.id)
    )
    return list(db.session.scalars(eligible(query, now)).unique())


def pool_genres(group: Group, *, now: datetime) -> list[str]:
    """The genre names of what tonight may draw, for the start form (one query)."""
    query = (
        select(Genre.name).distinct()
        .join(title_genres, title_genres.c.genre_id == Genre.id)
        .join(WatchlistItem, WatchlistItem.title_id == title_genres.c.title_id)
        .where(WatchlistItem.group_id == group.id)
    )
    return list(db.session.scalars(eligible(query, now).order_by(Genre.name)))


def titles_on_watchlist(group: Group, title_ids: list[int]) -> set[int]:
    if not title_ids:
        return set()
    return set(db.session.scalars(
        select(WatchlistItem.title_id).where(WatchlistItem.group_id == group.id, WatchlistItem.title_id.in_(title_ids))
    ))

