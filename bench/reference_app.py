"""A bare Flask app serving the TechEmpower "fortunes" test: the yardstick for bench/run.py.

One SELECT of every row of `fortune`, one extra fortune added in memory, sorted by
message, rendered through an autoescaped Jinja template. Plain SQLAlchemy Core, no
extensions, no sessions, no middleware: what a Flask page costs with nothing on top.

The database is DATABASE_URL (the same variable and database Marquee uses in a run);
`gunicorn --pythonpath bench reference_app:app` serves it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from flask import Flask, render_template
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, insert, select

HERE = Path(__file__).resolve().parent

# The 12 rows of the TechEmpower fortunes test, with their ids.
FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
]
EXTRA_FORTUNE = "Additional fortune added at request time."

metadata = MetaData()
fortune = Table(
    "fortune",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("message", String(2048), nullable=False),
)


class Fortune(NamedTuple):
    id: int
    message: str


def normalise_url(url: str) -> str:
    """postgres:// and postgresql:// use psycopg 3, as in Marquee."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def seed(engine: Engine) -> None:
    """Create the `fortune` table (dropping an old one) and insert the 12 rows."""
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(fortune), [{"id": i, "message": m} for i, m in FORTUNES])


def create_app(database_url: str | None = None) -> Flask:
    url = normalise_url(database_url or os.environ["DATABASE_URL"])
    app = Flask(__name__, template_folder=str(HERE / "templates"))
    engine = create_engine(url)
    app.extensions["bench_engine"] = engine
    query = select(fortune.c.id, fortune.c.message)

    @app.route("/fortunes")
    def fortunes() -> str:
        with engine.connect() as conn:
            rows = [Fortune(row.id, row.message) for row in conn.execute(query)]
        rows.append(Fortune(0, EXTRA_FORTUNE))
        rows.sort(key=lambda f: f.message)
        return render_template("fortunes.html", fortunes=rows)

    @app.route("/health")
    def health() -> tuple[str, int]:
        return "ok", 200

    return app


_app: Flask | None = None


def __getattr__(name: str) -> Flask:
    """`app` for gunicorn, built on first access so importing this module needs no DATABASE_URL."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = create_app()
    return _app
