"""Marquee: shared watchlists, tonight votes and weekly picks for friends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, request, url_for
from werkzeug.wrappers import Response

from webapp.config import PROJECT_ROOT, load_config
from webapp.db import add_when_used, configure_engine, context_connection, db, init_db, set_read_request, set_write_intent
from webapp.errors import register_error_handlers
from webapp.extensions import cache, csrf, htmx, limiter, login_manager, migrate, oauth
from webapp.forms import use_fast_html_params
from webapp.jobs import init_jobs, jobs_cli
from webapp.mail import init_mail
from webapp.numbers import BoundedIntConverter
from webapp.rendering import UrlPattern, is_htmx, remember_template_urls
from webapp.security import SessionCookies, init_security_headers

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# How stale a login session's last_seen_at may get before a request writes it again.
LAST_SEEN_EVERY = timedelta(minutes=5)
# GET endpoints that write by protocol (an OAuth callback creates or links accounts).
WRITING_GETS = frozenset({"accounts.oauth_callback"})


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str((PROJECT_ROOT / "instance").resolve()),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(Path(app.instance_path), test_config))
    app.session_interface = SessionCookies()
    _trust_proxies(app)
    # Before any route is added: <int:…> holds only numbers the database can store.
    app.url_map.converters["int"] = BoundedIntConverter

    init_db(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    oauth.init_app(app)
    init_mail(app)
    init_jobs(app)
    _init_login(app)
    init_security_headers(app)
    register_error_handlers(app)
    use_fast_html_params()
    remember_template_urls(app)

    with app.app_context():
        configure_engine(db.engine)

    @app.before_request
    def _refuse_nul_bytes() -> None:
        # NUL cannot be stored in PostgreSQL text and is never meaningful in a form.
        if "\x00" in request.path:  # /u/%00: no page has such an address
            from flask import abort

            abort(404)
        if request.method in READ_METHODS and not request.args:
            return
        for values in (request.args, request.form):
            if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
                from flask import abort

                abort(400, "Text with NUL characters is not allowed.")

    @app.before_request
    def _transaction_mode() -> None:
        # Requests that may write take SQLite's write lock when they begin; the others
        # read in autocommit on PostgreSQL (see webapp/db.py).
        writes = request.method not in READ_METHODS or request.endpoint in WRITING_GETS
        set_write_intent(writes)
        set_read_request(not writes)

    @app.teardown_request
    def _end_transaction_mode(_exc: BaseException | None) -> None:
        set_write_intent(False)
        set_read_request(False)

    _register_features(app)

    @app.context_processor
    def _template_helpers() -> dict[str, Any]:
        return {
            "htmx_asset": app.config.get("HTMX_ASSET", "js/htmx-4.0.1.min.js"),
            "pending_friend_requests": navigation_pending_requests,
            "url_pattern": UrlPattern,
        }

    return app


def _register_features(app: Flask) -> None:
    """Each feature's blueprint, CLI commands, profile sections and signal receivers,
    added here explicitly: importing a feature's models or services never loads its
    web layer (tests/main/test_layers.py)."""
    from webapp.accounts import oauth as accounts_oauth, views as accounts
    from webapp.accounts.cli import users_cli
    from webapp.accounts.signals import account_deleting
    from webapp.admin import views as admin
    from webapp.catalog import views as catalog
    from webapp.catalog.cli import catalog_cli, import_cli
    from webapp.groups import services as group_services, views as groups
    from webapp.main import views as main
    from webapp.providers import models as _provider_models  # noqa: F401  (tables for migrations)
    from webapp.social import views as social
    from webapp.social.profile_sections import add_profile_section
    from webapp.tonight import views as tonight
    from webapp.weeks import views as weeks

    for feature in (main, accounts, social, catalog, admin, groups, tonight, weeks):
        app.register_blueprint(feature.bp)

    app.cli.add_command(users_cli)
    app.cli.add_command(catalog_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(jobs_cli)

    accounts_oauth.init_providers(app)

    # The profile's sections, top to bottom.
    add_profile_section(30, "viewings", tonight.profile_viewings)
    add_profile_section(40, "weeks", weeks.profile_weeks)

    account_deleting.connect(group_services.hand_over_groups)


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS reverse proxies, take the client's address, scheme and
    host from the X-Forwarded-* headers they add (the rightmost ones, one per proxy), so
    that rate limits count per real client. With 0 those headers are ignored."""
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]


def navigation_pending_requests() -> int:
    """For the navigation: called by base.html and by the key of cached signed-in pages
    (webapp.caching.viewer_key), so fragments don't pay for it."""
    from flask import g
    from flask_login import current_user

    from webapp.social.services import pending_count

    if not current_user.is_authenticated:
        return 0
    if "pending_friend_requests" not in g:
        g.pending_friend_requests = pending_count(current_user)
    return g.pending_friend_requests  # type: ignore[no-any-return]


def _init_login(app: Flask) -> None:
    from flask import g
    from sqlalchemy import bindparam, func, inspect, select, update
    from sqlalchemy.orm import make_transient_to_detached

    from webapp.accounts.models import LoginSession, User
    from webapp.accounts.services import token_hash
    from webapp.db import utcnow, write_aside
    from webapp.social.models import FriendRequest

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    # One query for the user and the pending friend-request count the navigation shows,
    # built once (see "Statements built once" in webapp/db.py): every logged-in request.
    # It runs as a Core query on the app context's connection, and the row becomes a
    # User the way SQLAlchemy documents for building loaded instances without SQL
    # (make_transient_to_detached): the ORM's result processing cost 7% of a cached
    # page. The User joins the request's ORM session when there is one (a page served
    # from the cache never creates it) as if a query had loaded it: changes to it are
    # flushed, and a later query for the same row returns this object.
    mapper = inspect(User)
    attributes = [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]
    pending = select(func.count(FriendRequest.id)).where(FriendRequest.to_user_id == User.id).scalar_subquery()
    # The cookie names the account and a login session's token (User.get_id): the
    # session's row joins in, so a deleted or foreign session finds nothing.
    user_with_pending = (
        select(*(column for _, column in attributes), pending, LoginSession.id, LoginSession.last_seen_at)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == bindparam("user_id"), LoginSession.token_hash == bindparam("token_hash"))
    )
    # A session's last_seen_at is written at most every LAST_SEEN_EVERY, by a conditional
    # UPDATE: of simultaneous requests one changes the row, the others match nothing.
    touch_session = (
        update(LoginSession)
        .where(LoginSession.id == bindparam("session_id"), LoginSession.last_seen_at < bindparam("stale"))
        .values(last_seen_at=bindparam("now"))
    )
    keys = [key for key, _ in attributes]
    id_position = keys.index("id")

    def as_loaded(values: tuple[object, ...]) -> User:
        if db.session.registry.has():
            identity = mapper.identity_key_from_primary_key([values[id_position]])
            user = db.session.identity_map.get(identity)
            if user is not None:
                add_when_used(user)
                return user  # type: ignore[no-any-return]
        user = mapper.class_manager.new_instance()
        user.__dict__.update(zip(keys, values, strict=True))
        make_transient_to_detached(user)
        add_when_used(user)
        return user

    @login_manager.user_loader
    def _load_user(token: str) -> User | None:
        user_id, _, secret = token.partition(":")
        if not user_id.isdigit() or not secret:
            return None
        parameters = {"user_id": int(user_id), "token_hash": token_hash(secret)}
        row = context_connection().execute(user_with_pending, parameters).first()
        if row is None:
            return None  # ended (logout, sign out everywhere, password change) or gone
        *values, g.pending_friend_requests, session_id, last_seen_at = tuple(row)
        user = as_loaded(tuple(values))
        if not user.can_login:
            return None
        user.login_token, g.login_session_id = secret, session_id
        now = utcnow()
        if last_seen_at < now - LAST_SEEN_EVERY:
            write_aside(touch_session, {"session_id": session_id, "stale": now - LAST_SEEN_EVERY, "now": now})
        return user

    @login_manager.unauthorized_handler
    def _unauthorized() -> Response:
        from flask import flash, redirect

        target = url_for("accounts.login", next=request.full_path.rstrip("?"))
        flash("Please log in to continue. If you were logged in, your session has ended.", "info")
        if is_htmx():
            response = Response("", 401)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)

