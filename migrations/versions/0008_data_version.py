"""data_version: per wilayah, a row that moves whenever what calendar feeds show of it changes

Revision ID: 0008_data_version
Revises: 0007_kampung_version
Create Date: 2026-11-23 18:00:00

A feed's ETag is read from these rows (one for a district feed, one per Kampung KB otherwise)
instead of aggregates over progress and marks. No rows are written here: a wilayah without one
counts as version 0 until its first change (``portal/models/data_version.py``).
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_data_version'
down_revision = '0007_kampung_version'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_version',
    sa.Column('wilayah_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['wilayah_id'], ['wilayah.id'], name=op.f('fk_data_version_wilayah_id_wilayah'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('wilayah_id', name=op.f('pk_data_version'))
    )


def downgrade():
    op.drop_table('data_version')
