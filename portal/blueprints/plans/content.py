"""A plan's content as plain data: what is signed, what a revision is compared by, what the JSON
export carries.

``row_content`` is every field of a row that belongs to the plan as agreed (not its database id,
version or progress). ``document`` wraps the rows with the plan's identity; ``canonical`` is the
exact byte string that is hashed and signed: JSON with sorted keys, no spaces, UTF-8 (described in
docs/signing.md, so anyone can recompute it from an export).
"""
import hashlib
import json
from datetime import date, time
from types import SimpleNamespace

from portal import labels
from portal.formatting import schedule_summary
from portal.blueprints.plans.reading import SOURCE_TYPES, format_rupiah
from portal.blueprints.rumahdata.indicators import label as indicator_label
from portal.models.plan import PARTS

SIGNED_FORMAT = "portal-kampung-kb/isi-rencana-bertanda-tangan"
SIGNED_VERSION = 1


def row_content(row, number=None):
    content = {
        "lineage": row.lineage, "part": row.part, "number": number if number is not None else row.number,
        "kegiatan": row.kegiatan, "description": row.description, "pelaksana": row.pelaksana,
        "seksi": row.seksi, "sasaran": row.sasaran, "target_count": row.target_count,
        "target_unit": row.target_unit, "mitra": row.mitra, "place": row.place,
        "schedule": {
            "text": row.schedule_text, "start_date": _iso(row.start_date), "end_date": _iso(row.end_date),
            "frequency": row.frequency, "interval": row.interval, "day_of_month": row.day_of_month,
            "weekday": row.weekday, "week_of_month": row.week_of_month,
            "start_time": row.start_time.strftime("%H:%M") if row.start_time else None,
            "duration_minutes": row.duration_minutes, "duration_days": row.duration_days,
        },
        "funding": {"text": row.funding_text,
                    "sources": [{"type": s.type, "detail": s.detail, "amount": s.amount} for s in row.funding_sources]},
    }
    # Only when set, so plans signed before rows could cite an indicator keep their hash.
    if row.indicator:
        content["indicator"] = row.indicator
    return content


def _iso(value):
    return value.isoformat() if value is not None else None


def ordered_rows(plan):
    """Rows in document order, with their number within the part."""
    for part in PARTS:
        for number, row in enumerate(plan.rows_in(part), start=1):
            yield number, row


def document(plan):
    return {
        "format": SIGNED_FORMAT, "version": SIGNED_VERSION,
        "plan_id": plan.id, "kampung_id": plan.kampung_id, "year": plan.year, "revision": plan.revision,
        "rows": [row_content(row, number) for number, row in ordered_rows(plan)],
    }


def canonical(doc):
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(plan):
    return sha256(canonical(document(plan)))


# -- comparing two versions ----------------------------------------------------------------------

# What a person reads in a comparison: label, and how to show the value.
FIELDS = (
    ("part", "Bagian", lambda c: f"{c['part']}. {PARTS[c['part']][0]}"),
    ("kegiatan", "Kegiatan", lambda c: c["kegiatan"]),
    ("description", "Keterangan", lambda c: c["description"]),
    ("pelaksana", "Pelaksana", lambda c: c["pelaksana"]),
    ("seksi", "Seksi", lambda c: labels.SEKSI_SHORT.get(c["seksi"], c["seksi"])),
    ("sasaran", "Sasaran", lambda c: c["sasaran"]),
    ("target", "Jumlah sasaran", lambda c: " ".join(str(v) for v in (c["target_count"], c["target_unit"]) if v is not None)),
    ("mitra", "Mitra", lambda c: c["mitra"]),
    ("place", "Tempat", lambda c: c["place"]),
    ("schedule", "Waktu", lambda c: _schedule_text(c["schedule"])),
    ("funding", "Sumber dana", lambda c: _funding_text(c["funding"])),
    ("indicator", "Indikator Rumah Data", lambda c: indicator_label(c["indicator"]) if c.get("indicator") else None),
)


def _schedule_text(schedule):
    """The text as written and what it was read as ("Maret–Des · Bulanan · 1 Mar 2025 – …")."""
    as_row = SimpleNamespace(**dict(
        schedule,
        start_date=date.fromisoformat(schedule["start_date"]) if schedule["start_date"] else None,
        end_date=date.fromisoformat(schedule["end_date"]) if schedule["end_date"] else None,
        start_time=time.fromisoformat(schedule["start_time"]) if schedule["start_time"] else None))
    return " · ".join(p for p in (schedule["text"], schedule_summary(as_row)) if p)


def _funding_text(funding):
    sources = "; ".join(
        " ".join(p for p in (SOURCE_TYPES.get(s["type"], s["type"]), f"({s['detail']})" if s["detail"] else "",
                             format_rupiah(s["amount"]) if s["amount"] is not None else "") if p)
        for s in funding["sources"])
    return sources or funding["text"]


def readable(row):
    """{label: text} of a row's content, for the audit trail."""
    return {label: show(row) or None for _key, label, show in FIELDS}


def compare(old_rows, new_rows):
    """Match rows by lineage. Returns a list of {"kind": "added"|"removed"|"changed", "old",
    "new", "fields": [(label, old text, new text)]} in the new version's order, removed rows
    last, then {"kind": "reordered", "part": key} for parts whose remaining rows changed order.
    Rows that did not change are left out."""
    old_by = {r["lineage"]: r for r in old_rows}
    new_keys = {r["lineage"] for r in new_rows}
    out = []
    for new in new_rows:
        old = old_by.get(new["lineage"])
        if old is None:
            out.append({"kind": "added", "old": None, "new": new, "fields": _shown(None, new)})
            continue
        fields = [(label, show(old) or "", show(new) or "") for _key, label, show in FIELDS if show(old) != show(new)]
        if fields:
            out.append({"kind": "changed", "old": old, "new": new, "fields": fields})
    out += [{"kind": "removed", "old": r, "new": None, "fields": _shown(r, None)}
            for r in old_rows if r["lineage"] not in new_keys]
    for part in PARTS:
        kept_old = [r["lineage"] for r in old_rows if r["part"] == part and r["lineage"] in new_keys]
        kept_new = [r["lineage"] for r in new_rows if r["part"] == part and r["lineage"] in old_by]
        if kept_old != kept_new and sorted(kept_old) == sorted(kept_new):
            out.append({"kind": "reordered", "part": part, "old": None, "new": None, "fields": []})
    return out


def _shown(old, new):
    present = old or new
    return [(label, show(old) or "" if old else "", show(new) or "" if new else "")
            for key, label, show in FIELDS if show(present)]
