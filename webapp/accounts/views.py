from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, flash, g, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from webapp.accounts import oauth, passwords, services, tokens
from webapp.accounts.forms import (
    DeleteAccountForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from webapp.caching import same_for_every_visitor
from webapp.db import db, utcnow
from webapp.errors import DomainError, NotFound
from webapp.extensions import limiter
from webapp.forms import EmptyForm
from webapp.mail import send_later
from webapp.rendering import apply_error, render, safe_next, see_other

bp = Blueprint("accounts", __name__)
# Sign-in with OAuth: the protocol lives in oauth.py, its two pages are routed here.
bp.add_url_rule("/auth/<provider>/login", view_func=oauth.oauth_login)
bp.add_url_rule("/auth/<provider>/callback", view_func=oauth.oauth_callback)


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
            outcome = services.sign_up(
                email=form.email.data,
                username=form.username.data,
                display_name=form.display_name.data,
                password=form.password.data,
                birth_date=form.birth_date.data,
            )
            notify = outcome.email_owner is not None and services.claim_address_notice(outcome.email_owner)
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            # A taken address gets the same answer as a free one: its owner is told instead.
            if outcome.user is not None:
                send_verification_link(outcome.user)
            elif notify:
                assert outcome.email_owner is not None
                send_later(
                    outcome.email_owner.email, "Someone tried to sign up with your address",
                    "address_in_use", user=outcome.email_owner, where="sign-up",
                )
            return see_other(url_for("accounts.check_inbox"))
    status = 422 if form.is_submitted() else 200
    return render(
        "accounts/register.html",
        "accounts/_register_form.html",
        form=form,
        providers=current_app.extensions.get("marquee_oauth_providers", []),
        status=status,
    )


def send_verification_link(user: services.User) -> None:
    token = tokens.make(tokens.VERIFY_EMAIL, user=user.id, email=user.email)
    send_later(
        user.email, "Confirm your email for Marquee", "verify_email",
        user=user, link=url_for("accounts.verify_email", token=token, _external=True),
    )


@bp.route("/register/check-inbox")
def check_inbox() -> Response:
    return render("accounts/check_inbox.html")


@bp.route("/verify-email/<token>", methods=["GET", "POST"])
def verify_email(token: str) -> Response:
    """The mailed link: its page writes nothing; the button verifies and signs in."""
    payload = tokens.read(tokens.VERIFY_EMAIL, token, "user", "email")
    if payload is None:
        return link_used()
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            user = services.verify_email(payload["user"], payload["email"])
        except services.LinkUsed:
            db.session.rollback()
            return link_used()
        db.session.commit()
        start_session(user)
        flash(f"Your email is confirmed. Welcome to Marquee, {user.display_name}!", "success")
        return see_other(url_for("main.index"))
    if not services.verification_pending(payload["user"], payload["email"]):
        return link_used()
    return render("accounts/verify_email.html", form=form, email=payload["email"])


def link_used(message: str | None = None) -> Response:
    return render(
        "accounts/link_used.html", message=message or services.LinkUsed.default_message, status=404
    )


def _user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else request.remote_addr or ""


def _resend_limit() -> str:
    return current_app.config["RATELIMIT_RESEND_LINK"]


@bp.route("/verify-email/resend", methods=["POST"])
@login_required
@limiter.limit(_resend_limit, key_func=_user_key)
def resend_verification() -> Response:
    user = current_user._get_current_object()
    if user.email and user.email_verified_at is None:
        send_verification_link(user)
        flash(f"We sent a new link to {user.email}.", "success")
    return see_other(safe_next(request.form.get("next")))


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


def _reset_limit() -> str:
    return current_app.config["RATELIMIT_PASSWORD_RESET"]


def _reset_address_limit() -> str:
    return current_app.config["RATELIMIT_PASSWORD_RESET_ADDRESS"]


def _reset_address() -> str:
    return "reset:" + services.normalise_email(request.form.get("email", ""))[:254]


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
@limiter.limit(_reset_address_limit, methods=["POST"], key_func=_reset_address)
def forgot_password() -> Response:
    """The same answer whether or not an account has the address."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.user_by_email(form.email.data)
        if user is not None and user.can_login:
            token = tokens.make(
                tokens.RESET_PASSWORD, user=user.id, email=user.email,
                password=services.password_fingerprint(user.password_hash),
            )
            send_later(
                user.email, "Reset your Marquee password", "reset_password",
                user=user, link=url_for("accounts.reset_password", token=token, _external=True),
            )
        return see_other(url_for("accounts.check_inbox", reset=1))
    status = 422 if form.is_submitted() else 200
    return render("accounts/forgot.html", "accounts/_forgot_form.html", form=form, status=status)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response:
    payload = tokens.read(tokens.RESET_PASSWORD, token, "user", "email", "password")
    if payload is None:
        return link_used()
    try:
        user = services.reset_target(payload["user"], payload["email"], payload["password"])
    except services.LinkUsed:
        return link_used()
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(
                user.id, email=payload["email"], fingerprint=payload["password"], new_password=form.password.data
            )
        except services.LinkUsed:
            db.session.rollback()
            return link_used()
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash("Your password is changed and every session of your account has ended. Log in with it.", "success")
            return see_other(url_for("accounts.login"))
    status = 422 if form.is_submitted() else 200
    return render(
        "accounts/reset.html", "accounts/_reset_form.html", form=form, user=user, token=token, status=status
    )


def _settings_limit() -> str:
    return current_app.config["RATELIMIT_SETTINGS"]


@bp.route("/settings", methods=["GET", "POST"])
@login_required
@limiter.limit(_settings_limit, methods=["POST"], key_func=_user_key)
def settings() -> Response:
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        try:
            new_email = services.update_profile(
                user,
                display_name=form.display_name.data,
                bio=form.bio.data or "",
                is_private=form.is_private.data,
                email=form.email.data,
                username=form.username.data,
            )
            holder = services.email_change_recipient(user, new_email) if new_email else None
            notify = holder is not None and services.claim_address_notice(holder)
        except DomainError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            if new_email is None:
                flash("Your profile is saved.", "success")
                return see_other(url_for("accounts.settings"))
            # Whether another account holds the address is not told: its owner hears of it.
            if holder is None:
                token = tokens.make(tokens.CHANGE_EMAIL, user=user.id, old=user.email, new=new_email)
                send_later(
                    new_email, "Confirm your new email for Marquee", "change_email",
                    user=user, link=url_for("accounts.change_email", token=token, _external=True),
                )
            elif notify:
                send_later(holder.email, "Someone tried to use your address on Marquee", "address_in_use",
                           user=holder, where="settings")
            flash(f"Your profile is saved. We sent a link to {new_email}: your email changes when you "
                  "follow it.", "success")
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


@bp.route("/settings/email/<token>", methods=["GET", "POST"])
def change_email(token: str) -> Response:
    """The link mailed to a new address: its page writes nothing; the button moves the
    account to the address, and the old address is told."""
    payload = tokens.read(tokens.CHANGE_EMAIL, token, "user", "old", "new")
    if payload is None:
        return link_used()
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            user = services.confirm_email_change(payload["user"], payload["old"], payload["new"])
        except services.LinkUsed as error:
            db.session.rollback()
            return link_used(error.message)
        db.session.commit()
        if payload["old"]:
            send_later(payload["old"], "Your Marquee email has changed", "email_changed",
                       user=user, new_email=user.email)
        flash(f"Your email is now {user.email}.", "success")
        return see_other(url_for("accounts.settings"))
    if not services.email_change_pending(payload["user"], payload["old"]):
        return link_used()
    return render("accounts/change_email.html", form=form, email=payload["new"])
