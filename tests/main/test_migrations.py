"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from webapp.db import db


def test_models_and_migrations_agree(app_ctx):
    # The session `app` fixture built the schema with `flask db upgrade`.
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations; run `make migrate m=...`: {diff}"


@pytest.fixture
def empty_database(database_url, tmp_path):  # type: ignore[no-untyped-def]
    """A database of its own, empty, on the suite's kind of database."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'before.sqlite3'}"
        return
    base, _, name = database_url.rpartition("/")
    scratch = f"{name}_migrate"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    yield f"{base}/{scratch}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    admin.dispose()


def test_existing_tonight_sessions_get_their_own_random_seed(empty_database):
    """Migration 0012 gives every session that exists already 32 random bytes (the
    draw's secret seed), a different value for each."""
    from flask_migrate import upgrade

    from tests.conftest import make_app

    app = make_app(empty_database)
    with app.app_context():
        upgrade(revision="0008")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, username, display_name, bio, is_private, is_admin, is_imported, tier,"
                " session_version, created_at) VALUES (1, 'ann', 'Ann', '', false, false, false, 'free', 1, '2026-01-01')"))
            conn.execute(text("INSERT INTO groups (id, name, owner_id, created_at) VALUES (1, 'Club', 1, '2026-01-01')"))
            for session_id in (1, 2):
                conn.execute(text(
                    "INSERT INTO tonight_sessions (id, group_id, status, constraints, free_text, parsed_by, reranked,"
                    " candidate_count, duration_minutes, created_at, ends_at, ballots)"
                    f" VALUES ({session_id}, 1, 'completed', '{{}}', '', '', false, 2, 15, '2026-01-01', '2026-01-01', 0)"))
        upgrade()
        with db.engine.connect() as conn:
            seeds = list(conn.execute(text("SELECT draw_seed FROM tonight_sessions ORDER BY id")).scalars())
        db.session.remove()
        db.engine.dispose()
    assert [len(seed) for seed in seeds] == [32, 32] and seeds[0] != seeds[1]
