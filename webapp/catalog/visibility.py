"""Who sees a title that is not published (a manual title: typed by a member, or created
by an import) until an admin publishes it.

Listings (catalog browse, search, the choosers that fill a watchlist or a weekly slot)
show a viewer the published titles, the ones they added and the ones on a watchlist of
a group they belong to. Admins see everything.

A title's own page (and a person's) is open to a little more: to whoever can see a
week or a viewing it is in, by the profile rules (public profiles, friends of private
ones, the owner). Those are the pages that link to it, so the link works; but such
titles stay out of listings, so that an import's titles on a public profile never fill
the catalog.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select, true

from webapp.accounts.models import User
from webapp.catalog.models import Title
from webapp.db import db


def listed_for(viewer: User | None) -> ColumnElement[bool]:
    """A condition on Title: shown to `viewer` in listings."""
    from webapp.groups.models import GroupMember, WatchlistItem

    if viewer is not None and viewer.is_admin:
        return true()
    published = Title.is_published.is_(True)
    if viewer is None:
        return published
    in_my_groups = (
        select(WatchlistItem.title_id)
        .join(GroupMember, GroupMember.group_id == WatchlistItem.group_id)
        .where(GroupMember.user_id == viewer.id)
    )
    return or_(published, Title.added_by_id == viewer.id, Title.id.in_(in_my_groups))


def _profiles_seen_by(viewer: User | None, owner_id: ColumnElement[int]) -> ColumnElement[bool]:
    """A condition on a user id column: that person's details are visible to `viewer`
    (can_see_profile, as SQL)."""
    from webapp.social.models import Friendship

    public = select(User.id).where(User.id == owner_id, User.is_private.is_(False))
    if viewer is None:
        return exists(public)
    friends = select(Friendship.id).where(or_(
        (Friendship.user_low_id == viewer.id) & (Friendship.user_high_id == owner_id),
        (Friendship.user_high_id == viewer.id) & (Friendship.user_low_id == owner_id),
    ))
    return or_(owner_id == viewer.id, exists(public), exists(friends))


def can_see(viewer: User | None, title: Title) -> bool:
    """`viewer` may open the title's page: listed for them, or in a week or a viewing
    they can see. One query at most, none for a published title."""
    from webapp.groups.models import GroupMember, WatchlistItem
    from webapp.tonight.models import Viewing
    from webapp.weeks.models import Week, WeekPick

    if title.is_published or (viewer is not None and (viewer.is_admin or title.added_by_id == viewer.id)):
        return True
    in_group = (
        exists(select(WatchlistItem.id)
               .join(GroupMember, GroupMember.group_id == WatchlistItem.group_id)
               .where(WatchlistItem.title_id == title.id, GroupMember.user_id == viewer.id))
        if viewer is not None else false()
    )
    in_week = exists(
        select(WeekPick.id).join(Week, Week.id == WeekPick.week_id)
        .where(WeekPick.title_id == title.id, _profiles_seen_by(viewer, Week.user_id))
    )
    in_viewing = exists(
        select(Viewing.id).where(Viewing.title_id == title.id, _profiles_seen_by(viewer, Viewing.user_id))
    )
    return bool(db.session.scalar(select(or_(in_group, in_week, in_viewing))))
