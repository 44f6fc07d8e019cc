from __future__ import annotations

import hashlib
from collections.abc import Callable
from uuid import UUID

from flask import Blueprint, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.accounts.models import User
from webapp.catalog import services, sync
from webapp.catalog.forms import BrowseForm, SearchForm
from webapp.catalog.models import Title
from webapp.db import db
from webapp.errors import render_error
from webapp.extensions import limit_reads
from webapp.providers.errors import ProviderError
from webapp.rendering import current_account, page_number, render, render_fragment, wants_fragment

bp = Blueprint("catalog", __name__)


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


def search_limit() -> str:
    """How often one client may search (RATELIMIT_SEARCH): searches reach providers."""
    return current_app.config["RATELIMIT_SEARCH"]


def client_and_agent() -> str:
    """Search is throttled per client address and User-Agent (the address is the real
    client's behind trusted proxies, see TRUSTED_PROXY_HOPS)."""
    agent = request.headers.get("User-Agent", "")
    return f"{request.remote_addr or '-'}|{hashlib.sha256(agent.encode()).hexdigest()[:16]}"


def _without_user_agent() -> Response | None:
    """The 400 answer for a search without a User-Agent (seed 002: throttled searches
    must say who is asking), or None."""
    if request.headers.get("User-Agent", "").strip():
        return None
    return render_error(400, "Search needs a User-Agent header: send one that names your browser or program.")


@bp.route("/search")
@limit_reads(search_limit, key_func=client_and_agent)
def search() -> Response:
    return _without_user_agent() or _search_page()


@bp.route("/search/albums")
@limit_reads(search_limit, key_func=client_and_agent)
def search_albums() -> Response:
    """The album results a search page left out while MusicBrainz was busy
    (SearchResults.albums_pending): fetched by htmx after the page. A plain request
    (the "Show album results" link) gets the whole search page again."""
    refused = _without_user_agent()
    if refused is not None:
        return refused
    if not wants_fragment():
        return _search_page()
    form = SearchForm(request.args)
    query = (form.q.data or "").strip() if form.validate() else ""
    kind = form.type.data or "all"
    albums = sync.search_albums(query, page=page_number()) if query and kind in ("all", "album") else None
    return render_fragment("catalog/_album_results.html", query=query, kind=kind, albums=albums,
                           labels=services.KIND_LABELS, attempt=_attempt() + 1)


def _attempt() -> int:
    """How many times the page has asked for its album results already."""
    return min(max(request.args.get("attempt", 0, type=int) or 0, 0), 100)


def _search_page() -> Response:
    form = SearchForm(request.args)
    valid = form.validate()
    query = (form.q.data or "").strip() if valid else ""
    kind = (form.type.data or "all") if valid else "all"
    results = sync.search(query, kind=kind, page=page_number(), viewer=_viewer(), defer_albums=True) if query else None
    return render(
        "catalog/search.html",
        "catalog/_search_results.html",
        form=form,
        query=query,
        kind=kind,
        results=results,
        albums=results,
        attempt=0,
        labels=services.KIND_LABELS,
        status=200 if valid else 422,
    )
