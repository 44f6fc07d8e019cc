"""Extensions are created here at import and bound to the app in create_app()."""

from authlib.integrations.flask_client import OAuth
from flask_caching import Cache
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from webapp.db import db

migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
oauth = OAuth()
htmx = HTMX()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
cache = Cache()


@limiter.request_filter
def _reads_are_never_limited() -> bool:
    """Limits guard attempts (logins, sign-ups, code guesses), which are all POSTs; a
    read never counts against them. Answering here, before the limiter looks up a
    request's limits, also spares every page that lookup. A limit put on a GET route
    would never apply: limit the POST that acts instead."""
    from flask import request

    return request.method in ("GET", "HEAD", "OPTIONS")


def redeem_limit() -> str:
    """How often one address may try friend and group codes (RATELIMIT_REDEEM)."""
    from flask import current_app

    return current_app.config.get("RATELIMIT_REDEEM", "20 per minute")

__all__ = ["db", "migrate", "login_manager", "csrf", "oauth", "htmx", "limiter", "cache"]
