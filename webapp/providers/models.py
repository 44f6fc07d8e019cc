"""Tables the provider layer shares across app processes: the response cache and the
request-rate slots (MusicBrainz allows one request per second per application)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import db


class CachedResponse(db.Model):
    """A provider response by key (e.g. "tmdb:search:movie:alien:1").

    `lease_until` is set by the one process fetching a fresh copy, so that of many
    processes wanting the same expired key exactly one calls upstream."""

    __tablename__ = "provider_cache"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    payload: Mapped[str | None] = mapped_column(Text)  # JSON text; None while first fetched
    status: Mapped[int] = mapped_column(Integer, default=200)
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)


class RateSlot(db.Model):
    """The next moment a rate-limited provider may be called, shared by all processes."""

    __tablename__ = "provider_rate_slots"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(DateTime)
