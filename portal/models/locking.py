"""Locks on signed content, below the services: an ORM flush guard and database triggers.

The services refuse to change a submitted or approved plan (first layer). If code gets past them,
the flush guard here refuses before any SQL is sent (second layer). If SQL gets past the ORM (a
script, a console, another program), triggers in the database refuse it (third layer), on SQLite
and PostgreSQL alike:

- ``plan_row`` and ``funding_source``: no INSERT, DELETE, or UPDATE of a content column while the
  plan is in ``workflow.LOCKED``;
- ``plan``: no UPDATE of its identity or status and no DELETE once in ``workflow.FROZEN``; no
  DELETE while locked;
- ``signature`` and ``audit_entry``: append-only, never updated or deleted.

Triggers are created with the tables (``create_all``) from ``statements()``; the migration that
introduced them keeps its own frozen copy, and ``tests/test_migrations.py`` checks both agree.
"""
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import workflow
from portal.models.approval import Signature
from portal.models.audit import AuditEntry
from portal.models.plan import FundingSource, Plan, PlanRow

MESSAGE = "plan_locked: isi rencana yang diajukan atau disetujui tidak dapat diubah"
APPEND_ONLY_MESSAGE = "append_only: catatan ini tidak dapat diubah atau dihapus"
# Columns of a row that are not content: bookkeeping that may change on a locked plan.
NOT_CONTENT = {"id", "version", "updated_at"}
# The plan's columns that a frozen plan keeps for good.
PLAN_FROZEN_COLUMNS = ("kampung_id", "year", "revision", "status", "submission", "approved_at",
                       "verification_code", "revises_id")
APPEND_ONLY_TABLES = ("signature", "audit_entry")


class ContentLocked(RuntimeError):
    """Raised by the flush guard: something tried to change signed or submitted content."""


def _quoted(states):
    return ", ".join(f"'{s}'" for s in sorted(states))


def _content_columns(table):
    return [c.name for c in table.columns if c.name not in NOT_CONTENT]


def statements(dialect):
    """CREATE statements for the triggers (and PostgreSQL functions), in order."""
    locked, frozen = _quoted(workflow.LOCKED), _quoted(workflow.FROZEN)
    row_cols = ", ".join(_content_columns(PlanRow.__table__))
    source_cols = ", ".join(_content_columns(FundingSource.__table__))
    plan_cols = ", ".join(PLAN_FROZEN_COLUMNS)
    if dialect == "sqlite":
        row_locked = f"(SELECT status FROM plan WHERE id = {{}}.plan_id) IN ({locked})"
        source_locked = ("(SELECT plan.status FROM plan JOIN plan_row ON plan_row.plan_id = plan.id "
                         f"WHERE plan_row.id = {{}}.row_id) IN ({locked})")

        def trigger(name, timing, table, when, message=MESSAGE):
            return (f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH ROW WHEN {when} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END")

        out = []
        for table, cols, locked_sql in (("plan_row", row_cols, row_locked),
                                        ("funding_source", source_cols, source_locked)):
            out += [
                trigger(f"{table}_locked_insert", "BEFORE INSERT", table, locked_sql.format("NEW")),
                trigger(f"{table}_locked_update", f"BEFORE UPDATE OF {cols}", table,
                        f"{locked_sql.format('OLD')} OR {locked_sql.format('NEW')}"),
                trigger(f"{table}_locked_delete", "BEFORE DELETE", table, locked_sql.format("OLD")),
            ]
        out += [
            trigger("plan_frozen_update", f"BEFORE UPDATE OF {plan_cols}", "plan", f"OLD.status IN ({frozen})"),
            trigger("plan_locked_delete", "BEFORE DELETE", "plan", f"OLD.status IN ({locked})"),
        ]
        for table in APPEND_ONLY_TABLES:
            out += [trigger(f"{table}_append_only_update", "BEFORE UPDATE", table, "1", APPEND_ONLY_MESSAGE),
                    trigger(f"{table}_append_only_delete", "BEFORE DELETE", table, "1", APPEND_ONLY_MESSAGE)]
        return out

    # PostgreSQL: one function per kind of check, one trigger per table.
    raise_locked = f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation'"
    out = [
        _pg_row_function("portal_plan_row_locked",
                         f"SELECT 1 FROM plan WHERE id = {{}}.plan_id AND status IN ({locked})", raise_locked),
        _pg_row_function("portal_funding_source_locked",
                         "SELECT 1 FROM plan JOIN plan_row ON plan_row.plan_id = plan.id\n"
                         f"      WHERE plan_row.id = {{}}.row_id AND plan.status IN ({locked})", raise_locked),
        f"""CREATE OR REPLACE FUNCTION portal_plan_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (TG_OP = 'UPDATE' AND OLD.status IN ({frozen})) OR (TG_OP = 'DELETE' AND OLD.status IN ({locked})) THEN
    {raise_locked};
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$""",
        f"""CREATE OR REPLACE FUNCTION portal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'check_violation';
END $$""",
        f"CREATE TRIGGER plan_row_locked BEFORE INSERT OR DELETE OR UPDATE OF {row_cols} ON plan_row "
        "FOR EACH ROW EXECUTE FUNCTION portal_plan_row_locked()",
        f"CREATE TRIGGER funding_source_locked BEFORE INSERT OR DELETE OR UPDATE OF {source_cols} ON funding_source "
        "FOR EACH ROW EXECUTE FUNCTION portal_funding_source_locked()",
        f"CREATE TRIGGER plan_locked BEFORE DELETE OR UPDATE OF {plan_cols} ON plan "
        "FOR EACH ROW EXECUTE FUNCTION portal_plan_locked()",
    ]
    out += [f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION portal_append_only()" for table in APPEND_ONLY_TABLES]
    return out


def _pg_row_function(name, exists, raise_locked):
    """A PostgreSQL trigger function refusing the change when ``exists`` (a query with ``{}``
    for OLD or NEW) finds the row's plan locked, before or after the change."""
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND EXISTS ({exists.format("OLD")}) THEN
    {raise_locked};
  END IF;
  IF TG_OP <> 'DELETE' AND EXISTS ({exists.format("NEW")}) THEN
    {raise_locked};
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$"""


@event.listens_for(db.metadata, "after_create")
def _create_triggers(target, connection, **kw):
    if connection.dialect.name in ("sqlite", "postgresql"):
        for statement in statements(connection.dialect.name):
            connection.exec_driver_sql(statement)


# -- the flush guard -----------------------------------------------------------------------------

def _old_status(plan):
    """The plan's status as stored (before this flush's change to it, if any)."""
    history = inspect(plan).attrs.status.history
    return history.deleted[0] if history.deleted else plan.status


def _plan_locked(plan):
    return plan is not None and (plan.status in workflow.LOCKED or
                                 (inspect(plan).persistent and _old_status(plan) in workflow.LOCKED))


def _changed_columns(obj):
    state = inspect(obj)
    return {attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()}


@event.listens_for(Session, "before_flush")
def _guard(session, flush_context, instances):
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, (Signature, AuditEntry)) and obj not in session.new:
            raise ContentLocked(APPEND_ONLY_MESSAGE)
        if isinstance(obj, Plan):
            old = _old_status(obj) if inspect(obj).persistent else None
            if obj in session.deleted and old in workflow.LOCKED:
                raise ContentLocked(MESSAGE)
            if obj in session.dirty and old in workflow.FROZEN and _changed_columns(obj) & set(PLAN_FROZEN_COLUMNS):
                raise ContentLocked(MESSAGE)
            continue
        if isinstance(obj, PlanRow):
            link = "plan"
        elif isinstance(obj, FundingSource):
            link = "row"
        else:
            continue
        state = inspect(obj)
        # An object taken out of its collection has lost its parent; the one it had counts.
        parent = getattr(obj, link) or next(iter(state.attrs[link].history.deleted), None)
        relinked = state.attrs[link].history.has_changes()
        if obj in session.dirty and not relinked and not (_changed_columns(obj) - NOT_CONTENT):
            continue
        plan = parent if link == "plan" else _parent_plan(parent)
        if _plan_locked(plan):
            raise ContentLocked(MESSAGE)


def _parent_plan(row):
    if row is None:
        return None
    return row.plan or next(iter(inspect(row).attrs.plan.history.deleted), None)
