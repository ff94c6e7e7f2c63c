"""What the dashboards and roll-ups show, computed from the approved plan in force and its
progress. Each table is a ``portal.tables.Table`` so the screen and its CSV/XLSX export are the
same data."""
from collections import OrderedDict, namedtuple
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import String, case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.functions import FunctionElement

from portal import fragments, labels
from portal.blueprints.plans import approval
from portal.blueprints.plans.reading import SOURCE_TYPES
from portal.blueprints.progress.services import activities
from portal.extensions import db
from portal.models import (
    ActivityProgress, FundingSource, OccurrenceMark, Plan, PlanRow, Realisation, RealisationSpend,
)
from portal.models.data_version import wilayah_version
from portal.models.plan import PARTS
from portal.occurrences import MOVED, planned_dates
from portal.tables import Column, Table


def plan_in_force(kampung, year):
    """The approved plan in force for ``year``, or None; its rows and their funding sources come
    with it, in four queries however many rows it has."""
    versions = db.session.execute(db.select(Plan.id, Plan.status).where(
        Plan.kampung_id == kampung.id, Plan.year == year).order_by(Plan.revision)).all()
    current = approval.in_force(versions)
    if current is None:
        return None
    # subqueryload: one query for every row's sources (selectinload batches them by 500 rows).
    return db.session.scalars(db.select(Plan).where(Plan.id == current.id).options(
        selectinload(Plan.rows).subqueryload(PlanRow.funding_sources))).one()


def years_with_plans(kampung):
    return sorted(set(db.session.scalars(db.select(Plan.year).where(
        Plan.kampung_id == kampung.id, Plan.status == "disetujui"))), reverse=True)


def _mean(values):
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values)) if values else None


def _group_table(title, key_label, groups):
    rows = []
    for name, items in groups.items():
        live = [a for a in items if a.status != "dibatalkan"]
        rows.append({"name": name, "count": len(items), "done": sum(a.status == "selesai" for a in items),
                     "overdue": sum(bool(a.overdue) for a in live), "percent": _mean([a.percent for a in live])})
    return Table(title, [Column("name", key_label), Column("count", "Kegiatan", "int"),
                         Column("done", "Selesai", "int"), Column("overdue", "Terlambat", "int"),
                         Column("percent", "Rata-rata kemajuan", "percent")], rows)


def dashboard(plan):
    """The Kampung KB dashboard's tables for ``plan`` (approved, in force)."""
    items = activities(plan)
    by_seksi = OrderedDict((labels.SEKSI_SHORT[s], [a for a in items if a.row.seksi == s]) for s in labels.SEKSI_SHORT)
    by_part = OrderedDict((f"{k}. {t}", [a for a in items if a.row.part == k]) for k, (t, _s) in PARTS.items())
    targets = OrderedDict()
    for a in items:
        if a.row.target_count:
            key = (a.row.sasaran or "(tanpa keterangan sasaran)", a.row.target_unit or "")
            entry = targets.setdefault(key, {"target": 0, "reached": 0})
            entry["target"] += a.row.target_count
            entry["reached"] += a.reached
    budget = OrderedDict()
    for a in items:
        spent_by_type = {}
        for r in a.realisations:
            for s in r.spends:
                spent_by_type[s.source_type] = spent_by_type.get(s.source_type, 0) + s.amount
        for source in a.row.funding_sources:
            key = (SOURCE_TYPES.get(source.type, source.type), source.detail or "")
            entry = budget.setdefault(key, {"planned": 0, "spent": 0})
            entry["planned"] += source.amount or 0
            # Spending is recorded per type; count it once, against the row's first source of that type.
            entry["spent"] += spent_by_type.pop(source.type, 0)
    today = plan.kampung.today()
    overdue = [{"kegiatan": a.row.kegiatan, "seksi": labels.SEKSI_SHORT[a.row.seksi], "date": o.date,
                "days": (today - o.date).days, "activity": a}
               for a in items for o in a.overdue]
    upcoming = [{"kegiatan": a.row.kegiatan, "seksi": labels.SEKSI_SHORT[a.row.seksi], "date": o.date, "activity": a}
                for a in items for o in a.due_within(30)]
    return {
        "activities": items,
        "seksi": _group_table("Kemajuan per seksi", "Seksi", by_seksi),
        "part": _group_table("Kemajuan per bagian", "Bagian", by_part),
        "targets": Table("Sasaran dan capaian", [
            Column("sasaran", "Sasaran"), Column("unit", "Satuan"), Column("target", "Sasaran (jumlah)", "int"),
            Column("reached", "Capaian", "int"), Column("percent", "%", "percent")],
            [{"sasaran": s, "unit": u, **v, "percent": round(100 * v["reached"] / v["target"]) if v["target"] else None}
             for (s, u), v in targets.items()]),
        "budget": Table("Anggaran dan realisasi per sumber dana", [
            Column("source", "Sumber dana"), Column("detail", "Instansi/rincian"),
            Column("planned", "Anggaran", "rupiah"), Column("spent", "Realisasi", "rupiah"),
            Column("percent", "%", "percent")],
            [{"source": t, "detail": d, **v, "percent": round(100 * v["spent"] / v["planned"]) if v["planned"] else None}
             for (t, d), v in budget.items()]),
        "overdue": Table("Terlambat", [Column("kegiatan", "Kegiatan"), Column("seksi", "Seksi"),
                                       Column("date", "Jadwal", "date"), Column("days", "Hari terlambat", "int")],
                         sorted(overdue, key=lambda r: r["date"])),
        "upcoming": Table("30 hari ke depan", [Column("kegiatan", "Kegiatan"), Column("seksi", "Seksi"),
                                               Column("date", "Jadwal", "date")],
                          sorted(upcoming, key=lambda r: r["date"])),
    }


def seksi_overview(plan, seksi):
    """One seksi's activities of ``plan`` with progress, budget and realisation, what is
    overdue and what comes next."""
    items = activities(plan, [r for r in plan.rows if r.seksi == seksi])
    live = [a for a in items if a.status != "dibatalkan"]
    planned = sum(s.amount or 0 for a in items for s in a.row.funding_sources)
    spent = sum(a.spent for a in items)
    today = plan.kampung.today()
    return {
        "activities": items,
        "done": sum(a.status == "selesai" for a in items),
        "percent": _mean([a.percent for a in live]),
        "planned": planned, "spent": spent,
        "spent_percent": round(100 * spent / planned) if planned else None,
        "reached": sum(a.reached for a in items),
        "overdue": sorted(((a, o) for a in items for o in a.overdue), key=lambda t: t[1].date),
        "upcoming": sorted(((a, o) for a in items for o in a.due_within(30)), key=lambda t: t[1].date),
        "today": today,
    }


def cited_indicators(kampung, items):
    """Activities that cite a Rumah Data indicator, beside the desa's latest figure for it."""
    from portal.blueprints.rumahdata.figures import latest_values
    from portal.blueprints.rumahdata.indicators import better, label
    cited = [a for a in items if a.row.indicator]
    if not cited:
        return []
    latest = latest_values(kampung.desa, {a.row.indicator for a in cited})
    return [{"activity": a, "key": a.row.indicator, "label": label(a.row.indicator), "better": better(a.row.indicator),
             "unit": "%" if a.row.indicator.endswith("percent") or a.row.indicator == "prevalence" else "",
             "figure": latest.get(a.row.indicator)} for a in cited]


# -- roll-ups over an area ------------------------------------------------------------------------

def _plan_figures(plans, today):
    """{plan id: figures} of the roll-up for ``plans`` ({plan id: kampung id}), with ``today``
    {kampung id: date}: % activities done, % budget realised, overdue occurrences and the last
    update. The same figures as the dashboard's activities give, summed in the database per plan
    (GROUP BY) rather than built from a row, progress and realisation object each, so a province
    takes a few queries and little memory."""
    if not plans:
        return {}
    ids = list(plans)
    status = func.coalesce(ActivityProgress.status, "belum")
    live = status != "dibatalkan"
    counts = db.session.execute(
        db.select(PlanRow.plan_id, func.sum(case((live, 1), else_=0)).label("live"),
                  func.sum(case((status == "selesai", 1), else_=0)).label("done"),
                  func.max(ActivityProgress.updated_at).label("progress_at"))
        .outerjoin(ActivityProgress, ActivityProgress.lineage == PlanRow.lineage)
        .where(PlanRow.plan_id.in_(ids)).group_by(PlanRow.plan_id))
    planned = dict(db.session.execute(
        db.select(PlanRow.plan_id, func.sum(func.coalesce(FundingSource.amount, 0)))
        .join(FundingSource, FundingSource.row_id == PlanRow.id)
        .where(PlanRow.plan_id.in_(ids)).group_by(PlanRow.plan_id)).all())
    realised = {r.plan_id: r for r in db.session.execute(
        db.select(PlanRow.plan_id, func.sum(RealisationSpend.amount).label("spent"),
                  func.max(Realisation.created_at).label("created_at"))
        .join(Realisation, Realisation.lineage == PlanRow.lineage)
        .outerjoin(RealisationSpend, RealisationSpend.realisation_id == Realisation.id)
        # Implied by the lineage (an activity's lineage stays in its Kampung KB and year), but it
        # lets the database read the area's realisations by their index, not all of them.
        .where(PlanRow.plan_id.in_(ids), Realisation.kampung_id.in_(sorted(set(plans.values()))))
        .group_by(PlanRow.plan_id))}
    overdue = _overdue_counts(plans, today)
    # A plan without rows has no row in ``counts``.
    figures = {plan_id: {"done_pct": None, "budget_pct": None, "overdue": 0, "last_update": None} for plan_id in ids}
    for row in counts:
        # SUM is numeric (Decimal) on PostgreSQL: back to int so the percentages round as in Python.
        budget = int(planned.get(row.plan_id) or 0)
        r = realised.get(row.plan_id)
        spent = int(r.spent or 0) if r else 0
        stamps = [s for s in (row.progress_at, r.created_at if r else None) if s is not None]
        live_count = int(row.live)
        figures[row.plan_id] = {
            "done_pct": round(100 * int(row.done) / live_count) if live_count else None,
            "budget_pct": round(100 * spent / budget) if budget else None,
            "overdue": overdue.get(row.plan_id, 0),
            "last_update": max(stamps).date() if stamps else None,
        }
    return figures


def _overdue_counts(plans, today):
    """{plan id: overdue occurrences} of the activities still open (not Selesai or Dibatalkan),
    as ``Activity.overdue`` counts them, without an object per row or per mark: one query, read
    as a stream, of the open rows' schedule columns, each with its marks in one text."""
    marks = (db.select(func.aggregate_strings(_mark_text(), ","))
             .where(OccurrenceMark.lineage == PlanRow.lineage).scalar_subquery())
    rows = (db.select(PlanRow.plan_id, marks, *(getattr(PlanRow, name) for name in Schedule._fields))
            .outerjoin(ActivityProgress, ActivityProgress.lineage == PlanRow.lineage)
            .where(PlanRow.plan_id.in_(list(plans)),
                   func.coalesce(ActivityProgress.status, "belum").not_in(("selesai", "dibatalkan")),
                   PlanRow.frequency.is_not(None), PlanRow.start_date.is_not(None))
            .execution_options(yield_per=2000))
    today = {plan_id: today[kampung_id].isoformat() for plan_id, kampung_id in plans.items()}
    counts = dict.fromkeys(plans, 0)
    for plan_id, text, *schedule in db.session.execute(rows):
        counts[plan_id] += overdue_count(Schedule._make(schedule), *_marks_of(text), today[plan_id])
    return counts


Schedule = namedtuple("Schedule", "start_date end_date frequency interval day_of_month weekday week_of_month")


def _mark_text():
    """A mark as text: its ISO date, and for a moved one ``>`` and the date it moved to (the
    same date when it has none)."""
    return _iso(OccurrenceMark.original_date) + case(
        (OccurrenceMark.state == MOVED,
         ">" + _iso(func.coalesce(OccurrenceMark.moved_to, OccurrenceMark.original_date))), else_="")


def _marks_of(text):
    """(dates of the marks, [(date, new date) of the moved ones]) from a row's ``_mark_text``s."""
    if not text:
        return (), ()
    if ">" not in text:
        return text.split(","), ()
    marks = [mark.partition(">") for mark in text.split(",")]
    return [day for day, _, _ in marks], [(day, moved_to) for day, _, moved_to in marks if moved_to]


def overdue_count(schedule, marked, moves, today):
    """``len(Activity.overdue)`` of an open activity, as ``occurrences.apply_marks`` combines
    its ``schedule``'s planned dates with its marks: the planned dates gone by that no mark
    names (``marked``: the dates of its marks, one mark a date), and the moved planned dates
    whose new date has gone by (``moves``: (date, new date)). Marks of dates not planned add
    nothing that could be overdue. Dates are ISO texts, which compare as dates do."""
    gone_by, planned = _planned(schedule, today)
    return (len(gone_by) - len(gone_by.intersection(marked))
            + sum(1 for day, moved_to in moves if day in planned and moved_to < today))


@lru_cache(maxsize=512)
def _planned(schedule, today):
    """The dates ``schedule`` plans before ``today``, and all it plans, as sets of ISO dates;
    remembered: the rows of a kabupaten share a few dozen schedules, and working the dates out
    would be most of the cost of a roll-up."""
    days = frozenset(day.isoformat() for day in planned_dates(schedule))
    return frozenset(day for day in days if day < today), days


class _iso(FunctionElement):
    """A date as ISO text (``YYYY-MM-DD``)."""
    type = String()
    inherit_cache = True


@compiles(_iso)
def _iso_stored(element, compiler, **kw):
    # SQLite keeps dates as ISO texts.
    return compiler.process(element.clauses, **kw)


@compiles(_iso, "postgresql")
def _iso_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"


def change_label(now, before):
    """TURUN / NAIK / TETAP, as the 003 deck marks year-over-year change; None without both."""
    if now is None or before is None:
        return None
    return "NAIK" if now > before else ("TURUN" if now < before else "TETAP")


def rollup(wilayah, year):
    """One row per Kampung KB under ``wilayah``: plan status for ``year``, % activities done,
    % budget realised, last update, overdue occurrences, and the change in % done against the
    year before. A fixed number of queries however many Kampung KB and rows (``_plan_figures``)."""
    from portal.models import KampungKB, Wilayah
    from portal.models import workflow
    area = wilayah.descendant_ids_query()
    # Every region of the area, held here so the session keeps them (its identity map holds
    # weakly): each desa's kecamatan and province (its time zone) are then found there rather
    # than queried Kampung KB by Kampung KB.
    regions = db.session.scalars(db.select(Wilayah).where(Wilayah.id.in_(area))).all()
    kampungs = db.session.scalars(db.select(KampungKB).where(
        KampungKB.desa_id.in_(area)).order_by(KampungKB.name)).all()
    versions = db.session.execute(db.select(Plan.id, Plan.kampung_id, Plan.year, Plan.status).where(
        Plan.kampung_id.in_(db.select(KampungKB.id).where(KampungKB.desa_id.in_(area))),
        Plan.year.in_((year, year - 1))).order_by(Plan.revision))
    by_key = {}
    for plan in versions:
        by_key.setdefault((plan.kampung_id, plan.year), []).append(plan)
    in_force = {key: approval.in_force(found) for key, found in by_key.items()}
    figures = _plan_figures({p.id: kampung_id for (kampung_id, _y), p in in_force.items() if p is not None},
                            _todays(kampungs))
    rows = []
    for k in kampungs:
        found = by_key.get((k.id, year), [])
        current, previous = in_force.get((k.id, year)), in_force.get((k.id, year - 1))
        now = figures[current.id] if current else {}
        before = figures[previous.id] if previous else {}
        kecamatan = k.desa.parent
        rows.append({
            "kampung": k.name, "kampung_id": k.id, "desa": k.desa.display_name,
            "kecamatan": kecamatan.name if kecamatan and kecamatan.level == "kecamatan" else "",
            "status": ("Disetujui" if current else workflow.STATES[found[-1].status]) if found else "Belum ada",
            "done_pct": now.get("done_pct"), "budget_pct": now.get("budget_pct"),
            "overdue": now.get("overdue"), "last_update": now.get("last_update"),
            "change": change_label(now.get("done_pct"), before.get("done_pct")),
        })
    return Table(f"Rekap Kampung KB {wilayah.display_name} {year}", [
        Column("kampung", "Kampung KB"), Column("desa", "Desa/Kelurahan"), Column("kecamatan", "Kecamatan"),
        Column("status", "Status rencana"), Column("done_pct", "Kegiatan selesai", "percent"),
        Column("change", f"Dibanding {year - 1}"), Column("budget_pct", "Anggaran terealisasi", "percent"),
        Column("overdue", "Jadwal terlambat", "int"), Column("last_update", "Pembaruan terakhir", "date")], rows)


def kept_rollup(wilayah, year):
    """``rollup`` kept in the worker's memory (``portal.fragments``) until anything in the area
    changes: keyed on the area's data version (it moves with every plan, row, progress record,
    mark and realisation below it) and on the hour in UTC, because overdue dates are counted
    from each Kampung KB's today and Indonesia's zones (UTC+7, +8, +9) turn the date on the
    hour. A fresh Table each time (the caller filters and sorts its rows)."""
    hour = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H")
    kept = fragments.cache().get_or_make(("rollup", wilayah.id, year, wilayah_version(wilayah.id), hour),
                                         lambda: rollup(wilayah, year))
    return replace(kept, rows=list(kept.rows))


def _todays(kampungs):
    """{kampung id: today} where a Kampung KB's date is its province's (its time zone): asked
    once per province, of its first Kampung KB, rather than once per Kampung KB."""
    by_province, todays = {}, {}
    for k in kampungs:
        province = k.desa.province if k.desa else None
        if province not in by_province:
            by_province[province] = k.today()
        todays[k.id] = by_province[province]
    return todays


def by_kecamatan(table):
    """The roll-up summed per kecamatan (for a kabupaten's view)."""
    groups = OrderedDict()
    for r in table.rows:
        groups.setdefault(r["kecamatan"] or "(tanpa kecamatan)", []).append(r)
    rows = []
    for name, items in groups.items():
        done = [r["done_pct"] for r in items if r["done_pct"] is not None]
        rows.append({"kecamatan": name, "count": len(items),
                     "approved": sum(r["status"] == "Disetujui" for r in items),
                     "done_pct": round(sum(done) / len(done)) if done else None,
                     "overdue": sum(r["overdue"] or 0 for r in items)})
    return Table(table.title.replace("Rekap Kampung KB", "Rekap per kecamatan"), [
        Column("kecamatan", "Kecamatan"), Column("count", "Kampung KB", "int"),
        Column("approved", "Rencana disetujui", "int"), Column("done_pct", "Rata-rata kegiatan selesai", "percent"),
        Column("overdue", "Jadwal terlambat", "int")], rows)
