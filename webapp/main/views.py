from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from webapp.db import db
from webapp.rendering import render

bp = Blueprint("main", __name__)


@bp.route("/")
def index() -> Response:
    return render("main/index.html")


@bp.route("/health")
def health() -> Response:
    """Liveness plus database reachability, for load balancers and compose."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "unreachable"
    ok = database == "ok"
    response = jsonify(status="ok" if ok else "degraded", database=database)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
