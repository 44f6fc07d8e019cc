"""Tonight sessions, their frozen decks, votes, and the viewings they lead to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import User
from webapp.catalog.models import Title
from webapp.db import db, utcnow

class TonightSession(db.Model):
    """A time-boxed vote over a frozen deck. At most one open session per group (a
    partial unique index); `status` goes from open to completed exactly once, by a
    conditional UPDATE, and `ballots` is bumped by every vote so that votes and the
    resolution serialize on this row."""

    __tablename__ = "tonight_sessions"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'completed')", name="status"),
        CheckConstraint("candidate_count BETWEEN 2 AND 20", name="candidate_count"),
        Index(
            "uq_tonight_sessions_open_group",
            "group_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="open")
    # The constraints as applied (webapp.tonight.parsing.Constraints.to_dict, as JSON).
    constraints: Mapped[str] = mapped_column(Text, default="{}")
    free_text: Mapped[str] = mapped_column(String(500), default="")
    # Who read the free text: "rules" (the built-in parser), "llm", or "" for none.
    parsed_by: Mapped[str] = mapped_column(String(8), default="")
    reranked: Mapped[bool] = mapped_column(Boolean, default=False)
    candidate_count: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    ballots: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(String(12))
    winner_position: Mapped[int | None] = mapped_column(Integer)
    watched_at: Mapped[datetime | None] = mapped_column(DateTime)
    # 32 random bytes drawn when the session starts: the deck's shuffle and every draw
    # are keyed by it (webapp.tonight.services), so no one can compute them from ids.
    # Never shown, and loaded only where a draw is made.
    draw_seed: Mapped[bytes] = mapped_column(LargeBinary(32), deferred=True)

    created_by: Mapped[User | None] = relationship(lazy="raise")

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class Candidate(db.Model):
    """One card of a frozen deck. The title and who suggested it are copied from the
    watchlist item, so the deck stays whole if the item is removed later."""

    __tablename__ = "tonight_candidates"
    __table_args__ = (
        UniqueConstraint("session_id", "position"),
        UniqueConstraint("session_id", "title_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("tonight_sessions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("watchlist_items.id", ondelete="SET NULL"), index=True)
    suggested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    title: Mapped[Title] = relationship(lazy="raise")
    suggested_by: Mapped[User | None] = relationship(lazy="raise")


class Vote(db.Model):
    """Yes or no, one per (member, candidate), changeable until the deadline."""

    __tablename__ = "tonight_votes"
    __table_args__ = (UniqueConstraint("candidate_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("tonight_sessions.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("tonight_candidates.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    value: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Viewing(db.Model):
    """Someone watched a title, logged by "We watched it" after a session (one per
    person and session). Viewings outlive the group and the session they came from."""

    __tablename__ = "viewings"
    __table_args__ = (UniqueConstraint("user_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("tonight_sessions.id", ondelete="SET NULL"))
    watched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    title: Mapped[Title] = relationship(lazy="raise")
