from __future__ import annotations

from flask import Blueprint, flash, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.catalog import services
from webapp.catalog.forms import GenreForm, TitleForm
from webapp.forms import EmptyForm
from webapp.catalog.models import Title
from webapp.db import db
from webapp.errors import DomainError, NotFound
from webapp.rendering import apply_error, current_account, page_number, render, see_other

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only() -> None:
    if not (current_user.is_authenticated and current_user.is_admin):
        raise NotFound()


# Genres ----------------------------------------------------------------------------

@bp.route("/genres", methods=["GET", "POST"])
def genres() -> Response:
    form = GenreForm()
    if form.validate_on_submit():
        try:
            genre = services.create_genre(form.name.data)
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(f"Genre “{genre.name}” added.", "success")
            return see_other(url_for("admin.genres"))
    status = 422 if form.is_submitted() else 200
    return render("admin/genres.html", form=form, genres=services.genres_with_counts(), status=status)


@bp.route("/genres/<int:genre_id>/edit", methods=["GET", "POST"])
def edit_genre(genre_id: int) -> Response:
    genre = services.get_genre(genre_id)
    form = GenreForm(obj=genre)
    if form.validate_on_submit():
        try:
            services.rename_genre(genre, form.name.data)
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash("Genre renamed.", "success")
            return see_other(url_for("admin.genres"))
    status = 422 if form.is_submitted() else 200
    return render("admin/genre_edit.html", form=form, genre=genre, status=status)


@bp.route("/genres/<int:genre_id>/delete", methods=["GET", "POST"])
def delete_genre(genre_id: int) -> Response:
    genre = services.get_genre(genre_id)
    form = EmptyForm()
    if form.validate_on_submit():
        services.delete_genre(genre)
        db.session.commit()
        flash(f"Genre “{genre.name}” deleted.", "info")
        return see_other(url_for("admin.genres"))
    return render("admin/confirm_delete.html", form=form, what=f"the genre “{genre.name}”",
                  back=url_for("admin.genres"))


# Manual titles ---------------------------------------------------------------------

def _title_form(title: Title | None = None) -> TitleForm:
    form = TitleForm(obj=title)
    form.genre_ids.choices = {g.id: g.name for g in services.all_genres()}
    if title is not None and not form.is_submitted():
        form.genre_ids.data = [g.id for g in title.genres]
    return form


def _title_data(form: TitleForm) -> services.TitleData:
    return services.TitleData(
        kind=form.kind.data,
        title=form.title.data,
        year=form.year.data,
        runtime_minutes=form.runtime_minutes.data,
        overview=form.overview.data or "",
        genre_ids=list(form.genre_ids.data or []),
        release_date=form.release_date.data,
        image_url=form.image_url.data or None,
        adult=bool(form.adult.data),
        artist_credit=form.artist_credit.data,
    )


def _manual_title(title_id: int) -> Title:
    title = services.get_title(title_id)
    if title.source != "manual":
        raise NotFound()
    return title


@bp.route("/titles")
def titles() -> Response:
    return render("admin/titles.html", pagination=services.manual_titles(page=page_number()),
                  form=EmptyForm(formdata=None))


@bp.route("/titles/<int:title_id>/publish", methods=["POST"])
def publish_title(title_id: int) -> Response:
    """Show a member's manual title in the catalog, search and choosers to everyone."""
    title = _manual_title(title_id)
    form = EmptyForm()
    if form.validate_on_submit():
        services.publish_title(title)
        db.session.commit()
        flash(f"“{title.title}” is now in the public catalog.", "success")
    return see_other(url_for("admin.titles"))


@bp.route("/titles/new", methods=["GET", "POST"])
def new_title() -> Response:
    form = _title_form()
    if form.validate_on_submit():
        try:
            title = services.create_manual_title(_title_data(form), added_by=current_account())
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(f"“{title.title}” added to the catalog.", "success")
            return see_other(url_for("catalog.title", title_id=title.id))
    status = 422 if form.is_submitted() else 200
    return render("admin/title_form.html", form=form, title=None, status=status)


@bp.route("/titles/<int:title_id>/edit", methods=["GET", "POST"])
def edit_title(title_id: int) -> Response:
    title = _manual_title(title_id)
    form = _title_form(title)
    if form.validate_on_submit():
        try:
            services.update_manual_title(title, _title_data(form))
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash("Title saved.", "success")
            return see_other(url_for("catalog.title", title_id=title.id))
    status = 422 if form.is_submitted() else 200
    return render("admin/title_form.html", form=form, title=title, status=status)


@bp.route("/titles/<int:title_id>/delete", methods=["GET", "POST"])
def delete_title(title_id: int) -> Response:
    title = _manual_title(title_id)
    form = EmptyForm()
    if form.validate_on_submit():
        services.delete_title(title)
        db.session.commit()
        flash(f"“{title.title}” deleted.", "info")
        return see_other(url_for("admin.titles"))
    return render("admin/confirm_delete.html", form=form, what=f"“{title.title}”", back=url_for("admin.titles"))
