from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import db, utcnow

TIERS = ("free", "premium", "admin")


class User(UserMixin, db.Model):
    __tablename__ = "users"

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
    # Bumped by logout and password change: every session carrying an older value ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped by database triggers (migration 0007) whenever what this person's profile
    # or weeks stats show changes; both are cached under it. Never set by the app.
    profile_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    identities: Mapped[list[OAuthIdentity]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="raise"
    )

    def get_id(self) -> str:
        # The session remembers the version it was issued for (see load_user).
        return f"{self.id}:{self.session_version}"

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
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="identities", lazy="raise")
