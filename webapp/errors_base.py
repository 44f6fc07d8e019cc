"""The DomainError hierarchy services raise; webapp.errors maps it to pages."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    default_message = "That could not be done."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.field = field


class NotFound(DomainError):
    """Missing, or not visible to this user: both answer 404 so existence is not revealed."""

    status = 404
    default_message = "We could not find that page."


class Forbidden(DomainError):
    status = 403
    default_message = "You are not allowed to do that."


class Invalid(DomainError):
    status = 422
    default_message = "Please correct the highlighted fields."


class Conflict(DomainError):
    status = 409
    default_message = "That conflicts with something that already exists."
