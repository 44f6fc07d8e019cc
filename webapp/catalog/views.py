from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from flask import redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.accounts.models import User
from webapp.catalog import bp, services, sync
from webapp.catalog.forms import BrowseForm, SearchForm
from webapp.catalog.models import Title
from webapp.db import db
from webapp.errors import render_error
from webapp.providers.errors import ProviderError
from webapp.rendering import current_account, page_number, render


def _viewer() -> User | None:
    return current_account() if current_user.is_authenticated else None


@bp.route("/catalog")
def browse() -> Response:
    form = BrowseForm(request.args)
    form.genre.choices = {"": "Any genre", **{g.slug: g.name for g in services.all_genres()}}
    valid = form.validate()
    criteria = services.BrowseFilter(
        q=(form.q.data or "") if valid else "",
        genre=(form.genre.data or "") if valid else "",
        year=form.year.data if valid else None,
        kind=(form.kind.data or "") if valid else "",
        order=(form.order.data or "title") if valid else "title",
        viewer=_viewer(),
    )
    pagination = services.browse(criteria, page=page_number())
    return render(
        "catalog/browse.html",
        "catalog/_browse_results.html",
        form=form,
        pagination=pagination,
        labels=services.KIND_LABELS,
        status=200 if valid else 422,
    )


@bp.route("/titles/<int:title_id>")
def title(title_id: int) -> Response:
    item = services.get_visible_title(title_id, _viewer())
    note = None
    if sync.can_refresh(item):  # details fetched on first view, refreshed when stale
        note = sync.refresh(item)
        item = services.get_title(title_id)
    return render("catalog/title.html", title=item, labels=services.KIND_LABELS, note=note)


@bp.route("/titles/tmdb/<kind>/<int:tmdb_id>")
def tmdb_title(kind: str, tmdb_id: int) -> Response:
    """A TMDB search result: its catalog title, created from TMDB on first visit."""
    return _resolve(lambda: sync.title_from_tmdb(kind, tmdb_id))


@bp.route("/titles/musicbrainz/<uuid:mbid>")
def musicbrainz_title(mbid: UUID) -> Response:
    return _resolve(lambda: sync.title_from_musicbrainz(str(mbid)))


def _resolve(load: Callable[[], Title]) -> Response:
    try:
        found = load()
    except ProviderError as error:
        db.session.rollback()
        return render_error(503, f"{error.message} Please try again in a moment.")
    db.session.commit()
    return redirect(url_for("catalog.title", title_id=found.id), 303)


@bp.route("/person/<int:person_id>")
def person(person_id: int) -> Response:
    found, credits = services.get_person(person_id, _viewer())
    return render("catalog/person.html", person=found, credits=credits, labels=services.KIND_LABELS)


@bp.route("/search")
def search() -> Response:
    form = SearchForm(request.args)
    valid = form.validate()
    query = (form.q.data or "").strip() if valid else ""
    kind = (form.type.data or "all") if valid else "all"
    results = sync.search(query, kind=kind, page=page_number(), viewer=_viewer()) if query else None
    return render(
        "catalog/search.html",
        "catalog/_search_results.html",
        form=form,
        query=query,
        kind=kind,
        results=results,
        labels=services.KIND_LABELS,
        status=200 if valid else 422,
    )
