from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from webapp.catalog import bp, services
from webapp.catalog.forms import BrowseForm, SearchForm
from webapp.rendering import render


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


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
    )
    pagination = services.browse(criteria, page=_page())
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
    item = services.get_title(title_id)
    return render("catalog/title.html", title=item, labels=services.KIND_LABELS)


@bp.route("/person/<int:person_id>")
def person(person_id: int) -> Response:
    found, credits = services.get_person(person_id)
    return render("catalog/person.html", person=found, credits=credits, labels=services.KIND_LABELS)


@bp.route("/search")
def search() -> Response:
    form = SearchForm(request.args)
    valid = form.validate()
    query = (form.q.data or "").strip() if valid else ""
    kind = (form.type.data or "all") if valid else "all"
    results = services.search_local(query, kind=kind) if query else []
    return render(
        "catalog/search.html",
        "catalog/_search_results.html",
        form=form,
        query=query,
        results=results,
        labels=services.KIND_LABELS,
        status=200 if valid else 422,
    )
