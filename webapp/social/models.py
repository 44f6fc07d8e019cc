from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import User
from webapp.db import db, utcnow


class Friendship(db.Model):
    """One row per pair of friends, stored once: the lower user id first."""

    __tablename__ = "friendships"
    __table_args__ = (
        UniqueConstraint("user_low_id", "user_high_id"),
        CheckConstraint("user_low_id < user_high_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_low_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    user_high_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FriendRequest(db.Model):
    """A pending request. At most one per pair (either direction): the pair columns hold
    the ordered ids so that two people asking each other at once cannot both insert."""

    __tablename__ = "friend_requests"
    __table_args__ = (
        UniqueConstraint("pair_low_id", "pair_high_id"),
        CheckConstraint("from_user_id <> to_user_id", name="not_self"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    pair_low_id: Mapped[int] = mapped_column()
    pair_high_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    from_user: Mapped[User] = relationship(foreign_keys=[from_user_id], lazy="raise")
    to_user: Mapped[User] = relationship(foreign_keys=[to_user_id], lazy="raise")


class FriendRequestDenial(db.Model):
    """`to_user` declined `from_user`'s request at `denied_at`: the same request cannot
    be sent again until the cool-down has passed (webapp.social.services)."""

    __tablename__ = "friend_request_denials"
    __table_args__ = (UniqueConstraint("from_user_id", "to_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    denied_at: Mapped[datetime] = mapped_column(DateTime)


class FriendInvite(db.Model):
    """A one-time, expiring code that makes whoever redeems it a friend of its creator."""

    __tablename__ = "friend_invites"
    # Ids in URLs and sessions are never reused (SQLite AUTOINCREMENT).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="raise")
    used_by: Mapped[User | None] = relationship(foreign_keys=[used_by_id], lazy="raise")
