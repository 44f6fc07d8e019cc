"""email verified: users.email_verified_at, set once the address is proven

An email counts (for linking social sign-ins, for password reset notices) only once a
mailed link has been followed, or a provider has said it verified the address.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')
