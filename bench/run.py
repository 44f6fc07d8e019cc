#!/usr/bin/env python
"""Load-test Marquee's pages against a bare Flask "fortunes" app, in the same run.

    .venv/bin/python bench/run.py --seconds 10
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/run.py

Steps: make a fresh database (SQLite file in a temporary folder, or a PostgreSQL
database created on the BENCH_DATABASE_URL server), apply Marquee's migrations, seed
one user and the `fortune` table, count SQL statements per page in-process, start
gunicorn twice with the same settings (Marquee's `wsgi:app` and
`bench.reference_app:app`), log in over HTTP, then run wrk against every page in
PAGES. Prints a table and writes bench/results/<timestamp>.json. Every process it
starts is stopped at the end, whatever happens. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import requests

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
    # Weekly picks: the seeded user has every week of three years filled (4 picks each).
    Page("weeks: this week", "/weeks", login=True, expect="This week"),
    Page("weeks: stats (3 years)", "/u/{username}/weeks/stats", login=True, expect="picks over"),
]


def seed_marquee(password: str) -> dict[str, str]:
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
    return {"username": user.username, "title_id": str(title.id)}


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
def bench_database(tmpdir: Path, pg_database: str, keep: bool) -> Iterator[tuple[str, str]]:
    """Yield (url, kind) of a fresh, empty database; drop it afterwards (PostgreSQL)."""
    server = os.environ.get("BENCH_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmpdir / 'bench.sqlite3'}", "sqlite"
        return

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(normalise_url(server))
    if url.get_backend_name() != "postgresql":
        raise BenchError("BENCH_DATABASE_URL must be a PostgreSQL URL (or unset for SQLite).")
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


def prepare_and_count(
    url: str, secret: str, password: str, pages: list[Page], provider_settings: dict[str, str]
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Migrate and seed the database, then count statements per page with test clients."""
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
        values = seed_marquee(password)
        reference_app.seed(db.engine)
        db.session.remove()
        engine = db.engine
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
    return values, counts


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
    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name") == "csrf_token" and self.token is None:
            self.token = found.get("value")


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


# --------------------------------------------------------------------------- report


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(
    pages: list[Page],
    wrk_runs: dict[str, list[dict[str, Any]]],
    counts: dict[str, dict[str, Any]],
    target: float,
) -> tuple[list[dict[str, Any]], bool]:
    """Medians over rounds; ratio = page req/s / reference req/s. cpu_ratio is the same
    comparison on server CPU per request (reference CPU ms / page CPU ms), which
    contention from other processes on the machine disturbs much less."""
    reference = next(p for p in pages if p.app == "reference")
    ref_rps = median([r["req_per_sec"] for r in wrk_runs[reference.name]])
    ref_cpu = _median_cpu(wrk_runs[reference.name])
    rows = []
    passed = True
    for page in pages:
        runs = wrk_runs[page.name]
        rps = median([r["req_per_sec"] for r in runs])
        ratio = rps / ref_rps if ref_rps else float("nan")
        cpu = _median_cpu(runs)
        cpu_ratio = ref_cpu / cpu if ref_cpu and cpu else None
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
        f"{'page':<26} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'queries/req':>11}"
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
            f"{row['name']:<26} {row['req_per_sec']:>8.1f} {row['ratio']:>6.2f} "
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
    parser.add_argument("--pg-database", default="marquee_bench", help="PostgreSQL database to (re)create when BENCH_DATABASE_URL is set (default marquee_bench)")
    parser.add_argument("--keep-db", action="store_true", help="leave the PostgreSQL bench database in place afterwards")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/<timestamp>.json")
    parser.add_argument("--strict", action="store_true", help="exit with status 2 when the target is missed")
    return parser.parse_args(argv)


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
    if not any(p.app == "reference" for p in pages):
        raise BenchError("PAGES needs a reference page")
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    # A budget for the whole run (set-up, every wrk run, shutdown); the finally blocks
    # still stop the servers when it fires.
    budget = 180 + args.rounds * len(pages) * (args.seconds + args.warmup + 15)
    signal.signal(signal.SIGALRM, _raise_on_alarm)
    signal.alarm(int(budget))
    secret = secrets.token_hex(32)
    password = "bench-" + secrets.token_urlsafe(18)
    gunicorn_args = [*WORKER_ARGS, *COMMON_GUNICORN_ARGS]
    started = datetime.now(timezone.utc)

    with ExitStack() as stack:
        tmpdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="marquee-bench-")))
        url, kind = stack.enter_context(bench_database(tmpdir, args.pg_database, args.keep_db))
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
        values, counts = prepare_and_count(url, secret, password, pages, provider_settings)

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
        for round_number in range(args.rounds):
            for page in pages:
                page_url, page_cookie = urls[page.name]
                if round_number == 0 and args.warmup > 0:
                    run_wrk(wrk, page_url, args.warmup, page_cookie, args.threads, args.connections)
                log(f"round {round_number + 1}/{args.rounds}: {page.name} for {args.seconds:g}s")
                server = servers[page.app]
                cpu_before = server.cpu_seconds()
                result = run_wrk(wrk, page_url, args.seconds, page_cookie, args.threads, args.connections)
                cpu_after = server.cpu_seconds()
                if cpu_before is not None and cpu_after is not None and result["requests"]:
                    result["cpu_ms_per_request"] = (cpu_after - cpu_before) * 1000 / result["requests"]
                wrk_runs[page.name].append(result)
        for server in servers.values():
            if server.process is not None and server.process.poll() is not None:
                raise BenchError(f"{server.name} died during the run:\n{server.log_tail()}")

    rows, passed = summarise(pages, wrk_runs, counts, args.target)
    print_table(rows, args.target, passed, kind)
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
