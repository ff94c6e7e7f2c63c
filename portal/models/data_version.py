"""Data versions: per wilayah, a small row that moves whenever anything a calendar feed or an
area roll-up shows of a Kampung KB in it changes.

A desa's row is its Kampung KB's version (one Kampung KB per desa); a kecamatan's, kabupaten's
or province's moves with every Kampung KB below it. So a feed poll reads one row for a district
feed and one per Kampung KB otherwise, instead of aggregating thousands of progress records and
marks: answering ``304 Not Modified`` stays cheap whatever the district's size, and because the
rows live in the database every worker and process agrees on them.

They are bumped in one place, the session listeners below, for every ORM change to what the
feed builder reads: the Kampung KB itself (name, desa), its plans, their rows and funding
sources, activity progress, occurrence marks, realisations and their spending (which the
area roll-ups show, ``portal.blueprints.progress.reports``), and the wilayah (names, the province's time
zone, the tree itself). A change bumps the desa of each Kampung KB concerned and every wilayah
above it; a change to a wilayah bumps it, everything below it, and everything above it before
and after. ``before_flush``/``after_flush`` note which wilayah a flush touched;
``before_commit`` bumps them, so the rows are locked (on PostgreSQL) only while committing,
not for the rest of a long transaction, always in the same order. A rollback forgets what was
noted. Writes that bypass the ORM (Core ``insert()``/``update()``, scripts, the benchmark's
generator) bump nothing: code that changes feed data that way must call ``bump`` itself.

Bumping more than needed is harmless (a feed is built again and comes out the same); bumping
less is a stale calendar. A wilayah without a row has had no change since this table was
added; it counts as version 0.
"""
from datetime import datetime
from functools import cache

from sqlalchemy import event, inspect, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.extensions import db
from portal.models.clock import utcnow
from portal.models.kampung import KampungKB
from portal.models.plan import FundingSource, Plan, PlanRow
from portal.models.progress import ActivityProgress, OccurrenceMark, Realisation, RealisationSpend
from portal.models.wilayah import Wilayah

_PENDING = "data_version_wilayah"


class DataVersion(db.Model):
    """How many times, and when last, what calendar feeds show of a wilayah changed."""
    __tablename__ = "data_version"

    wilayah_id: Mapped[int] = mapped_column(db.ForeignKey("wilayah.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)


# -- reading (a feed poll runs these every time: built once) --------------------------------------

@cache
def _of_wilayah():
    table = DataVersion.__table__
    return db.select(table.c.version, table.c.changed_at).where(table.c.wilayah_id == db.bindparam("wilayah_id"))


@cache
def _of_kampungs():
    kampung, table = KampungKB.__table__, DataVersion.__table__
    return (db.select(kampung.c.id, table.c.version, table.c.changed_at)
            .join(table, table.c.wilayah_id == kampung.c.desa_id)
            .where(kampung.c.id.in_(db.bindparam("ids", expanding=True))))


def wilayah_version(wilayah_id):
    """(version, changed_at) of everything in the wilayah; (0, None) before its first change."""
    found = db.session.execute(_of_wilayah(), {"wilayah_id": wilayah_id}).first()
    return tuple(found) if found else (0, None)


def data_versions(kampung_ids):
    """{kampung id: (version, changed_at)} of the Kampung KB that have had a change (a Kampung
    KB's version is its desa's)."""
    if not kampung_ids:
        return {}
    return {r.id: (r.version, r.changed_at) for r in db.session.execute(_of_kampungs(), {"ids": list(kampung_ids)})}


# -- bumping --------------------------------------------------------------------------------------

def bump(connection, wilayah_ids, now=None):
    """Raise by one the version of each of ``wilayah_ids`` and of every wilayah above them
    (creating missing rows at 1). Ids that no longer exist are skipped."""
    wilayah_ids = {w for w in wilayah_ids if w is not None}
    if not wilayah_ids:
        return
    tree = Wilayah.__table__
    up = db.select(tree.c.id, tree.c.parent_id).where(tree.c.id.in_(wilayah_ids)).cte("up", recursive=True)
    up = up.union(db.select(tree.c.id, tree.c.parent_id).join(up, tree.c.id == up.c.parent_id))
    # Sorted: two transactions bumping the same rows lock them in the same order.
    ids = sorted(set(connection.scalars(db.select(up.c.id))))
    if not ids:
        return
    table = DataVersion.__table__
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[connection.dialect.name]
    now = now or utcnow()
    statement = dialect.insert(table).values([{"wilayah_id": i, "version": 1, "changed_at": now} for i in ids])
    connection.execute(statement.on_conflict_do_update(
        index_elements=[table.c.wilayah_id],
        set_={"version": table.c.version + 1, "changed_at": statement.excluded.changed_at}))


# -- what a flush changed ------------------------------------------------------------------------

def changed_wilayah(session, objects, before=False):
    """Ids of the wilayah whose feeds a change to ``objects`` concerns (their ancestors are left
    to ``bump``): the desa of each Kampung KB concerned; a changed wilayah, what is below it and
    its parent. Looked up in the database by primary key, so called ``before`` a flush it finds
    what the objects belonged to, and after it what they belong to now (a Kampung KB moved to
    another desa concerns both)."""
    ids = {KampungKB: set(), Plan: set(), PlanRow: set(), FundingSource: set(), Realisation: set(),
           RealisationSpend: set(), Wilayah: set()}
    lineages = set()
    for obj in objects:
        kind = type(obj)
        if kind in (ActivityProgress, OccurrenceMark):
            if before and obj not in session.deleted:
                continue  # its lineage does not change: after the flush is enough
            lineages.add(obj.lineage)
        elif kind in ids:
            # The primary key, not the identity key: after a flush, new objects have their ids
            # but get their identity only once the flush is over.
            (key,) = inspect(obj).mapper.primary_key_from_instance(obj)
            if key is None:
                continue  # not inserted yet
            if kind is Wilayah and obj in session.new:
                continue  # nothing is in it yet
            # Not for a collection alone (a Kampung KB's positions, a wilayah's children): the
            # objects added or removed are in the flush themselves.
            if kind in (KampungKB, Wilayah) and obj in session.dirty and not session.is_modified(
                    obj, include_collections=False):
                continue
            ids[kind].add(key)
    kampung, plan, row, source, tree = (KampungKB.__table__, Plan.__table__, PlanRow.__table__,
                                        FundingSource.__table__, Wilayah.__table__)
    realisation, spend = Realisation.__table__, RealisationSpend.__table__
    of_realisations = kampung.join(realisation, realisation.c.kampung_id == kampung.c.id)
    of_plans = kampung.join(plan, plan.c.kampung_id == kampung.c.id)
    of_rows = of_plans.join(row, row.c.plan_id == plan.c.id)
    queries = []
    if ids[KampungKB]:
        queries.append(db.select(kampung.c.desa_id).where(kampung.c.id.in_(ids[KampungKB])))
    if ids[PlanRow]:
        queries.append(db.select(kampung.c.desa_id).select_from(of_rows).where(row.c.id.in_(ids[PlanRow])))
    if ids[FundingSource]:
        queries.append(db.select(kampung.c.desa_id).select_from(of_rows.join(source, source.c.row_id == row.c.id))
                       .where(source.c.id.in_(ids[FundingSource])))
    if ids[Realisation]:
        queries.append(db.select(kampung.c.desa_id).select_from(of_realisations)
                       .where(realisation.c.id.in_(ids[Realisation])))
    if ids[RealisationSpend]:
        queries.append(db.select(kampung.c.desa_id).select_from(
            of_realisations.join(spend, spend.c.realisation_id == realisation.c.id))
            .where(spend.c.id.in_(ids[RealisationSpend])))
    if lineages:
        # A lineage stays within one Kampung KB (revisions copy it; imports give new ones), so
        # any row of it tells which: the activity's row is usually in the session already (and
        # plan_row has no index on lineage).
        for obj in list(session.identity_map.values()):
            loaded = obj.__dict__ if type(obj) is PlanRow else {}
            if loaded.get("lineage") in lineages and loaded.get("plan_id") is not None:
                lineages.discard(loaded["lineage"])
                ids[Plan].add(loaded["plan_id"])
    if ids[Plan]:
        queries.append(db.select(kampung.c.desa_id).select_from(of_plans).where(plan.c.id.in_(ids[Plan])))
    if lineages:
        queries.append(db.select(kampung.c.desa_id).select_from(of_rows).where(row.c.lineage.in_(lineages)))
    if ids[Wilayah]:
        queries.append(db.select(tree.c.parent_id).where(tree.c.id.in_(ids[Wilayah])))
    found = set(ids[Wilayah])
    if not queries:
        return found
    connection = session.connection()
    found |= set(connection.scalars(union(*queries) if len(queries) > 1 else queries[0]))
    for wilayah_id in ids[Wilayah]:  # rare (an admin's edit): one query each
        found |= set(connection.scalars(_below(wilayah_id)))
    return found - {None}


def _below(wilayah_id):
    tree = Wilayah.__table__
    below = db.select(tree.c.id).where(tree.c.parent_id == wilayah_id).cte("below", recursive=True)
    below = below.union_all(db.select(tree.c.id).where(tree.c.parent_id == below.c.id))
    return db.select(below.c.id)


def _note(session, wilayah_ids):
    if wilayah_ids:
        session.info.setdefault(_PENDING, set()).update(wilayah_ids)


@event.listens_for(Session, "before_flush")
def _note_before(session, _flush_context, _instances):
    # What changed and deleted objects belonged to, while the database still says so.
    _note(session, changed_wilayah(session, [*session.dirty, *session.deleted], before=True))


@event.listens_for(Session, "after_flush")
def _note_after(session, _flush_context):
    # What new and changed objects belong to now (new ones have their ids by now).
    _note(session, changed_wilayah(session, [*session.new, *session.dirty]))


@event.listens_for(Session, "before_commit")
def _bump_on_commit(session):
    # The commit's own flush comes after this hook: flush first so its changes are noted too.
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending:
        bump(session.connection(), pending)


@event.listens_for(Session, "after_transaction_end")
def _forget_on_rollback(session, transaction):
    if transaction.parent is None:  # the outermost transaction ended (a commit has bumped already)
        session.info.pop(_PENDING, None)
