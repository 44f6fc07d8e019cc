"""factory_boy factories. Passwords are hashed once, so building users stays cheap."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from webapp.accounts.models import User
from webapp.accounts.passwords import hash_password
from webapp.db import db, utcnow

DEFAULT_PASSWORD = "velvet-marquee-42"
_DEFAULT_HASH = hash_password(DEFAULT_PASSWORD)


class UserFactory(SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    # Verified unless a test asks otherwise (email_verified_at=None).
    email_verified_at = factory.LazyFunction(utcnow)
    display_name = factory.LazyAttribute(lambda u: u.username.title())
    password_hash = _DEFAULT_HASH
    bio = ""
    is_private = False
    is_admin = False
    is_imported = False
    tier = "free"
