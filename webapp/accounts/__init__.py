from flask import Blueprint

bp = Blueprint("accounts", __name__)

from webapp.accounts import cli, oauth, views  # noqa: E402,F401
