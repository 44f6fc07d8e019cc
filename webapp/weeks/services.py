"""Weekly picks: filling, replacing, removing and reordering slots, notes, lists and the
club view of several people's week.

Reading never writes: a week row appears with its first pick or note. Races are settled
by the database: the slot (week, kind, position) is unique and its position is 1 or 2,
so of simultaneous third picks exactly one finds a free slot."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, bindparam, delete, exists, func, select, update
from sqlalchemy.orm import contains_eager, selectinload

from webapp.accounts.models import User
from webapp.catalog import services as catalog
from webapp.catalog.models import Title
from webapp.db import db, insert_or_ignore, utcnow
from webapp.errors import Invalid, NotFound
from webapp.weeks.iso import IsoWeek
from webapp.weeks.models import PICK_KINDS, SLOTS, Week, WeekPick

NOTES_MAX = 2000
# The catalog kind each slot takes.
TITLE_KIND = {"film": "movie", "album": "album"}
KIND_LABELS = {"film": "Film", "album": "Album"}
PLURALS = {"film": "films", "album": "albums"}


def today() -> date:
    return date.today()


def this_week() -> IsoWeek:
    return IsoWeek.of(today())


def check_kind(kind: str) -> str:
    if kind not in PICK_KINDS:
        raise NotFound("Weeks have film and album slots only.")
    return kind


# Reading ---------------------------------------------------------------------------

@dataclass
class WeekView:
    """A week as its page shows it, whether or not anything was picked yet."""

    when: IsoWeek
    week: Week | None
    slots: dict[str, list[WeekPick | None]] = field(default_factory=dict)

    @property
    def notes(self) -> str:
        return self.week.notes if self.week else ""

    @property
    def picks(self) -> list[WeekPick]:
        return [pick for kind in PICK_KINDS for pick in self.slots[kind] if pick]

    @property
    def is_empty(self) -> bool:
        return not self.picks and not self.notes


def _slots(picks: list[WeekPick]) -> dict[str, list[WeekPick | None]]:
    slots: dict[str, list[WeekPick | None]] = {kind: [None] * len(SLOTS) for kind in PICK_KINDS}
    for pick in picks:
        slots[pick.kind][pick.position - 1] = pick
    return slots


def load_week(user_id: int, when: IsoWeek) -> WeekView:
    """The week and its picks with their titles: two queries."""
    week = db.session.scalar(
        select(Week)
        .where(Week.user_id == user_id, Week.iso_year == when.year, Week.iso_week == when.week)
        .options(selectinload(Week.picks).joinedload(WeekPick.title))
    )
    return WeekView(when, week, _slots(list(week.picks) if week else []))


def years_of(user: User) -> list[int]:
    """Years with at least one week, newest first."""
    return list(db.session.scalars(
        select(Week.iso_year).where(Week.user_id == user.id).distinct().order_by(Week.iso_year.desc())
    ))


def weeks_page(user: User, *, year: int, page: int, per_page: int = 13):  # type: ignore[no-untyped-def]
    """A year's weeks, newest first, each with its picks and their titles."""
    query = (
        select(Week)
        .where(Week.user_id == user.id, Week.iso_year == year)
        .options(selectinload(Week.picks).joinedload(WeekPick.title))
        .order_by(Week.iso_week.desc())
    )
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False)
    for week in pagination.items:
        week.view = WeekView(IsoWeek(week.iso_year, week.iso_week), week, _slots(list(week.picks)))  # type: ignore[attr-defined]
    return pagination


# Built once (see "Statements built once" in webapp/db.py): a profile section.
_WEEK_PICKS = (
    select(WeekPick)
    .join(Week, Week.id == WeekPick.week_id)
    .join(Title, Title.id == WeekPick.title_id)
    .where(Week.user_id == bindparam("user_id"), Week.iso_year == bindparam("year"),
           Week.iso_week == bindparam("week"))
    .options(contains_eager(WeekPick.title))
    .order_by(WeekPick.kind.desc(), WeekPick.position)
)


def week_picks(user_id: int, when: IsoWeek) -> list[WeekPick]:
    """One user's picks for a week with their titles, in one query (profile section)."""
    return list(db.session.scalars(_WEEK_PICKS, {"user_id": user_id, "year": when.year, "week": when.week}))


@dataclass
class ClubMember:
    user: User
    slots: dict[str, list[WeekPick | None]]
    notes: str = ""

    @property
    def picks(self) -> list[WeekPick]:
        return [pick for kind in PICK_KINDS for pick in self.slots[kind] if pick]


@dataclass
class ClubWeek:
    when: IsoWeek
    members: list[ClubMember]


def club_week(user_ids: list[int], iso_year: int, iso_week: int) -> ClubWeek:
    """Every member's picks for one week (a group's "this week"), in the order of
    `user_ids`: two queries whatever the number of members or picks. The caller decides
    who may see whom (a group page shows its own members)."""
    when = IsoWeek.parse(iso_year, iso_week)
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return ClubWeek(when, [])
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    rows = db.session.execute(
        select(Week.user_id, Week.notes, WeekPick)
        .join(WeekPick, WeekPick.week_id == Week.id, isouter=True)
        .join(Title, Title.id == WeekPick.title_id, isouter=True)
        .where(Week.user_id.in_(ids), Week.iso_year == when.year, Week.iso_week == when.week)
        .options(contains_eager(WeekPick.title))
    ).all()
    picks: dict[int, list[WeekPick]] = {}
    notes: dict[int, str] = {}
    for user_id, week_notes, pick in rows:
        notes[user_id] = week_notes
        if pick is not None:
            picks.setdefault(user_id, []).append(pick)
    members = [ClubMember(users[i], _slots(picks.get(i, [])), notes.get(i, "")) for i in ids if i in users]
    return ClubWeek(when, members)


# Choosing a title ------------------------------------------------------------------

def resolve_ref(ref: str, viewer: User | None = None) -> Title:
    """The catalog title a search hit stands for (see catalog.sync.title_for_ref); a
    provider that fails is a message beside the choice, so another hit can be picked."""
    from webapp.catalog import sync
    from webapp.providers.errors import ProviderError

    try:
        return sync.title_for_ref(ref, viewer)
    except ProviderError as error:
        raise Invalid(f"{error.message} Please try again in a moment, or pick from our catalog.", field="ref") from error


def manual_title(kind: str, *, name: str, year: int | None, artist: str | None,
                 added_by: User | None = None) -> Title:
    """A title typed by hand: the catalog's own if it already has it, else a new manual one."""
    check_kind(kind)
    return catalog.find_or_add_title(TITLE_KIND[kind], name, year=year, artist_credit=artist, added_by=added_by)


# Writing ---------------------------------------------------------------------------

def _week_id(user_id: int, when: IsoWeek) -> int:
    """The week's id, the row created on first use (simultaneous first picks share it)."""
    now = utcnow()
    insert_or_ignore(Week, user_id=user_id, iso_year=when.year, iso_week=when.week, notes="",
                     created_at=now, updated_at=now)
    week_id = db.session.scalar(
        select(Week.id).where(Week.user_id == user_id, Week.iso_year == when.year, Week.iso_week == when.week)
    )
    assert week_id is not None
    return week_id


def _touch(week_id: int) -> None:
    db.session.execute(update(Week).where(Week.id == week_id).values(updated_at=utcnow()))


@dataclass
class PickOutcome:
    status: str  # "added" or "replaced"
    position: int
    title: Title


def add_pick(user: User, when: IsoWeek, kind: str, title: Title, *, position: int | None = None) -> PickOutcome:
    """Put `title` in a slot: the given position (filling or replacing it), or the first
    free one. A third film or album is refused: the database has no third slot."""
    check_kind(kind)
    if title.kind != TITLE_KIND[kind]:
        wanted = "a film" if kind == "film" else "an album"
        found = {"movie": "a film", "tv": "a show", "album": "an album"}[title.kind]
        raise Invalid(f"“{title.title}” is {found}: this slot takes {wanted}.", field="ref")
    if position is not None and position not in SLOTS:
        raise Invalid("Choose slot 1 or 2.", field="position")
    user_id, title_id = user.id, title.id
    week_id = _week_id(user_id, when)
    clash = db.session.scalar(
        select(WeekPick.position).where(WeekPick.week_id == week_id, WeekPick.kind == kind, WeekPick.title_id == title_id)
    )
    if clash is not None and clash != position:
        raise Invalid(f"“{title.title}” is already {kind} {clash} of this week.", field="ref")
    now = utcnow()
    if position is not None:
        if insert_or_ignore(WeekPick, week_id=week_id, kind=kind, position=position, title_id=title_id, created_at=now):
            status = "added"
        else:
            db.session.execute(
                update(WeekPick).where(WeekPick.week_id == week_id, WeekPick.kind == kind, WeekPick.position == position)
                .values(title_id=title_id, created_at=now)
            )
            status = "replaced"
        _touch(week_id)
        return PickOutcome(status, position, title)
    for slot in SLOTS:
        if insert_or_ignore(WeekPick, week_id=week_id, kind=kind, position=slot, title_id=title_id, created_at=now):
            _touch(week_id)
            return PickOutcome("added", slot, title)
    raise Invalid(
        f"This week already has two {PLURALS[kind]}: replace or remove one to pick “{title.title}”.", field="ref"
    )


def _own_week_id(user: User, when: IsoWeek) -> int | None:
    return db.session.scalar(
        select(Week.id).where(Week.user_id == user.id, Week.iso_year == when.year, Week.iso_week == when.week)
    )


def _drop_if_empty(week_id: int) -> None:
    """A week with neither picks nor notes is no week: leave no empty row behind."""
    db.session.execute(
        delete(Week).where(Week.id == week_id, Week.notes == "", ~exists().where(WeekPick.week_id == week_id))
    )


def remove_pick(user: User, when: IsoWeek, kind: str, position: int) -> bool:
    """Empty a slot; False if it was empty already (a repeated click is harmless)."""
    check_kind(kind)
    week_id = _own_week_id(user, when)
    if week_id is None or position not in SLOTS:
        return False
    removed = db.session.execute(
        delete(WeekPick).where(WeekPick.week_id == week_id, WeekPick.kind == kind, WeekPick.position == position)
    ).rowcount
    if removed:
        _touch(week_id)
        _drop_if_empty(week_id)
    return bool(removed)


def swap_picks(user: User, when: IsoWeek, kind: str) -> bool:
    """Swap slots 1 and 2 of a kind (a lone pick moves to the other slot). The titles
    change places rather than the positions, so the unique slot is never doubled."""
    check_kind(kind)
    week_id = _own_week_id(user, when)
    if week_id is None:
        return False
    rows = db.session.execute(
        select(WeekPick.id, WeekPick.position, WeekPick.title_id)
        .where(WeekPick.week_id == week_id, WeekPick.kind == kind)
        .order_by(WeekPick.position)
        .with_for_update()
    ).all()
    if not rows:
        return False
    if len(rows) == 1:
        db.session.execute(update(WeekPick).where(WeekPick.id == rows[0].id).values(position=3 - rows[0].position))
    else:
        first, second = rows
        db.session.execute(update(WeekPick).where(WeekPick.id == first.id).values(title_id=second.title_id))
        db.session.execute(update(WeekPick).where(WeekPick.id == second.id).values(title_id=first.title_id))
    _touch(week_id)
    return True


def save_notes(user: User, when: IsoWeek, notes: str) -> None:
    notes = notes.replace("\r\n", "\n").strip()
    if len(notes) > NOTES_MAX:
        raise Invalid(f"Keep notes to {NOTES_MAX} characters.", field="notes")
    if not notes:
        week_id = _own_week_id(user, when)
        if week_id is None:
            return  # nothing to clear: no empty week is created
    else:
        week_id = _week_id(user.id, when)
    db.session.execute(update(Week).where(Week.id == week_id).values(notes=notes, updated_at=utcnow()))
    _drop_if_empty(week_id)


def week_counts(user: User) -> tuple[int, int]:
    """(weeks, picks) of a user."""
    row = db.session.execute(
        select(func.count(func.distinct(Week.id)), func.count(WeekPick.id))
        .select_from(Week)
        .join(WeekPick, and_(WeekPick.week_id == Week.id), isouter=True)
        .where(Week.user_id == user.id)
    ).one()
    return int(row[0]), int(row[1])
