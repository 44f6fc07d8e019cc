from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from webapp.catalog import services as catalog
from webapp.catalog import sync
from webapp.catalog.services import KIND_LABELS
from webapp.db import db, utcnow
from webapp.forms import EmptyForm
from webapp.errors import DomainError, NotFound
from webapp.extensions import (
    group_create_limit,
    join_page_limit,
    limit_reads,
    limiter,
    MANUAL_TITLES_MESSAGE,
    manual_title_limit,
    per_user,
    redeem_limit,
)
from webapp.groups import services, watchlist
from webapp.numbers import id_from
from webapp.groups.forms import (
    AddItemForm,
    AddMembersForm,
    AddSearchForm,
    GroupForm,
    GroupInviteForm,
    ItemForm,
    JoinForm,
    ManualItemForm,
    RenameForm,
    SnoozeForm,
    WatchlistFilterForm,
)
from webapp.groups.models import Group, WatchlistItem
from webapp.weeks import services as weeks
from webapp.providers.errors import ProviderError
from webapp.rendering import (
    UrlPattern,
    apply_error,
    current_account,
    page_number,
    render,
    render_fragment,
    safe_next,
    see_other,
    wants_fragment,
)

bp = Blueprint("groups", __name__)


# Groups ----------------------------------------------------------------------------

def _index_page(join_form: JoinForm, status: int = 200) -> Response:
    return render("groups/index.html", groups=services.groups_of(current_account()), join_form=join_form, status=status)


@bp.route("/groups")
@login_required
def index() -> Response:
    return _index_page(JoinForm(formdata=None))


def _new_page(form: GroupForm, status: int = 200) -> Response:
    friends = services.addable_friends(current_account())
    form.members.choices = {f.id: f.display_name for f in friends}
    return render("groups/new.html", form=form, friends=friends, status=status)


@bp.route("/groups/new")
@login_required
def new() -> Response:
    return _new_page(GroupForm(formdata=None))


@bp.route("/groups/new", methods=["POST"])
@login_required
@limiter.limit(group_create_limit, key_func=per_user,
               error_message="You have created several groups lately. Please try again later.")
def create() -> Response:
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = services.create_group(current_account(), form.name.data, form.members.data or [],
                                          owned_max=current_app.config["GROUPS_OWNED_MAX"])
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(f"“{group.name}” is ready. Add titles to its watchlist next.", "success")
            return see_other(url_for("groups.show", group_id=group.id))
    return _new_page(form, status=422)


@bp.route("/groups/<int:group_id>")
@login_required
def show(group_id: int) -> Response:
    from webapp.tonight import services as tonight

    found = services.membership(current_account(), group_id)
    if tonight.settle(group_id=group_id):  # a deadline had passed: decide before showing
        found = services.membership(current_account(), group_id)
    group = found.group
    now = utcnow()
    recent = watchlist.items_page(group, watchlist.Filters(status="watchlist"), page=1, per_page=6, now=now)
    past, winners = tonight.past_sessions(group, page=1, per_page=5)
    members = services.members(group)
    # This week's picks of the members whose picks this viewer may see (a private
    # profile shows them to friends only).
    visible = services.visible_to(current_account(), members)
    when = weeks.this_week()
    return render(
        "groups/show.html",
        group=group,
        is_owner=found.is_owner,
        members=members,
        club=weeks.club_week([m.id for m in visible], when.year, when.week),
        hidden_picks=len(members) - len(visible),
        counts=watchlist.counts(group, now=now),
        recent=recent.items,
        open_session=tonight.open_session(group),
        past=past,
        winners=winners,
        labels=KIND_LABELS,
        now=now,
    )


def _settings_page(group_id: int, *, rename: RenameForm | None = None, add: AddMembersForm | None = None,
                   invite: GroupInviteForm | None = None, status: int = 200) -> Response:
    found = services.membership(current_account(), group_id)
    group = found.group
    rename = rename or RenameForm(formdata=None, name=group.name)
    add = add or AddMembersForm(formdata=None)
    friends = services.addable_friends(current_account(), group) if found.is_owner else []
    add.members.choices = {f.id: f.display_name for f in friends}
    return render(
        "groups/settings.html",
        group=group,
        is_owner=found.is_owner,
        members=services.members(group),
        friends=friends,
        rename_form=rename,
        add_form=add,
        invite_form=invite or GroupInviteForm(formdata=None),
        invites=services.active_invites(group) if found.is_owner else [],
        status=status,
    )


@bp.route("/groups/<int:group_id>/settings")
@login_required
def settings(group_id: int) -> Response:
    return _settings_page(group_id)


@bp.route("/groups/<int:group_id>/rename", methods=["POST"])
@login_required
def rename(group_id: int) -> Response:
    found = services.membership(current_account(), group_id)
    services.require_owner(found)
    form = RenameForm()
    if form.validate_on_submit():
        try:
            services.rename_group(found, form.name.data)
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash("The group has its new name.", "success")
            return see_other(url_for("groups.settings", group_id=group_id))
    return _settings_page(group_id, rename=form, status=422)


@bp.route("/groups/<int:group_id>/members", methods=["POST"])
@login_required
def add_members(group_id: int) -> Response:
    found = services.membership(current_account(), group_id)
    services.require_owner(found)
    form = AddMembersForm()
    if form.validate_on_submit():
        try:
            added = services.add_members(found, current_account(), form.members.data or [])
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash(f"Added {added} {'friend' if added == 1 else 'friends'}." if added else "Nobody new was added.",
                  "success" if added else "info")
            return see_other(url_for("groups.settings", group_id=group_id))
    return _settings_page(group_id, add=form, status=422)


@bp.route("/groups/<int:group_id>/members/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_member(group_id: int, user_id: int) -> Response:
    found = services.membership(current_account(), group_id)
    removed = services.remove_member(found, user_id)
    db.session.commit()
    flash(f"{removed.display_name} is no longer in the group.", "info")
    return see_other(url_for("groups.settings", group_id=group_id))


@bp.route("/groups/<int:group_id>/leave", methods=["GET", "POST"])
@login_required
def leave(group_id: int) -> Response:
    found = services.membership(current_account(), group_id)
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        name = found.group.name
        remaining = services.leave_group(found)
        db.session.commit()
        flash(f"You left “{name}”." if remaining else f"You left “{name}”; nobody was left, so it is gone.", "info")
        return see_other(url_for("groups.index"))
    return render("groups/leave.html", group=found.group, is_owner=found.is_owner, form=form,
                  status=422 if request.method == "POST" else 200)


@bp.route("/groups/<int:group_id>/delete", methods=["GET", "POST"])
@login_required
def delete(group_id: int) -> Response:
    found = services.membership(current_account(), group_id)
    services.require_owner(found)
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        name = found.group.name
        services.delete_group(found)
        db.session.commit()
        flash(f"“{name}” has been deleted.", "info")
        return see_other(url_for("groups.index"))
    return render("groups/delete.html", group=found.group, form=form,
                  status=422 if request.method == "POST" else 200)


# Invite codes ----------------------------------------------------------------------

@bp.route("/groups/<int:group_id>/invites", methods=["POST"])
@login_required
def create_invite(group_id: int) -> Response:
    found = services.membership(current_account(), group_id)
    services.require_owner(found)
    form = GroupInviteForm()
    if form.validate_on_submit():
        invite = services.create_invite(found, days=form.days.data or services.INVITE_DAYS_DEFAULT,
                                        max_uses=form.max_uses.data or 1)
        db.session.commit()
        flash(f"New group code {services.format_code(invite.code)} is ready to share.", "success")
        return see_other(url_for("groups.settings", group_id=group_id) + "#invites")
    return _settings_page(group_id, invite=form, status=422)


@bp.route("/groups/<int:group_id>/invites/<int:invite_id>/revoke", methods=["POST"])
@login_required
def revoke_invite(group_id: int, invite_id: int) -> Response:
    found = services.membership(current_account(), group_id)
    services.revoke_invite(found, invite_id)
    db.session.commit()
    flash("That code can no longer be used.", "info")
    return see_other(url_for("groups.settings", group_id=group_id) + "#invites")


@bp.route("/groups/join/<code>")
@limit_reads(join_page_limit)
@login_required
def join(code: str) -> Response:
    """The page a shared group link opens: which group, and a button to join. Only a
    code that can still admit someone names the group; any other answers the same 404."""
    invite = services.usable_invite(code)
    if invite is None:
        raise NotFound("This group link cannot be used: it may be mistyped, used up, expired or withdrawn. "
                       "Ask whoever sent it for a new one.")
    group = db.session.get(Group, invite.group_id)
    form = JoinForm(formdata=None, code=services.format_code(invite.code))
    return render("groups/join.html", form=form, group=group,
                  is_member=services.is_member(current_account().id, invite.group_id))


@bp.route("/groups/join", methods=["POST"])
@login_required
@limiter.limit(redeem_limit)
def redeem() -> Response:
    form = JoinForm()
    if form.validate_on_submit():
        try:
            joined = services.redeem_invite(current_account(), form.code.data)
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            if joined.status == "already_member":
                flash(f"You are already in “{joined.group.name}”.", "info")
            else:
                flash(f"Welcome to “{joined.group.name}”.", "success")
            return see_other(url_for("groups.show", group_id=joined.group.id))
    return _index_page(form, status=422)


# Watchlist -------------------------------------------------------------------------

def _filters(form: WatchlistFilterForm) -> watchlist.Filters:
    if not form.validate():
        return watchlist.Filters()
    return watchlist.Filters(status=form.status.data or "", kind=form.kind.data or "",
                             tonight=bool(form.tonight.data), sort=form.sort.data or "added")


@bp.route("/groups/<int:group_id>/watchlist")
@login_required
def watchlist_page(group_id: int) -> Response:
    found = services.membership(current_account(), group_id)
    form = WatchlistFilterForm(request.args)
    valid = form.validate()
    filters = _filters(form)
    now = utcnow()
    pagination = watchlist.items_page(found.group, filters, page=page_number(), now=now)
    return render(
        "groups/watchlist.html",
        "groups/_watchlist_items.html",
        group=found.group,
        form=form,
        filters=filters,
        pagination=pagination,
        counts=watchlist.counts(found.group, now=now),
        labels=KIND_LABELS,
        now=now,
        status=200 if valid else 422,
    )


def _add_page(group_id: int, *, manual: ManualItemForm | None = None, status: int = 200,
              note: str | None = None) -> Response:
    found = services.membership(current_account(), group_id)
    search_form = AddSearchForm(request.args)
    valid = search_form.validate()
    query = (search_form.q.data or "").strip() if valid else ""
    kind = (search_form.type.data or "all") if valid else "all"
    results = sync.search(query, kind=kind, page=page_number(), viewer=current_account()) if query else None
    on_list = watchlist.titles_on_watchlist(
        found.group, [int(h.ref.split(":")[1]) for h in results.hits if h.ref.startswith("title:")]
    ) if results else set()
    return render(
        "groups/add.html",
        "groups/_add_results.html",
        group=found.group,
        search_form=search_form,
        query=query,
        kind=kind,
        results=results,
        on_list=on_list,
        manual_form=manual or ManualItemForm(formdata=None),
        labels=KIND_LABELS,
        note=note,
        status=status if valid else 422,
    )


@bp.route("/groups/<int:group_id>/watchlist/add")
@login_required
def add_titles(group_id: int) -> Response:
    return _add_page(group_id)


def _after_add(group_id: int, title_name: str, added: bool) -> Response:
    if added:
        flash(f"Added “{title_name}” to the watchlist.", "success")
    else:
        flash(f"“{title_name}” is already on the watchlist.", "info")
    return see_other(_next_or(url_for("groups.watchlist_page", group_id=group_id)))


def _next_or(default: str) -> str:
    """Back to the page a form came from (a local path), else `default`."""
    target = request.form.get("next")
    return safe_next(target, "groups.index") if target else default


@bp.route("/groups/<int:group_id>/watchlist", methods=["POST"])
@login_required
def add_item(group_id: int) -> Response:
    services.membership(current_account(), group_id)
    form = AddItemForm()
    if not form.validate_on_submit():
        message = form.note.errors[0] if form.note.errors else "Choose a title from the search results."
        flash(message, "error")
        return _add_page(group_id, status=422)
    try:
        title = sync.title_for_ref(form.ref.data, current_account())
        group = services.membership(current_account(), group_id).group  # fetching a title may end the transaction
        _, added = watchlist.add_item(group, current_account(), title, form.note.data or "")
    except ProviderError as error:
        db.session.rollback()
        return _add_page(group_id, status=503, note=f"{error.message} Please try again in a moment.")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _add_page(group_id, status=error.status)
    name = title.title
    db.session.commit()
    return _after_add(group_id, name, added)


@bp.route("/groups/<int:group_id>/watchlist/manual", methods=["POST"])
@login_required
@limiter.shared_limit(manual_title_limit, scope="manual-title", key_func=per_user,
                      error_message=MANUAL_TITLES_MESSAGE)
def add_manual(group_id: int) -> Response:
    found = services.membership(current_account(), group_id)
    form = ManualItemForm()
    if form.validate_on_submit():
        try:
            title = catalog.find_or_add_title(form.kind.data, form.title.data, year=form.year.data,
                                              runtime_minutes=form.runtime.data, added_by=current_account())
            _, added = watchlist.add_item(found.group, current_account(), title, form.note.data or "")
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            name = title.title
            db.session.commit()
            return _after_add(group_id, name, added)
    return _add_page(group_id, manual=form, status=422)


@bp.app_context_processor
def _group_helpers() -> dict[str, object]:
    def my_groups() -> list[tuple[Group, int]]:
        """The viewer's groups, for templates that offer them (called only when shown)."""
        return services.groups_of(current_account()) if current_user.is_authenticated else []

    def item_urls(group: Group) -> dict[str, UrlPattern]:
        """The links and form actions of a watchlist row, built once per list."""
        def item(endpoint: str) -> UrlPattern:
            return UrlPattern(endpoint, "item_id", group_id=group.id)

        return {
            "edit": item("groups.item"),
            "status": item("groups.set_item_status"),
            "snooze": item("groups.snooze_item"),
            "unsnooze": item("groups.unsnooze_item"),
            "remove": item("groups.remove_item"),
            "title": UrlPattern("catalog.title", "title_id"),
        }

    return {"my_groups": my_groups, "item_urls": item_urls}


@bp.route("/titles/<int:title_id>/add-to-group", methods=["POST"])
@login_required
def add_title_to_group(title_id: int) -> Response:
    """From a title page: the chosen group's watchlist gets this title."""
    title = catalog.get_visible_title(title_id, current_account())
    group_id = id_from(request.form.get("group"))
    if group_id is None:
        raise NotFound()
    group = services.membership(current_account(), group_id).group
    _, added = watchlist.add_item(group, current_account(), title)
    name, group_name = title.title, group.name
    db.session.commit()
    if added:
        flash(f"Added “{name}” to the watchlist of “{group_name}”.", "success")
    else:
        flash(f"“{name}” is already on the watchlist of “{group_name}”.", "info")
    return see_other(url_for("catalog.title", title_id=title_id))


# One item --------------------------------------------------------------------------

def _item_done(group_id: int, item: WatchlistItem | None, message: str, category: str = "success") -> Response:
    """After an action on a row: the fresh row (or nothing, once removed) with an
    out-of-band flash for htmx; a redirect back to the list otherwise."""
    flash(message, category)
    if wants_fragment():
        group = services.membership(current_account(), group_id).group
        if item is None:
            return render_fragment("_flashes_partial.html")
        return render_fragment("groups/_item_row.html", "_flashes_partial.html",
                               item=watchlist.get_item(group, item.id), group=group, labels=KIND_LABELS,
                               now=utcnow(), next_url=request.form.get("next"))
    return see_other(_next_or(url_for("groups.watchlist_page", group_id=group_id)))


def _item(group_id: int, item_id: int) -> tuple[services.Membership, WatchlistItem]:
    found = services.membership(current_account(), group_id)
    return found, watchlist.get_item(found.group, item_id)


@bp.route("/groups/<int:group_id>/items/<int:item_id>", methods=["GET", "POST"])
@login_required
def item(group_id: int, item_id: int) -> Response:
    found, current = _item(group_id, item_id)
    if request.method == "GET":
        form = ItemForm(formdata=None, note=current.note, status=current.status,
                        snoozed_until=current.snoozed_until.date() if current.snoozed_until else None)
        return render("groups/item.html", group=found.group, item=current, form=form, labels=KIND_LABELS)
    form = ItemForm()
    if form.validate_on_submit():
        try:
            watchlist.set_note(current, form.note.data or "")
            watchlist.set_status(current, form.status.data or "watchlist")
            if form.snoozed_until.data:
                until = watchlist.snooze_until(None, form.snoozed_until.data, today=date.today())
                watchlist.snooze(current, until)
            else:
                watchlist.unsnooze(current)
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error if error.field != "until" else type(error)(error.message, field="snoozed_until"))
        else:
            db.session.commit()
            flash("Saved.", "success")
            return see_other(url_for("groups.watchlist_page", group_id=group_id))
    current = watchlist.get_item(services.membership(current_account(), group_id).group, item_id)
    return render("groups/item.html", group=found.group, item=current, form=form, labels=KIND_LABELS, status=422)


@bp.route("/groups/<int:group_id>/items/<int:item_id>/status", methods=["POST"])
@login_required
def set_item_status(group_id: int, item_id: int) -> Response:
    _, current = _item(group_id, item_id)
    status = request.form.get("status", "")
    watchlist.set_status(current, status)  # anything but the two statuses: a 422 page
    name = current.title.title
    db.session.commit()
    return _item_done(group_id, current, f"“{name}” is marked {'watched' if status == 'watched' else 'to watch'}.")


@bp.route("/groups/<int:group_id>/items/<int:item_id>/snooze", methods=["POST"])
@login_required
def snooze_item(group_id: int, item_id: int) -> Response:
    found, current = _item(group_id, item_id)
    form = SnoozeForm()
    if not form.validate_on_submit():
        form.until.errors = list(form.until.errors) or ["Choose how long to snooze it."]
        return _snooze_page(found, current, form)
    try:
        until = watchlist.snooze_until(form.preset.data if form.preset.data != "date" else None, form.until.data,
                                       today=date.today())
    except DomainError as error:
        db.session.rollback()
        apply_error(form, error)
        return _snooze_page(found, current, form)
    watchlist.snooze(current, until)
    name = current.title.title
    db.session.commit()
    return _item_done(group_id, current, f"“{name}” is snoozed until {until:%-d %B %Y}.")


def _snooze_page(found: services.Membership, current: WatchlistItem, form: SnoozeForm) -> Response:
    """A snooze that could not be applied (a past date, say): the item's page with the
    error beside the date field."""
    item_form = ItemForm(formdata=None, note=current.note, status=current.status,
                         snoozed_until=form.until.data)
    item_form.snoozed_until.errors = list(form.until.errors)
    return render("groups/item.html", group=found.group, item=current, form=item_form, labels=KIND_LABELS,
                  status=422)


@bp.route("/groups/<int:group_id>/items/<int:item_id>/unsnooze", methods=["POST"])
@login_required
def unsnooze_item(group_id: int, item_id: int) -> Response:
    _, current = _item(group_id, item_id)
    watchlist.unsnooze(current)
    name = current.title.title
    db.session.commit()
    return _item_done(group_id, current, f"“{name}” is back in tonight's pool.")


@bp.route("/groups/<int:group_id>/items/<int:item_id>/remove", methods=["POST"])
@login_required
def remove_item(group_id: int, item_id: int) -> Response:
    _, current = _item(group_id, item_id)
    name = current.title.title
    watchlist.remove_item(current)
    db.session.commit()
    return _item_done(group_id, None, f"Removed “{name}” from the watchlist.", "info")
