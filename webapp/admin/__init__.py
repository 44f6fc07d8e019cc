"""Admin pages: genres and manual titles. Everyone but admins gets a 404 here."""

from flask import Blueprint
from flask_login import current_user

from webapp.errors import NotFound

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only() -> None:
    if not (current_user.is_authenticated and current_user.is_admin):
        raise NotFound()


from webapp.admin import views  # noqa: E402,F401
