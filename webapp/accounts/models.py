from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import db, utcnow

TIERS = ("free", "premium", "admin")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    # Ids in URLs and sessions are never reused (SQLite AUTOINCREMENT).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: both are unique case-insensitively.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # When the address was proven: a mailed link followed, or a provider that said so.
    # An unverified address links no social sign-in and gets no account mail but its link.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When this address last got a "someone tried to use your address" notice: at most
    # one an hour (services.claim_address_notice).
    email_notice_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(30), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    # None for accounts that sign in only through OAuth, and for imported accounts.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    birth_date: Mapped[date | None] = mapped_column(Date)
    bio: Mapped[str] = mapped_column(Text, default="")
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Imported rating authors (MovieLens) exist for their data and cannot log in.
    is_imported: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[str] = mapped_column(String(16), default="free")
    # Bumped by database triggers (migration 0007) whenever what this person's profile
    # or weeks stats show changes; both are cached under it. Never set by the app.
    profile_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    identities: Mapped[list[OAuthIdentity]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="raise"
    )

    # The secret of the login session this object was signed in with, in this request:
    # set by accounts.services.open_login_session and by the session loader.
    login_token = None  # type: str | None

    def get_id(self) -> str:
        """What the session cookie carries: the account's id and the secret of one
        login_sessions row (see webapp._init_login). Deleting the row ends the session."""
        if self.login_token is None:
            raise RuntimeError("no login session: open one with accounts.services.open_login_session")
        return f"{self.id}:{self.login_token}"

    # The same account, whichever session it was loaded for (UserMixin compares get_id()).
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, User):
            return self.id == other.id
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    @property
    def can_login(self) -> bool:
        return not self.is_imported

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class OAuthIdentity(db.Model):
    """An identity at an OAuth/OIDC provider, linked to one account."""

    __tablename__ = "oauth_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="identities", lazy="raise")


class LoginSession(db.Model):
    """One signed-in browser. The cookie carries the account's id and a random token;
    only the token's SHA-256 is stored. Ending a session deletes its row."""

    __tablename__ = "login_sessions"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # A short description from the User-Agent ("Firefox on Linux"), shown in settings.
    device: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Written at most every few minutes (webapp._init_login).
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
