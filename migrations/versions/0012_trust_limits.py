"""trust limits: a secret seed for each tonight session's draws, and denied friend requests

tonight_sessions.draw_seed: 32 random bytes stored when a session starts; the deck's
shuffle and every draw are keyed by it, so a member cannot compute the winner from the
public ids. Sessions that exist already get random seeds here.

friend_request_denials: who declined whose request and when, so the same request
cannot be sent again during a cool-down.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 19:10:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite adds a NOT NULL column only with a default (and cannot drop it later
    # without recreating the table); every row is given its own seed at once.
    op.add_column('tonight_sessions', sa.Column('draw_seed', sa.LargeBinary(length=32), nullable=False,
                                                server_default=sa.text("''")))
    sessions = sa.table('tonight_sessions', sa.column('id', sa.Integer), sa.column('draw_seed', sa.LargeBinary))
    conn = op.get_bind()
    ids = list(conn.execute(sa.select(sessions.c.id)).scalars())
    if ids:
        conn.execute(
            sessions.update().where(sessions.c.id == sa.bindparam('session_id')).values(draw_seed=sa.bindparam('seed')),
            [{'session_id': session_id, 'seed': secrets.token_bytes(32)} for session_id in ids],
        )
    if conn.dialect.name != 'sqlite':
        op.alter_column('tonight_sessions', 'draw_seed', server_default=None)

    op.create_table(
        'friend_request_denials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('from_user_id', sa.Integer(), nullable=False),
        sa.Column('to_user_id', sa.Integer(), nullable=False),
        sa.Column('denied_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_friend_request_denials_from_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_friend_request_denials_to_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_friend_request_denials')),
        sa.UniqueConstraint('from_user_id', 'to_user_id', name=op.f('uq_friend_request_denials_from_user_id_to_user_id')),
    )
    with op.batch_alter_table('friend_request_denials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_friend_request_denials_to_user_id'), ['to_user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('friend_request_denials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_friend_request_denials_to_user_id'))
    op.drop_table('friend_request_denials')
    with op.batch_alter_table('tonight_sessions', schema=None) as batch_op:
        batch_op.drop_column('draw_seed')
