"""Settings read from the environment (and a `.env` file when present), with safe defaults."""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret(instance_path: Path) -> str:
    """A development secret kept in instance/ so sessions survive restarts in debug."""
    path = instance_path / "dev-secret-key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def oauth_providers_from_env(env: os._Environ[str] | dict[str, str]) -> dict[str, dict[str, str]]:
    """Collect OAUTH_<NAME>_* settings for every provider that has a client id.

    Google and Facebook have built-in endpoints; any other name is an OIDC provider
    and needs OAUTH_<NAME>_METADATA_URL.
    """
    providers: dict[str, dict[str, str]] = {}
    for key, value in env.items():
        if key.startswith("OAUTH_") and key.endswith("_CLIENT_ID") and value:
            name = key[len("OAUTH_") : -len("_CLIENT_ID")].lower()
            prefix = f"OAUTH_{name.upper()}_"
            providers[name] = {
                k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix) and v
            }
    return providers


PROVIDER_SETTINGS = (
    "TMDB_TOKEN",
    "TMDB_API_KEY",
    "TMDB_API_URL",
    "TMDB_IMAGE_URL",
    "MUSICBRAINZ_API_URL",
    "MUSICBRAINZ_USER_AGENT",
    "MUSICBRAINZ_ENABLED",
    "COVERART_API_URL",
    "OMDB_API_KEY",
    "OMDB_API_URL",
    "PROVIDER_TIMEOUT",
    # Tonight's assistant (an OpenAI-compatible chat API): all optional.
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "LLM_TIMEOUT",
)


def load_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    env = os.environ
    debug = _bool(env.get("FLASK_DEBUG"))
    testing = bool((overrides or {}).get("TESTING"))
    default_db = f"sqlite:///{instance_path / 'marquee.sqlite3'}"

    config: dict[str, Any] = {
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(env.get("DATABASE_URL") or default_db),
        # UTF-8 on the wire whatever the database's encoding: a database made with
        # initdb's C locale is SQL_ASCII, and psycopg would hand back bytes for its text
        # (SQLAlchemy then fails at the first connection).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"client_encoding": "utf8"}},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or env.get("REDIS_URL") or "memory://",
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        # Rendered fragments (webapp/caching.py): Redis when one is configured, so every
        # app server shares them; otherwise each process keeps its own. Tests always get
        # a fresh in-process cache: their databases reuse ids.
        **_cache_config(env, testing),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN") or "10 per minute;100 per hour",
        "RATELIMIT_REGISTER": env.get("RATELIMIT_REGISTER") or "5 per minute;30 per hour",
        # Per client address and User-Agent; an album search that waits counts twice.
        "RATELIMIT_SEARCH": env.get("RATELIMIT_SEARCH") or "40 per minute;400 per hour",
        # Seconds a search waits for MusicBrainz's site-wide queue before it shows the rest.
        "SEARCH_QUEUE_WAIT": float(env.get("SEARCH_QUEUE_WAIT") or 1.0),
        # Reverse proxies in front of the app whose X-Forwarded-* headers are believed
        # (werkzeug's ProxyFix); 0 believes none, so a client cannot choose its address.
        "TRUSTED_PROXY_HOPS": _hops(env.get("TRUSTED_PROXY_HOPS")),
        "RATELIMIT_IMPORT": env.get("RATELIMIT_IMPORT") or "10 per hour",  # per account
        "IMPORT_MAX_ROWS": int(env.get("IMPORT_MAX_ROWS") or 5000),
        # Per person (keyed by user id): new groups, hand-made titles. Per address: join links.
        "RATELIMIT_GROUP_CREATE": env.get("RATELIMIT_GROUP_CREATE") or "10 per hour",
        "RATELIMIT_MANUAL_TITLE": env.get("RATELIMIT_MANUAL_TITLE") or "30 per day",
        "RATELIMIT_JOIN_PAGE": env.get("RATELIMIT_JOIN_PAGE") or "30 per minute;300 per hour",
        "GROUPS_OWNED_MAX": int(env.get("GROUPS_OWNED_MAX") or 50),
        "FRIEND_REQUEST_COOLDOWN_DAYS": int(env.get("FRIEND_REQUEST_COOLDOWN_DAYS") or 7),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 256 * 1024,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": not debug,
        "SESSION_COOKIE_NAME": "marquee_session",
        "PERMANENT_SESSION_LIFETIME": 30 * 24 * 3600,
        # The 30 days count from login; re-signing the cookie on every response costs
        # more than it gives.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "REMEMBER_COOKIE_SECURE": not debug,
        "HSTS_ENABLED": not debug,
        "OAUTH_PROVIDERS": oauth_providers_from_env(env),
        # Catalog providers (webapp/providers): all optional.
        **{key: env.get(key) or None for key in PROVIDER_SETTINGS if not testing},
        "OAUTH_HTTP_TIMEOUT": float(env.get("OAUTH_HTTP_TIMEOUT") or 5),
        **_mail_config(env, instance_path),
    }
    if overrides:
        config.update(overrides)
        if "DATABASE_URL" in overrides:
            config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(overrides["DATABASE_URL"])
    if not config["SECRET_KEY"]:
        if debug or testing:
            config["SECRET_KEY"] = _instance_secret(instance_path) if debug else "testing-secret"
        else:
            raise RuntimeError(
                "SECRET_KEY is not set. Set it in the environment (or .env) before serving "
                "Marquee outside debug mode."
            )
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    return config


def _hops(value: str | None) -> int:
    try:
        hops = int(value or 0)
    except ValueError:
        hops = -1
    if hops < 0:
        raise RuntimeError(f"TRUSTED_PROXY_HOPS must be a whole number of proxies (0 or more), not {value!r}.")
    return hops


def _mail_config(env: os._Environ[str], instance_path: Path) -> dict[str, Any]:
    """Mail over SMTP (webapp/mail.py), sent by background jobs (webapp/jobs.py). Without
    MAIL_SERVER, mail is printed and kept in instance/outbox/."""
    return {
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(env.get("MAIL_PORT") or 25),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER") or "Marquee <marquee@localhost>",
        "MAIL_TIMEOUT": float(env.get("MAIL_TIMEOUT") or 10),
        "MAIL_FILE_PATH": str(instance_path / "outbox"),
        # A failed send is tried again this many times, after 30 s, 60 s, 120 s...
        "MAIL_RETRIES": 3,
        "MAIL_RETRY_DELAY": 30,
        # Jobs: Redis when REDIS_URL is set, otherwise SQLite in instance/. JOBS_IMMEDIATE
        # runs each job as it is queued (huey's immediate mode: the tests use it).
        "JOBS_SQLITE_PATH": env.get("JOBS_SQLITE_PATH") or str(instance_path / "jobs.sqlite3"),
        "JOBS_IMMEDIATE": _bool(env.get("JOBS_IMMEDIATE")),
        "RATELIMIT_PASSWORD_RESET": env.get("RATELIMIT_PASSWORD_RESET") or "5 per minute;20 per hour",
        "RATELIMIT_PASSWORD_RESET_ADDRESS": env.get("RATELIMIT_PASSWORD_RESET_ADDRESS") or "3 per hour",
        "RATELIMIT_RESEND_LINK": env.get("RATELIMIT_RESEND_LINK") or "1 per minute;5 per day",
        "RATELIMIT_SETTINGS": env.get("RATELIMIT_SETTINGS") or "10 per minute;60 per hour",
    }


def _cache_config(env: os._Environ[str], testing: bool) -> dict[str, Any]:
    redis_url = None if testing else (env.get("CACHE_REDIS_URL") or env.get("REDIS_URL") or None)
    return {
        "CACHE_TYPE": "RedisCache" if redis_url else "SimpleCache",
        "CACHE_REDIS_URL": redis_url,
        # Options of the Redis client: a cache that does not answer in time is skipped.
        "CACHE_OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25} if redis_url else None,
        "CACHE_DEFAULT_TIMEOUT": 24 * 3600,
        "CACHE_THRESHOLD": 1000,  # entries per process (in-process store only)
        # HTML made by one set of templates and code is never served by another: a
        # deploy that changes either starts a new key space, and the old one ages out.
        "CACHE_KEY_PREFIX": f"marquee:{_build_digest()}:",
    }


@functools.cache
def _build_digest() -> str:
    """The digest of this checkout's templates and Python code, computed once per process."""
    return source_digest(PROJECT_ROOT / "templates", "*") + source_digest(PROJECT_ROOT / "webapp", "*.py")


def source_digest(folder: Path, pattern: str) -> str:
    """A short digest of the names and contents of the files under `folder` matching
    `pattern`, in a fixed order, so that every process of one deploy agrees on it and
    any edit, addition or removal changes it."""
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(path for path in folder.rglob(pattern) if path.is_file()):
        content = path.read_bytes()
        digest.update(f"{path.relative_to(folder).as_posix()}\x00{len(content)}\x00".encode())
        digest.update(content)
    return digest.hexdigest()


def normalise_database_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use the psycopg 3 driver for both."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
