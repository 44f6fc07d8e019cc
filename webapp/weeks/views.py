from __future__ import annotations

from flask import Blueprint, Response, flash, make_response, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from markupsafe import Markup

from webapp.accounts.models import User
from webapp.accounts.services import get_user
from webapp.catalog import sync
from webapp.caching import cached_html, person_key
from webapp.catalog.services import KIND_LABELS as TITLE_KIND_LABELS
from webapp.db import db
from webapp.errors import DomainError, Invalid, NotFound
from webapp.extensions import MANUAL_TITLES_MESSAGE, limiter, manual_title_limit, per_user
from webapp.forms import EmptyForm
from webapp.numbers import query_int
from webapp.rendering import (
    apply_error,
    current_account,
    page_number,
    render,
    render_fragment,
    see_other,
    wants_fragment,
)
from webapp.social.services import can_see_profile
from webapp.weeks import services, stats as week_stats, transfer
from webapp.weeks.forms import ChooseSearchForm, ImportForm, ManualPickForm, NotesForm, PickForm
from webapp.weeks.iso import MAX_YEAR, MIN_YEAR, IsoWeek, NoSuchWeek

bp = Blueprint("weeks", __name__)


def _viewer() -> User | None:
    return current_account() if current_user.is_authenticated else None


def _when(year: str, week: str) -> IsoWeek:
    try:
        return IsoWeek.parse(year, week)
    except NoSuchWeek as error:
        raise NotFound(f"There is no such week. {error}") from error



def _context(when: IsoWeek, view: services.WeekView, **extra: object) -> dict[str, object]:
    current = services.this_week()
    return {
        "when": when,
        "view": view,
        "current": current,
        "is_current": when == current,
        "kind_labels": services.KIND_LABELS,
        "plurals": services.PLURALS,
        **extra,
    }


# The week page ---------------------------------------------------------------------

def _week_page(when: IsoWeek, notes_form: NotesForm | None = None, status: int = 200) -> Response:
    view = services.load_week(current_account().id, when)
    form = notes_form or NotesForm(formdata=None, notes=view.notes)
    return render("weeks/week.html", "weeks/_slots.html", status=status,
                  **_context(when, view, notes_form=form, editable=True))


@bp.route("/weeks")
@login_required
def current() -> Response:
    """This week: shown from whatever exists, nothing written until the first pick."""
    return _week_page(services.this_week())


@bp.route("/weeks/<year>/<week>")
@login_required
def week(year: str, week: str) -> Response:
    return _week_page(_when(year, week))


def _after_slot_change(when: IsoWeek, message: str, category: str = "success") -> Response:
    """Plain forms go back to the week; htmx gets the fresh slots and the flash out of band."""
    flash(message, category)
    if wants_fragment():
        view = services.load_week(current_account().id, when)
        return render("weeks/week.html", "weeks/_slots.html", **_context(when, view, editable=True))
    return see_other(url_for("weeks.week", year=when.year, week=when.week))


@bp.route("/weeks/<year>/<week>/<kind>/<int:position>/remove", methods=["POST"])
@login_required
def remove_pick(year: str, week: str, kind: str, position: int) -> Response:
    when = _when(year, week)
    services.check_kind(kind)
    EmptyForm().validate_on_submit()
    removed = services.remove_pick(current_account(), when, kind, position)
    db.session.commit()
    if removed:
        return _after_slot_change(when, f"{services.KIND_LABELS[kind]} {position} removed.")
    return _after_slot_change(when, "That slot was already empty.", "info")


@bp.route("/weeks/<year>/<week>/<kind>/swap", methods=["POST"])
@login_required
def swap_picks(year: str, week: str, kind: str) -> Response:
    when = _when(year, week)
    services.check_kind(kind)
    swapped = services.swap_picks(current_account(), when, kind)
    db.session.commit()
    if swapped:
        return _after_slot_change(when, f"Your {services.PLURALS[kind]} changed places.")
    return _after_slot_change(when, f"There are no {services.PLURALS[kind]} to reorder.", "info")


@bp.route("/weeks/<year>/<week>/notes", methods=["POST"])
@login_required
def save_notes(year: str, week: str) -> Response:
    when = _when(year, week)
    form = NotesForm()
    if form.validate_on_submit():
        try:
            services.save_notes(current_account(), when, form.notes.data or "")
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash("Notes saved.", "success")
            if wants_fragment():
                view = services.load_week(current_account().id, when)
                return render_fragment("weeks/_notes.html", "_flashes_partial.html",
                                       **_context(when, view, notes_form=form, saved=True))
            return see_other(url_for("weeks.week", year=when.year, week=when.week))
    if wants_fragment():
        view = services.load_week(current_account().id, when)
        return render_fragment("weeks/_notes.html", status=422, **_context(when, view, notes_form=form))
    return _week_page(when, form, status=422)


# Filling a slot --------------------------------------------------------------------

SEARCH_KIND = {"film": "movie", "album": "album"}


def _choose_page(when: IsoWeek, kind: str, *, query: str, position: int | None, pick_form: PickForm | None = None,
                 manual_form: ManualPickForm | None = None, search_form: ChooseSearchForm | None = None,
                 status: int = 200) -> Response:
    # The search as submitted (with what was typed and its errors), or one for the query.
    search_form = search_form or ChooseSearchForm(formdata=None, q=query, position=position)
    results = sync.search(query, kind=SEARCH_KIND[kind], viewer=current_account()) if query else None
    if results is not None:  # only titles that fit the slot (TMDB multi-search aside)
        results.hits = [hit for hit in results.hits if hit.kind == SEARCH_KIND[kind]]
    manual = manual_form or ManualPickForm(formdata=None, position=position)
    return render(
        "weeks/choose.html",
        "weeks/_choose_results.html",
        status=status,
        **_context(when, None,  # type: ignore[arg-type]
                   kind=kind, query=query, position=position, search_form=search_form, results=results,
                   pick_form=pick_form or PickForm(formdata=None), manual_form=manual,
                   title_labels=TITLE_KIND_LABELS),
    )


@bp.route("/weeks/<year>/<week>/<kind>/choose")
@login_required
def choose(year: str, week: str, kind: str) -> Response:
    when = _when(year, week)
    services.check_kind(kind)
    form = ChooseSearchForm(request.args)
    valid = form.validate()
    query = (form.q.data or "").strip() if valid else ""
    position = form.position.data if valid else None
    return _choose_page(when, kind, query=query, position=position, search_form=form,
                        status=200 if valid else 422)


def _picked(when: IsoWeek, kind: str, outcome: services.PickOutcome) -> Response:
    verb = "replaced by" if outcome.status == "replaced" else "is"
    label = services.KIND_LABELS[kind]
    flash(f"{label} {outcome.position} {verb} “{outcome.title.title}”.", "success")
    return see_other(url_for("weeks.week", year=when.year, week=when.week))


@bp.route("/weeks/<year>/<week>/<kind>", methods=["POST"])
@login_required
def add_pick(year: str, week: str, kind: str) -> Response:
    when = _when(year, week)
    services.check_kind(kind)
    form = PickForm()
    query = (request.form.get("q") or "").strip()[:200]
    if form.validate_on_submit():
        try:
            title = services.resolve_ref(form.ref.data, current_account())
            outcome = services.add_pick(current_account(), when, kind, title, position=form.position.data)
        except DomainError as error:
            db.session.rollback()
            if error.status == 404:
                raise
            apply_error(form, error)
        else:
            db.session.commit()
            return _picked(when, kind, outcome)
    return _choose_page(when, kind, query=query, position=form.position.data if not form.position.errors else None,
                        pick_form=form, status=422)


@bp.route("/weeks/<year>/<week>/<kind>/manual", methods=["POST"])
@login_required
@limiter.shared_limit(manual_title_limit, scope="manual-title", key_func=per_user,
                      error_message=MANUAL_TITLES_MESSAGE)
def add_manual(year: str, week: str, kind: str) -> Response:
    when = _when(year, week)
    services.check_kind(kind)
    form = ManualPickForm()
    if form.validate_on_submit():
        try:
            title = services.manual_title(kind, name=form.title.data or "", year=form.year.data,
                                          artist=form.artist.data if kind == "album" else None,
                                          added_by=current_account())
            outcome = services.add_pick(current_account(), when, kind, title, position=form.position.data)
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            return _picked(when, kind, outcome)
    position = form.position.data if not form.position.errors else None
    if wants_fragment():
        return render_fragment("weeks/_manual_form.html", status=422,
                               **_context(when, None, kind=kind, position=position, manual_form=form))  # type: ignore[arg-type]
    return _choose_page(when, kind, query="", position=position, manual_form=form, status=422)


# Other people's weeks, lists and stats ---------------------------------------------

def _year_arg(default: int | None) -> int | None:
    if not request.args.get("year", ""):
        return default
    try:
        year = query_int("year", low=MIN_YEAR, high=MAX_YEAR)
    except NotFound:
        year = None
    if year is None:
        raise NotFound(f"Weeks are kept for the years {MIN_YEAR} to {MAX_YEAR}.")
    return year


@bp.route("/u/<username>/weeks")
def user_weeks(username: str) -> Response:
    user = get_user(username)
    viewer = _viewer()
    can_see = can_see_profile(viewer, user)
    years = services.years_of(user) if can_see else []
    year = _year_arg(years[0] if years else services.this_week().year)
    pagination = services.weeks_page(user, year=year, page=page_number()) if can_see else None  # type: ignore[arg-type]
    return render(
        "weeks/user_weeks.html",
        "weeks/_week_list.html",
        profile=user,
        is_self=viewer is not None and viewer.id == user.id,
        can_see=can_see,
        years=years,
        year=year,
        pagination=pagination,
        kind_labels=services.KIND_LABELS,
    )


@bp.route("/u/<username>/weeks/<year>/<week>")
def user_week(username: str, year: str, week: str) -> Response:
    user = get_user(username)
    when = _when(year, week)
    viewer = _viewer()
    can_see = can_see_profile(viewer, user)
    view = services.load_week(user.id, when) if can_see else services.WeekView(when, None, {})
    return render(
        "weeks/user_week.html",
        **_context(when, view, profile=user, can_see=can_see, editable=False,
                   is_self=viewer is not None and viewer.id == user.id),
    )


@bp.route("/u/<username>/weeks/stats")
def stats(username: str) -> Response:
    user = get_user(username)
    viewer = _viewer()
    can_see = can_see_profile(viewer, user)
    year = _year_arg(None)
    is_self = viewer is not None and viewer.id == user.id
    body = None
    if can_see:
        # Cached under the person's profile_version, which triggers bump on every
        # change to their weeks, picks and the picked titles' details (migration 0007).
        def render_body() -> str:
            return render_template("weeks/_stats_body.html", profile=user, is_self=is_self, year=year,
                                   years=services.years_of(user), stats=week_stats.compute(user, year))

        key = person_key("stats", user, user.username, user.display_name, int(is_self), year)
        body = cached_html(key, render_body)
    return render("weeks/stats.html", profile=user, is_self=is_self, can_see=can_see, year=year, body=body)


# Export and import -----------------------------------------------------------------

@bp.route("/weeks/data")
@login_required
def data() -> Response:
    return render("weeks/data.html", form=ImportForm(formdata=None), counts=services.week_counts(current_account()),
                  max_rows=_import_max_rows())


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/weeks/export.json")
@login_required
def export_json() -> Response:
    me = current_account()
    return _download(transfer.export_json(me), "application/json", f"marquee-{me.username}.json")


@bp.route("/weeks/export.zip")
@login_required
def export_zip() -> Response:
    me = current_account()
    return _download(transfer.export_zip(me), "application/zip", f"marquee-{me.username}-csv.zip")


def _import_limit() -> str:
    from flask import current_app

    return str(current_app.config.get("RATELIMIT_IMPORT") or "10 per hour")


def _per_account() -> str:
    """Rate-limit key: the signed-in account (an import is heavy wherever it comes from)."""
    return f"user:{current_user.get_id()}" if current_user.is_authenticated else get_remote_address()


def _limits_off() -> bool:
    # The limiter is one object for every app in a process (tests make several): this
    # app's own setting decides.
    from flask import current_app

    return not current_app.config.get("RATELIMIT_ENABLED", True)


@bp.route("/weeks/import", methods=["POST"])
@login_required
@limiter.limit(_import_limit, key_func=_per_account, exempt_when=_limits_off)
def import_data() -> Response:
    form = ImportForm()
    me = current_account()
    if form.validate_on_submit():
        # Reading and checking the file needs no database: end the request's write
        # transaction first, so that nobody waits for the lock meanwhile.
        db.session.commit()
        try:
            content = form.file.data.read(transfer_limit() + 1)
            if len(content) > transfer_limit():
                raise Invalid("That file is too large to be an export.", field="file")
            parsed = transfer.parse_export(content, max_rows=_import_max_rows())
        except DomainError as error:
            apply_error(form, error)
        else:
            # One short write transaction a batch: others' writes go in between.
            for _ in transfer.import_batches(me, parsed):
                db.session.commit()
            weeks, ratings = len(parsed["weeks"]), len(parsed["ratings"])
            flash(f"Imported {weeks} week{'s' if weeks != 1 else ''} and {ratings} rating{'s' if ratings != 1 else ''}.",
                  "success")
            return see_other(url_for("weeks.user_weeks", username=me.username))
    return render("weeks/data.html", form=form, counts=services.week_counts(me), status=422,
                  max_rows=_import_max_rows())


def _import_max_rows() -> int:
    from flask import current_app

    return int(current_app.config.get("IMPORT_MAX_ROWS") or transfer.MAX_ROWS)


def transfer_limit() -> int:
    from flask import current_app

    return int(current_app.config.get("MAX_CONTENT_LENGTH") or 1024 * 1024)


# The profile's "Weekly picks" section ----------------------------------------------

def profile_weeks(user: User, is_self: bool) -> Markup:
    when = services.this_week()
    picks = services.week_picks(user.id, when)
    return Markup(render_template("weeks/_profile_section.html", profile=user, when=when, picks=picks,
                                  is_self=is_self,
                                  kind_labels=services.KIND_LABELS))
