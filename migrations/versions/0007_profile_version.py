"""profile version: users.profile_version, bumped by triggers whenever what someone's
profile and weeks stats show changes (their weeks and weekly picks, their viewings,
their friendships, or the name, year, cover, credit, genres, directors or artists of
a title they picked or watched)

The profile's details and the weeks stats are cached under this number
(webapp/caching.py).
Triggers rather than application code keep it right for every write path: the
services' conditional UPDATEs and INSERT ... ON CONFLICT, the import, foreign-key
cascades when an account or a title is deleted, and whatever comes later.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 07:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BUMP = "UPDATE users SET profile_version = profile_version + 1 WHERE id IN ({ids})"
# PostgreSQL locks the rows it updates; when one statement bumps several people it takes
# them in id order, so two such statements cannot deadlock on each other's rows.
# (SQLite has one write lock for the whole database.)
BUMP_PG = (
    "UPDATE users SET profile_version = profile_version + 1 "
    "WHERE id IN (SELECT id FROM users WHERE id IN ({ids}) ORDER BY id FOR UPDATE)"
)
WEEK_OWNER = "SELECT user_id FROM weeks WHERE id = {row}.week_id"
TITLE_USERS = (
    "SELECT w.user_id FROM week_picks p JOIN weeks w ON w.id = p.week_id WHERE p.title_id IN ({titles}) "
    "UNION SELECT v.user_id FROM viewings v WHERE v.title_id IN ({titles})"
)
TITLE_COLUMNS = ("title", "year", "image_url", "artist_credit", "kind")
GENRE_TITLES = "SELECT title_id FROM title_genres WHERE genre_id = NEW.id"
PERSON_TITLES = "SELECT title_id FROM credits WHERE person_id = NEW.id"

# (trigger name, table, event, the ids whose profile changed)
ROW_TRIGGERS = [
    ("profile_week_picks_insert", "week_picks", "INSERT", WEEK_OWNER.format(row="NEW")),
    ("profile_week_picks_update", "week_picks", "UPDATE",
     f"{WEEK_OWNER.format(row='OLD')} UNION {WEEK_OWNER.format(row='NEW')}"),
    ("profile_week_picks_delete", "week_picks", "DELETE", WEEK_OWNER.format(row="OLD")),
    # A new week is a new year in the stats; a week's picks go with it by cascade, when
    # the week row may already be gone.
    ("profile_weeks_insert", "weeks", "INSERT", "NEW.user_id"),
    ("profile_weeks_delete", "weeks", "DELETE", "OLD.user_id"),
    ("profile_viewings_insert", "viewings", "INSERT", "NEW.user_id"),
    ("profile_viewings_update", "viewings", "UPDATE", "OLD.user_id, NEW.user_id"),
    ("profile_viewings_delete", "viewings", "DELETE", "OLD.user_id"),
    ("profile_friendships_insert", "friendships", "INSERT", "NEW.user_low_id, NEW.user_high_id"),
    ("profile_friendships_delete", "friendships", "DELETE", "OLD.user_low_id, OLD.user_high_id"),
    # Genres, directors and artists of a title (the stats' charts).
    ("profile_title_genres_insert", "title_genres", "INSERT", TITLE_USERS.format(titles="NEW.title_id")),
    ("profile_title_genres_delete", "title_genres", "DELETE", TITLE_USERS.format(titles="OLD.title_id")),
    ("profile_credits_insert", "credits", "INSERT", TITLE_USERS.format(titles="NEW.title_id")),
    ("profile_credits_update", "credits", "UPDATE", TITLE_USERS.format(titles="OLD.title_id, NEW.title_id")),
    ("profile_credits_delete", "credits", "DELETE", TITLE_USERS.format(titles="OLD.title_id")),
]
# Renames: (trigger name, table, column, the titles concerned).
RENAME_TRIGGERS = [
    ("profile_genres_rename", "genres", "name", GENRE_TITLES),
    ("profile_people_rename", "people", "name", PERSON_TITLES),
]


def _update_triggers(distinct: str) -> list[tuple[str, str, str, str, str]]:
    """(name, table, columns, condition, ids) of the triggers on shown columns, which
    only fire when a value really changes (`distinct` is the dialect's IS DISTINCT FROM)."""
    changed = lambda columns: " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)  # noqa: E731
    return [
        ("profile_titles_update", "titles", ", ".join(TITLE_COLUMNS), changed(TITLE_COLUMNS),
         TITLE_USERS.format(titles="NEW.id")),
        *[(name, table, column, changed([column]), TITLE_USERS.format(titles=titles))
          for name, table, column, titles in RENAME_TRIGGERS],
    ]


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_version', sa.Integer(), server_default='0', nullable=False))

    if op.get_bind().dialect.name == "postgresql":
        for name, table, event, ids in ROW_TRIGGERS:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {BUMP_PG.format(ids=ids)}; RETURN NULL; END $$"
            )
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        for name, table, columns, when, ids in _update_triggers("IS DISTINCT FROM"):
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {BUMP_PG.format(ids=ids)}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} AFTER UPDATE OF {columns} ON {table} "
                f"FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {name}()"
            )
    else:
        for name, table, event, ids in ROW_TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP.format(ids=ids)}; END")
        for name, table, columns, when, ids in _update_triggers("IS NOT"):
            op.execute(f"CREATE TRIGGER {name} AFTER UPDATE OF {columns} ON {table} WHEN {when} "
                       f"BEGIN {BUMP.format(ids=ids)}; END")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table, *_ in [*ROW_TRIGGERS, *_update_triggers("")]:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('profile_version')
