"""title visibility: titles.is_published and titles.added_by_id

Titles from providers, the demo catalog and MovieLens are published; manual titles
(typed by a member, created by an import) are seen only where they were added until an
admin publishes them. `added_by_id` names who added one (NULL once that account is gone).

Columns are added in place: titles carries the profile_version triggers of 0007, which
recreating the table would drop on SQLite.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('titles', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('is_published', sa.Boolean(), nullable=False, server_default=sa.true()))
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with REFERENCES in place when its default is NULL. It
        # enforces the column's own REFERENCES clause; SQLAlchemy reads a foreign key's
        # name and ON DELETE only from the table-level form, which the comment spells
        # (the same constraint), so the schema compares equal to the models.
        op.execute('ALTER TABLE titles ADD COLUMN added_by_id INTEGER '
                   '/* CONSTRAINT fk_titles_added_by_id_users FOREIGN KEY (added_by_id) '
                   'REFERENCES users (id) ON DELETE SET NULL */ '
                   'REFERENCES users (id) ON DELETE SET NULL')
    else:
        op.add_column('titles', sa.Column('added_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_titles_added_by_id_users'), 'titles', 'users', ['added_by_id'], ['id'],
                              ondelete='SET NULL')
    op.create_index(op.f('ix_titles_added_by_id'), 'titles', ['added_by_id'], unique=False)
    op.execute("UPDATE titles SET is_published = false WHERE source = 'manual'")


def downgrade():
    op.drop_index(op.f('ix_titles_added_by_id'), table_name='titles')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('fk_titles_added_by_id_users'), 'titles', type_='foreignkey')
    op.drop_column('titles', 'added_by_id')
    op.drop_column('titles', 'is_published')
