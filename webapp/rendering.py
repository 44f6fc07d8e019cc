"""One URL, two renderings: the full page, or just its fragment for htmx partial requests."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm

if TYPE_CHECKING:
    from webapp.accounts.models import User
    from webapp.errors import DomainError  # webapp.errors renders its pages with this module


def current_account() -> User:
    """The signed-in person as a User (views behind @login_required only)."""
    from flask_login import current_user

    return current_user._get_current_object()  # type: ignore[no-any-return]


def page_number() -> int:
    """The `page` query argument of a paginated list: 1 when missing, odd or below 1;
    404 past any real list (see webapp/numbers.py)."""
    from webapp.numbers import PAGE_MAX, query_int

    return max(query_int("page", 1, low=-PAGE_MAX, high=PAGE_MAX) or 1, 1)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """htmx 4 asks for a partial with HX-Request-Type: partial; boosted and
    history-restore requests want the whole page."""
    return (
        is_htmx()
        and request.headers.get("HX-Request-Type", "partial") == "partial"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Boosted") != "true"
    )


def vary_on_htmx(response: Response) -> Response:
    response.vary.update(("HX-Request", "HX-Request-Type"))  # one header rewrite, not two
    return response


def render(page: str, fragment: str | None = None, *, status: int = 200, **context: Any) -> Response:
    """Render `fragment` for htmx partial requests and `page` (which includes it) otherwise.

    A fragment carries any pending flash messages as an out-of-band partial."""
    if fragment and wants_fragment():
        flashes = ("_flashes_partial.html",) if session.get("_flashes") else ()
        return render_fragment(fragment, *flashes, status=status, **context)
    return vary_on_htmx(make_response(render_template(page, **context), status))


def render_fragment(*templates: str, status: int = 200, **context: Any) -> Response:
    """The answer to an htmx partial request: `templates` rendered in turn with the same
    context (the first is swapped in; the others are out-of-band partials, such as
    "_flashes_partial.html", which also clears old messages when there are none), with
    Vary on the htmx headers. Views that switch on wants_fragment() answer with this or
    render(), so that every such response varies the same way."""
    body = "".join(render_template(template, **context) for template in templates)
    return vary_on_htmx(make_response(body, status))


def see_other(location: str) -> Response:
    """After a successful POST: a 303 for plain browsers, HX-Redirect for htmx."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return vary_on_htmx(response)
    return vary_on_htmx(redirect(location, 303))


def safe_next(target: str | None, default_endpoint: str = "main.index") -> str:
    """A local path to continue to after login; anything else falls back to the default."""
    if target:
        target = target.strip().replace("\\", "/")
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and all(ord(c) >= 32 for c in target)
        ):
            return target
    return url_for(default_endpoint)


def apply_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's DomainError beside the field it names, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message] if isinstance(field.errors, list) else [error.message]
    else:
        form.form_errors.append(error.message)


class UrlPattern:
    """url_for once for a whole list, then one string join per row: a list of 50 rows
    with six links and forms each otherwise spends most of its time building URLs.
    The URL still comes from url_for; only the varying value is put in per row.

    In a template: `{% set status_url = url_pattern("groups.set_item_status", "item_id",
    group_id=group.id) %}` ... `{{ status_url(item.id) }}`."""

    MARKER = 987654321987  # no row's id

    def __init__(self, endpoint: str, key: str, **values: Any) -> None:
        built = url_for(endpoint, **{key: self.MARKER}, **values)
        self._head, _, self._tail = built.partition(str(self.MARKER))

    def __call__(self, value: int | str) -> str:
        return f"{self._head}{value}{self._tail}"


def remember_template_urls(app: Flask, size: int = 4096) -> None:
    """Templates' url_for, remembered: the same endpoint and values under the same
    mount point always build the same path, and every page builds the navigation's
    dozen links again. Only plain str/int values are remembered; blueprint-relative
    endpoints, `_external` and friends, and anything outside a request go to url_for
    each time. (The app registers no url_defaults, which could vary a URL per request.)"""

    @lru_cache(maxsize=size)
    def build(_script_root: str, endpoint: str, items: tuple[tuple[str, str | int], ...]) -> str:
        return url_for(endpoint, **dict(items))

    def template_url_for(endpoint: str, **values: Any) -> str:
        if (
            endpoint.startswith(".")
            or not has_request_context()
            or any(key.startswith("_") or type(value) not in (str, int) for key, value in values.items())
        ):
            return url_for(endpoint, **values)
        return build(request.script_root, endpoint, tuple(sorted(values.items())))

    app.jinja_env.globals["url_for"] = template_url_for
