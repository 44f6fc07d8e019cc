"""login sessions: one row per signed-in browser (login_sessions), and ids that are
never reused (SQLite AUTOINCREMENT)

A session cookie carries an account id and a random token whose SHA-256 is a
login_sessions row; ending a session deletes the row, so users.session_version goes.
SQLite gives a deleted table's top id to the next row unless the table says
AUTOINCREMENT, and an old cookie or link would then name someone else: every table
whose ids appear in URLs, forms or sessions is rebuilt with it. SQLite can only do that
by recreating the table (its own procedure: create, copy, drop, rename; env.py turns
foreign keys off meanwhile, or the drop would delete the rows that reference it), and
puts back the table's indexes and triggers (the profile_version triggers of 0007) from
their stored definitions. PostgreSQL's sequences never hand out a value twice.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:10:00

"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Tables whose ids appear in URLs, forms or sessions (login_sessions is made with it).
AUTOINCREMENT_TABLES = [
    "users", "oauth_identities", "friend_requests", "friend_invites", "groups", "group_invites",
    "watchlist_items", "tonight_sessions", "tonight_candidates", "titles", "people", "genres", "weeks",
]


def upgrade():
    op.create_table(
        'login_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('device', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_login_sessions_token_hash')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_login_sessions_user_id'), 'login_sessions', ['user_id'], unique=False)
    # Sessions of the old kind (id:version) end: the loader no longer reads them.
    op.drop_column('users', 'session_version')
    if op.get_bind().dialect.name == "sqlite":
        for table in AUTOINCREMENT_TABLES:
            _recreate_sqlite(table, autoincrement=True)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for table in AUTOINCREMENT_TABLES:
            _recreate_sqlite(table, autoincrement=False)
    op.add_column('users', sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
    op.drop_index(op.f('ix_login_sessions_user_id'), table_name='login_sessions')
    op.drop_table('login_sessions')


def _recreate_sqlite(table, *, autoincrement):
    """Rebuild `table` from its stored CREATE TABLE with or without AUTOINCREMENT on its
    id, keeping its rows, constraints, indexes and triggers."""
    bind = op.get_bind()
    create = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    extras = [sql for (sql,) in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL"
        " ORDER BY type, name", (table,)
    )]
    temporary = f"_new_{table}"
    sql, count = re.subn(rf'^CREATE TABLE ("?){table}\1 \(', f'CREATE TABLE "{temporary}" (', create)
    assert count == 1, create
    sql = _with_autoincrement(sql, table) if autoincrement else _without_autoincrement(sql, table)
    op.execute(sql)
    op.execute(f'INSERT INTO "{temporary}" SELECT * FROM "{table}"')
    op.execute(f'DROP TABLE "{table}"')
    # Legacy rename: SQLite's newer one checks every trigger of the schema, and those
    # of other tables name this one, which does not exist until the rename is done.
    op.execute("PRAGMA legacy_alter_table = ON")
    op.execute(f'ALTER TABLE "{temporary}" RENAME TO "{table}"')
    op.execute("PRAGMA legacy_alter_table = OFF")
    for statement in extras:
        op.execute(statement)


def _with_autoincrement(sql, table):
    # As SQLAlchemy writes it for sqlite_autoincrement=True: on the column, unnamed.
    sql, dropped = re.subn(rf',\s*CONSTRAINT pk_{table} PRIMARY KEY \(id\)', '', sql)
    sql, marked = re.subn(r'(\n\s*)id INTEGER NOT NULL,', r'\1id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,', sql)
    assert dropped == marked == 1, sql
    return sql


def _without_autoincrement(sql, table):
    sql, marked = re.subn(r'id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,', 'id INTEGER NOT NULL,', sql)
    sql, added = re.subn(r'\n\)$', f', \n\tCONSTRAINT pk_{table} PRIMARY KEY (id)\n)', sql)
    assert marked == added == 1, sql
    return sql
