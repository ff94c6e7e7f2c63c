"""kampung_kb.version: two editors of a Kampung KB profile see each other's change

Revision ID: 0007_kampung_version
Revises: 0006_rumah_data
Create Date: 2026-11-23 15:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_kampung_version'
down_revision = '0006_rumah_data'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('kampung_kb', sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    op.drop_column('kampung_kb', 'version')
