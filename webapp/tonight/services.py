"""Tonight sessions: deal a frozen deck from a group's watchlist, collect blind votes,
and always end in a pick.

Determinism: the deck order and every random draw come from SHA-256 (HMAC) of the
session's seed, its id and the title id, so the same session deals and resolves the same
way in every process and on every database (Python's hash() is salted per process and is
never used). The seed is 32 random bytes stored on the session row when it starts and
never shown, so nobody can compute a draw from the public ids.

Exactness: a vote first bumps `ballots` on the session row with a conditional UPDATE
that only matches while the session is open and before its deadline; the resolution
flips `status` with a conditional UPDATE that only matches while it is open. Both take
the session row's lock (PostgreSQL) or the database's write lock (SQLite, BEGIN
IMMEDIATE), so a vote either lands before the resolution counts or is refused, and of
many simultaneous resolutions exactly one does the work."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from blinker import Namespace
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from webapp.accounts.models import User
from webapp.catalog.models import Genre, Title
from webapp.db import db, insert_or_ignore, insert_returning_id, upsert, utcnow, write_transaction
from webapp.errors import Conflict, Invalid, NotFound
from webapp.groups import services as groups
from webapp.groups import watchlist
from webapp.groups.models import Group, GroupMember, WatchlistItem
from webapp.providers.errors import ProviderError
from webapp.tonight.models import Candidate, TonightSession, Viewing, Vote
from webapp.tonight.parsing import Constraints, Wish, parse_rules

DURATION_MIN, DURATION_MAX = 1, 24 * 60
DURATION_DEFAULT = 15
COUNT_MIN, COUNT_MAX = 2, 20
COUNT_DEFAULT = 6
FREE_TEXT_MAX = 500
PER_PAGE = 20

_signals = Namespace()
#: Sent with the session id by the one request that resolves a session.
session_resolved = _signals.signal("tonight-session-resolved")

RESOLUTION_TEXT = {
    "votes": "Most yes votes.",
    "fewest_no": "Tied on yes votes; it had the fewest no votes.",
    "tiebreak": "Tied on yes and no votes; drawn at random (the same draw every time for this session).",
    "no_votes": "Nobody voted, so it was drawn at random from the deck.",
    "shuffle": "Shuffled: drawn at random from the deck without waiting for votes.",
}


class EmptyPool(Invalid):
    """No candidates: the message says which constraint emptied the pool."""


class AlreadyOpen(Conflict):
    def __init__(self, session: TonightSession) -> None:
        super().__init__("This group already has a session open: here it is.")
        self.session = session


class Closed(Conflict):
    default_message = "Voting has closed for this session: here is the result."


SEED_BYTES = 32


def new_seed() -> bytes:
    """A session's secret seed: drawn once, when it starts."""
    return secrets.token_bytes(SEED_BYTES)


def _key(purpose: str, seed: bytes, session_id: int, title_id: int) -> bytes:
    if len(seed) < 16:
        raise ValueError("a tonight session's seed is missing")
    message = f"marquee-tonight:{purpose}:{session_id}:{title_id}".encode()
    return hmac.new(seed, message, hashlib.sha256).digest()


def deck_order(seed: bytes, session_id: int, title_ids: Sequence[int]) -> list[int]:
    """The deterministic shuffle of a pool, seeded by the session's secret seed."""
    return sorted(title_ids, key=lambda title_id: _key("deck", seed, session_id, title_id))


def draw(seed: bytes, session_id: int, title_ids: Sequence[int]) -> int:
    """A deterministic random pick among `title_ids`, seeded by the session's secret seed."""
    return min(title_ids, key=lambda title_id: _key("draw", seed, session_id, title_id))


# Reading a wish ------------------------------------------------------------------------

def genre_names() -> list[str]:
    return list(db.session.scalars(select(Genre.name).order_by(Genre.name)))


def read_wish(text: str, known_genres: Sequence[str], llm) -> tuple[Wish, str]:  # type: ignore[no-untyped-def]
    """Free text as constraints: by the LLM when one is configured, falling back
    silently to the built-in rules on any failure. Returns (wish, "llm" | "rules" | "")."""
    text = (text or "").strip()[:FREE_TEXT_MAX]
    if not text:
        return Wish(), ""
    if llm is not None:
        try:
            reading = llm.parse_wish(text, known_genres)
            return Wish(format=reading.format, max_runtime=reading.max_runtime, genres=reading.genres,
                        exclude_watched=reading.exclude_watched), "llm"
        except ProviderError:
            pass
    return parse_rules(text, known_genres), "rules"


# Starting --------------------------------------------------------------------------

def check_numbers(duration_minutes: int | None, candidate_count: int | None) -> None:
    if duration_minutes is None or not DURATION_MIN <= duration_minutes <= DURATION_MAX:
        raise Invalid(f"Choose from {DURATION_MIN} to {DURATION_MAX} minutes.", field="duration")
    if candidate_count is None or not COUNT_MIN <= candidate_count <= COUNT_MAX:
        raise Invalid(f"Choose from {COUNT_MIN} to {COUNT_MAX} candidates.", field="candidates")


def open_session(group: Group) -> TonightSession | None:
    return db.session.scalar(
        select(TonightSession).where(TonightSession.group_id == group.id, TonightSession.status == "open")
    )


def _filter_pool(group: Group, items: list[WatchlistItem], constraints: Constraints) -> list[WatchlistItem]:
    """Apply the hard filters in order; an empty result names the constraint that emptied it."""
    if not items:
        raise EmptyPool("Nothing on the watchlist can be picked: add titles, or un-snooze some.", field="format")
    if constraints.format in ("movie", "tv"):
        items = [i for i in items if i.title.kind == constraints.format]
        if not items:
            kind = "films" if constraints.format == "movie" else "shows"
            raise EmptyPool(f"There are no {kind} on the watchlist to pick from: choose another format.",
                            field="format")
    if constraints.max_runtime:
        limit = constraints.max_runtime
        items = [i for i in items if i.title.runtime_minutes is None or i.title.runtime_minutes <= limit]
        if not items:
            raise EmptyPool(f"Nothing left runs {limit} minutes or less: allow a longer runtime.",
                            field="max_runtime")
    if constraints.genres:
        wanted = {g.lower() for g in constraints.genres}
        items = [i for i in items if wanted & {g.name.lower() for g in i.title.genres}]
        if not items:
            raise EmptyPool(f"Nothing left is {' or '.join(constraints.genres)}: choose other genres.",
                            field="genres")
    if constraints.exclude_watched:
        seen = set(db.session.scalars(
            select(Viewing.title_id).where(
                Viewing.user_id.in_(select(GroupMember.user_id).where(GroupMember.group_id == group.id)),
                Viewing.title_id.in_([i.title_id for i in items]),
            )
        ))
        items = [i for i in items if i.title_id not in seen]
        if not items:
            raise EmptyPool("Someone in the group has already watched everything left: "
                            "untick “leave out what anyone has watched”.", field="exclude_watched")
    return items


def start_session(
    group: Group,
    user: User,
    constraints: Constraints,
    *,
    free_text: str = "",
    parsed_by: str = "",
    duration_minutes: int = DURATION_DEFAULT,
    candidate_count: int = COUNT_DEFAULT,
    now: datetime | None = None,
) -> TonightSession:
    """Deal a deck and open the session. Raises AlreadyOpen (with the open session)
    when the group has one; EmptyPool when the constraints leave nothing."""
    now = now or utcnow()
    check_numbers(duration_minutes, candidate_count)
    resolve_due(group_id=group.id, now=now)
    existing = open_session(group)
    if existing is not None:
        raise AlreadyOpen(existing)
    items = _filter_pool(group, watchlist.pool(group, now=now), constraints)
    seed = new_seed()
    session_id = insert_returning_id(
        TonightSession,
        group_id=group.id,
        created_by_id=user.id,
        status="open",
        constraints=json.dumps(constraints.to_dict()),
        free_text=(free_text or "").strip()[:FREE_TEXT_MAX],
        parsed_by=parsed_by,
        reranked=False,
        candidate_count=candidate_count,
        duration_minutes=duration_minutes,
        created_at=now,
        ends_at=now + timedelta(minutes=duration_minutes),
        ballots=0,
        draw_seed=seed,
    )
    if session_id is None:  # another member opened one at the same moment
        existing = open_session(group)
        if existing is None:
            raise Conflict("Another session was being started at the same moment. Please try again.")
        raise AlreadyOpen(existing)
    by_title = {item.title_id: item for item in items}
    for position, title_id in enumerate(deck_order(seed, session_id, list(by_title))[:candidate_count], start=1):
        item = by_title[title_id]
        db.session.add(Candidate(session_id=session_id, position=position, title_id=title_id,
                                 item_id=item.id, suggested_by_id=item.added_by_id))
    db.session.flush()
    found = db.session.get(TonightSession, session_id)
    assert found is not None
    return found


def rerank(session: TonightSession, llm) -> bool:  # type: ignore[no-untyped-def]
    """Let the LLM reorder a fresh deck for the free text. Called after the deck was
    dealt and committed, outside any transaction while the model thinks; the new order
    is written only while nobody has voted. False when nothing changed."""
    if llm is None or not session.free_text:
        return False
    from webapp.providers.llm import Candidate as LlmCandidate

    session_id, text = session.id, session.free_text
    cards = deck(session)
    offered = [
        LlmCandidate(id=c.id, title=c.title.title, year=c.title.year, kind=c.title.kind,
                     genres=tuple(g.name for g in c.title.genres), runtime=c.title.runtime_minutes)
        for c in cards
    ]
    db.session.rollback()  # hold no transaction (nor SQLite's write lock) while waiting
    try:
        order = llm.rerank(text, offered)
    except ProviderError:
        return False
    if order == [c.id for c in offered]:
        return False
    claimed = db.session.execute(
        update(TonightSession)
        .where(TonightSession.id == session_id, TonightSession.status == "open", TonightSession.ballots == 0)
        .values(reranked=True)
    ).rowcount
    if not claimed:
        return False
    # Two steps: positions are unique within a session.
    db.session.execute(
        update(Candidate).where(Candidate.session_id == session_id).values(position=-Candidate.position)
    )
    for position, candidate_id in enumerate(order, start=1):
        db.session.execute(update(Candidate).where(Candidate.id == candidate_id).values(position=position))
    db.session.flush()
    return True


# Reading a session -----------------------------------------------------------------

def session_for(user: User, session_id: int) -> tuple[TonightSession, groups.Membership]:
    """The session and the user's membership of its group; NotFound for non-members."""
    found = db.session.get(TonightSession, session_id)
    if found is None:
        raise NotFound()
    return found, groups.membership(user, found.group_id)


def constraints_of(session: TonightSession) -> Constraints:
    try:
        data = json.loads(session.constraints or "{}")
    except ValueError:
        data = {}
    return Constraints.from_dict(data if isinstance(data, dict) else {})


def is_due(session: TonightSession, now: datetime) -> bool:
    return session.status == "open" and session.ends_at <= now


def deck(session: TonightSession) -> list[Candidate]:
    return list(db.session.scalars(
        select(Candidate)
        .where(Candidate.session_id == session.id)
        .options(joinedload(Candidate.title).selectinload(Title.genres), joinedload(Candidate.suggested_by))
        .order_by(Candidate.position)
        .execution_options(populate_existing=True)  # cards dealt in this session get their titles too
    ).unique())


def my_votes(session: TonightSession, user: User) -> dict[int, bool]:
    return dict(db.session.execute(  # type: ignore[arg-type]
        select(Vote.candidate_id, Vote.value).where(Vote.session_id == session.id, Vote.user_id == user.id)
    ).all())


@dataclass
class Progress:
    members: int
    finished: int  # members who have voted on every card
    deck_size: int


def progress(session: TonightSession) -> Progress:
    """How many members have finished voting: a count, never who voted what (two queries)."""
    deck_size = db.session.scalar(select(func.count(Candidate.id)).where(Candidate.session_id == session.id)) or 0
    current = select(GroupMember.user_id).where(GroupMember.group_id == session.group_id)
    per_user = (
        select(Vote.user_id)
        .where(Vote.session_id == session.id, Vote.user_id.in_(current))
        .group_by(Vote.user_id)
        .having(func.count(Vote.id) >= deck_size)
        .subquery()
    )
    row = db.session.execute(
        select(select(func.count()).select_from(per_user).scalar_subquery(),
               select(func.count(GroupMember.id)).where(GroupMember.group_id == session.group_id).scalar_subquery())
    ).one()
    return Progress(members=int(row[1] or 0), finished=int(row[0] or 0), deck_size=int(deck_size))


# Voting ----------------------------------------------------------------------------

def cast_votes(session: TonightSession, user: User, choices: Mapping[int, bool], *, now: datetime | None = None) -> int:
    """Record yes/no for some of the session's cards (a card-at-a-time vote is one
    choice; the plain ballot sends them all). Returns how many were recorded."""
    now = now or utcnow()
    if not choices:
        raise Invalid("Choose yes or no for at least one card.", field="vote")
    ids = set(db.session.scalars(select(Candidate.id).where(Candidate.session_id == session.id)))
    if set(choices) - ids:
        raise NotFound("That card is not part of this session.")
    claimed = db.session.execute(
        update(TonightSession)
        .where(TonightSession.id == session.id, TonightSession.status == "open", TonightSession.ends_at > now)
        .values(ballots=TonightSession.ballots + 1)
    ).rowcount
    if not claimed:
        raise Closed()
    rows = [
        {"session_id": session.id, "candidate_id": cid, "user_id": user.id, "value": bool(value), "updated_at": now}
        for cid, value in sorted(choices.items())
    ]
    upsert(Vote, rows, keys=["candidate_id", "user_id"], update=["value", "updated_at"])
    return len(rows)


# Resolving -------------------------------------------------------------------------

@dataclass
class Tally:
    candidate_id: int
    position: int
    title_id: int
    yes: int
    no: int


def tallies(session_id: int) -> list[Tally]:
    yes = func.count(Vote.id).filter(Vote.value.is_(True))
    no = func.count(Vote.id).filter(Vote.value.is_(False))
    rows = db.session.execute(
        select(Candidate.id, Candidate.position, Candidate.title_id, yes, no)
        .outerjoin(Vote, Vote.candidate_id == Candidate.id)
        .where(Candidate.session_id == session_id)
        .group_by(Candidate.id, Candidate.position, Candidate.title_id)
        .order_by(Candidate.position)
    ).all()
    return [Tally(cid, pos, tid, int(y or 0), int(n or 0)) for cid, pos, tid, y, n in rows]


def pick_winner(session_id: int, seed: bytes, counts: Sequence[Tally], *, shuffle: bool = False) -> tuple[Tally, str]:
    """The resolution rules: most YES; ties by fewest NO; still tied, a deterministic
    draw seeded by the session's seed; nobody voted (or shuffle): a draw from the deck."""
    if not counts:
        raise ValueError("an empty deck has no winner")
    by_title = {t.title_id: t for t in counts}
    if shuffle:
        return by_title[draw(seed, session_id, list(by_title))], "shuffle"
    if all(t.yes == 0 and t.no == 0 for t in counts):
        return by_title[draw(seed, session_id, list(by_title))], "no_votes"
    most_yes = max(t.yes for t in counts)
    top = [t for t in counts if t.yes == most_yes]
    if len(top) == 1:
        return top[0], "votes"
    fewest_no = min(t.no for t in top)
    top = [t for t in top if t.no == fewest_no]
    if len(top) == 1:
        return top[0], "fewest_no"
    return by_title[draw(seed, session_id, [t.title_id for t in top])], "tiebreak"


def _complete(session_id: int, now: datetime, *, shuffle: bool) -> bool:
    condition = [TonightSession.id == session_id, TonightSession.status == "open"]
    if not shuffle:
        condition.append(TonightSession.ends_at <= now)
    claimed = db.session.execute(
        update(TonightSession).where(*condition).values(status="completed", resolved_at=now)
    ).rowcount
    if not claimed:
        return False
    counts = tallies(session_id)
    if counts:
        seed = db.session.scalar(select(TonightSession.draw_seed).where(TonightSession.id == session_id))
        winner, how = pick_winner(session_id, seed, counts, shuffle=shuffle)
        values = {"winner_position": winner.position, "resolution": how}
    else:  # every card's title was deleted from the catalog
        values = {"winner_position": None, "resolution": "no_votes"}
    db.session.execute(update(TonightSession).where(TonightSession.id == session_id).values(**values))
    db.session.flush()
    session_resolved.send(session_id)
    return True


def _due(session_id: int | None, group_id: int | None, now: datetime) -> int | None:
    """The id of the session (or the group's open session) whose deadline has passed."""
    query = select(TonightSession.id).where(TonightSession.status == "open", TonightSession.ends_at <= now)
    if session_id is not None:
        return db.session.scalar(query.where(TonightSession.id == session_id))
    return db.session.scalar(query.where(TonightSession.group_id == group_id))


def resolve_due(*, session_id: int | None = None, group_id: int | None = None, now: datetime | None = None) -> bool:
    """Resolve a session (or a group's open session) whose deadline has passed.
    Exactly one of many simultaneous callers does it; the others find it done."""
    now = now or utcnow()
    due = _due(session_id, group_id, now)
    return due is not None and _complete(due, now, shuffle=False)


def settle(*, session_id: int | None = None, group_id: int | None = None) -> bool:
    """For pages that read: resolve what is due in a write transaction of its own and
    commit it, so that a GET (a deferred read transaction on SQLite) never has to turn
    into a writer halfway. Pending work of the caller is discarded: call it first."""
    now = utcnow()
    if _due(session_id, group_id, now) is None:
        return False
    db.session.rollback()
    with write_transaction():
        done = resolve_due(session_id=session_id, group_id=group_id, now=now)
        db.session.commit()
    return done


def shuffle(session: TonightSession, *, now: datetime | None = None) -> None:
    """Skip the vote: complete now with the deterministic random winner."""
    now = now or utcnow()
    if not _complete(session.id, now, shuffle=False) and not _complete(session.id, now, shuffle=True):
        raise Closed("This session has already been decided.")


@dataclass
class Result:
    winner: Candidate | None
    resolution: str
    explanation: str
    tallies: list[tuple[Candidate, Tally]]


def result(session: TonightSession, cards: list[Candidate]) -> Result:
    """The outcome of a completed session, with the tallies (now they may be seen)."""
    assert session.status == "completed"
    counts = {t.candidate_id: t for t in tallies(session.id)}
    winner = next((c for c in cards if c.position == session.winner_position), None)
    rows = [(c, counts[c.id]) for c in cards if c.id in counts]
    rows.sort(key=lambda row: (row[0].position != session.winner_position, -row[1].yes, row[1].no, row[0].position))
    how = session.resolution or "no_votes"
    return Result(winner=winner, resolution=how, explanation=RESOLUTION_TEXT.get(how, ""), tallies=rows)


# After the session -----------------------------------------------------------------

def log_watched(session: TonightSession, group: Group, present_ids: Sequence[int], *,
                now: datetime | None = None) -> int:
    """"We watched it": the winner's item becomes watched and each member who was
    there gets a viewing (once per session). Returns how many viewings were added."""
    now = now or utcnow()
    if session.status != "completed":
        raise Invalid("The session has not picked anything yet.")
    winner = db.session.scalar(
        select(Candidate).where(Candidate.session_id == session.id, Candidate.position == session.winner_position)
    )
    if winner is None:
        raise Invalid("This session has no pick to mark as watched.")
    members = set(groups.member_ids(group.id))
    present = {int(i) for i in present_ids}
    if not present:
        raise Invalid("Tick who was there.", field="present")
    if present - members:
        raise Invalid("Only members of the group can be ticked.", field="present")
    watchlist.mark_watched_by_title(group.id, winner.title_id, now=now)
    added = 0
    for user_id in sorted(present):
        added += insert_or_ignore(Viewing, user_id=user_id, title_id=winner.title_id, group_id=group.id,
                                  session_id=session.id, watched_at=now)
    db.session.execute(
        update(TonightSession)
        .where(TonightSession.id == session.id, TonightSession.watched_at.is_(None))
        .values(watched_at=now)
    )
    db.session.flush()
    return added


def viewers(session: TonightSession) -> list[int]:
    return list(db.session.scalars(select(Viewing.user_id).where(Viewing.session_id == session.id)))


def voters(session: TonightSession) -> list[int]:
    return list(db.session.scalars(select(Vote.user_id).where(Vote.session_id == session.id).distinct()))


def past_sessions(group: Group, *, page: int, per_page: int = PER_PAGE):  # type: ignore[no-untyped-def]
    """Completed sessions, newest first, each with its winning card (two queries)."""
    pagination = db.paginate(
        select(TonightSession)
        .where(TonightSession.group_id == group.id, TonightSession.status == "completed")
        .order_by(TonightSession.resolved_at.desc(), TonightSession.id.desc()),
        page=page, per_page=per_page, error_out=False,
    )
    sessions = list(pagination.items)
    winners: dict[int, Candidate] = {}
    if sessions:
        cards = db.session.scalars(
            select(Candidate)
            .join(TonightSession, TonightSession.id == Candidate.session_id)
            .where(Candidate.session_id.in_([s.id for s in sessions]),
                   Candidate.position == TonightSession.winner_position)
            .options(joinedload(Candidate.title))
        )
        winners = {c.session_id: c for c in cards}
    return pagination, winners


# Built once (see "Statements built once" in webapp/db.py): a profile section.
_RECENT_VIEWINGS = (
    select(Viewing).where(Viewing.user_id == bindparam("user_id"))
    .options(joinedload(Viewing.title))
    .order_by(Viewing.watched_at.desc(), Viewing.id.desc()).limit(bindparam("limit"))
)


def recent_viewings(user: User, *, limit: int = 12) -> list[Viewing]:
    return list(db.session.scalars(_RECENT_VIEWINGS, {"user_id": user.id, "limit": limit}))

