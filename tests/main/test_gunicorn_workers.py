"""Rate limits hold across gunicorn workers: with shared storage (Redis) a limit counts
once for all of them, and per-process storage refuses to start several workers.

These start the real gunicorn from the project root, so it reads gunicorn.conf.py as
production does."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from webapp.serving import workers_problem

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 6
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
START_TIMEOUT = 60


def redis_or_skip() -> None:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=2).flushdb()
    except Exception as exc:  # noqa: BLE001 - any failure means "Redis does not answer"
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer on 127.0.0.1:6379 in CI: {exc}")
        pytest.skip(f"Redis does not answer on 127.0.0.1:6379 ({exc}): the 2-worker limit test needs it")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RATELIMIT_", "OAUTH_", "TMDB_", "OMDB_", "OPENAI_", "MAIL_"))
           and k not in {"REDIS_URL", "CACHE_REDIS_URL", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "DATABASE_URL"}}
    env.update(
        SECRET_KEY="gunicorn-test-secret",
        DATABASE_URL=f"sqlite:///{database}",
        FLASK_APP="webapp",
        FLASK_DEBUG="0",
        MUSICBRAINZ_ENABLED="0",
        PYTHONUNBUFFERED="1",
        **settings,
    )
    return env


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file prepared as a deployment would: `flask db upgrade`."""
    path = tmp_path_factory.mktemp("gunicorn") / "marquee.sqlite3"
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=server_env(path),
                   check=True, capture_output=True, timeout=120)
    return path


def gunicorn(workers: int, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--no-control-socket", "--graceful-timeout", "5", "wsgi:app"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)


@contextmanager
def serving(workers: int, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = gunicorn(workers, port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited during start-up:\n{process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if requests.get(base + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not answer /health in time")
            time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the master stops its own workers
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        process.stdout.close()  # type: ignore[union-attr]


def test_the_login_limit_holds_across_two_workers_with_redis(database):
    redis_or_skip()
    env = server_env(database, REDIS_URL=REDIS_URL, RATELIMIT_LOGIN="10 per minute")
    with serving(2, env) as base, requests.Session() as client:
        page = client.get(base + "/login", timeout=10)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert page.status_code == 200 and token, "no CSRF token on the login page"
        form = {"csrf_token": token.group(1), "login": "nobody@example.com", "password": "not the password"}
        statuses = []
        for _ in range(40):
            for cookie in client.cookies:  # Secure outside debug; this test speaks plain http
                cookie.secure = False
            statuses.append(client.post(base + "/login", data=form, timeout=30).status_code)
    assert statuses[:10] == [422] * 10, statuses
    assert statuses[10:] == [429] * 30, statuses


def test_two_workers_with_per_process_limit_storage_refuse_to_start(database):
    env = server_env(database, RATELIMIT_STORAGE_URI="memory://")
    process = gunicorn(2, free_port(), env)
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    assert process.returncode != 0
    assert "Refusing to start 2 workers: rate limits are kept in each process's memory" in output
    assert "Set REDIS_URL (or RATELIMIT_STORAGE_URI)" in output
    assert "Booting worker" not in output


def test_one_worker_with_memory_storage_starts(database):
    env = server_env(database, RATELIMIT_STORAGE_URI="memory://")
    with serving(1, env) as base:
        assert requests.get(base + "/health", timeout=10).status_code == 200


def test_which_configurations_may_run_several_workers():
    assert workers_problem(2, {}) is not None  # memory:// by default
    assert workers_problem(1, {}) is None
    assert workers_problem(4, {"REDIS_URL": "redis://cache:6379/0"}) is None
    assert workers_problem(4, {"RATELIMIT_STORAGE_URI": "redis://cache:6379/1"}) is None
    assert workers_problem(2, {"RATELIMIT_ENABLED": "0"}) is None  # no limits to share (the bench)
    assert workers_problem(2, {"REDIS_URL": "redis://x", "RATELIMIT_STORAGE_URI": "memory://"}) is not None
