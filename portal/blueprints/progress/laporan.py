"""Laporan kegiatan: what happened in one month or quarter of the plan in force.

Per activity: sessions planned and held in the period, people reached in the period and up to
its end against the target, budget and what was spent in the period and up to its end. The
same ``Table`` feeds the screen, the XLSX and the PDF (through the print stylesheet).
"""
import re
from dataclasses import dataclass
from datetime import date

from portal import labels
from portal.blueprints.plans.content import ordered_rows
from portal.blueprints.progress.services import activities
from portal.formatting import MONTHS
from portal.tables import Column, Table

ROMAN_QUARTERS = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class Period:
    year: int
    month: int | None = None  # 1–12, or None for a quarter
    quarter: int | None = None  # 1–4

    @classmethod
    def parse(cls, text, year):
        """"2026-03" (a month) or "2026-T1" (a quarter) within ``year``; None when malformed or
        another year."""
        match = re.fullmatch(r"(\d{4})-(?:(\d{2})|T([1-4]))", text or "")
        if not match or int(match.group(1)) != year:
            return None
        if match.group(2):
            month = int(match.group(2))
            return cls(year, month=month) if 1 <= month <= 12 else None
        return cls(year, quarter=int(match.group(3)))

    @classmethod
    def containing(cls, day, year):
        """The month of ``day`` when it falls in ``year``, else the year's last month."""
        return cls(year, month=day.month if day.year == year else 12)

    @property
    def key(self):
        return f"{self.year}-{self.month:02d}" if self.month else f"{self.year}-T{self.quarter}"

    @property
    def first(self):
        return date(self.year, self.month or 3 * self.quarter - 2, 1)

    @property
    def last(self):
        month = self.month or 3 * self.quarter
        following = date(self.year + (month == 12), month % 12 + 1, 1)
        return date.fromordinal(following.toordinal() - 1)

    @property
    def label(self):
        if self.month:
            return f"{MONTHS[self.month - 1]} {self.year}"
        first, last = MONTHS[3 * self.quarter - 3], MONTHS[3 * self.quarter - 1]
        return f"Triwulan {ROMAN_QUARTERS[self.quarter - 1]} {self.year} ({first}\u2013{last})"

    def contains(self, day):
        return self.first <= day <= self.last


def periods(year):
    """Every month then every quarter of ``year``, for the period picker."""
    return [Period(year, month=m) for m in range(1, 13)] + [Period(year, quarter=q) for q in range(1, 5)]


def report(plan, period):
    """The period's table and its summary figures."""
    items = {a.row.lineage: a for a in activities(plan)}
    rows = []
    for number, row in ordered_rows(plan):
        a = items[row.lineage]
        in_period = [o for o in a.occurrences if period.contains(o.date) and o.state != "cancelled"]
        held = [o for o in in_period if o.state == "done"]
        if a.status == "dibatalkan":
            in_period = held  # a cancelled activity plans nothing more
        realised = [r for r in a.realisations if period.contains(r.on)]
        to_date = [r for r in a.realisations if r.on <= period.last]
        reached_to_date = sum(r.people_reached or 0 for r in to_date)
        spent_to_date = sum(r.spent for r in to_date)
        target = row.target_count
        rows.append({
            "number": f"{row.part}.{number}", "kegiatan": row.kegiatan, "seksi": labels.SEKSI_SHORT[row.seksi],
            "planned": len(in_period), "held": len(held), "status": a.status_label,
            "reached": sum(r.people_reached or 0 for r in realised), "reached_to_date": reached_to_date,
            "target": target, "target_unit": row.target_unit or "",
            "target_pct": round(100 * reached_to_date / target) if target else None,
            "budget": row.budget, "spent": sum(r.spent for r in realised), "spent_to_date": spent_to_date,
            "budget_pct": round(100 * spent_to_date / row.budget) if row.budget else None,
            "active": bool(in_period or realised),
        })
    budget = sum(r["budget"] or 0 for r in rows)
    spent_to_date = sum(r["spent_to_date"] for r in rows)
    summary = {
        "scheduled": sum(1 for r in rows if r["planned"]),
        "held_any": sum(1 for r in rows if r["held"]),
        "sessions_planned": sum(r["planned"] for r in rows),
        "sessions_held": sum(r["held"] for r in rows),
        "reached": sum(r["reached"] for r in rows),
        "spent": sum(r["spent"] for r in rows), "spent_to_date": spent_to_date, "budget": budget,
        "budget_pct": round(100 * spent_to_date / budget) if budget else None,
    }
    table = Table(f"Laporan kegiatan {period.label}", [
        Column("number", "No"), Column("kegiatan", "Kegiatan"), Column("seksi", "Seksi"),
        Column("planned", "Jadwal pada periode", "int"), Column("held", "Terlaksana", "int"),
        Column("status", "Status sekarang"),
        Column("reached", "Sasaran terjangkau (periode)", "int"),
        Column("reached_to_date", "Terjangkau s.d. periode", "int"),
        Column("target", "Target sasaran", "int"), Column("target_unit", "Satuan"),
        Column("target_pct", "Capaian sasaran", "percent"),
        Column("budget", "Anggaran setahun", "rupiah"), Column("spent", "Realisasi (periode)", "rupiah"),
        Column("spent_to_date", "Realisasi s.d. periode", "rupiah"), Column("budget_pct", "Serapan", "percent"),
    ], rows, subtitle=f"{plan.kampung.name} \u00b7 {plan.title} \u00b7 {period.first.day} {MONTHS[period.first.month - 1]}"
                      f" \u2013 {period.last.day} {MONTHS[period.last.month - 1]} {period.year}")
    return table, summary
