"""Checks for serving Marquee with several processes (gunicorn.conf.py runs them).

Rate limits count in the storage Flask-Limiter is given (RATELIMIT_STORAGE_URI, or
REDIS_URL). In memory (`memory://`, the default) each process keeps its own counts, so
with N gunicorn workers a limit of 10 a minute lets through up to 10 × N. Several
workers therefore need storage that every process shares (Redis); without it gunicorn
refuses to start more than one worker, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dotenv import load_dotenv

from webapp.config import PROJECT_ROOT, _bool


def limit_storage(env: Mapping[str, str]) -> str:
    """The storage the app's limits will use: as load_config() decides it."""
    return env.get("RATELIMIT_STORAGE_URI") or env.get("REDIS_URL") or "memory://"


def workers_problem(workers: int, env: Mapping[str, str] | None = None) -> str | None:
    """Why `workers` processes must not serve this configuration, or None."""
    if env is None:
        load_dotenv(PROJECT_ROOT / ".env", override=False)  # what the app will read
        env = os.environ
    if workers <= 1 or not _bool(env.get("RATELIMIT_ENABLED"), True):
        return None
    storage = limit_storage(env)
    if not storage.startswith("memory://"):
        return None
    return (
        f"Refusing to start {workers} workers: rate limits are kept in each process's memory "
        f"({storage}), so every worker would count on its own and a limit of 10 a minute would let "
        f"{10 * workers} through. Set REDIS_URL (or RATELIMIT_STORAGE_URI) to a Redis that every "
        "worker shares, or run a single worker (--workers 1, with --threads for concurrency)."
    )
