"""Extensions are created here at import and bound to the app in create_app()."""

from collections.abc import Callable
from typing import Any, TypeVar

from authlib.integrations.flask_client import OAuth
from flask_caching import Cache
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from webapp.db import db

F = TypeVar("F", bound=Callable[..., Any])

migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
oauth = OAuth()
htmx = HTMX()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
cache = Cache()


@limiter.request_filter
def _reads_are_never_limited() -> bool:
    """Limits guard attempts (logins, sign-ups, code guesses), which are mostly POSTs; a
    read counts only on the few pages that opt in with `limit_reads` (searches that
    reach providers, pages that reveal what a code is for). Answering here, before the
    limiter looks up a request's limits, also spares every other page that lookup."""
    from flask import current_app, request

    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return not getattr(view, "limits_reads", False)


def limit_reads(limit_value: Any, **kwargs: Any) -> Callable[[F], F]:
    """`limiter.limit` for a view whose GETs count too. Put it below `@bp.route`:

        @bp.route("/search")
        @limit_reads(search_limit)
        def search(): ...
    """

    def decorate(view: F) -> F:
        limited = limiter.limit(limit_value, **kwargs)(view)
        limited.limits_reads = True  # type: ignore[attr-defined]
        return limited

    return decorate


def redeem_limit() -> str:
    """How often one address may try friend and group codes (RATELIMIT_REDEEM)."""
    from flask import current_app

    return current_app.config.get("RATELIMIT_REDEEM", "20 per minute")


def per_user() -> str:
    """The key of limits on a signed-in person's writes: their user id, whatever the
    address (views behind @login_required; anyone else is counted by address)."""
    from flask_login import current_user

    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def group_create_limit() -> str:
    """How many groups one person may create (RATELIMIT_GROUP_CREATE)."""
    from flask import current_app

    return current_app.config.get("RATELIMIT_GROUP_CREATE", "10 per hour")


def manual_title_limit() -> str:
    """How many hand-made titles one person may add, on every page that adds them
    together (RATELIMIT_MANUAL_TITLE)."""
    from flask import current_app

    return current_app.config.get("RATELIMIT_MANUAL_TITLE", "30 per day")


MANUAL_TITLES_MESSAGE = ("You have added a lot of titles by hand lately. Please try again tomorrow, "
                         "or pick one from the catalog.")


def join_page_limit() -> str:
    """How often one address may open friend and group join links (RATELIMIT_JOIN_PAGE)."""
    from flask import current_app

    return current_app.config.get("RATELIMIT_JOIN_PAGE", "30 per minute;300 per hour")

__all__ = ["db", "migrate", "login_manager", "csrf", "oauth", "htmx", "limiter", "cache", "limit_reads"]
