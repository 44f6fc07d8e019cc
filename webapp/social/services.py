"""Friendship rules: invite codes, requests, search and who may see a profile.

Races are settled by the database: unique pairs with INSERT ... ON CONFLICT DO NOTHING
and conditional UPDATE/DELETE statements whose row counts say who won."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import aliased

from webapp.accounts.models import User
from webapp.db import db, insert_or_ignore, upsert, utcnow
from webapp.errors import Conflict, Invalid, NotFound
from webapp.social.models import FriendInvite, Friendship, FriendRequest, FriendRequestDenial

# Crockford's base32 without the look-alikes: easy to read aloud and type.
CodeT = TypeVar("CodeT")

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
INVITE_DAYS_DEFAULT = 7
INVITE_DAYS_MAX = 30
REQUEST_COOLDOWN = timedelta(days=7)  # after a denial, before the same request may be sent again


class Relation(enum.Enum):
    SELF = "self"
    FRIENDS = "friends"
    OUTGOING = "outgoing"  # I asked them
    INCOMING = "incoming"  # they asked me
    NONE = "none"


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


# Friendship ------------------------------------------------------------------------

def are_friends(a: User, b: User) -> bool:
    if a.id == b.id:
        return False
    low, high = _pair(a.id, b.id)
    return db.session.scalar(
        select(Friendship.id).where(Friendship.user_low_id == low, Friendship.user_high_id == high)
    ) is not None


def _befriend(a_id: int, b_id: int) -> bool:
    """Make two people friends (idempotent) and drop any request between them."""
    low, high = _pair(a_id, b_id)
    created = insert_or_ignore(Friendship, user_low_id=low, user_high_id=high, created_at=utcnow())
    db.session.execute(
        delete(FriendRequest).where(FriendRequest.pair_low_id == low, FriendRequest.pair_high_id == high)
    )
    db.session.execute(
        delete(FriendRequestDenial).where(
            or_(
                and_(FriendRequestDenial.from_user_id == a_id, FriendRequestDenial.to_user_id == b_id),
                and_(FriendRequestDenial.from_user_id == b_id, FriendRequestDenial.to_user_id == a_id),
            )
        )
    )
    return created


def unfriend(user: User, other: User) -> bool:
    low, high = _pair(user.id, other.id)
    result = db.session.execute(
        delete(Friendship).where(Friendship.user_low_id == low, Friendship.user_high_id == high)
    )
    return bool(result.rowcount)


def friend_ids_query(user_id: int):  # type: ignore[no-untyped-def]
    """A SELECT of the ids of this user's friends, for use in IN (...)."""
    return select(Friendship.user_high_id).where(Friendship.user_low_id == user_id).union_all(
        select(Friendship.user_low_id).where(Friendship.user_high_id == user_id)
    )


def friends_page(user: User, *, page: int, per_page: int = 24):  # type: ignore[no-untyped-def]
    query = (
        select(User)
        .where(User.id.in_(friend_ids_query(user.id)))
        .order_by(func.lower(User.display_name), User.id)
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


# Built once (see "Statements built once" in webapp/db.py): every profile page counts.
_FRIEND_COUNT = select(func.count(Friendship.id)).where(
    or_(Friendship.user_low_id == bindparam("user_id"), Friendship.user_high_id == bindparam("user_id"))
)


def friend_count(user: User) -> int:
    return db.session.scalar(_FRIEND_COUNT, {"user_id": user.id}) or 0


# Requests --------------------------------------------------------------------------

@dataclass
class RequestOutcome:
    status: str  # "sent", "accepted", "already_sent", "already_friends"
    other: User


class CoolingDown(Conflict):
    """The recipient declined this sender's last request less than a cool-down ago."""

    def __init__(self, recipient: User, until: datetime) -> None:
        super().__init__(f"{recipient.display_name} declined your last request. "
                         f"You can ask again from {until.day} {until:%B %Y}.")
        self.until = until


def send_request(sender: User, recipient: User, *, cooldown: timedelta = REQUEST_COOLDOWN,
                 now: datetime | None = None) -> RequestOutcome:
    """Ask to be friends. Refused with CoolingDown while the recipient's denial of
    this sender's last request is younger than `cooldown` (unless the recipient has
    since asked back: asking back accepts)."""
    now = now or utcnow()
    if sender.id == recipient.id:
        raise Invalid("You cannot send a friend request to yourself.")
    if recipient.is_imported:
        raise NotFound()
    if are_friends(sender, recipient):
        return RequestOutcome("already_friends", recipient)
    low, high = _pair(sender.id, recipient.id)
    denied_at = db.session.scalar(
        select(FriendRequestDenial.denied_at).where(
            FriendRequestDenial.from_user_id == sender.id, FriendRequestDenial.to_user_id == recipient.id
        )
    )
    if denied_at is not None and denied_at + cooldown > now:
        asked_back = db.session.scalar(
            select(FriendRequest.id).where(FriendRequest.from_user_id == recipient.id,
                                           FriendRequest.to_user_id == sender.id)
        )
        if asked_back is None:
            raise CoolingDown(recipient, denied_at + cooldown)
    if insert_or_ignore(
        FriendRequest,
        from_user_id=sender.id,
        to_user_id=recipient.id,
        pair_low_id=low,
        pair_high_id=high,
        created_at=utcnow(),
    ):
        return RequestOutcome("sent", recipient)
    existing = db.session.scalar(
        select(FriendRequest).where(FriendRequest.pair_low_id == low, FriendRequest.pair_high_id == high)
    )
    if existing is None:  # accepted or withdrawn in the meantime
        if are_friends(sender, recipient):
            return RequestOutcome("already_friends", recipient)
        raise Conflict("That request changed while you were sending it. Please try again.")
    if existing.from_user_id == sender.id:
        return RequestOutcome("already_sent", recipient)
    # They had already asked us: asking back accepts their request.
    _befriend(sender.id, recipient.id)
    return RequestOutcome("accepted", recipient)


def _request_for(user: User, request_id: int, *, incoming: bool) -> FriendRequest:
    column = FriendRequest.to_user_id if incoming else FriendRequest.from_user_id
    found = db.session.scalar(select(FriendRequest).where(FriendRequest.id == request_id, column == user.id))
    if found is None:
        raise NotFound()
    return found


def accept_request(user: User, request_id: int) -> User:
    found = _request_for(user, request_id, incoming=True)
    result = db.session.execute(delete(FriendRequest).where(FriendRequest.id == found.id))
    if not result.rowcount:
        raise NotFound()  # withdrawn at the same moment
    _befriend(found.from_user_id, user.id)
    return db.session.get(User, found.from_user_id)  # type: ignore[return-value]


def deny_request(user: User, request_id: int, *, now: datetime | None = None) -> User:
    """Decline a request, and remember it: the sender may not ask again during the
    cool-down (see send_request)."""
    found = _request_for(user, request_id, incoming=True)
    if db.session.execute(delete(FriendRequest).where(FriendRequest.id == found.id)).rowcount:
        upsert(FriendRequestDenial, [{"from_user_id": found.from_user_id, "to_user_id": user.id,
                                      "denied_at": now or utcnow()}],
               keys=["from_user_id", "to_user_id"], update=["denied_at"])
    return db.session.get(User, found.from_user_id)  # type: ignore[return-value]


def cancel_request(user: User, request_id: int) -> User:
    found = _request_for(user, request_id, incoming=False)
    db.session.execute(delete(FriendRequest).where(FriendRequest.id == found.id))
    return db.session.get(User, found.to_user_id)  # type: ignore[return-value]


def incoming_requests(user: User) -> list[FriendRequest]:
    """Requests waiting for this user's answer, each with `.other` (the sender)."""
    return _pending(user, incoming=True)


def outgoing_requests(user: User) -> list[FriendRequest]:
    """Requests this user sent, each with `.other` (the recipient)."""
    return _pending(user, incoming=False)


def _pending(user: User, *, incoming: bool) -> list[FriendRequest]:
    mine, theirs = (
        (FriendRequest.to_user_id, FriendRequest.from_user_id)
        if incoming
        else (FriendRequest.from_user_id, FriendRequest.to_user_id)
    )
    other = aliased(User)
    rows = db.session.execute(
        select(FriendRequest, other)
        .join(other, other.id == theirs)
        .where(mine == user.id)
        .order_by(FriendRequest.created_at.desc(), FriendRequest.id.desc())
    ).all()
    return [_with_other(request, person) for request, person in rows]


def _with_other(request: FriendRequest, other: User) -> FriendRequest:
    request.other = other  # type: ignore[attr-defined]
    return request


def pending_count(user: User) -> int:
    return db.session.scalar(select(func.count(FriendRequest.id)).where(FriendRequest.to_user_id == user.id)) or 0


def relations(viewer: User, others: list[User]) -> dict[int, tuple[Relation, int | None]]:
    """The viewer's relation to each of `others`, with the pending request id if any:
    two queries whatever the number of people."""
    ids = [o.id for o in others if o.id != viewer.id]
    result: dict[int, tuple[Relation, int | None]] = {o.id: (Relation.NONE, None) for o in others}
    result[viewer.id] = (Relation.SELF, None)
    if not ids:
        return result
    friends = db.session.scalars(
        select(Friendship.user_high_id).where(Friendship.user_low_id == viewer.id, Friendship.user_high_id.in_(ids))
        .union_all(
            select(Friendship.user_low_id).where(Friendship.user_high_id == viewer.id, Friendship.user_low_id.in_(ids))
        )
    ).all()
    for friend_id in friends:
        result[friend_id] = (Relation.FRIENDS, None)
    pending = db.session.execute(
        select(FriendRequest.id, FriendRequest.from_user_id, FriendRequest.to_user_id).where(
            or_(
                and_(FriendRequest.from_user_id == viewer.id, FriendRequest.to_user_id.in_(ids)),
                and_(FriendRequest.to_user_id == viewer.id, FriendRequest.from_user_id.in_(ids)),
            )
        )
    ).all()
    for request_id, from_id, to_id in pending:
        if from_id == viewer.id:
            result[to_id] = (Relation.OUTGOING, request_id)
        else:
            result[from_id] = (Relation.INCOMING, request_id)
    return result


# Invite codes ----------------------------------------------------------------------

def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """Accept what people type: any case, spaces and dashes, O for 0, I/L for 1."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def create_invite(user: User, *, days: int = INVITE_DAYS_DEFAULT, now: datetime | None = None) -> FriendInvite:
    if not 1 <= days <= INVITE_DAYS_MAX:
        raise Invalid(f"Choose between 1 and {INVITE_DAYS_MAX} days.", field="days")
    now = now or utcnow()
    invite = FriendInvite(code=new_code(), created_by_id=user.id, created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(invite)
    db.session.flush()
    return invite


def active_invites(user: User, *, now: datetime | None = None) -> list[FriendInvite]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(FriendInvite)
            .where(FriendInvite.created_by_id == user.id, FriendInvite.used_at.is_(None), FriendInvite.expires_at > now)
            .order_by(FriendInvite.created_at.desc(), FriendInvite.id.desc())
        )
    )


def revoke_invite(user: User, invite_id: int) -> None:
    result = db.session.execute(
        delete(FriendInvite).where(
            FriendInvite.id == invite_id, FriendInvite.created_by_id == user.id, FriendInvite.used_at.is_(None)
        )
    )
    if not result.rowcount:
        raise NotFound()


def find_by_code(model: type[CodeT], text: str) -> CodeT | None:
    """The invite (friend or group) a typed or linked code names, if any."""
    code = normalise_code(text)
    if len(code) != CODE_LENGTH:
        return None
    return db.session.scalar(select(model).where(model.code == code))  # type: ignore[attr-defined]


def invite_by_code(code: str) -> FriendInvite | None:
    return find_by_code(FriendInvite, code)


def usable_invite(code: str, *, now: datetime | None = None) -> FriendInvite | None:
    """The friend code a join link names, only while it can still be used: a used or
    expired code is as unknown as a withdrawn (deleted) one, so its page names nobody."""
    now = now or utcnow()
    invite = invite_by_code(code)
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    return invite


@dataclass
class Redemption:
    status: str  # "friends" or "already_friends"
    friend: User


def redeem_invite(user: User, code: str, *, now: datetime | None = None) -> Redemption:
    """Use a code. Of simultaneous redemptions exactly one succeeds: the UPDATE only
    matches while the code is unused, and the database applies one UPDATE at a time."""
    now = now or utcnow()
    invite = invite_by_code(code)
    if invite is None:
        raise Invalid("We don't know that code. Check it and try again.", field="code")
    owner = db.session.get(User, invite.created_by_id)
    assert owner is not None
    if owner.id == user.id:
        raise Invalid("That is your own code: share it with a friend instead.", field="code")
    if are_friends(user, owner):
        return Redemption("already_friends", owner)  # a no-op: the code stays usable
    claimed = db.session.execute(
        update(FriendInvite)
        .where(FriendInvite.id == invite.id, FriendInvite.used_at.is_(None), FriendInvite.expires_at > now)
        .values(used_by_id=user.id, used_at=now)
    ).rowcount
    if not claimed:
        db.session.refresh(invite)
        if invite.used_at is not None:
            raise Invalid("That code has already been used.", field="code")
        raise Invalid("That code has expired. Ask for a new one.", field="code")
    _befriend(user.id, owner.id)
    return Redemption("friends", owner)


# Search and profiles ---------------------------------------------------------------

def search_users(query: str, *, page: int, per_page: int = 20):  # type: ignore[no-untyped-def]
    text = query.strip().lower()[:100]
    statement = select(User).where(User.is_imported.is_(False))
    if text:
        statement = statement.where(
            or_(
                func.lower(User.username).contains(text, autoescape=True),
                func.lower(User.display_name).contains(text, autoescape=True),
            )
        )
    statement = statement.order_by(func.lower(User.username))
    return db.paginate(statement, page=page, per_page=per_page, error_out=False, count=True)


def can_see_profile(viewer: User | None, user: User) -> bool:
    """A private profile's details are for the owner and friends; others see the name."""
    if not user.is_private:
        return True
    if viewer is None:
        return False
    return viewer.id == user.id or are_friends(viewer, user)
