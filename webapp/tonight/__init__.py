"""Tonight sessions: a time-boxed, blind vote over a frozen deck from a group's watchlist."""

from flask import Blueprint

bp = Blueprint("tonight", __name__)

from webapp.tonight import views  # noqa: E402,F401
