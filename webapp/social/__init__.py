from flask import Blueprint

bp = Blueprint("social", __name__)

from webapp.social import views  # noqa: E402,F401
