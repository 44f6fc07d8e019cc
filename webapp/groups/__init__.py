"""Groups of friends and their shared watchlist."""

from flask import Blueprint

bp = Blueprint("groups", __name__)

from webapp.groups import views  # noqa: E402,F401
