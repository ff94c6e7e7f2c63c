"""What the dashboards and roll-ups show, computed from the approved plan in force and its
progress. Each table is a ``portal.tables.Table`` so the screen and its CSV/XLSX export are the
same data."""
from collections import OrderedDict

from portal import labels
from portal.blueprints.plans import approval
from portal.blueprints.plans.reading import SOURCE_TYPES
from portal.blueprints.progress.services import activities
from portal.extensions import db
from portal.models import Plan
from portal.models.plan import PARTS
from portal.tables import Column, Table


def plan_in_force(kampung, year):
    versions = db.session.scalars(db.select(Plan).where(
        Plan.kampung_id == kampung.id, Plan.year == year).order_by(Plan.revision)).all()
    return approval.in_force(versions)


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

def _kampung_figures(plan, items):
    """Plan status and progress figures of one Kampung KB's year."""
    live = [a for a in items if a.status != "dibatalkan"]
    planned = sum(s.amount or 0 for a in items for s in a.row.funding_sources)
    spent = sum(a.spent for a in items)
    stamps = [a.progress.updated_at for a in items if a.progress] + [r.created_at for a in items for r in a.realisations]
    return {
        "done_pct": round(100 * sum(a.status == "selesai" for a in live) / len(live)) if live else None,
        "budget_pct": round(100 * spent / planned) if planned else None,
        "overdue": sum(len(a.overdue) for a in live),
        "last_update": max((s.date() for s in stamps), default=None),
    }


def change_label(now, before):
    """TURUN / NAIK / TETAP, as the 003 deck marks year-over-year change; None without both."""
    if now is None or before is None:
        return None
    return "NAIK" if now > before else ("TURUN" if now < before else "TETAP")


def rollup(wilayah, year):
    """One row per Kampung KB under ``wilayah``: plan status for ``year``, % activities done,
    % budget realised, last update, overdue occurrences, and the change in % done against the
    year before. Plans in force and their progress are loaded in a handful of queries."""
    from sqlalchemy.orm import selectinload

    from portal.blueprints.progress.services import activities_of_plans
    from portal.models import KampungKB, PlanRow
    from portal.models import workflow
    kampungs = db.session.scalars(db.select(KampungKB).where(
        KampungKB.desa_id.in_(wilayah.descendant_ids_query())).order_by(KampungKB.name)).all()
    plans = db.session.scalars(db.select(Plan).where(
        Plan.kampung_id.in_([k.id for k in kampungs]), Plan.year.in_((year, year - 1)))
        .options(selectinload(Plan.rows).selectinload(PlanRow.funding_sources))
        .order_by(Plan.revision)).all()
    by_key = {}
    for plan in plans:
        by_key.setdefault((plan.kampung_id, plan.year), []).append(plan)
    in_force = {key: approval.in_force(versions) for key, versions in by_key.items()}
    figures = activities_of_plans([p for p in in_force.values() if p is not None])
    rows = []
    for k in kampungs:
        versions = by_key.get((k.id, year), [])
        current, previous = in_force.get((k.id, year)), in_force.get((k.id, year - 1))
        now = _kampung_figures(current, figures[current.id]) if current else {}
        before = _kampung_figures(previous, figures[previous.id]) if previous else {}
        kecamatan = k.desa.parent
        rows.append({
            "kampung": k.name, "kampung_id": k.id, "desa": k.desa.display_name,
            "kecamatan": kecamatan.name if kecamatan and kecamatan.level == "kecamatan" else "",
            "status": ("Disetujui" if current else workflow.STATES[versions[-1].status]) if versions else "Belum ada",
            "done_pct": now.get("done_pct"), "budget_pct": now.get("budget_pct"),
            "overdue": now.get("overdue"), "last_update": now.get("last_update"),
            "change": change_label(now.get("done_pct"), before.get("done_pct")),
        })
    return Table(f"Rekap Kampung KB {wilayah.display_name} {year}", [
        Column("kampung", "Kampung KB"), Column("desa", "Desa/Kelurahan"), Column("kecamatan", "Kecamatan"),
        Column("status", "Status rencana"), Column("done_pct", "Kegiatan selesai", "percent"),
        Column("change", f"Dibanding {year - 1}"), Column("budget_pct", "Anggaran terealisasi", "percent"),
        Column("overdue", "Jadwal terlambat", "int"), Column("last_update", "Pembaruan terakhir", "date")], rows)


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
