from flask import Blueprint

bp = Blueprint("weeks", __name__)

from webapp.weeks import views  # noqa: E402,F401
