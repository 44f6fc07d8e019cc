from __future__ import annotations

from datetime import datetime

from flask import current_app, flash, g, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from webapp.accounts import bp, passwords, services
from webapp.accounts.forms import DeleteAccountForm, LoginForm, PasswordForm, ProfileForm, RegisterForm
from webapp.caching import same_for_every_visitor
from webapp.db import db, utcnow
from webapp.errors import DomainError, NotFound
from webapp.extensions import limiter
from webapp.rendering import apply_error, render, safe_next, see_other


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _register_limit() -> str:
    return current_app.config["RATELIMIT_REGISTER"]


def start_session(user: services.User) -> None:
    """Sign this browser in to `user` with a new login session (committed here), and a
    fresh cookie session: nothing from the anonymous session carries over."""
    login = services.open_login_session(user, user_agent=request.user_agent.string, forget_before=_expired())
    login_id = login.id
    db.session.commit()
    session.clear()
    login_user(user)
    session.permanent = True
    g.login_session_id = login_id


def _expired() -> datetime:
    """Sessions last seen before this have outlived their cookie: a cookie is signed at
    the latest when last used, and last_seen_at lags use by up to LAST_SEEN_EVERY."""
    from webapp import LAST_SEEN_EVERY

    return utcnow() - current_app.permanent_session_lifetime - LAST_SEEN_EVERY


def current_login_session() -> int | None:
    """The id of this browser's login session (set by the session loader)."""
    return g.get("login_session_id") if current_user.is_authenticated else None


def _sign_out_here() -> None:
    logout_user()
    session.clear()


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
@same_for_every_visitor
def register() -> Response:
    if current_user.is_authenticated:
        return see_other(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register(
                email=form.email.data,
                username=form.username.data,
                display_name=form.display_name.data,
                password=form.password.data,
                birth_date=form.birth_date.data,
            )
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            start_session(user)
            flash(f"Welcome to Marquee, {user.display_name}!", "success")
            return see_other(url_for("main.index"))
    status = 422 if form.is_submitted() else 200
    return render(
        "accounts/register.html",
        "accounts/_register_form.html",
        form=form,
        providers=current_app.extensions.get("marquee_oauth_providers", []),
        status=status,
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@same_for_every_visitor
def login() -> Response:
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return see_other(safe_next(next_url))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.login.data, form.password.data)
        if user is None:
            form.password.errors = ["That email/username and password do not match."]
        else:
            start_session(user)
            flash(f"Welcome back, {user.display_name}.", "success")
            return see_other(safe_next(next_url))
    status = 422 if form.is_submitted() else 200
    return render(
        "accounts/login.html",
        "accounts/_login_form.html",
        form=form,
        next_url=next_url if next_url and safe_next(next_url) == next_url else None,
        providers=current_app.extensions.get("marquee_oauth_providers", []),
        status=status,
    )


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    # CSRFProtect has already checked the token of every POST. Only this browser's
    # session ends; settings list the others.
    login_id = current_login_session()
    if login_id is not None:
        try:
            services.end_login_session(current_user._get_current_object(), login_id)
        except NotFound:
            pass  # ended meanwhile by another request
        db.session.commit()
    _sign_out_here()
    flash("You are logged out. Your other browsers stay signed in; Settings can sign them out.", "info")
    return see_other(url_for("main.index"))


@bp.route("/settings/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int) -> Response:
    services.end_login_session(current_user._get_current_object(), session_id)  # 404 if not theirs
    db.session.commit()
    if session_id == current_login_session():
        _sign_out_here()
        flash("You are logged out on this browser.", "info")
        return see_other(url_for("main.index"))
    flash("That browser is signed out.", "success")
    return see_other(url_for("accounts.settings"))


@bp.route("/settings/sessions/end-all", methods=["POST"])
@login_required
def end_all_sessions() -> Response:
    services.revoke_sessions(current_user._get_current_object())
    db.session.commit()
    _sign_out_here()
    flash("You are signed out everywhere, on this browser too.", "info")
    return see_other(url_for("accounts.login"))


@bp.route("/password-strength", methods=["POST"])
def password_strength() -> Response:
    """Live strength feedback for the password fields (htmx); the form itself decides."""
    password = request.form.get("password", "")[: passwords.MAX_LENGTH + 1]
    inputs = [request.form.get(k, "") for k in ("email", "username", "display_name")]
    if current_user.is_authenticated:
        inputs += [current_user.email or "", current_user.username, current_user.display_name]
    strength = passwords.assess(password, inputs) if password else None
    return render("accounts/_strength.html", "accounts/_strength.html", strength=strength)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> Response:
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        try:
            services.update_profile(
                user,
                display_name=form.display_name.data,
                bio=form.bio.data or "",
                is_private=form.is_private.data,
                email=form.email.data,
                username=form.username.data,
            )
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            flash("Your profile is saved.", "success")
            return see_other(url_for("accounts.settings"))
    status = 422 if form.is_submitted() else 200
    return render(
        "accounts/settings.html",
        "accounts/_profile_form.html",
        form=form,
        identities=services.identities_of(user),
        providers=current_app.extensions.get("marquee_oauth_providers", []),
        login_sessions=services.login_sessions_of(user, seen_since=_expired()),
        this_session=current_login_session(),
        status=status,
    )


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response:
    user = current_user._get_current_object()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                user, current_password=form.current_password.data, new_password=form.password.data
            )
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            # Every session is now ended; this browser continues in a new one.
            start_session(user)
            flash("Your password is changed. Other devices have been signed out.", "success")
            return see_other(url_for("accounts.settings"))
    status = 422 if form.is_submitted() else 200
    return render(
        "accounts/password.html", "accounts/_password_form.html", form=form, user=user, status=status
    )


@bp.route("/settings/delete", methods=["GET", "POST"])
@login_required
def delete_account() -> Response:
    user = current_user._get_current_object()
    form = DeleteAccountForm()
    if form.validate_on_submit():
        if services.normalise_username(form.confirm_username.data) != user.username:
            form.confirm_username.errors = ["That is not your username."]
        else:
            services.delete_account(user)  # its login sessions go with it (cascade)
            db.session.commit()
            _sign_out_here()
            flash("Your account and its data are deleted.", "info")
            return see_other(url_for("main.index"))
    status = 422 if form.is_submitted() else 200
    return render("accounts/delete.html", "accounts/_delete_form.html", form=form, status=status)


@bp.route("/settings/identities/<int:identity_id>/unlink", methods=["POST"])
@login_required
def unlink_identity(identity_id: int) -> Response:
    try:
        services.unlink_identity(current_user._get_current_object(), identity_id)
    except NotFound:
        raise
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash("That sign-in method is removed.", "success")
    return see_other(url_for("accounts.settings"))
