#!/usr/bin/env python
"""Load-test Marquee's pages against a bare Flask "fortunes" app, in the same run.

    .venv/bin/python bench/run.py --seconds 10
    .venv/bin/python bench/run.py --database postgresql://postgres@127.0.0.1:5432/postgres

Steps: make a fresh database (SQLite file in a temporary folder, or a PostgreSQL
database created on the --database / BENCH_DATABASE_URL server), apply Marquee's
migrations, seed a user, its friends, two groups with open tonight sessions and the
`fortune` table, count SQL statements per page in-process, start gunicorn twice with
the same settings (Marquee's `wsgi:app` and `bench.reference_app:app`), log in over
HTTP, run wrk against every page in PAGES, then the vote storm (50 voters POSTing
votes at once, checked against the database). Prints a table and writes
bench/results/<timestamp>.json. Every process it starts is stopped at the end,
whatever happens. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import requests
from urllib.parse import urljoin

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

SESSION_COOKIE = "marquee_session"
# Flask-Login's session protection hashes the client's address and User-Agent; wrk and
# requests must send the same one, or every request would rewrite the session.
USER_AGENT = "marquee-bench"


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class Page:
    """One URL to load-test.

    path may use {username} (the seeded user). app is "marquee" or "reference".
    login=True sends the seeded user's session cookie. expect is text a 200 response
    must contain, checked once over HTTP and in-process before measuring (guards
    against benchmarking a redirect or an error page).
    """

    name: str
    path: str
    app: str = "marquee"
    login: bool = False
    expect: str | None = None


# The first "reference" page is the yardstick every Marquee page's req/s is divided by.
# New features add one line each, e.g.
#   Page("search", "/search?q=alien", login=True, expect="results"),
PAGES: list[Page] = [
    Page("reference /fortunes", "/fortunes", app="reference", expect="&lt;script&gt;"),
    Page("login (anonymous)", "/login", expect='id="login-form"'),
    Page("profile (logged in)", "/u/{username}", login=True, expect="Edit your profile"),
    Page("search (catalog)", "/search?q=star&type=album", expect="Results for"),
    # TMDB is a local fake (tests/fakes/providers.py): after the first request the
    # answer comes from the shared response cache in the database.
    Page("search (TMDB, cached)", "/search?q=harbour&type=movie", expect="Harbour Lights"),
    Page("title page", "/titles/{title_id}", expect="Elsewhere"),
    Page("browse page 2", "/catalog?page=2", expect="Page 2 of"),
    # A group of five whose shared watchlist holds 200 titles (the page lists the newest 50).
    Page("group watchlist (200 items)", "/groups/{group_id}/watchlist", login=True, expect="200 to watch"),
    # That group's open tonight session: 8 cards, three members voted on all, the user on 3.
    Page("tonight session", "/sessions/{session_id}", login=True, expect="Your votes"),
    # Weekly picks: the seeded user has every week of three years filled (4 picks each).
    Page("weeks: this week", "/weeks", login=True, expect="This week"),
    Page("weeks: stats (3 years)", "/u/{username}/weeks/stats", login=True, expect="picks over"),
]

# Not a wrk page: 50 members of one group POST votes at once (see run_storm). Selected
# with the others by --pages (e.g. --pages storm).
STORM_NAME = "vote storm"
STORM_VOTERS = 50
STORM_VOTES = 40
STORM_CARDS = 8


def seed_marquee(password: str, voters: int = STORM_VOTERS) -> dict[str, str]:
    """Seed Marquee's database (inside an app context). Returns the values page paths
    may use. Later features seed their own rows here."""
    from webapp.accounts import services
    from webapp.db import db

    from sqlalchemy import select

    from webapp.catalog.demo import load_demo_catalog
    from webapp.catalog.models import Title
    from webapp.db import utcnow

    user = services.register(
        email="bench@example.com",
        username="bench",
        display_name="Bench Runner",
        password=password,
    )
    db.session.commit()
    load_demo_catalog()  # the catalog a keyless install has: search, titles, browse
    db.session.commit()
    title = db.session.scalar(select(Title).where(Title.tmdb_id.is_not(None)).order_by(Title.id))
    assert title is not None
    title.fetched_at = utcnow()  # details count as fresh: the page is measured, not TMDB
    db.session.commit()
    seed_weeks(user)
    return {"username": user.username, "title_id": str(title.id), **seed_groups(user, voters)}


def seed_groups(owner: Any, voters: int) -> dict[str, str]:
    """Groups for the watchlist, session and storm pages, all owned by the bench user.

    `voters` users (all friends of the owner, each with one shared password hash: they
    log in with a signed cookie, never with the password). "Film club" is the owner and
    the first four: 200 titles on its watchlist and an open session of 8 cards, on which
    three members voted on every card and the owner on three. "Vote storm" is the owner
    and all of them, with an open session of STORM_CARDS cards and no votes yet. Both
    sessions stay open for a day, longer than any run."""
    from sqlalchemy import select

    from webapp.accounts.models import User
    from webapp.accounts.passwords import hash_password
    from webapp.catalog.models import Title
    from webapp.db import db, utcnow
    from webapp.groups import services as groups
    from webapp.groups import watchlist
    from webapp.social.models import Friendship
    from webapp.tonight import services as tonight
    from webapp.tonight.parsing import Constraints

    shared_hash = hash_password(secrets.token_urlsafe(18))
    now = utcnow()
    friends = []
    for number in range(1, max(voters, 4) + 1):
        friend = User(email=f"voter{number:02d}@example.com", username=f"voter{number:02d}",
                      display_name=f"Voter {number:02d}", password_hash=shared_hash)
        db.session.add(friend)
        friends.append(friend)
    db.session.flush()
    for friend in friends:
        low, high = sorted((owner.id, friend.id))
        db.session.add(Friendship(user_low_id=low, user_high_id=high, created_at=now))
    db.session.flush()

    club_members = [owner, *friends[:4]]
    club = groups.create_group(owner, "Film club", [f.id for f in friends[:4]])
    titles = list(db.session.scalars(select(Title).order_by(Title.id).limit(200)))
    if len(titles) < 200:
        raise BenchError(f"the demo catalog has {len(titles)} titles; the watchlist page needs 200")
    for index, title in enumerate(titles):
        note = "Everyone says it is great" if index % 5 == 0 else ""
        watchlist.add_item(club, club_members[index % len(club_members)], title, note)
    session = tonight.start_session(club, owner, Constraints(), duration_minutes=tonight.DURATION_MAX,
                                    candidate_count=8)
    cards = tonight.deck(session)
    for number, friend in enumerate(friends[:3]):
        tonight.cast_votes(session, friend, {c.id: (c.position + number) % 2 == 0 for c in cards})
    tonight.cast_votes(session, owner, {c.id: True for c in cards[:3]})
    db.session.commit()
    values = {"group_id": str(club.id), "session_id": str(session.id)}

    storm = groups.create_group(owner, "Vote storm", [f.id for f in friends[:voters]])
    for title in titles[:STORM_CARDS]:
        watchlist.add_item(storm, owner, title)
    storm_session = tonight.start_session(storm, owner, Constraints(), duration_minutes=tonight.DURATION_MAX,
                                          candidate_count=STORM_CARDS)
    storm_cards = [c.id for c in tonight.deck(storm_session)]
    db.session.commit()
    return {
        **values,
        "storm_session_id": str(storm_session.id),
        "storm_card_ids": ",".join(map(str, storm_cards)),
        "storm_voter_ids": ",".join(str(f.id) for f in friends[:voters]),
    }


def seed_weeks(user: Any, years: int = 3) -> int:
    """Two films and two albums from the demo catalog in every week of the last `years`
    ISO years up to this week (notes on every fourth). Returns the number of weeks."""
    from sqlalchemy import select

    from webapp.catalog.models import Title
    from webapp.db import db
    from webapp.weeks import services
    from webapp.weeks.iso import IsoWeek, weeks_in_year

    films = list(db.session.scalars(select(Title).where(Title.kind == "movie").order_by(Title.id).limit(60)))
    albums = list(db.session.scalars(select(Title).where(Title.kind == "album").order_by(Title.id).limit(40)))
    now = services.this_week()
    count = 0
    for year in range(now.year - years + 1, now.year + 1):
        for number in range(1, weeks_in_year(year) + 1):
            when = IsoWeek(year, number)
            if when > now:
                break
            for i in range(2):
                services.add_pick(user, when, "film", films[(count * 2 + i) % len(films)])
                services.add_pick(user, when, "album", albums[(count * 2 + i) % len(albums)])
            if number % 4 == 0:
                services.save_notes(user, when, f"Notes for {when.code}.")
            count += 1
    db.session.commit()
    return count


# --------------------------------------------------------------------------- settings

WORKER_ARGS = ["--workers", "2", "--worker-class", "gthread", "--threads", "4"]
COMMON_GUNICORN_ARGS = ["--graceful-timeout", "5", "--timeout", "30", "--log-level", "warning"]
HEALTH_TIMEOUT = 60.0
HTTP_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
IN_PROCESS_REQUESTS = 5
TXN_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


class BenchError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- database


def normalise_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@contextmanager
def bench_database(tmpdir: Path, pg_database: str, keep: bool, server: str | None) -> Iterator[tuple[str, str]]:
    """Yield (url, kind) of a fresh, empty database; drop it afterwards (PostgreSQL).
    server: a PostgreSQL server URL, or None / "sqlite" for an SQLite file in tmpdir."""
    if not server or server == "sqlite":
        yield f"sqlite:///{tmpdir / 'bench.sqlite3'}", "sqlite"
        return

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(normalise_url(server))
    if url.get_backend_name() != "postgresql":
        raise BenchError("--database / BENCH_DATABASE_URL must be a PostgreSQL URL, or 'sqlite'.")
    if pg_database == "test" or "bench" not in pg_database:
        raise BenchError(f"refusing to recreate database {pg_database!r}: its name must contain 'bench'.")
    maintenance = url.database if url.database and url.database != pg_database else "postgres"
    admin = create_engine(
        url.set(database=maintenance),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 10},
    )

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)'))

    try:
        drop()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_database}"'))
        log(f"created PostgreSQL database {pg_database}")
        yield url.set(database=pg_database).render_as_string(hide_password=False), "postgresql"
    finally:
        try:
            if not keep:
                drop()
                log(f"dropped PostgreSQL database {pg_database}")
        finally:
            admin.dispose()


# --------------------------------------------------------------------------- in-process


class StatementCounter:
    """Counts SQL statements (before_cursor_execute) and pool checkouts on an engine."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.engine = engine
        self.statements: list[str] = []
        self.checkouts = 0
        event.listen(engine, "before_cursor_execute", self._on_execute)
        event.listen(engine, "checkout", self._on_checkout)

    def _on_execute(self, _conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        self.statements.append(" ".join(statement.split()))

    def _on_checkout(self, *_args: Any) -> None:
        self.checkouts += 1

    def reset(self) -> None:
        self.statements.clear()
        self.checkouts = 0

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._on_execute)
        event.remove(self.engine, "checkout", self._on_checkout)


def measure_client(
    client: Any, counter: StatementCounter, path: str, expect: str | None
) -> dict[str, Any]:
    first = client.get(path)  # warm-up: first-request caches, template compilation
    _check_response(path, first.status_code, first.get_data(as_text=True), expect)
    counter.reset()
    for _ in range(IN_PROCESS_REQUESTS):
        response = client.get(path)
        _check_response(path, response.status_code, response.get_data(as_text=True), expect)
    return _per_request(counter)


def _per_request(counter: StatementCounter) -> dict[str, Any]:
    """What IN_PROCESS_REQUESTS requests sent, per request (transaction control apart)."""
    queries = [s for s in counter.statements if not TXN_CONTROL.match(s)]
    return {
        "queries_per_request": len(queries) / IN_PROCESS_REQUESTS,
        "statements_per_request": len(counter.statements) / IN_PROCESS_REQUESTS,
        "checkouts_per_request": counter.checkouts / IN_PROCESS_REQUESTS,
        "statements": counter.statements[: len(counter.statements) // IN_PROCESS_REQUESTS],
    }


def _check_response(path: str, status: int, body: str, expect: str | None) -> None:
    if status != 200:
        raise BenchError(f"GET {path} answered {status}, expected 200")
    if expect and expect not in body:
        raise BenchError(f"GET {path} did not contain {expect!r}")


def measure_vote(client: Any, counter: StatementCounter, session_id: str, card_id: str) -> dict[str, Any]:
    """Statements of one card vote as htmx sends it (the storm's request), in-process."""
    path = f"/sessions/{session_id}/vote"
    headers = {"HX-Request": "true", "HX-Request-Type": "partial"}

    def post(value: str) -> None:
        response = client.post(path, data={"candidate": card_id, "vote": value}, headers=headers)
        _check_response(path, response.status_code, response.get_data(as_text=True), "Your votes")

    post("yes")  # warm-up
    counter.reset()
    for number in range(IN_PROCESS_REQUESTS):
        post("no" if number % 2 == 0 else "yes")
    return _per_request(counter)


def voter_cookies(app: Any, user_ids: list[int]) -> list[str]:
    """A Cookie header per voter, signed with the servers' SECRET_KEY: the session the
    login form makes (webapp.accounts.views.start_session), for a client at 127.0.0.1
    sending USER_AGENT, so that Flask-Login's session protection accepts it as is."""
    from flask import session

    from webapp.accounts.models import User
    from webapp.accounts.views import start_session
    from webapp.db import db

    serializer = app.session_interface.get_signing_serializer(app)
    cookies = []
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                  headers={"User-Agent": USER_AGENT}):
        for user_id in user_ids:
            user = db.session.get(User, user_id)
            assert user is not None
            start_session(user)
            cookies.append(f"{SESSION_COOKIE}={serializer.dumps(dict(session))}")
        db.session.remove()
    return cookies


def settle(engine: Any) -> None:
    """Planner statistics, as a database in service has them; on PostgreSQL otherwise
    autovacuum's analyze of the freshly seeded tables lands in the first measurements."""
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("VACUUM ANALYZE"))
        else:
            conn.exec_driver_sql("ANALYZE").close()


def prepare_and_count(
    url: str, secret: str, password: str, pages: list[Page], provider_settings: dict[str, str],
    voters: int = STORM_VOTERS, storm: bool = False,
) -> tuple[dict[str, str], dict[str, dict[str, Any]], list[str]]:
    """Migrate and seed the database, then count statements per page with test clients.
    With storm, also count one vote's statements and sign the voters' session cookies."""
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.db import db

    import bench.reference_app as reference_app

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secret,
            "RATELIMIT_ENABLED": False,
            **provider_settings,
            "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
        }
    )
    with app.app_context():
        upgrade()
        values = seed_marquee(password, voters)
        reference_app.seed(db.engine)
        db.session.remove()
        engine = db.engine
        settle(engine)
    # Requests run outside that app context: inside it, every request would share one
    # `g` (and Flask-Login's cached user) instead of getting its own.
    counts: dict[str, dict[str, Any]] = {}
    counter = StatementCounter(engine)
    try:
        anonymous = app.test_client()
        logged_in = app.test_client()
        response = logged_in.post("/login", data={"login": values["username"], "password": password})
        if response.status_code != 303:
            raise BenchError(f"in-process login answered {response.status_code}, expected 303")
        for page in pages:
            if page.app == "marquee":
                client = logged_in if page.login else anonymous
                counts[page.name] = measure_client(client, counter, page.path.format(**values), page.expect)
        cookies: list[str] = []
        if storm:
            # The bench user is a member of the storm group but not one of its voters.
            counts[STORM_NAME] = measure_vote(logged_in, counter, values["storm_session_id"],
                                              values["storm_card_ids"].split(",")[0])
            cookies = voter_cookies(app, [int(i) for i in values["storm_voter_ids"].split(",")])
    finally:
        counter.close()
        engine.dispose()

    ref = reference_app.create_app(url)
    engine = ref.extensions["bench_engine"]
    counter = StatementCounter(engine)
    try:
        client = ref.test_client()
        for page in pages:
            if page.app == "reference":
                counts[page.name] = measure_client(client, counter, page.path.format(**values), page.expect)
    finally:
        counter.close()
        engine.dispose()
    return values, counts, cookies


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    target: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, env: dict[str, str], gunicorn_args: list[str]) -> None:
        command = [
            sys.executable, "-m", "gunicorn", *gunicorn_args,
            "--bind", f"127.0.0.1:{self.port}", self.target,
        ]  # fmt: skip
        with open(self.log_path, "wb") as log_file:
            # Own session/process group, so a stuck master and its workers can be ended together.
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        log(f"started {self.name} (pid {self.process.pid}) on port {self.port}")

    def wait_healthy(self, path: str = "/health") -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise BenchError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            with suppress(requests.RequestException):
                if requests.get(self.base + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise BenchError(f"{self.name} not healthy after {HEALTH_TIMEOUT:.0f}s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        """User+system CPU time of the master and its live workers (Linux /proc), or None."""
        if self.process is None:
            return None
        try:
            total = 0
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                with suppress(OSError):
                    # Fields after the parenthesised command: state ppid ... utime(14) stime(15).
                    fields = (entry / "stat").read_text().rpartition(")")[2].split()
                    pid, ppid = int(entry.name), int(fields[1])
                    if pid == self.process.pid or ppid == self.process.pid:
                        total += int(fields[11]) + int(fields[12])
            return total / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def log_tail(self, lines: int = 30) -> str:
        with suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)  # gunicorn master stops its workers
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop in {STOP_TIMEOUT:.0f}s; killing its process group")
        # Anything left in the group we created (a stuck master, orphaned workers).
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
        log(f"stopped {self.name} (pid {process.pid})")


def server_env(url: str, secret: str, provider_settings: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GUNICORN_CMD_ARGS", None)
    env.update(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secret,
            "RATELIMIT_ENABLED": "0",
            "TMDB_API_KEY": "",
            "OMDB_API_KEY": "",
            **provider_settings,
            # Off, and set so that a FLASK_DEBUG in a local .env cannot turn debug on.
            "FLASK_DEBUG": "0",
            "REDIS_URL": "",
            "RATELIMIT_STORAGE_URI": "memory://",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# --------------------------------------------------------------------------- HTTP login


class _CsrfFinder(HTMLParser):
    """The first CSRF token of a page: a form's <input name="csrf_token" value="...">,
    or (meta=True) the <meta name="csrf-token" content="..."> that htmx sends."""

    def __init__(self, *, meta: bool = False) -> None:
        super().__init__()
        self.tag, self.name, self.attribute = ("meta", "csrf-token", "content") if meta else (
            "input", "csrf_token", "value")
        self.token: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == self.tag and found.get("name") == self.name and self.token is None:
            self.token = found.get(self.attribute)


def _session_cookie(response: requests.Response) -> str | None:
    """The session cookie from Set-Cookie, read directly: it is Secure, so a cookie jar
    would never send it back over plain http."""
    for header in response.raw.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value
    return None


def http_login(base: str, login: str, password: str) -> str:
    """Log in through the real form; returns a Cookie header value."""
    headers = {"User-Agent": USER_AGENT}
    page = requests.get(base + "/login", headers=headers, timeout=HTTP_TIMEOUT)
    finder = _CsrfFinder()
    finder.feed(page.text)
    anonymous = _session_cookie(page)
    if page.status_code != 200 or not finder.token or not anonymous:
        raise BenchError("GET /login gave no csrf_token or no session cookie")
    response = requests.post(
        base + "/login",
        data={"csrf_token": finder.token, "login": login, "password": password},
        headers={**headers, "Cookie": f"{SESSION_COOKIE}={anonymous}"},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    session = _session_cookie(response)
    if response.status_code != 303 or not session:
        raise BenchError(f"POST /login answered {response.status_code}, expected 303 with a session")
    # Follow the redirect once, as a browser does: that page shows the "welcome back"
    # message and puts a CSRF token in the session. Without this, every measured request
    # would carry the pending message and re-sign the cookie, which a real visitor's
    # requests after the first never do.
    landing = requests.get(urljoin(base + "/", response.headers["Location"]),
                           headers={**headers, "Cookie": f"{SESSION_COOKIE}={session}"},
                           allow_redirects=False, timeout=HTTP_TIMEOUT)
    session = _session_cookie(landing) or session
    return f"{SESSION_COOKIE}={session}"


def check_http(url: str, cookie: str | None, expect: str | None) -> None:
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    response = requests.get(url, headers=headers, allow_redirects=False, timeout=HTTP_TIMEOUT)
    _check_response(url, response.status_code, response.text, expect)


# --------------------------------------------------------------------------- wrk

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if not match:
        raise BenchError(f"cannot read wrk latency {value!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if not (rps and p50 and p99 and total):
        raise BenchError(f"cannot parse wrk output:\n{output}")
    return {
        "req_per_sec": float(rps.group(1)),
        "p50_ms": _to_ms(p50.group(1)),
        "p99_ms": _to_ms(p99.group(1)),
        "requests": int(total.group(1)),
        "non_2xx_3xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


def run_wrk(wrk: str, url: str, seconds: float, cookie: str | None, threads: int, connections: int) -> dict[str, Any]:
    command = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s", "--latency",
        "-H", f"User-Agent: {USER_AGENT}",
    ]  # fmt: skip
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(url)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 30, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:  # subprocess.run kills wrk before raising
        raise BenchError(f"wrk did not finish within {seconds + 30:g}s") from exc
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    result = parse_wrk(done.stdout)
    result["output"] = done.stdout
    return result


# --------------------------------------------------------------------------- vote storm

STORM_HTTP_TIMEOUT = 30.0  # as long as gunicorn's worker timeout


@dataclass
class VoteResult:
    voter: int  # user id
    card: int  # candidate id
    value: bool
    status: int | None  # None: no response (connection error or timeout)
    ms: float
    error: str = ""
    new_cookie: bool = False  # the answer set a new session cookie

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 400


def _storm_voter(
    base: str, session_id: str, user_id: int, cookie: str, cards: list[int], votes: int,
    start: threading.Barrier, seed: int,
) -> list[VoteResult]:
    """One voter: open the session page for the CSRF token, wait for the others, then
    send `votes` card votes one after the other, each on a random card and each the
    opposite of what this voter last sent for that card (the first one random)."""
    rng = random.Random(seed)
    http = requests.Session()
    http.headers.update({"User-Agent": USER_AGENT})
    try:
        page = http.get(f"{base}/sessions/{session_id}", headers={"Cookie": cookie},
                        allow_redirects=False, timeout=STORM_HTTP_TIMEOUT)
        finder = _CsrfFinder(meta=True)
        finder.feed(page.text)
        if page.status_code != 200 or "Your votes" not in page.text or not finder.token:
            raise BenchError(f"voter {user_id}: GET /sessions/{session_id} answered {page.status_code}"
                             " without the voting page or its csrf-token")
        cookie = (f"{SESSION_COOKIE}={renewed}" if (renewed := _session_cookie(page)) else cookie)
    except BaseException:
        start.abort()  # the others stop waiting, and the storm is called off
        raise
    start.wait()
    url = f"{base}/sessions/{session_id}/vote"
    headers = {"HX-Request": "true", "HX-Request-Type": "partial"}  # as the card's hx-post sends it
    sent: dict[int, bool] = {}
    results = []
    for _ in range(votes):
        card = rng.choice(cards)
        value = not sent[card] if card in sent else rng.random() < 0.5
        sent[card] = value
        data = {"csrf_token": finder.token, "candidate": str(card), "vote": "yes" if value else "no"}
        began = time.perf_counter()
        try:
            response = http.post(url, data=data, headers={**headers, "Cookie": cookie},
                                 allow_redirects=False, timeout=STORM_HTTP_TIMEOUT)
            status, error = response.status_code, ""
            if renewed := _session_cookie(response):  # a browser would keep the new one
                cookie = f"{SESSION_COOKIE}={renewed}"
        except requests.RequestException as exc:
            status, error, renewed = None, type(exc).__name__, None
        ms = (time.perf_counter() - began) * 1000
        results.append(VoteResult(user_id, card, value, status, ms, error, new_cookie=bool(renewed)))
    http.close()
    return results


def stored_votes(url: str, session_id: int) -> tuple[dict[tuple[int, int], bool], int]:
    """{(user id, candidate id): value} of a session, and its `ballots` counter, read
    straight from the database (not through the app)."""
    from sqlalchemy import create_engine, select

    from webapp.tonight.models import TonightSession, Vote

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Vote.user_id, Vote.candidate_id, Vote.value).where(Vote.session_id == session_id)
            ).all()
            ballots = conn.execute(
                select(TonightSession.ballots).where(TonightSession.id == session_id)
            ).scalar_one()
    finally:
        engine.dispose()
    return {(user, card): bool(value) for user, card, value in rows}, int(ballots)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (as wrk reports them)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))]


def run_storm(
    base: str, url: str, values: dict[str, str], cookies: list[str], votes: int
) -> dict[str, Any]:
    """Every voter at once, each sending its votes one after the other (so that the
    last acknowledged vote of each (voter, card) is well defined), then compare with
    the database: a lost vote is a (voter, card) whose stored value is not the last one
    the server acknowledged (2xx/3xx), or is missing."""
    session_id = values["storm_session_id"]
    cards = [int(c) for c in values["storm_card_ids"].split(",")]
    voter_ids = [int(v) for v in values["storm_voter_ids"].split(",")]
    voters = set(voter_ids)
    _, ballots_before = stored_votes(url, int(session_id))
    start = threading.Barrier(len(voter_ids) + 1)
    with ThreadPoolExecutor(max_workers=len(voter_ids), thread_name_prefix="voter") as pool:
        futures = [
            pool.submit(_storm_voter, base, session_id, user_id, cookie, cards, votes, start, user_id)
            for user_id, cookie in zip(voter_ids, cookies, strict=True)
        ]
        try:
            start.wait(timeout=HEALTH_TIMEOUT)
        except threading.BrokenBarrierError:
            wait(futures)  # the broken barrier releases every voter
            for future in futures:
                error = future.exception()
                if error is not None and not isinstance(error, threading.BrokenBarrierError):
                    raise error from None
            raise BenchError("the voters did not get ready in time") from None
        began = time.perf_counter()
        results = [r for future in futures for r in future.result()]
        wall = time.perf_counter() - began
    stored, ballots_after = stored_votes(url, int(session_id))

    last_acked: dict[tuple[int, int], bool] = {}
    for result in results:  # each voter's results are in the order they were sent
        if result.acknowledged:
            last_acked[(result.voter, result.card)] = result.value
    lost = [pair for pair, value in last_acked.items() if stored.get(pair) != value]
    unacknowledged_stored = [pair for pair in stored if pair[0] in voters and pair not in last_acked]
    statuses: dict[str, int] = {}
    for result in results:
        key = str(result.status) if result.status is not None else f"error {result.error}"
        statuses[key] = statuses.get(key, 0) + 1
    acknowledged = sum(r.acknowledged for r in results)
    latencies = [r.ms for r in results]
    return {
        "voters": len(voter_ids),
        "votes_per_voter": votes,
        "cards": len(cards),
        "requests": len(results),
        "acknowledged": acknowledged,
        "lost": len(lost),
        "lost_pairs": [list(pair) for pair in lost[:20]],
        "unacknowledged_but_stored": len(unacknowledged_stored),
        "pairs_acknowledged": len(last_acked),
        "status_5xx": sum(1 for r in results if r.status is not None and r.status >= 500),
        "status_4xx": sum(1 for r in results if r.status is not None and 400 <= r.status < 500),
        "no_response": sum(1 for r in results if r.status is None),
        "statuses": statuses,
        "new_session_cookies": sum(r.new_cookie for r in results),
        "ballots_counted": ballots_after - ballots_before,
        "seconds": round(wall, 3),
        "votes_per_sec": round(acknowledged / wall, 1) if wall else None,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2) if latencies else None,
    }


def storm_ok(storm: dict[str, Any]) -> bool:
    return (storm["lost"] == 0 and storm["status_5xx"] == 0 and storm["status_4xx"] == 0
            and storm["no_response"] == 0 and storm["ballots_counted"] == storm["acknowledged"])


def print_storm(storm: dict[str, Any], kind: str) -> None:
    label = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(kind, kind)
    queries = storm.get("queries_per_request")
    extra = ""
    if storm["status_4xx"]:
        extra += f", {storm['status_4xx']} 4xx"
    if storm["no_response"]:
        extra += f", {storm['no_response']} without a response"
    if storm["unacknowledged_but_stored"]:
        extra += f", {storm['unacknowledged_but_stored']} stored without an acknowledgement"
    if storm["ballots_counted"] != storm["acknowledged"]:
        extra += f", ballots counter +{storm['ballots_counted']} (expected +{storm['acknowledged']})"
    print(
        f"{STORM_NAME} ({label}): {storm['voters']} voters x {storm['votes_per_voter']} votes, "
        f"{storm['acknowledged']} acknowledged, {storm['lost']} lost, {storm['status_5xx']} 5xx{extra}, "
        f"{storm['votes_per_sec']:.0f} votes/s, p50 {storm['p50_ms']:.0f} ms, p99 {storm['p99_ms']:.0f} ms"
        + (f", {queries:g} queries/vote" if queries is not None else "")
        + (f", {cpu:.1f} server CPU ms/vote" if (cpu := storm.get("cpu_ms_per_request")) else "")
    )
    print(f"{'PASS' if storm_ok(storm) else 'FAIL'}: no vote lost, no error answer, ballots counted once each")


# --------------------------------------------------------------------------- report


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(
    pages: list[Page],
    wrk_runs: dict[str, list[dict[str, Any]]],
    counts: dict[str, dict[str, Any]],
    target: float,
) -> tuple[list[dict[str, Any]], bool]:
    """Medians over rounds. A page's ratio is the median of its req/s divided by the
    req/s of the reference run measured beside it; cpu_ratio is the same comparison on
    server CPU per request (reference CPU ms / page CPU ms), which contention from
    other processes on the machine disturbs much less."""
    rows = []
    passed = True
    for page in pages:
        runs = wrk_runs[page.name]
        rps = median([r["req_per_sec"] for r in runs])
        cpu = _median_cpu(runs)
        ratio_range = None
        if page.app == "reference":
            ratio, cpu_ratio = 1.0, 1.0
        else:
            # Medians of the ratios to each run's own reference run (see main()).
            ratios = [r["req_per_sec"] / r["paired_reference"]["req_per_sec"]
                      for r in runs if r["paired_reference"]["req_per_sec"]]
            ratio = median(ratios)
            ratio_range = [round(min(ratios), 3), round(max(ratios), 3)]
            cpu_ratios = [r["paired_reference"]["cpu_ms_per_request"] / r["cpu_ms_per_request"]
                          for r in runs if r.get("cpu_ms_per_request") and r["paired_reference"]["cpu_ms_per_request"]]
            cpu_ratio = median(cpu_ratios) if cpu_ratios else None
        errors = sum(r["non_2xx_3xx"] + r["socket_errors"] for r in runs)
        ok = page.app == "reference" or (ratio >= target and errors == 0)
        passed = passed and ok and errors == 0
        rows.append(
            {
                "name": page.name,
                "app": page.app,
                "path": page.path,
                "login": page.login,
                "req_per_sec": round(rps, 1),
                "ratio": round(ratio, 3),
                "ratio_range": ratio_range,
                "p50_ms": round(median([r["p50_ms"] for r in runs]), 2),
                "p99_ms": round(median([r["p99_ms"] for r in runs]), 2),
                "cpu_ms_per_request": round(cpu, 3) if cpu else None,
                "cpu_ratio": round(cpu_ratio, 3) if cpu_ratio else None,
                "errors": errors,
                "meets_target": ok if page.app != "reference" else None,
                **counts.get(page.name, {}),
                "rounds": [{k: v for k, v in r.items() if k != "output"} for r in runs],
                "wrk_output": runs[-1]["output"] if runs else "",
            }
        )
    return rows, passed


def _median_cpu(runs: list[dict[str, Any]]) -> float | None:
    values = [r["cpu_ms_per_request"] for r in runs if r.get("cpu_ms_per_request")]
    return median(values) if values else None


def print_table(rows: list[dict[str, Any]], target: float, passed: bool, kind: str) -> None:
    header = (
        f"{'page':<28} {'req/s':>8} {'ratio':>6} {'range':>10} {'p50 ms':>7} {'p99 ms':>7} {'queries/req':>11}"
        f" {'CPU ms/req':>10} {'CPU ratio':>9}"
    )
    print()
    print(f"Marquee vs reference fortunes ({kind})")
    print(header)
    print("-" * len(header))
    for row in rows:
        queries = row.get("queries_per_request")
        cpu, cpu_ratio = row["cpu_ms_per_request"], row["cpu_ratio"]
        flag = "" if row["meets_target"] in (None, True) else "  < target"
        if row["errors"]:
            flag += f"  ({row['errors']} errors)"
        print(
            f"{row['name']:<28} {row['req_per_sec']:>8.1f} {row['ratio']:>6.2f} "
            f"{'{:.2f}-{:.2f}'.format(*row['ratio_range']) if row['ratio_range'] else '':>10} "
            f"{row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} "
            f"{(f'{queries:g}' if queries is not None else '-'):>11} "
            f"{(f'{cpu:.2f}' if cpu else '-'):>10} {(f'{cpu_ratio:.2f}' if cpu_ratio else '-'):>9}{flag}"
        )
    marquee = [r for r in rows if r["app"] == "marquee"]
    worst = min(marquee, key=lambda r: r["ratio"]) if marquee else None
    worst_text = f" (lowest: {worst['name']} at {worst['ratio']:.2f})" if worst else ""
    print(f"{'PASS' if passed else 'FAIL'}: every Marquee page >= {target:g} x reference req/s{worst_text}")


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=False
        )
        return done.stdout.strip()

    with suppress(OSError, subprocess.TimeoutExpired):
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    return {}


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="wrk duration per page (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="wrk warm-up per page before measuring (default 2)")
    parser.add_argument("--rounds", type=int, default=1, help="measure every page this many times, interleaved; medians are reported (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--target", type=float, default=0.5, help="minimum Marquee/reference req/s ratio (default 0.5)")
    parser.add_argument("--pages", default="", help="comma-separated substrings: only pages whose name matches (the reference always runs)")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL") or "sqlite", metavar="URL",
                        help="a PostgreSQL server URL (the database in it is only connected to), or 'sqlite'"
                        " (default: BENCH_DATABASE_URL, else sqlite)")
    parser.add_argument("--storm-voters", type=int, default=STORM_VOTERS, help=f"voters in the vote storm (default {STORM_VOTERS})")
    parser.add_argument("--storm-votes", type=int, default=STORM_VOTES, help=f"votes each storm voter sends, one after the other (default {STORM_VOTES})")
    parser.add_argument("--pg-database", default="marquee_bench", help="PostgreSQL database to (re)create on the --database server (default marquee_bench)")
    parser.add_argument("--keep-db", action="store_true", help="leave the PostgreSQL bench database in place afterwards")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/<timestamp>.json")
    parser.add_argument("--strict", action="store_true", help="exit with status 2 when the target is missed")
    args = parser.parse_args(argv)
    if args.storm_voters < 1 or args.storm_votes < 1:
        parser.error("--storm-voters and --storm-votes must be at least 1")
    return args


def _raise_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _raise_on_alarm(_signum: int, _frame: Any) -> None:
    raise BenchError("the whole run took longer than its time budget; stopping")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = os.environ.get("WRK") or shutil.which("wrk")
    if not wrk:
        raise BenchError("wrk is not installed (or set WRK to its path)")
    wanted = [s.strip() for s in args.pages.split(",") if s.strip()]
    pages = [p for p in PAGES if p.app == "reference" or not wanted or any(w in p.name for w in wanted)]
    storm = not wanted or any(w in STORM_NAME for w in wanted)
    if not any(p.app == "reference" for p in pages):
        raise BenchError("PAGES needs a reference page")
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    # A budget for the whole run (set-up, every wrk run, the storm, shutdown); the
    # finally blocks still stop the servers when it fires.
    budget = 180 + args.rounds * len(pages) * (args.seconds + args.warmup + 15)
    budget += 120 + args.storm_voters * args.storm_votes // 10 if storm else 0
    signal.signal(signal.SIGALRM, _raise_on_alarm)
    signal.alarm(int(budget))
    secret = secrets.token_hex(32)
    password = "bench-" + secrets.token_urlsafe(18)
    gunicorn_args = [*WORKER_ARGS, *COMMON_GUNICORN_ARGS]
    started = datetime.now(timezone.utc)

    with ExitStack() as stack:
        tmpdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="marquee-bench-")))
        url, kind = stack.enter_context(bench_database(tmpdir, args.pg_database, args.keep_db, args.database))
        stack.callback(signal.alarm, 0)  # clean-up runs unhurried (callbacks run last-in first)
        # TMDB answered by the local fake; MusicBrainz off (its 1 request/s would be the
        # measurement); nothing leaves the machine.
        from tests.fakes.providers import FakeProviders

        fake = stack.enter_context(FakeProviders())
        provider_settings = {
            "TMDB_TOKEN": fake.tmdb_token,
            "TMDB_API_URL": fake.tmdb_url,
            "MUSICBRAINZ_ENABLED": "0",
        }
        log(f"database: {kind}; migrating, seeding and counting queries in-process")
        values, counts, cookies = prepare_and_count(url, secret, password, pages, provider_settings,
                                                    voters=args.storm_voters, storm=storm)

        env = server_env(url, secret, provider_settings)
        servers = {
            "marquee": Server("marquee", "wsgi:app", free_port(), tmpdir / "marquee.log"),
            "reference": Server("reference", "bench.reference_app:app", free_port(), tmpdir / "reference.log"),
        }
        for server in servers.values():
            stack.callback(server.stop)
            server.start(env, gunicorn_args)
        stack.callback(signal.alarm, 0)
        for server in servers.values():
            server.wait_healthy()

        cookie = http_login(servers["marquee"].base, values["username"], password)
        urls: dict[str, tuple[str, str | None]] = {}
        for page in pages:
            page_url = servers[page.app].base + page.path.format(**values)
            page_cookie = cookie if page.login else None
            check_http(page_url, page_cookie, page.expect)
            urls[page.name] = (page_url, page_cookie)

        wrk_runs: dict[str, list[dict[str, Any]]] = {p.name: [] for p in pages}
        warmed: set[str] = set()

        def measure(page: Page, round_number: int) -> dict[str, Any]:
            page_url, page_cookie = urls[page.name]
            if page.name not in warmed and args.warmup > 0:
                run_wrk(wrk, page_url, args.warmup, page_cookie, args.threads, args.connections)
                warmed.add(page.name)
            log(f"round {round_number + 1}/{args.rounds}: {page.name} for {args.seconds:g}s")
            server = servers[page.app]
            cpu_before = server.cpu_seconds()
            result = run_wrk(wrk, page_url, args.seconds, page_cookie, args.threads, args.connections)
            cpu_after = server.cpu_seconds()
            if cpu_before is not None and cpu_after is not None and result["requests"]:
                result["cpu_ms_per_request"] = (cpu_after - cpu_before) * 1000 / result["requests"]
            wrk_runs[page.name].append(result)
            return result

        # Each Marquee page is measured right beside a run of the reference (reference
        # first in odd rounds, second in even ones), and its ratio is taken against that
        # run: the machine's speed drifts over minutes, and a pair shares the drift.
        reference = next(p for p in pages if p.app == "reference")
        marquee_pages = [p for p in pages if p.app != "reference"]
        for round_number in range(args.rounds):
            if not marquee_pages:
                measure(reference, round_number)
            for page in marquee_pages:
                if round_number % 2 == 0:
                    paired, result = measure(reference, round_number), measure(page, round_number)
                else:
                    result, paired = measure(page, round_number), measure(reference, round_number)
                result["paired_reference"] = {"req_per_sec": paired["req_per_sec"],
                                              "cpu_ms_per_request": paired.get("cpu_ms_per_request")}
        storm_result: dict[str, Any] | None = None
        if storm:
            log(f"{STORM_NAME}: {args.storm_voters} voters x {args.storm_votes} votes, each voter sequential")
            cpu_before = servers["marquee"].cpu_seconds()
            storm_result = {**run_storm(servers["marquee"].base, url, values, cookies, args.storm_votes),
                            **counts.get(STORM_NAME, {})}
            cpu_after = servers["marquee"].cpu_seconds()
            if cpu_before is not None and cpu_after is not None and storm_result["requests"]:
                storm_result["cpu_ms_per_request"] = round(
                    (cpu_after - cpu_before) * 1000 / storm_result["requests"], 3)
            if storm_result["status_5xx"] or storm_result["no_response"]:
                storm_result["server_log_tail"] = servers["marquee"].log_tail(60)
        for server in servers.values():
            if server.process is not None and server.process.poll() is not None:
                raise BenchError(f"{server.name} died during the run:\n{server.log_tail()}")

    rows, passed = summarise(pages, wrk_runs, counts, args.target)
    print_table(rows, args.target, passed, kind)
    if storm_result is not None:
        print_storm(storm_result, kind)
        passed = passed and storm_ok(storm_result)
    if not args.no_json:
        RESULTS_DIR.mkdir(exist_ok=True)
        result_path = RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        report = {
            "started": started.isoformat(),
            "database": kind,
            "settings": {
                "seconds": args.seconds,
                "warmup": args.warmup,
                "rounds": args.rounds,
                "wrk": {"threads": args.threads, "connections": args.connections},
                "gunicorn": gunicorn_args,
                "cpus": os.cpu_count(),
                "python": sys.version.split()[0],
            },
            "git": git_state(),
            "target_ratio": args.target,
            "passed": passed,
            "pages": rows,
            "storm": storm_result,
        }
        result_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"results: {result_path.relative_to(PROJECT_ROOT)}")
    return 0 if passed or not args.strict else 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        log(f"error: {error}")
        sys.exit(1)
