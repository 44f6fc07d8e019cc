from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from webapp.accounts.models import User
from webapp.accounts.services import get_user, normalise_username
from webapp.caching import shown_fields, signed_in_page, viewer_key
from webapp.db import db
from webapp.errors import DomainError, NotFound
from webapp.extensions import join_page_limit, limit_reads, limiter, redeem_limit
from webapp.rendering import (
    apply_error,
    current_account,
    page_number,
    render,
    render_fragment,
    safe_next,
    see_other,
    wants_fragment,
)
from webapp.social import services
from webapp.social.forms import InviteForm, RedeemForm, UserSearchForm
from webapp.social.profile_sections import details_key, render_details

bp = Blueprint("social", __name__)


def _profile_user(username: str) -> User:
    """The person a /u/<username> page is about. Your own pages (the navigation links
    to them) skip the lookup: the session has loaded you already."""
    if current_user.is_authenticated and current_user.username == normalise_username(username):
        return current_account()
    return get_user(username)



def _relation_widget(other: User, note: str | None = None) -> Response:
    """After a friendship action: the fresh widget for htmx (with the nav counter out of
    band), or a redirect back for plain forms."""
    if wants_fragment():
        me = current_account()
        relation, request_id = services.relations(me, [other])[other.id]
        return render_fragment("social/_relation_action.html", "social/_nav_requests_partial.html", other=other,
                               relation=relation, request_id=request_id, note=note,
                               pending=services.pending_count(me))
    if note:
        flash(note, "success")
    return see_other(safe_next(request.form.get("next"), "social.friends"))


# Profiles --------------------------------------------------------------------------

@bp.route("/u/<username>")
def profile(username: str) -> Response:
    user = _profile_user(username)
    viewer = current_account() if current_user.is_authenticated else None
    can_see = services.can_see_profile(viewer, user)
    is_self = viewer is not None and viewer.id == user.id
    relation = request_id = None
    if viewer is not None and not is_self:
        relation, request_id = services.relations(viewer, [user])[user.id]

    def page() -> Response:
        return render(
            "social/profile.html",
            profile=user,
            is_self=is_self,
            can_see=can_see,
            relation=relation,
            request_id=request_id,
            details=render_details(user, is_self) if can_see else None,
        )

    if viewer is None or username != user.username:
        return page()  # only the canonical path is kept: /u/ANN must not fill the cache
    # The whole page, for this viewer: their navigation, the person (the details' key
    # names the rest), what the viewer may see and do, and the day ("this week").
    key = ":".join([
        "page:profile", viewer_key(viewer), details_key(user, is_self),
        shown_fields(user, "display_name", "bio", "is_private"),
        str(int(can_see)), str(relation.value if relation else "self"), str(request_id),
    ])
    return signed_in_page(key, page)


@bp.route("/u/<username>/friends")
def user_friends(username: str) -> Response:
    user = _profile_user(username)
    viewer = current_account() if current_user.is_authenticated else None
    can_see = services.can_see_profile(viewer, user)
    pagination = services.friends_page(user, page=page_number()) if can_see else None
    relations = services.relations(viewer, list(pagination.items)) if (viewer and pagination) else {}
    return render(
        "social/user_friends.html",
        "social/_friend_list.html",
        profile=user,
        can_see=can_see,
        pagination=pagination,
        relations=relations,
        list_endpoint="social.user_friends",
        list_args={"username": user.username},
    )


# Friends and requests --------------------------------------------------------------

@bp.route("/friends")
@login_required
def friends() -> Response:
    me = current_account()
    pagination = services.friends_page(me, page=page_number())
    relations = services.relations(me, list(pagination.items))
    return render(
        "social/friends.html",
        "social/_friend_list.html",
        profile=me,
        can_see=True,
        pagination=pagination,
        relations=relations,
        list_endpoint="social.friends",
        list_args={},
    )


@bp.route("/friends/requests")
@login_required
def requests() -> Response:
    me = current_account()
    return render(
        "social/requests.html",
        incoming=services.incoming_requests(me),
        outgoing=services.outgoing_requests(me),
        Relation=services.Relation,
    )


@bp.route("/u/<username>/friend-request", methods=["POST"])
@login_required
def send_request(username: str) -> Response:
    other = get_user(username)
    try:
        cooldown = timedelta(days=current_app.config.get("FRIEND_REQUEST_COOLDOWN_DAYS", 7))
        outcome = services.send_request(current_account(), other, cooldown=cooldown)
    except NotFound:
        raise
    except DomainError as error:
        db.session.rollback()
        if wants_fragment():
            return _relation_widget(other, error.message)
        flash(error.message, "error")
        return see_other(safe_next(request.form.get("next"), "social.friends"))
    db.session.commit()
    notes = {
        "sent": f"Friend request sent to {other.display_name}.",
        "accepted": f"{other.display_name} had already asked: you are now friends.",
        "already_sent": f"You have already asked {other.display_name}.",
        "already_friends": f"You and {other.display_name} are already friends.",
    }
    return _relation_widget(other, notes[outcome.status])


def _act_on_request(request_id: int, action: str) -> Response:
    me = current_account()
    if action == "accept":
        other = services.accept_request(me, request_id)
        note = f"You and {other.display_name} are now friends."
    elif action == "deny":
        other = services.deny_request(me, request_id)
        note = f"You declined {other.display_name}'s request."
    else:
        other = services.cancel_request(me, request_id)
        note = f"Your request to {other.display_name} is withdrawn."
    db.session.commit()
    return _relation_widget(other, note)


@bp.route("/friends/requests/<int:request_id>/accept", methods=["POST"])
@login_required
def accept_request(request_id: int) -> Response:
    return _act_on_request(request_id, "accept")


@bp.route("/friends/requests/<int:request_id>/deny", methods=["POST"])
@login_required
def deny_request(request_id: int) -> Response:
    return _act_on_request(request_id, "deny")


@bp.route("/friends/requests/<int:request_id>/cancel", methods=["POST"])
@login_required
def cancel_request(request_id: int) -> Response:
    return _act_on_request(request_id, "cancel")


@bp.route("/u/<username>/unfriend", methods=["POST"])
@login_required
def unfriend(username: str) -> Response:
    other = get_user(username)
    removed = services.unfriend(current_account(), other)
    db.session.commit()
    note = f"You and {other.display_name} are no longer friends." if removed else None
    return _relation_widget(other, note)


# Invite codes ----------------------------------------------------------------------

def _invites_page(invite_form: InviteForm, redeem_form: RedeemForm, status: int = 200) -> Response:
    me = current_account()
    return render(
        "social/invites.html",
        invite_form=invite_form,
        redeem_form=redeem_form,
        invites=services.active_invites(me),
        status=status,
    )


@bp.route("/friends/invites")
@login_required
def invites() -> Response:
    return _invites_page(InviteForm(formdata=None), RedeemForm(formdata=None))


@bp.route("/friends/invites", methods=["POST"])
@login_required
def create_invite() -> Response:
    form = InviteForm()
    if form.validate_on_submit():
        invite = services.create_invite(current_account(), days=form.days.data or services.INVITE_DAYS_DEFAULT)
        db.session.commit()
        flash(f"New friend code {services.format_code(invite.code)} is ready to share.", "success")
        return see_other(url_for("social.invites"))
    return _invites_page(form, RedeemForm(formdata=None), status=422)


@bp.route("/friends/invites/<int:invite_id>/revoke", methods=["POST"])
@login_required
def revoke_invite(invite_id: int) -> Response:
    services.revoke_invite(current_account(), invite_id)
    db.session.commit()
    flash("That code can no longer be used.", "info")
    return see_other(url_for("social.invites"))


@bp.route("/friends/join/<code>")
@limit_reads(join_page_limit)
@login_required
def join(code: str) -> Response:
    """The page a shared link opens: who invited you, and a button to accept. Only a
    code that can still be used names its owner; any other answers the same 404."""
    invite = services.usable_invite(code)
    if invite is None:
        raise NotFound("This friend link cannot be used: it may be mistyped, used, expired or withdrawn. "
                       "Ask whoever sent it for a new one.")
    form = RedeemForm(formdata=None, code=services.format_code(invite.code))
    owner = db.session.get(User, invite.created_by_id)
    return render("social/join.html", form=form, owner=owner, invite=invite, is_own=owner.id == current_account().id)


@bp.route("/friends/redeem", methods=["POST"])
@login_required
@limiter.limit(redeem_limit)
def redeem() -> Response:
    form = RedeemForm()
    if form.validate_on_submit():
        try:
            outcome = services.redeem_invite(current_account(), form.code.data)
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            friend = outcome.friend
            if outcome.status == "already_friends":
                flash(f"You and {friend.display_name} are already friends.", "info")
            else:
                flash(f"You and {friend.display_name} are now friends.", "success")
            return see_other(url_for("social.profile", username=friend.username))
    return _invites_page(InviteForm(formdata=None), form, status=422)


# Search ----------------------------------------------------------------------------

@bp.route("/people")
@login_required
def search() -> Response:
    form = UserSearchForm(request.args)
    query = form.q.data or "" if form.validate() else ""
    pagination = services.search_users(query, page=page_number()) if query.strip() else None
    relations = services.relations(current_account(), list(pagination.items)) if pagination else {}
    return render(
        "social/search.html",
        "social/_search_results.html",
        form=form,
        query=query,
        pagination=pagination,
        relations=relations,
    )
