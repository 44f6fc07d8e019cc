"""Fixtures shared by the whole suite.

The database is SQLite in a temporary folder by default; set TEST_DATABASE_URL (a
PostgreSQL URL) to run the same tests on PostgreSQL. The schema is built once per run
by the real migrations, and every test starts from empty tables.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
from types import SimpleNamespace
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine

from webapp import create_app
from webapp.accounts.models import User
from webapp.config import normalise_database_url
from webapp.db import db
from webapp.extensions import cache
from tests import factories
from tests.fakes.smtp import FakeSMTPServer

TEST_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_SECURE": False,
    "SERVER_NAME": None,
    # Jobs (mail) run as they are queued, after the view's commit; mail goes to the
    # session's SMTP server (`smtp_server` sets MAIL_SERVER and MAIL_PORT).
    "JOBS_IMMEDIATE": True,
}


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        path = tmp_path_factory.mktemp("db") / "marquee-test.sqlite3"
        yield f"sqlite:///{path}"
        return
    url = normalise_database_url(url)
    suffix = _worker_suffix()
    if suffix:
        # One database per xdist worker, created next to the given one.
        base, _, name = url.rpartition("/")
        worker_db = f"{name}_{suffix}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{worker_db}"'))
            conn.execute(text(f'CREATE DATABASE "{worker_db}"'))
        admin.dispose()
        url = f"{base}/{worker_db}"
    _reset_postgres(url)
    yield url


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Flask would otherwise reuse a test's pushed app context for the request, sharing
    `g` (flask-login's cached user) and the database session between them. Pending
    work of the test's own session is committed first, so the request sees it and the
    test sees the request's writes afterwards."""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def,override]
        if has_app_context():
            db.session.commit()
        if self.preserve_context:  # `with client:` keeps the request context on purpose
            return super().open(*args, **kwargs)
        return contextvars.Context().run(super().open, *args, **kwargs)


_APPS: list[Flask] = []


def make_app(database_url: str, **overrides: Any) -> Flask:
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url, **overrides})
    app.test_client_class = IsolatedClient
    track_app(app)
    return app


def track_app(app: Flask) -> Flask:
    """Remember an app so its connection pool is closed when the run ends."""
    _APPS.append(app)
    return app


@pytest.fixture(scope="session", autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    for app in _APPS:
        if "marquee_providers" in app.extensions:
            app.extensions["marquee_providers"].close()
        if app.extensions.get("marquee_llm") is not None:
            app.extensions["marquee_llm"].session.close()
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture(autouse=True)
def _close_pools_of_new_apps() -> Iterator[None]:
    """Apps a test builds keep their pooled connections until the run ends otherwise, and
    a few hundred such apps exceed PostgreSQL's connection limit. A disposed engine
    simply connects again if its app is used later (module-scoped apps are)."""
    before = len(_APPS)
    yield
    for app in _APPS[before:]:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def smtp_server() -> Iterator[FakeSMTPServer]:
    """A real SMTP server on 127.0.0.1 that every test app sends its mail to."""
    server = FakeSMTPServer().start()
    TEST_CONFIG.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server: FakeSMTPServer) -> Iterator[FakeSMTPServer]:
    """The SMTP server, emptied for this test: `mailbox.last_link(address)`."""
    smtp_server.clear()
    yield smtp_server
    smtp_server.on_receive = None


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    from flask_migrate import upgrade

    app = make_app(database_url)
    with app.app_context():
        upgrade()  # the real migrations build the schema the tests use
    yield app


RESTART_SEQUENCES = text(
    "SELECT setval(oid::regclass, 1, false) FROM pg_class"
    " WHERE relkind = 'S' AND relnamespace = current_schema()::regnamespace"
)


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            # DELETE, not TRUNCATE, on both databases: PostgreSQL's TRUNCATE gives every
            # table a new file and waits for the old ones to be synced, 10 times slower
            # than deleting a test's few rows. Ids then start again at 1, as TRUNCATE's
            # RESTART IDENTITY would, and as SQLite does once a table is empty.
            for table in reversed(tables):
                conn.execute(text(f"DELETE FROM {table}"))
            if db.engine.dialect.name == "postgresql":
                conn.execute(RESTART_SEQUENCES)
            else:  # AUTOINCREMENT tables remember their highest id here
                conn.execute(text("DELETE FROM sqlite_sequence"))
        # The next test's rows reuse these ids: cached fragments must go with them.
        cache.clear()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask, app_ctx: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def csrf_app(app: Flask, database_url: str) -> Flask:
    """An app with CSRF tokens on, as in production (the suite's `app` turns them off)."""
    return make_app(database_url, WTF_CSRF_ENABLED=True)


@pytest.fixture
def make_user(app_ctx: Flask):  # type: ignore[no-untyped-def]
    def make(**kwargs: Any) -> User:
        return factories.UserFactory(**kwargs)

    return make


@pytest.fixture
def world(make_user):  # type: ignore[no-untyped-def]
    """Sample objects for the access matrix and the form fuzzer (tests/access_matrix.py)."""
    from webapp.accounts.models import OAuthIdentity
    from webapp.social import services as social
    from webapp.social.models import FriendRequest

    owner = make_user(username="owner")
    identity = OAuthIdentity(user_id=owner.id, provider="test", subject="owner-sub")
    db.session.add(identity)
    from webapp.accounts.services import open_login_session

    owner_login = open_login_session(owner, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    requester, asked = make_user(username="requester"), make_user(username="asked")
    incoming = social.send_request(requester, owner)
    outgoing = social.send_request(owner, asked)
    invite = social.create_invite(owner)
    db.session.commit()
    find = lambda a, b: db.session.scalar(  # noqa: E731
        select(FriendRequest).where(FriendRequest.from_user_id == a.id, FriendRequest.to_user_id == b.id)
    )
    assert incoming.status == outgoing.status == "sent"
    from webapp.catalog import services as catalog
    from webapp.catalog.models import Credit, Person, Title

    genre = catalog.create_genre("Drama")
    title = catalog.create_manual_title(
        catalog.TitleData(kind="movie", title="Sample Film", year=1999, runtime_minutes=100, overview="",
                          genre_ids=[genre.id])
    )
    title.tmdb_id = 4242
    album = Title(kind="album", title="Sample Album", sort_title="sample album", source="demo",
                  musicbrainz_id="b2b2b2b2-0000-4000-8000-00000000aaaa", genres=[])
    db.session.add(album)
    person = Person(name="Sample Director")
    db.session.add(person)
    db.session.flush()
    db.session.add(Credit(title_id=title.id, person_id=person.id, role="director"))
    db.session.commit()
    groups = _world_groups(owner, make_user(username="member"), title, album)
    from webapp.weeks import services as weeks
    from webapp.weeks.iso import IsoWeek

    week = IsoWeek(2026, 10)  # the owner's film 1 that week is the sample film
    weeks.add_pick(owner, week, "film", title)
    db.session.commit()
    return SimpleNamespace(
        **groups,
        genre=genre,
        title=title,
        album=album,
        person=person,
        owner=owner,
        stranger=make_user(username="stranger"),
        admin=make_user(username="admin", is_admin=True, tier="admin"),
        identity=identity,
        owner_login=owner_login,
        incoming=find(requester, owner),
        outgoing=find(owner, asked),
        invite=invite,
        week=week,
    )


def _world_groups(owner: User, member: User, title: Any, album: Any) -> dict[str, Any]:
    """A group of the owner and a friend, its watchlist, a code, a decided session and
    an open one."""
    from webapp.groups import services as groups
    from webapp.groups import watchlist
    from webapp.social import services as social
    from webapp.tonight import services as tonight
    from webapp.tonight.parsing import Constraints

    social.redeem_invite(member, social.create_invite(owner).code)
    group = groups.create_group(owner, "Sample Group", [member.id])
    item, _ = watchlist.add_item(group, owner, title, "a classic")
    album_item, _ = watchlist.add_item(group, member, album)
    group_invite = groups.create_invite(groups.membership(owner, group.id), max_uses=5)
    decided = tonight.start_session(group, owner, Constraints(), candidate_count=2)
    tonight.shuffle(decided)
    db.session.commit()
    session = tonight.start_session(group, owner, Constraints(), candidate_count=2)
    db.session.commit()
    return {
        "member": member,
        "group": group,
        "item": item,
        "album_item": album_item,
        "group_invite": group_invite,
        "decided": decided,
        "session": session,
        "card": tonight.deck(session)[0],
    }


def login(client: FlaskClient, user: User) -> None:
    """Log a test client in without going through the form (the form has its own tests):
    a new login session for `user`, its token in the client's cookie."""
    from webapp.accounts.services import open_login_session

    with contextlib.nullcontext() if has_app_context() else client.application.app_context():
        open_login_session(user, user_agent="")
        db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True


@pytest.fixture
def auth(client: FlaskClient, make_user):  # type: ignore[no-untyped-def]
    """A logged-in client: `auth.user` is the account."""

    class Auth:
        user: User

        def login(self, user: User | None = None, **kwargs: Any) -> User:
            self.user = user or make_user(**kwargs)
            login(client, self.user)
            return self.user

    helper = Auth()
    helper.login()
    return helper


HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def __call__(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)\b", statement, re.I):
            self.statements.append(statement)


@contextlib.contextmanager
def count_queries(engine: type[Engine] | Engine = Engine) -> Iterator[QueryCounter]:
    """Count SQL statements sent by `engine` (by default: every engine)."""
    counter = QueryCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
def query_budget(app_ctx: Flask):  # type: ignore[no-untyped-def]
    """`with query_budget(3): client.get(...)` fails if the block runs more than 3 queries."""

    @contextlib.contextmanager
    def budget(limit: int) -> Iterator[QueryCounter]:
        with count_queries() as counter:
            yield counter
        assert counter.count <= limit, (
            f"{counter.count} queries, budget {limit}:\n" + "\n".join(counter.statements)
        )

    return budget


@pytest.fixture
def make_limited_app(app: Flask, database_url: str):  # type: ignore[no-untyped-def]
    """`make_limited_app(RATELIMIT_X="2 per hour", storage=...)`: an app with rate limits
    on and its counters empty (in memory unless `storage` names a Redis database; `fresh`
    False shares the counters of the app made before, as a second worker would). The
    limiter is one object shared by every app, and keeps the first key prefix it was
    given: limits are turned back off after the test, so later tests run unlimited."""
    import uuid

    from webapp.extensions import limiter

    def make(*, storage: str = "memory://", fresh: bool = True, **overrides: Any) -> Flask:
        limited = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=storage,
                           RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex}", **overrides)
        if fresh:
            with limited.app_context():
                limiter.reset()
        return limited

    yield make
    limiter.enabled = False
