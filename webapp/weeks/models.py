"""Weekly picks: a week is (user, ISO year, ISO week) with notes, and up to two films
and two albums in numbered slots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.catalog.models import Title
from webapp.db import db, utcnow

PICK_KINDS = ("film", "album")
SLOTS = (1, 2)


class Week(db.Model):
    __tablename__ = "weeks"
    __table_args__ = (
        UniqueConstraint("user_id", "iso_year", "iso_week"),
        CheckConstraint("iso_week BETWEEN 1 AND 53", name="iso_week"),
        CheckConstraint("iso_year BETWEEN 1900 AND 2200", name="iso_year"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    iso_year: Mapped[int] = mapped_column(Integer)
    iso_week: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    picks: Mapped[list[WeekPick]] = relationship(
        back_populates="week", cascade="all, delete-orphan", lazy="raise",
        order_by=lambda: [WeekPick.kind.desc(), WeekPick.position],
    )


class WeekPick(db.Model):
    """One filled slot. The position is 1 or 2 and unique per (week, kind): the database
    itself holds every week to two films and two albums, whatever the requests race."""

    __tablename__ = "week_picks"
    __table_args__ = (
        UniqueConstraint("week_id", "kind", "position"),
        CheckConstraint("kind IN ('film', 'album')", name="kind"),
        CheckConstraint("position BETWEEN 1 AND 2", name="position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week_id: Mapped[int] = mapped_column(ForeignKey("weeks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    week: Mapped[Week] = relationship(back_populates="picks", lazy="raise")
    title: Mapped[Title] = relationship(lazy="raise")
