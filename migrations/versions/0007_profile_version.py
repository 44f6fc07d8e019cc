"""profile version: users.profile_version, bumped by triggers whenever what a profile
page shows of someone changes (their weekly picks, their viewings, their friendships,
or the name, year, cover or credit of a title they picked or watched)

The profile page caches its details under this number (webapp/social/profile_cache.py).
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
WEEK_OWNER = "SELECT user_id FROM weeks WHERE id = {row}.week_id"
TITLE_USERS = (
    "SELECT w.user_id FROM week_picks p JOIN weeks w ON w.id = p.week_id WHERE p.title_id = NEW.id "
    "UNION SELECT v.user_id FROM viewings v WHERE v.title_id = NEW.id"
)
TITLE_COLUMNS = ("title", "year", "image_url", "artist_credit", "kind")

# (trigger name, table, event, the ids whose profile changed)
ROW_TRIGGERS = [
    ("profile_week_picks_insert", "week_picks", "INSERT", WEEK_OWNER.format(row="NEW")),
    ("profile_week_picks_update", "week_picks", "UPDATE",
     f"{WEEK_OWNER.format(row='OLD')} UNION {WEEK_OWNER.format(row='NEW')}"),
    ("profile_week_picks_delete", "week_picks", "DELETE", WEEK_OWNER.format(row="OLD")),
    # A week's picks go with it by cascade, when the week row may already be gone.
    ("profile_weeks_delete", "weeks", "DELETE", "OLD.user_id"),
    ("profile_viewings_insert", "viewings", "INSERT", "NEW.user_id"),
    ("profile_viewings_update", "viewings", "UPDATE", "OLD.user_id, NEW.user_id"),
    ("profile_viewings_delete", "viewings", "DELETE", "OLD.user_id"),
    ("profile_friendships_insert", "friendships", "INSERT", "NEW.user_low_id, NEW.user_high_id"),
    ("profile_friendships_delete", "friendships", "DELETE", "OLD.user_low_id, OLD.user_high_id"),
]


def _title_changed(distinct: str) -> str:
    return " OR ".join(f"OLD.{column} {distinct} NEW.{column}" for column in TITLE_COLUMNS)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_version', sa.Integer(), server_default='0', nullable=False))

    if op.get_bind().dialect.name == "postgresql":
        for name, table, event, ids in ROW_TRIGGERS:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {BUMP.format(ids=ids)}; RETURN NULL; END $$"
            )
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        op.execute(
            "CREATE FUNCTION profile_titles_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {BUMP.format(ids=TITLE_USERS)}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER profile_titles_update AFTER UPDATE OF {', '.join(TITLE_COLUMNS)} ON titles "
            f"FOR EACH ROW WHEN ({_title_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION profile_titles_update()"
        )
    else:
        for name, table, event, ids in ROW_TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP.format(ids=ids)}; END")
        op.execute(
            f"CREATE TRIGGER profile_titles_update AFTER UPDATE OF {', '.join(TITLE_COLUMNS)} ON titles "
            f"WHEN {_title_changed('IS NOT')} BEGIN {BUMP.format(ids=TITLE_USERS)}; END"
        )


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table, _event, _ids in [*ROW_TRIGGERS, ("profile_titles_update", "titles", "", "")]:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('profile_version')
