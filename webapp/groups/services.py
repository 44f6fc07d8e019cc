"""Group rules: who may see a group, membership, ownership and invite codes.

Access is decided here: a group a user is not a member of is NotFound (404), never
Forbidden, so its existence is not revealed. Owner-only actions by other members are
Forbidden. Races are settled by the database (unique memberships, conditional UPDATEs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from webapp.accounts.models import User
from webapp.accounts.signals import account_deleting
from webapp.db import db, insert_or_ignore, utcnow
from webapp.errors import Forbidden, Invalid, NotFound
from webapp.groups.models import Group, GroupInvite, GroupMember
from webapp.social.services import find_by_code, format_code, friend_ids_query, new_code

NAME_MAX = 80
INVITE_DAYS_DEFAULT = 7
INVITE_DAYS_MAX = 30
INVITE_USES_MAX = 100

__all__ = ["format_code"]


@dataclass
class Membership:
    """A group as one member sees it."""

    group: Group
    member: GroupMember

    @property
    def is_owner(self) -> bool:
        return self.group.owner_id == self.member.user_id


# Reading ---------------------------------------------------------------------------

def membership(user: User, group_id: int) -> Membership:
    """The group, if `user` is a member; NotFound otherwise."""
    row = db.session.execute(
        select(Group, GroupMember)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(Group.id == group_id, GroupMember.user_id == user.id)
    ).first()
    if row is None:
        raise NotFound()
    return Membership(*row)


def require_owner(found: Membership) -> None:
    if not found.is_owner:
        raise Forbidden("Only the group's owner can do that.")


def is_member(user_id: int, group_id: int) -> bool:
    return db.session.scalar(
        select(GroupMember.id).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
    ) is not None


def groups_of(user: User) -> list[tuple[Group, int]]:
    """The user's groups with their member counts, newest membership first."""
    counts = (
        select(GroupMember.group_id, func.count(GroupMember.id).label("n"))
        .group_by(GroupMember.group_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Group, counts.c.n)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .join(counts, counts.c.group_id == Group.id)
        .where(GroupMember.user_id == user.id)
        .order_by(func.lower(Group.name), Group.id)
    ).all()
    return [(group, count) for group, count in rows]


def members(group: Group) -> list[User]:
    """Members, longest-standing first (the owner is one of them)."""
    return list(
        db.session.scalars(
            select(User)
            .join(GroupMember, GroupMember.user_id == User.id)
            .where(GroupMember.group_id == group.id)
            .order_by(GroupMember.joined_at, GroupMember.id)
        )
    )


def member_ids(group_id: int) -> list[int]:
    return list(db.session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group_id)))


def visible_to(viewer: User, people: list[User]) -> list[User]:
    """Those of `people` whose profile details `viewer` may see: public profiles,
    the viewer's own, and friends' (one query)."""
    private = [p.id for p in people if p.is_private and p.id != viewer.id]
    friends = set(db.session.scalars(
        select(User.id).where(User.id.in_(private), User.id.in_(friend_ids_query(viewer.id)))
    )) if private else set()
    return [p for p in people if not p.is_private or p.id == viewer.id or p.id in friends]


def addable_friends(owner: User, group: Group | None = None) -> list[User]:
    """The owner's friends who are not members yet: whom the owner may add."""
    query = select(User).where(User.id.in_(friend_ids_query(owner.id)))
    if group is not None:
        query = query.where(User.id.not_in(select(GroupMember.user_id).where(GroupMember.group_id == group.id)))
    return list(db.session.scalars(query.order_by(func.lower(User.display_name), User.id)))


# Creating and changing -------------------------------------------------------------

def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise Invalid("Give the group a name.", field="name")
    if len(cleaned) > NAME_MAX:
        raise Invalid(f"Keep the name to {NAME_MAX} characters.", field="name")
    return cleaned


def _check_friends(owner: User, user_ids: Iterable[int]) -> list[int]:
    wanted = sorted({int(i) for i in user_ids} - {owner.id})
    if not wanted:
        return []
    friends = set(db.session.scalars(
        select(User.id).where(User.id.in_(wanted), User.id.in_(friend_ids_query(owner.id)))
    ))
    if set(wanted) - friends:
        raise Invalid("You can only add your friends to a group.", field="members")
    return wanted


def create_group(owner: User, name: str, member_ids: Iterable[int] = (), *, now: datetime | None = None,
                 owned_max: int | None = None) -> Group:
    """A new group owned by `owner`, with some of their friends. Refused once they own
    `owned_max` groups (the owner's row is locked first, so simultaneous creations
    count one after another; SQLite's write lock does the same)."""
    now = now or utcnow()
    cleaned = _clean_name(name)
    friends = _check_friends(owner, member_ids)
    if owned_max is not None:
        db.session.execute(select(User.id).where(User.id == owner.id).with_for_update())
        owned = db.session.scalar(select(func.count(Group.id)).where(Group.owner_id == owner.id)) or 0
        if owned >= owned_max:
            raise Invalid(f"You already own {owned} groups, the most one person can. "
                          "Delete one you no longer use, or hand it over, to make another.", field="name")
    group = Group(name=cleaned, owner_id=owner.id, created_at=now)
    db.session.add(group)
    db.session.flush()
    db.session.add(GroupMember(group_id=group.id, user_id=owner.id, joined_at=now))
    for user_id in friends:
        db.session.add(GroupMember(group_id=group.id, user_id=user_id, joined_at=now))
    db.session.flush()
    return group


def rename_group(found: Membership, name: str) -> None:
    require_owner(found)
    found.group.name = _clean_name(name)
    db.session.flush()


def add_members(found: Membership, owner: User, user_ids: Iterable[int]) -> int:
    require_owner(found)
    added = 0
    for user_id in _check_friends(owner, user_ids):
        added += insert_or_ignore(GroupMember, group_id=found.group.id, user_id=user_id, joined_at=utcnow())
    return added


def remove_member(found: Membership, user_id: int) -> User:
    require_owner(found)
    if user_id == found.group.owner_id:
        raise Invalid("The owner cannot be removed. Delete the group, or leave it to hand it over.")
    user = db.session.get(User, user_id)
    result = db.session.execute(
        delete(GroupMember).where(GroupMember.group_id == found.group.id, GroupMember.user_id == user_id)
    )
    if user is None or not result.rowcount:
        raise NotFound()
    return user


def leave_group(found: Membership) -> Group | None:
    """Leave. An owner hands the group to the longest-standing member; a group left
    empty is deleted. Returns the group if it still exists."""
    group = found.group
    if found.is_owner:
        return _hand_over(group, found.member.user_id)
    db.session.execute(delete(GroupMember).where(GroupMember.id == found.member.id))
    return group


def _hand_over(group: Group, leaving_user_id: int) -> Group | None:
    successor = db.session.scalar(
        select(GroupMember.user_id)
        .where(GroupMember.group_id == group.id, GroupMember.user_id != leaving_user_id)
        .order_by(GroupMember.joined_at, GroupMember.id)
        .limit(1)
    )
    if successor is None:
        db.session.execute(delete(Group).where(Group.id == group.id))
        return None
    db.session.execute(update(Group).where(Group.id == group.id).values(owner_id=successor))
    db.session.execute(
        delete(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id == leaving_user_id)
    )
    return group


def delete_group(found: Membership) -> None:
    require_owner(found)
    db.session.execute(delete(Group).where(Group.id == found.group.id))


def hand_over_groups(user: User, **_: object) -> None:
    """An account is going: its groups pass to their longest-standing members
    (create_app connects this to account_deleting)."""
    for group in db.session.scalars(select(Group).where(Group.owner_id == user.id)).all():
        _hand_over(group, user.id)


# Invite codes ----------------------------------------------------------------------

def create_invite(
    found: Membership, *, days: int = INVITE_DAYS_DEFAULT, max_uses: int = 1, now: datetime | None = None
) -> GroupInvite:
    require_owner(found)
    if not 1 <= days <= INVITE_DAYS_MAX:
        raise Invalid(f"Choose between 1 and {INVITE_DAYS_MAX} days.", field="days")
    if not 1 <= max_uses <= INVITE_USES_MAX:
        raise Invalid(f"Choose between 1 and {INVITE_USES_MAX} people.", field="max_uses")
    now = now or utcnow()
    invite = GroupInvite(group_id=found.group.id, code=new_code(), created_by_id=found.member.user_id,
                         created_at=now, expires_at=now + timedelta(days=days), max_uses=max_uses, uses=0)
    db.session.add(invite)
    db.session.flush()
    return invite


def active_invites(group: Group, *, now: datetime | None = None) -> list[GroupInvite]:
    now = now or utcnow()
    return list(db.session.scalars(
        select(GroupInvite)
        .where(GroupInvite.group_id == group.id, GroupInvite.revoked_at.is_(None),
               GroupInvite.expires_at > now, GroupInvite.uses < GroupInvite.max_uses)
        .order_by(GroupInvite.created_at.desc(), GroupInvite.id.desc())
    ))


def revoke_invite(found: Membership, invite_id: int, *, now: datetime | None = None) -> None:
    require_owner(found)
    result = db.session.execute(
        update(GroupInvite)
        .where(GroupInvite.id == invite_id, GroupInvite.group_id == found.group.id, GroupInvite.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    if not result.rowcount:
        raise NotFound()


def invite_by_code(code: str) -> GroupInvite | None:
    return find_by_code(GroupInvite, code)


def usable_invite(code: str, *, now: datetime | None = None) -> GroupInvite | None:
    """The group code a join link names, only while it can still admit someone: a
    revoked, expired or used-up code is as unknown as one that never existed, so its
    page names neither the group nor whom to ask."""
    now = now or utcnow()
    invite = invite_by_code(code)
    if invite is None or invite.revoked_at is not None or invite.expires_at <= now or invite.uses >= invite.max_uses:
        return None
    return invite


@dataclass
class Joined:
    status: str  # "joined" or "already_member"
    group: Group


def redeem_invite(user: User, code: str, *, now: datetime | None = None) -> Joined:
    """Join a group by code. The membership is inserted first (a unique pair), then a
    use is claimed by a conditional UPDATE that only matches while uses < max_uses; if
    no use is left the caller rolls back, so a code with N uses admits exactly N
    people however many redeem it at once."""
    now = now or utcnow()
    invite = invite_by_code(code)
    if invite is None:
        raise Invalid("We don't know that code. Check it and try again.", field="code")
    group = db.session.get(Group, invite.group_id)
    assert group is not None
    if not insert_or_ignore(GroupMember, group_id=group.id, user_id=user.id, joined_at=now):
        return Joined("already_member", group)  # a no-op: no use is spent
    claimed = db.session.execute(
        update(GroupInvite)
        .where(GroupInvite.id == invite.id, GroupInvite.revoked_at.is_(None), GroupInvite.expires_at > now,
               GroupInvite.uses < GroupInvite.max_uses)
        .values(uses=GroupInvite.uses + 1)
    ).rowcount
    if not claimed:
        db.session.refresh(invite)
        if invite.revoked_at is not None:
            raise Invalid("That code has been withdrawn by the group's owner.", field="code")
        if invite.expires_at <= now:
            raise Invalid("That code has expired. Ask for a new one.", field="code")
        raise Invalid("That code has been used up.", field="code")
    return Joined("joined", group)
