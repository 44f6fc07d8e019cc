"""The catalog: canonical titles (films, shows, albums) across sources, with genres,
people and credits. A title is found again by any of its source ids, never duplicated."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import db, utcnow

KINDS = ("movie", "tv", "album")
SOURCES = ("tmdb", "musicbrainz", "movielens", "manual", "demo", "imdb")
ROLES = ("director", "writer", "cast", "artist")

title_genres = Table(
    "title_genres",
    db.metadata,
    Column("title_id", ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True),
    Column("genre_id", ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Genre(db.Model):
    __tablename__ = "genres"
    # Ids in URLs and sessions are never reused (SQLite AUTOINCREMENT).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    # Lower-cased name: genres are unique case-insensitively ("Sci-Fi" = "sci-fi").
    slug: Mapped[str] = mapped_column(String(60), unique=True)


class Title(db.Model):
    __tablename__ = "titles"
    __table_args__ = (
        UniqueConstraint("kind", "tmdb_id"),
        CheckConstraint("kind IN ('movie', 'tv', 'album')", name="kind"),
        CheckConstraint("runtime_minutes IS NULL OR runtime_minutes BETWEEN 1 AND 10000", name="runtime"),
        CheckConstraint("year IS NULL OR year BETWEEN 1870 AND 2200", name="year"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), index=True)
    title: Mapped[str] = mapped_column(String(300))
    # Lower-cased title for case-insensitive search and ordering.
    sort_title: Mapped[str] = mapped_column(String(300), index=True)
    original_title: Mapped[str | None] = mapped_column(String(300))
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    release_date: Mapped[date | None] = mapped_column(Date)
    runtime_minutes: Mapped[int | None] = mapped_column(Integer)
    overview: Mapped[str] = mapped_column(Text, default="")
    # Poster (films, shows) or front cover (albums): a full image URL.
    image_url: Mapped[str | None] = mapped_column(String(500))
    adult: Mapped[bool] = mapped_column(Boolean, default=False)
    # Albums: the artist credit as the release group names it.
    artist_credit: Mapped[str | None] = mapped_column(String(300))
    imdb_rating: Mapped[float | None] = mapped_column(Float)

    tmdb_id: Mapped[int | None] = mapped_column(Integer)
    musicbrainz_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    imdb_id: Mapped[str | None] = mapped_column(String(16), unique=True)
    movielens_id: Mapped[int | None] = mapped_column(Integer, unique=True)

    source: Mapped[str] = mapped_column(String(16), default="manual")
    # Shown in the catalog, search and choosers to everyone. Manual titles (typed by a
    # member, created by an import) are not until an admin publishes them: until then
    # they are seen only where they were added (webapp/catalog/visibility.py).
    is_published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # When details were last fetched from the source; None until the first fetch.
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    genres: Mapped[list[Genre]] = relationship(secondary=title_genres, lazy="raise", order_by=Genre.name)
    credits: Mapped[list[Credit]] = relationship(
        back_populates="title", cascade="all, delete-orphan", lazy="raise"
    )
    tracks: Mapped[list[Track]] = relationship(
        back_populates="title", cascade="all, delete-orphan", lazy="raise", order_by="Track.position"
    )


class Person(db.Model):
    __tablename__ = "people"
    # Ids in URLs and sessions are never reused (SQLite AUTOINCREMENT).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    tmdb_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    musicbrainz_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    image_url: Mapped[str | None] = mapped_column(String(500))

    credits: Mapped[list[Credit]] = relationship(back_populates="person", lazy="raise")


class Credit(db.Model):
    """A person's part in a title: director, writer, cast (with character and billing
    order) or album artist."""

    __tablename__ = "credits"
    __table_args__ = (
        UniqueConstraint("title_id", "person_id", "role"),
        CheckConstraint("role IN ('director', 'writer', 'cast', 'artist')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    character: Mapped[str | None] = mapped_column(String(300))
    billing_order: Mapped[int | None] = mapped_column(Integer)

    title: Mapped[Title] = relationship(back_populates="credits", lazy="raise")
    person: Mapped[Person] = relationship(back_populates="credits", lazy="raise")


class Track(db.Model):
    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("title_id", "disc", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"))
    disc: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    length_seconds: Mapped[int | None] = mapped_column(Integer)

    title: Mapped[Title] = relationship(back_populates="tracks", lazy="raise")


class Rating(db.Model):
    """A user's score for a title, one per (user, title).

    The score is a float in half-star steps from 0.5 to 5.0: MovieLens ratings use
    half stars and the app's own ratings are the whole numbers 1-5 within that range.
    A float reads as what people see ("4.5"), averages and recommendations need no
    conversion, and halves are exact in binary floating point, so equality and
    grouping are safe; the check constraint keeps every score on the half-star grid."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("user_id", "title_id"),
        CheckConstraint("score >= 0.5 AND score <= 5 AND score * 2 = CAST(score * 2 AS INTEGER)", name="score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    # When the rating was given (imported ratings keep their original time).
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
