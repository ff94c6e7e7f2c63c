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
