"""Domain errors raised by services, and the one place that turns errors into pages."""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.rendering import is_htmx, vary_on_htmx

__all__ = ["DomainError", "NotFound", "Forbidden", "Invalid", "Conflict", "render_error", "register_error_handlers"]


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


TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    422: "Could not process that",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Service unavailable",
}

MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "We could not find that page.",
    405: "That page does not accept this kind of request.",
    409: "That conflicts with something that already exists.",
    413: "What you sent is too large.",
    422: "We could not process what you sent.",
    429: "You are going a little fast. Please wait a moment and try again.",
    500: "Something went wrong on our side. Please try again in a moment.",
    503: "The service is unavailable right now. Please try again shortly.",
}


def render_error(status: int, message: str | None = None) -> Response:
    """A full error page, or for htmx a fragment swapped into the main landmark."""
    status = status if status in TITLES else (500 if status >= 500 else 400)
    ctx = {"status": status, "title": TITLES[status], "message": message or MESSAGES[status]}
    if is_htmx():
        body = render_template("errors/_error.html", **ctx)
        response = Response(body, status=status)
        # Never let an error land inside a small target: take over the main area.
        response.headers["HX-Retarget"] = "#main"
        response.headers["HX-Reswap"] = "innerHTML"
    else:
        response = Response(render_template("errors/page.html", **ctx), status=status)
    vary_on_htmx(response)
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return render_error(error.status, error.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Response:
        return render_error(
            400,
            "Your form expired or was sent from elsewhere. Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status == 429:
            message = "You are going a little fast. Please wait a minute and try again."
            limit = getattr(error, "limit", None)  # flask-limiter's; some limits say more
            if limit is not None and limit.error_message and error.description:
                message = error.description
            response = render_error(429, message)
            if error.get_response().headers.get("Retry-After"):
                response.headers["Retry-After"] = error.get_response().headers["Retry-After"]
            return response
        if status == 405:
            response = render_error(405)
            allowed = error.get_response().headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
            return response
        if 300 <= status < 400:
            return error.get_response()  # type: ignore[return-value]
        return render_error(status)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if current_app.testing and not current_app.config.get("RENDER_UNEXPECTED_ERRORS"):
            raise error
        current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500)
