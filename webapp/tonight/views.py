from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from webapp.accounts.models import User
from webapp.catalog.services import KIND_LABELS
from webapp.db import db, utcnow
from webapp.forms import EmptyForm
from webapp.errors import DomainError, NotFound
from webapp.groups import services as groups
from webapp.groups import watchlist
from webapp.numbers import ID_MAX, id_from, query_int
from webapp.rendering import (
    apply_error,
    current_account,
    page_number,
    render,
    render_fragment,
    see_other,
    wants_fragment,
)
from webapp.tonight import services
from webapp.tonight.forms import StartForm, VoteForm, WatchedForm
from webapp.tonight.models import TonightSession
from webapp.tonight.parsing import merge

bp = Blueprint("tonight", __name__)


def llm():  # type: ignore[no-untyped-def]
    """The OpenAI-compatible client when OPENAI_API_KEY is set, built once per app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if "marquee_llm" not in app.extensions:
        from webapp.providers.llm import build_llm

        app.extensions["marquee_llm"] = build_llm(app.config)
    return app.extensions["marquee_llm"]


# Starting --------------------------------------------------------------------------

def _start_page(found: groups.Membership, form: StartForm, status: int = 200) -> Response:
    form.genres.choices = {name: name for name in watchlist.pool_genres(found.group, now=utcnow())}
    return render("tonight/start.html", group=found.group, form=form,
                  counts=watchlist.counts(found.group), status=status)


@bp.route("/groups/<int:group_id>/tonight")
@login_required
def new(group_id: int) -> Response:
    found = groups.membership(current_account(), group_id)
    if services.settle(group_id=group_id):
        found = groups.membership(current_account(), group_id)
    existing = services.open_session(found.group)
    if existing is not None:
        flash("Voting is already open for this group: here it is.", "info")
        return redirect(url_for("tonight.session", session_id=existing.id), 303)
    return _start_page(found, StartForm(formdata=None))


@bp.route("/groups/<int:group_id>/tonight", methods=["POST"])
@login_required
def start(group_id: int) -> Response:
    found = groups.membership(current_account(), group_id)
    form = StartForm()
    if not form.validate_on_submit():
        return _start_page(found, form, status=422)
    known = services.genre_names()
    text = (form.text.data or "").strip()
    client = llm() if text else None
    if client is not None:
        db.session.rollback()  # hold no transaction while the model reads the text
    wish, parsed_by = services.read_wish(text, known, client)
    constraints = merge(wish, format=form.format.data or "any", max_runtime=form.max_runtime.data,
                        genres=form.genres.data or [], exclude_watched=bool(form.exclude_watched.data))
    found = groups.membership(current_account(), group_id)
    try:
        session = services.start_session(
            found.group, current_account(), constraints, free_text=text, parsed_by=parsed_by,
            duration_minutes=form.duration.data, candidate_count=form.candidates.data,
        )
    except services.AlreadyOpen as error:
        db.session.rollback()
        flash(error.message, "info")
        return see_other(url_for("tonight.session", session_id=error.session.id))
    except DomainError as error:
        db.session.rollback()
        apply_error(form, error)
        return _start_page(groups.membership(current_account(), group_id), form, status=422)
    session_id = session.id
    db.session.commit()
    if client is not None and services.rerank(session, client):
        db.session.commit()
    flash("The deck is dealt. Vote yes or no on each card before the time runs out.", "success")
    return see_other(url_for("tonight.session", session_id=session_id))


# One session -----------------------------------------------------------------------

def _load(session_id: int) -> tuple[TonightSession, groups.Membership]:
    """The session for a member (404 for anyone else), resolved first if its deadline
    has passed: the read that finds it due does the resolution, in a write
    transaction of its own, exactly once however many read at the same moment."""
    me = current_account()
    session, found = services.session_for(me, session_id)
    if services.is_due(session, utcnow()):
        if not services.settle(session_id=session_id):
            db.session.expire_all()  # another request resolved it meanwhile
        session, found = services.session_for(me, session_id)
    return session, found


def _context(session: TonightSession, found: groups.Membership) -> dict:
    me = current_account()
    cards = services.deck(session)
    context = {
        "session": session,
        "group": found.group,
        "cards": cards,
        "constraints": services.constraints_of(session).describe(),
        "progress": services.progress(session),
        "labels": KIND_LABELS,
        "now": utcnow(),
    }
    if session.is_open:
        mine = services.my_votes(session, me)
        wanted = query_int("card", low=-ID_MAX, high=ID_MAX)
        current = next((c for c in cards if c.position == wanted), None) if wanted else None
        if current is None:
            current = next((c for c in cards if c.id not in mine), None)
        context.update(mine=mine, current=current, view=request.args.get("view", "cards"))
    else:
        members = groups.members(found.group)
        voted = set(services.voters(session))
        viewers = set(services.viewers(session))
        form = WatchedForm(formdata=None, present=[m.id for m in members if (m.id in voted or not voted)])
        form.present.choices = {m.id: m.display_name for m in members}
        context.update(result=services.result(session, cards), members=members, viewers=viewers,
                       watched_form=form)
    return context


@bp.route("/sessions/<int:session_id>")
@login_required
def session(session_id: int) -> Response:
    found_session, found = _load(session_id)
    return render("tonight/session.html", "tonight/_voting.html" if found_session.is_open else None,
                  **_context(found_session, found))


@bp.route("/sessions/<int:session_id>/status")
@login_required
def status(session_id: int) -> Response:
    """Polled while voting is open: the words of the progress line. Once the session
    is decided, htmx is sent to the result; a plain visit gets the session page."""
    found_session, found = _load(session_id)
    if not found_session.is_open or not wants_fragment():
        return see_other(url_for("tonight.session", session_id=session_id))
    return render_fragment("tonight/_progress.html", **_context(found_session, found))


def _closed(session_id: int, message: str) -> Response:
    """A vote that arrived after the deadline (a stale form): the result, with a 409
    for plain browsers; htmx is sent to the result page."""
    flash(message, "info")
    if wants_fragment():
        return see_other(url_for("tonight.session", session_id=session_id))
    found_session, found = _load(session_id)
    return render("tonight/session.html", status=409, **_context(found_session, found))


def _voting_fragment(session_id: int, status: int = 200) -> Response:
    """The voting section, the progress line out of band, and any flash messages."""
    found_session, found = _load(session_id)
    if not found_session.is_open:  # decided meanwhile
        return see_other(url_for("tonight.session", session_id=session_id))
    context = _context(found_session, found)
    if request.form.get("view") == "list":
        context["view"] = "list"
    return render_fragment("tonight/_voting.html", "tonight/_progress_oob.html", "_flashes_partial.html",
                           status=status, **context)


def _after_vote(session_id: int) -> Response:
    if wants_fragment():
        return _voting_fragment(session_id)
    view = request.form.get("view")
    return see_other(url_for("tonight.session", session_id=session_id, view=view if view == "list" else None))


@bp.route("/sessions/<int:session_id>/vote", methods=["POST"])
@login_required
def vote(session_id: int) -> Response:
    found_session, _ = _load(session_id)
    form = VoteForm()
    card = id_from(form.candidate.data) if form.validate_on_submit() else None
    if card is None or form.vote.data not in ("yes", "no"):
        raise NotFound("That card is not part of this session.")
    try:
        services.cast_votes(found_session, current_account(), {card: form.vote.data == "yes"})
    except services.Closed as error:
        db.session.rollback()
        return _closed(session_id, error.message)
    db.session.commit()
    return _after_vote(session_id)


@bp.route("/sessions/<int:session_id>/ballot", methods=["POST"])
@login_required
def ballot(session_id: int) -> Response:
    """The plain form: every card's yes/no at once (`vote-<card id>` = yes | no)."""
    found_session, found = _load(session_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        raise NotFound()
    choices: dict[int, bool] = {}
    for key, value in request.form.items():
        if key.startswith("vote-"):
            card = id_from(key[5:])
            if card is None or value not in ("yes", "no"):
                raise NotFound("That card is not part of this session.")
            choices[card] = value == "yes"
    try:
        services.cast_votes(found_session, current_account(), choices)
    except services.Closed as error:
        db.session.rollback()
        return _closed(session_id, error.message)
    except NotFound:
        raise
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        if wants_fragment():
            return _voting_fragment(session_id, status=422)
        return render("tonight/session.html", status=422, **{**_context(found_session, found), "view": "list"})
    db.session.commit()
    flash(f"Saved your {len(choices)} {'vote' if len(choices) == 1 else 'votes'}.", "success")
    return _after_vote(session_id)


@bp.route("/sessions/<int:session_id>/shuffle", methods=["POST"])
@login_required
def shuffle(session_id: int) -> Response:
    found_session, _ = _load(session_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        raise NotFound()
    try:
        services.shuffle(found_session)
    except services.Closed as error:
        db.session.rollback()
        return _closed(session_id, error.message)
    db.session.commit()
    flash("Shuffled: here is tonight's pick.", "success")
    return see_other(url_for("tonight.session", session_id=session_id))


@bp.route("/sessions/<int:session_id>/watched", methods=["POST"])
@login_required
def watched(session_id: int) -> Response:
    found_session, found = _load(session_id)
    form = WatchedForm()
    if form.validate_on_submit():
        try:
            added = services.log_watched(found_session, found.group, form.present.data or [])
        except DomainError as error:
            db.session.rollback()
            found_session, found = _load(session_id)
            context = _context(found_session, found)
            form.present.choices = context["watched_form"].present.choices
            apply_error(form, error)
            context["watched_form"] = form
            return render("tonight/session.html", status=422, **context)
        db.session.commit()
        flash(f"Enjoyed? Logged the viewing for {added} {'person' if added == 1 else 'people'}." if added
              else "That viewing was already logged.", "success" if added else "info")
    return see_other(url_for("tonight.session", session_id=session_id))


@bp.route("/groups/<int:group_id>/sessions")
@login_required
def history(group_id: int) -> Response:
    found = groups.membership(current_account(), group_id)
    if services.settle(group_id=group_id):
        found = groups.membership(current_account(), group_id)
    page = page_number()
    pagination, winners = services.past_sessions(found.group, page=page)
    return render("tonight/history.html", "tonight/_history_list.html", group=found.group,
                  pagination=pagination, winners=winners, labels=KIND_LABELS)


# Profiles --------------------------------------------------------------------------

def profile_viewings(user: User, is_self: bool) -> Markup | None:
    viewings = services.recent_viewings(user)
    if not viewings:
        return None
    return Markup(render_template("tonight/_profile_viewings.html", viewings=viewings, labels=KIND_LABELS))
