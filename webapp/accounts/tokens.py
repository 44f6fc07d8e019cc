"""Signed, expiring links (itsdangerous). A token only says what state it was issued
for; the service that redeems it makes it single use with a conditional UPDATE on that
state (webapp/accounts/services.py)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

VERIFY_EMAIL = ("marquee.verify-email", 2 * 24 * 3600)
CHANGE_EMAIL = ("marquee.change-email", 2 * 24 * 3600)
RESET_PASSWORD = ("marquee.reset-password", 3600)


def _serializer(kind: tuple[str, int]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=kind[0])  # type: ignore[arg-type]


def make(kind: tuple[str, int], **payload: Any) -> str:
    return _serializer(kind).dumps(payload)


def read(kind: tuple[str, int], token: str, *fields: str) -> dict[str, Any] | None:
    """The payload of a genuine, unexpired token of this kind, or None."""
    try:
        payload = _serializer(kind).loads(token, max_age=kind[1])
    except (BadSignature, UnicodeError, ValueError):
        return None
    if not isinstance(payload, dict) or any(name not in payload for name in fields):
        return None
    return payload
