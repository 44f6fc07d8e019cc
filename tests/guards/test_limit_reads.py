"""A GET view opts in to its rate limit with limit_reads; every other GET stays unlimited."""

from flask import Blueprint
from tests.conftest import make_app
from webapp.extensions import limit_reads

def test_limit_reads_counts_gets(database_url):
    bp = Blueprint("probe", __name__)
    @bp.route("/probe")
    @limit_reads("2 per minute")
    def probe():
        return "ok"
    @bp.route("/free")
    def free():
        return "ok"
    app = make_app(database_url, RATELIMIT_ENABLED=True)
    app.register_blueprint(bp)
    c = app.test_client()
    assert [c.get("/probe").status_code for _ in range(3)] == [200, 200, 429]
    assert [c.get("/free").status_code for _ in range(3)] == [200, 200, 200]
