"""Database base class, naming convention and the transaction modes (autocommit reads,
SQLite's write lock).

Statements built once: queries that run on every request of a busy page (the user
loader, a profile's sections) are module-level selects with bindparam() for their
values. SQLAlchemy caches the compiled SQL, but building a select and computing its
cache key again took 60-80 µs a query, more than running it on SQLite.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from flask import Flask, g
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import MetaData, event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase

from webapp.dialect import insert_on

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# One connection per app context (a request, a CLI command): opened on first use, by
# the ORM session or by code that needs no session, and closed when the context ends.
# A page served from the cache reads the signed-in account on it and never creates an
# ORM session: creating and closing one cost 15% of such a page.
_CONNECTION = "marquee_connection"
_KEPT = "marquee_kept_instances"  # what every ORM session of the context takes in


def context_connection() -> Connection:
    """The app context's database connection."""
    connection: Connection | None = g.get(_CONNECTION)
    if connection is None or connection.closed:
        connection = db.engine.connect()
        setattr(g, _CONNECTION, connection)
    return connection


def add_when_used(instance: object) -> None:
    """Keep a loaded instance (see make_transient_to_detached) in the app context's ORM
    sessions: the current one if it exists, and each one created later in the context.
    Until then it reads like a loaded instance; what is changed on it meanwhile is
    flushed once it is in a session."""
    g.setdefault(_KEPT, []).append(instance)
    if db.session.registry.has():
        db.session.add(instance)


class ContextSession(Session):
    """db.session: an ORM session on the app context's connection, which it controls
    fully (join_transaction_mode="control_fully"): its commit commits and its rollback
    rolls back a transaction begun on that connection before the session existed."""

    def __init__(self, db: SQLAlchemy, **kwargs: Any) -> None:
        super().__init__(db, **kwargs)
        for instance in g.get(_KEPT, ()):
            state = inspect(instance)
            if state.detached and not state.was_deleted:
                self.add(instance)

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        # One database (no SQLALCHEMY_BINDS): every mapper's bind is the context's.
        return bind if bind is not None else context_connection()


db = SQLAlchemy(
    model_class=Base,
    session_options={"class_": ContextSession, "join_transaction_mode": "control_fully"},
)


def init_db(app: Flask) -> None:
    db.init_app(app)

    @app.teardown_appcontext
    def _close_context_connection(_exc: BaseException | None) -> None:
        db.session.remove()  # first, whichever teardown runs first: it may hold a transaction
        connection = g.pop(_CONNECTION, None)
        g.pop(_KEPT, None)
        if connection is not None:
            connection.close()


def utcnow() -> datetime:
    """Naive UTC, the form both SQLite and PostgreSQL columns hold here."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# SQLite: pysqlite's own transaction handling is switched off so that we can say
# BEGIN IMMEDIATE for transactions that read then write (every non-GET request, or
# code inside `write_transaction()`); other transactions outside read requests keep a
# deferred BEGIN. WAL lets readers run beside the one writer.
_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_immediate", default=False)


def set_write_intent(value: bool) -> contextvars.Token[bool]:
    return _immediate.set(value)


# Read requests (set_read_request, for GETs) run their statements in autocommit, on
# both databases: no BEGIN and no ROLLBACK, two round trips a request on PostgreSQL and
# two driver calls on SQLite. Each statement then reads its own snapshot. PostgreSQL's
# READ COMMITTED does that inside a transaction too, so SQLite now reads the way
# production does. Any other statement (a write, a locking read, a savepoint) first
# begins a transaction (BEGIN IMMEDIATE on SQLite, which no read snapshot has to be
# upgraded to), so whatever a read request writes from there on is atomic as ever.
# Outside requests (CLI, tests, the vote storm) and inside `write_transaction()` every
# transaction is a real one from its start.
_reading: contextvars.ContextVar[bool] = contextvars.ContextVar("read_request", default=False)


def set_read_request(value: bool) -> contextvars.Token[bool]:
    return _reading.set(value)


def write_aside(statement: Any, parameters: dict[str, Any]) -> None:
    """Run one small write that a request makes on the side (a session's last-seen
    time). In a read request that has not begun a transaction it is committed at once,
    on a connection of its own: the context connection reads in autocommit and nothing
    would commit it. Otherwise it joins the request's transaction on the context
    connection, committed with the request's own writes (and lost with them)."""
    connection = context_connection()
    if _reading.get() and not _immediate.get() and not _in_database_transaction(connection):
        with db.engine.begin() as own:
            own.execute(statement, parameters)
    else:
        connection.execute(statement, parameters)


def _in_database_transaction(connection: Connection) -> bool:
    driver = connection.connection.driver_connection
    if connection.dialect.name == "sqlite":
        return bool(driver.in_transaction)  # type: ignore[union-attr]
    from psycopg.pq import TransactionStatus

    return driver.info.transaction_status != TransactionStatus.IDLE  # type: ignore[union-attr]


_LOCKING = re.compile(r"\bFOR (?:NO KEY UPDATE|UPDATE|KEY SHARE|SHARE)\b|pg_advisory", re.IGNORECASE)


@lru_cache(maxsize=2048)
def _plain_read(statement: str) -> bool:
    """A SELECT that takes no lock: safe to run outside a transaction. Anything else,
    lower-case SQL included, counts as needing one."""
    return statement.startswith("SELECT ") and _LOCKING.search(statement) is None


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """Run the enclosed session work in a write transaction (BEGIN IMMEDIATE on SQLite)."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine)


# Marks a connection that read-request autocommit was switched on for (and by): only
# those are switched back, so a connection asked for with isolation_level="AUTOCOMMIT"
# (VACUUM, CREATE DATABASE) keeps it.
READ_AUTOCOMMIT = "marquee_read_autocommit"


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # psycopg sends BEGIN itself, before the first statement, unless in autocommit.
        # Setting the flag is local: no transaction is open at a begin.
        driver, info = conn.connection.driver_connection, conn.connection.info
        if _reading.get() and not _immediate.get():
            if not driver.autocommit:
                driver.autocommit = info[READ_AUTOCOMMIT] = True
        elif info.pop(READ_AUTOCOMMIT, False):
            driver.autocommit = False

    @event.listens_for(engine, "before_cursor_execute")
    def _writes_are_transactions(conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        info = conn.connection.info
        if info.get(READ_AUTOCOMMIT) and not _plain_read(statement):
            del info[READ_AUTOCOMMIT]
            conn.connection.driver_connection.autocommit = False  # this statement begins the transaction

    @event.listens_for(engine, "checkin")
    def _end_read_autocommit(dbapi_connection, record):  # type: ignore[no-untyped-def]
        if record.info.pop(READ_AUTOCOMMIT, False) and not dbapi_connection.closed:
            dbapi_connection.autocommit = False


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Straight to the driver: these statements need none of SQLAlchemy's statement
        # handling (nor its echo or cursor events).
        if _immediate.get():
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")
        elif not _reading.get():
            conn.connection.driver_connection.execute("BEGIN")

    @event.listens_for(engine, "before_cursor_execute")
    def _writes_are_transactions(conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        driver = conn.connection.driver_connection
        if not driver.in_transaction and _reading.get() and not _plain_read(statement):
            driver.execute("BEGIN IMMEDIATE")  # this statement begins the transaction


def dialect_insert(table: Any):  # type: ignore[no-untyped-def]
    """INSERT with the ON CONFLICT clauses of the session's dialect (SQLite or
    PostgreSQL), on a model's or a Core table (see webapp/dialect.py)."""
    return insert_on(db.session.get_bind(), table)


def insert_or_ignore(model: type[Base], **values: object) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL; True if a row was added.

    The database decides races on unique constraints: of simultaneous inserts of the
    same key exactly one wins and the others do nothing."""
    return insert_returning_id(model, **values) is not None


def insert_returning_id(model: type[Base], **values: object) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new row's id, or None when a
    unique constraint (partial unique indexes included) already holds such a row."""
    key = list(model.__table__.primary_key.columns)
    statement = dialect_insert(model).values(**values).on_conflict_do_nothing().returning(*key)
    # RETURNING, not rowcount: with implicit RETURNING drivers report rowcount -1.
    row = db.session.execute(statement).first()
    return None if row is None else row[0]


def upsert(model: type[Base], rows: list[dict[str, object]], *, keys: list[str], update: list[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET update-columns, for many rows in one
    statement: the last writer wins, and no row is ever duplicated or lost."""
    if not rows:
        return
    statement = dialect_insert(model).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in update}
    )
    db.session.execute(statement)
