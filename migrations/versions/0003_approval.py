"""approval: plan states and signatures, row lineage, audit trail, lock triggers

The triggers are a frozen copy of what portal.models.locking.statements() gave when this
migration was written; tests/test_migrations.py checks the two still agree.

Revision ID: 0003_approval
Revises: 0002_rencana_kegiatan
Create Date: 2026-11-23 06:29:21.380189

"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_approval'
down_revision = '0002_rencana_kegiatan'
branch_labels = None
depends_on = None

TRIGGERS = {
    'sqlite': [
        "CREATE TRIGGER plan_row_locked_insert BEFORE INSERT ON plan_row FOR EACH ROW WHEN (SELECT status FROM plan WHERE id = NEW.plan_id) IN ('diajukan', 'disetujui') BEGIN SELECT RAISE(ABORT, 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah'); END",
        "CREATE TRIGGER plan_row_locked_update BEFORE UPDATE OF plan_id, lineage, part, position, kegiatan, description, pelaksana, seksi, sasaran, target_count, target_unit, mitra, place, schedule_text, start_date, end_date, frequency, interval, day_of_month, weekday, week_of_month, start_time, duration_minutes, duration_days, schedule_problems, funding_text, funding_problems ON plan_row FOR EACH ROW WHEN (SELECT status FROM plan WHERE id = OLD.plan_id) IN ('diajukan', 'disetujui') OR (SELECT status FROM plan WHERE id = NEW.plan_id) IN ('diajukan', 'disetujui') BEGIN SELECT RAISE(ABORT, 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah'); END",
        "CREATE TRIGGER plan_row_locked_delete BEFORE DELETE ON plan_row FOR EACH ROW WHEN (SELECT status FROM plan WHERE id = OLD.plan_id) IN ('diajukan', 'disetujui') BEGIN SELECT RAISE(ABORT, 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah'); END",
        "CREATE TRIGGER funding_source_locked_insert BEFORE INSERT ON funding_source FOR EACH ROW WHEN (SELECT plan.status FROM plan JOIN plan_row ON plan_row.plan_id = plan.id WHERE plan_row.id = NEW.row_id) IN ('diajukan', 'disetujui') BEGIN SELECT RAISE(ABORT, 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah'); END",
        "CREATE TRIGGER funding_source_locked_update BEFORE UPDATE OF row_id, position, type, detail, amount ON funding_source FOR EACH ROW WHEN (SELECT plan.status FROM plan JOIN plan_row ON plan_row.plan_id = plan.id WHERE plan_row.id = OLD.row_id) IN ('diajukan', 'disetujui') OR (SELECT plan.status FROM plan JOIN plan_row ON plan_row.plan_id = plan.id WHERE plan_row.id = NEW.row_id) IN ('diajukan', 'disetujui') BEGIN SELECT RAISE(ABORT, 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah'); END",
        "CREATE TRIGGER funding_source_locked_delete BEFORE DELETE ON funding_source FOR EACH ROW WHEN (SELECT plan.status FROM plan JOIN plan_row ON plan_row.plan_id = plan.id WHERE plan_row.id = OLD.row_id) IN ('diajukan', 'disetujui') BEGIN SELECT RAISE(ABORT, 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah'); END",
        "CREATE TRIGGER plan_frozen_update BEFORE UPDATE OF kampung_id, year, revision, status, submission, approved_at, verification_code, revises_id ON plan FOR EACH ROW WHEN OLD.status IN ('disetujui') BEGIN SELECT RAISE(ABORT, 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah'); END",
        "CREATE TRIGGER plan_locked_delete BEFORE DELETE ON plan FOR EACH ROW WHEN OLD.status IN ('diajukan', 'disetujui') BEGIN SELECT RAISE(ABORT, 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah'); END",
        "CREATE TRIGGER signature_append_only_update BEFORE UPDATE ON signature FOR EACH ROW WHEN 1 BEGIN SELECT RAISE(ABORT, 'append_only: catatan ini tidak dapat diubah atau dihapus'); END",
        "CREATE TRIGGER signature_append_only_delete BEFORE DELETE ON signature FOR EACH ROW WHEN 1 BEGIN SELECT RAISE(ABORT, 'append_only: catatan ini tidak dapat diubah atau dihapus'); END",
        "CREATE TRIGGER audit_entry_append_only_update BEFORE UPDATE ON audit_entry FOR EACH ROW WHEN 1 BEGIN SELECT RAISE(ABORT, 'append_only: catatan ini tidak dapat diubah atau dihapus'); END",
        "CREATE TRIGGER audit_entry_append_only_delete BEFORE DELETE ON audit_entry FOR EACH ROW WHEN 1 BEGIN SELECT RAISE(ABORT, 'append_only: catatan ini tidak dapat diubah atau dihapus'); END",
    ],
    'postgresql': [
        "CREATE OR REPLACE FUNCTION portal_plan_row_locked() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM plan WHERE id = OLD.plan_id AND status IN ('diajukan', 'disetujui')) THEN\n    RAISE EXCEPTION 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah' USING ERRCODE = 'check_violation';\n  END IF;\n  IF TG_OP <> 'DELETE' AND EXISTS (SELECT 1 FROM plan WHERE id = NEW.plan_id AND status IN ('diajukan', 'disetujui')) THEN\n    RAISE EXCEPTION 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah' USING ERRCODE = 'check_violation';\n  END IF;\n  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n  RETURN NEW;\nEND $$",
        "CREATE OR REPLACE FUNCTION portal_funding_source_locked() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM plan JOIN plan_row ON plan_row.plan_id = plan.id\n      WHERE plan_row.id = OLD.row_id AND plan.status IN ('diajukan', 'disetujui')) THEN\n    RAISE EXCEPTION 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah' USING ERRCODE = 'check_violation';\n  END IF;\n  IF TG_OP <> 'DELETE' AND EXISTS (SELECT 1 FROM plan JOIN plan_row ON plan_row.plan_id = plan.id\n      WHERE plan_row.id = NEW.row_id AND plan.status IN ('diajukan', 'disetujui')) THEN\n    RAISE EXCEPTION 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah' USING ERRCODE = 'check_violation';\n  END IF;\n  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n  RETURN NEW;\nEND $$",
        "CREATE OR REPLACE FUNCTION portal_plan_locked() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF (TG_OP = 'UPDATE' AND OLD.status IN ('disetujui')) OR (TG_OP = 'DELETE' AND OLD.status IN ('diajukan', 'disetujui')) THEN\n    RAISE EXCEPTION 'plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah' USING ERRCODE = 'check_violation';\n  END IF;\n  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n  RETURN NEW;\nEND $$",
        "CREATE OR REPLACE FUNCTION portal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE EXCEPTION 'append_only: catatan ini tidak dapat diubah atau dihapus' USING ERRCODE = 'check_violation';\nEND $$",
        'CREATE TRIGGER plan_row_locked BEFORE INSERT OR DELETE OR UPDATE OF plan_id, lineage, part, position, kegiatan, description, pelaksana, seksi, sasaran, target_count, target_unit, mitra, place, schedule_text, start_date, end_date, frequency, interval, day_of_month, weekday, week_of_month, start_time, duration_minutes, duration_days, schedule_problems, funding_text, funding_problems ON plan_row FOR EACH ROW EXECUTE FUNCTION portal_plan_row_locked()',
        'CREATE TRIGGER funding_source_locked BEFORE INSERT OR DELETE OR UPDATE OF row_id, position, type, detail, amount ON funding_source FOR EACH ROW EXECUTE FUNCTION portal_funding_source_locked()',
        'CREATE TRIGGER plan_locked BEFORE DELETE OR UPDATE OF kampung_id, year, revision, status, submission, approved_at, verification_code, revises_id ON plan FOR EACH ROW EXECUTE FUNCTION portal_plan_locked()',
        'CREATE TRIGGER signature_append_only BEFORE UPDATE OR DELETE ON signature FOR EACH ROW EXECUTE FUNCTION portal_append_only()',
        'CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry FOR EACH ROW EXECUTE FUNCTION portal_append_only()',
    ],
}

DROP_TRIGGERS = {
    "sqlite": [f"DROP TRIGGER IF EXISTS {name}" for name in (
        "plan_row_locked_insert", "plan_row_locked_update", "plan_row_locked_delete",
        "funding_source_locked_insert", "funding_source_locked_update", "funding_source_locked_delete",
        "plan_frozen_update", "plan_locked_delete",
        "signature_append_only_update", "signature_append_only_delete",
        "audit_entry_append_only_update", "audit_entry_append_only_delete")],
    "postgresql": [
        "DROP TRIGGER IF EXISTS plan_row_locked ON plan_row",
        "DROP TRIGGER IF EXISTS funding_source_locked ON funding_source",
        "DROP TRIGGER IF EXISTS plan_locked ON plan",
        "DROP TRIGGER IF EXISTS signature_append_only ON signature",
        "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry",
        "DROP FUNCTION IF EXISTS portal_plan_row_locked()",
        "DROP FUNCTION IF EXISTS portal_funding_source_locked()",
        "DROP FUNCTION IF EXISTS portal_plan_locked()",
        "DROP FUNCTION IF EXISTS portal_append_only()",
    ],
}


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('kampung_id', sa.Integer(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('object_type', sa.String(length=30), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('changes', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['kampung_id'], ['kampung_kb.id'], name=op.f('fk_audit_entry_kampung_id_kampung_kb')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_audit_entry_plan_id_plan')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_audit_entry_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_entry_seq'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_kampung_id'), ['kampung_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_plan_id'), ['plan_id'], unique=False)

    op.create_table('signature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('submission', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('signer_name', sa.String(length=120), nullable=False),
    sa.Column('position_title', sa.String(length=200), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=40), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.CheckConstraint("role IN ('ketua','lurah')", name=op.f('ck_signature_role')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_signature_plan_id_plan')),
    sa.ForeignKeyConstraint(['position_id'], ['pokja_position.id'], name=op.f('fk_signature_position_id_pokja_position')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_signature_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signature'))
    )
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_plan_id'), ['plan_id'], unique=False)

    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('return_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('verification_code', sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column('revises_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_plan_verification_code'), ['verification_code'])
        batch_op.create_foreign_key(batch_op.f('fk_plan_revises_id_plan'), 'plan', ['revises_id'], ['id'])

    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.alter_column('submission', server_default=None)

    # Existing rows get their lineage (identity across revisions) before it becomes required.
    with op.batch_alter_table('plan_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lineage', sa.String(length=32), nullable=True))
    conn = op.get_bind()
    for (row_id,) in conn.execute(sa.text("SELECT id FROM plan_row")).all():
        conn.execute(sa.text("UPDATE plan_row SET lineage = :l WHERE id = :id"), {"l": uuid.uuid4().hex, "id": row_id})
    with op.batch_alter_table('plan_row', schema=None) as batch_op:
        batch_op.alter_column('lineage', existing_type=sa.String(length=32), nullable=False)

    # Last: SQLite's batch mode rebuilds tables, which would drop triggers made earlier.
    for statement in TRIGGERS[conn.dialect.name]:
        op.execute(statement)
    # ### end Alembic commands ###


def downgrade():
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('plan_row', schema=None) as batch_op:
        batch_op.drop_column('lineage')

    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_plan_revises_id_plan'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_plan_verification_code'), type_='unique')
        batch_op.drop_column('revises_id')
        batch_op.drop_column('verification_code')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('return_note')
        batch_op.drop_column('submission')

    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_plan_id'))

    op.drop_table('signature')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_plan_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_kampung_id'))

    op.drop_table('audit_entry')
    # ### end Alembic commands ###
