from flask import Blueprint

bp = Blueprint("catalog", __name__)

from webapp.catalog import views  # noqa: E402,F401
