import contextlib
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Connection, create_engine, event, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.conftest import login, make_app
from webapp.accounts import services as accounts
from webapp.accounts.models import User
from webapp.db import db, insert_or_ignore
from webapp.social.models import Friendship


def test_insert_or_ignore_reports_whether_it_inserted(make_user):
    a, b = make_user(), make_user()
    assert insert_or_ignore(Friendship, user_low_id=a.id, user_high_id=b.id) is True
    assert insert_or_ignore(Friendship, user_low_id=a.id, user_high_id=b.id) is False
    db.session.commit()
    assert len(db.session.query(Friendship).all()) == 1


def test_a_sql_ascii_postgresql_database_keeps_unicode(database_url):
    """initdb under the C locale makes SQL_ASCII databases. Marquee asks for UTF-8 on the
    wire, so it starts, migrates and keeps any text there too (without that, psycopg
    returns bytes and SQLAlchemy fails at the first connection)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite databases have no server encoding")
    base, _, name = database_url.rpartition("/")
    probe = f"{name}_sql_ascii"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{probe}" WITH (FORCE)'))
        conn.execute(text(f"CREATE DATABASE \"{probe}\" ENCODING 'SQL_ASCII' TEMPLATE template0 "
                          "LC_COLLATE 'C' LC_CTYPE 'C'"))
    name_shown = "Zoë 映画 ✨"
    try:
        app = make_app(f"{base}/{probe}")
        with app.app_context():
            upgrade()
            user = accounts.register(email="zoe@example.com", username="zoe", display_name=name_shown,
                                     password="velvet-marquee-42", birth_date=None)
            db.session.commit()
            assert db.session.scalar(select(User.display_name).where(User.id == user.id)) == name_shown
            client = app.test_client()
            login(client, user)
            assert name_shown in client.get("/u/zoe").get_data(as_text=True)
        with app.app_context():  # the first one's connection is closed with it
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{probe}" WITH (FORCE)'))
        admin.dispose()


# Transactions of read requests (webapp/db.py): a GET reads in autocommit, and its first
# write or locking read begins a transaction.

@contextlib.contextmanager
def _engine_event(name: str, listener: Callable[..., None]) -> Iterator[None]:
    """`listener` hears the app engine's event `name` inside the block."""
    event.listen(db.engine, name, listener)
    try:
        yield
    finally:
        event.remove(db.engine, name, listener)


@contextlib.contextmanager
def _open_transaction_after_each_statement() -> Iterator[list[bool]]:
    """After each statement the app's engine runs: is a transaction open on the database?"""
    seen: list[bool] = []

    def after(conn, _cursor, _statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        driver = conn.connection.driver_connection
        if conn.dialect.name == "sqlite":
            seen.append(driver.in_transaction)
        else:
            seen.append(driver.info.transaction_status.name != "IDLE")

    with _engine_event("after_cursor_execute", after):
        yield seen


def test_pages_read_without_a_transaction_and_forms_write_in_one(client, auth):
    """A page's reads send no BEGIN and no ROLLBACK (on PostgreSQL two round trips of
    each request); a form's statements all run inside its transaction."""
    me = auth.user
    profile = f"/u/{me.username}"
    settings = {"display_name": "Renamed", "username": me.username, "email": me.email, "bio": "hello"}
    db.session.commit()
    with _open_transaction_after_each_statement() as reads:
        assert client.get(profile).status_code == 200
        assert client.get("/friends").status_code == 200
    assert reads and not any(reads)
    with _open_transaction_after_each_statement() as writes:
        assert client.post("/settings", data=settings).status_code == 303
    assert writes and all(writes)
    assert db.session.scalar(select(User.bio).where(User.id == me.id)) == "hello"


@contextlib.contextmanager
def _in_a_read_request(app: Flask, inside: bool) -> Iterator[None]:
    if not inside:
        yield
        return
    with app.test_request_context("/", method="GET"):
        app.preprocess_request()  # the before-request hooks choose the transaction mode
        yield


@pytest.mark.parametrize("inside", [True, False], ids=["in a GET", "outside requests"])
def test_writes_are_atomic_in_read_requests_too(app, make_user, inside):
    """A GET may write (a due tonight vote is settled, a title's details cached). Its
    writes are one transaction: when the second fails, the first is undone."""
    taken = make_user(username="taken")
    db.session.commit()
    with _in_a_read_request(app, inside):
        db.session.execute(select(User.id)).all()  # the request has read already
        db.session.add(User(email="first@example.com", username="first", display_name="First"))
        db.session.flush()
        db.session.add(User(email="second@example.com", username=taken.username, display_name="Clash"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
    assert db.session.scalar(select(User.id).where(User.username == "first")) is None


def test_a_locking_read_in_a_get_holds_its_lock(app, database_url, make_user):
    """SELECT ... FOR UPDATE in a read request begins a transaction, so the row stays
    locked until it ends (in autocommit the lock would be gone with the statement)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no row locks (its writers take the whole database)")
    user = make_user()
    db.session.commit()
    other = create_engine(database_url)
    try:
        with _in_a_read_request(app, inside=True):
            db.session.execute(select(User.id).where(User.id == user.id).with_for_update()).all()
            with other.connect() as conn:
                conn.execute(text("SET lock_timeout = '200ms'"))
                with pytest.raises(OperationalError, match="lock timeout"):
                    conn.execute(update(User).where(User.id == user.id).values(bio="elsewhere"))
            db.session.rollback()
        with other.begin() as conn:  # released with the transaction
            conn.execute(update(User).where(User.id == user.id).values(bio="elsewhere"))
    finally:
        other.dispose()


@pytest.mark.parametrize("inside", [True, False], ids=["in a GET", "outside requests"])
def test_an_autocommit_connection_asked_for_stays_autocommit(app, app_ctx, database_url, inside):
    """Read-request autocommit only switches back what it switched on: VACUUM (which no
    transaction may hold) still runs on a connection asked for with AUTOCOMMIT."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: the SQLite engine has no isolation-level switch")
    with _in_a_read_request(app, inside):
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE users"))


# The app context's one connection (webapp.db.context_connection): the user loader reads
# on it before any ORM session exists, and the session then works on it.

@contextlib.contextmanager
def _connections() -> Iterator[list[Connection]]:
    """The connections the app's engine hands out meanwhile (kept, so none is closed by
    being garbage-collected)."""
    opened: list[Connection] = []
    with _engine_event("engine_connect", opened.append):
        yield opened


def test_a_request_takes_one_connection_and_closes_it(client, auth):
    """The signed-in account, read before any ORM session exists, and a page's own
    queries share one connection: on PostgreSQL a second one would cost another ping.
    It is closed (back in the pool) when the request ends."""
    me = auth.user
    db.session.commit()
    settings = {"display_name": "Renamed", "username": me.username, "email": me.email, "bio": "hello"}
    for method, path in [("GET", "/friends"), ("GET", f"/u/{me.username}"), ("GET", "/settings"),
                         ("POST", "/settings")]:
        with _connections() as opened:
            response = client.open(path, method=method, data=settings if method == "POST" else None)
            assert response.status_code in (200, 303)
        assert len(opened) == 1 and opened[0].closed, path


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "rollback"])
def test_the_session_controls_a_transaction_begun_before_it(app, make_user, commit):
    """A form request reads the account on the context's connection first, which begins
    its transaction (BEGIN IMMEDIATE on SQLite). The session created afterwards commits
    or rolls back that transaction, with what was written on the connection before it."""
    from webapp.db import context_connection

    db.session.commit()
    with app.app_context(), app.test_request_context("/settings", method="POST"):
        app.preprocess_request()  # write intent, as for any form
        context_connection().execute(User.__table__.insert().values(
            email="early@example.com", username="early", display_name="Early"))
        db.session.add(User(email="late@example.com", username="late", display_name="Late"))
        db.session.commit() if commit else db.session.rollback()
    names = set(db.session.scalars(select(User.username).where(User.username.in_(["early", "late"]))))
    assert names == ({"early", "late"} if commit else set())
