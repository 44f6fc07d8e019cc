"""INSERT ... ON CONFLICT on SQLite and PostgreSQL, without Flask: the provider layer
(which imports no Flask and not webapp.db) uses it directly, the app through
`webapp.db.dialect_insert`, which gives it the session's connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine


def insert_on(bind: Engine | Connection, table: Any):  # type: ignore[no-untyped-def]
    """INSERT with the ON CONFLICT clauses of `bind`'s dialect. `table` is a model or a
    Core table; the statement is on its table, a plain Core statement, which runs many
    rows several times faster than the ORM's bulk INSERT."""
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    return insert(getattr(table, "__table__", table))
