"""Rencana Kegiatan services: plans, rows, schedules, funding, totals, filters, copy and JSON.

Services validate, change and flush; the request (or CLI command) commits.
"""
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date, time

from flask import abort
from sqlalchemy.orm import joinedload, selectinload

from portal.models import workflow
from portal import audit
from portal.blueprints.plans import content
from portal.blueprints.plans.reading import FREQUENCIES, MAX_RUPIAH, SOURCE_TYPES, format_rupiah, read_funding, read_schedule
from portal.blueprints.rumahdata.indicators import CITABLE_KEYS
from portal.errors import RuleError, StateConflict
from portal.extensions import db
from portal.models import FundingSource, Plan, PlanRow
from portal.models.plan import PARTS
from portal.models.pokja import SEKSI

ROW_TEXT_FIELDS = ("kegiatan", "description", "pelaksana", "sasaran", "target_unit", "mitra", "place")
SCHEDULE_FIELDS = ("start_date", "end_date", "frequency", "interval", "day_of_month", "weekday",
                   "week_of_month", "start_time", "duration_minutes", "duration_days")


class PlanError(RuleError):
    """A plan change that breaks a rule."""


class RowConflict(Exception):
    """Someone else saved this row since the form was opened; ``current`` is what is stored."""

    def __init__(self, current):
        super().__init__("conflict")
        self.current = current


# -- loading ------------------------------------------------------------------------------------

# Rows with their funding in one query however many rows (selectinload would batch row ids by
# 500, and the page's statement count must not grow with the plan).
ROWS = selectinload(Plan.rows).joinedload(PlanRow.funding_sources)


def get_plan_or_404(plan_id, user, permission="can_view", with_rows=True):
    """Load a plan (with its rows and funding unless ``with_rows`` is false); unknown or
    invisible → 404, visible but not allowed → 403."""
    # Its Kampung KB (every permission asks) and signatures (the status panel) in the same
    # statement.
    plan = db.session.get(Plan, plan_id, options=[joinedload(Plan.kampung), joinedload(Plan.signatures),
                                                  *([ROWS] if with_rows else [])])
    if plan is None or not plan.can_view(user):
        abort(404)
    if not getattr(plan, permission)(user):
        if permission == "can_edit" and plan.may_edit_content(user) and not workflow.content_editable(plan):
            raise StateConflict(_locked_message(plan))
        abort(403)
    return plan


def load_rows(plan):
    """The plan, its rows and their funding loaded (two statements), unless they already are."""
    if "rows" not in plan.__dict__:
        db.session.execute(db.select(Plan).where(Plan.id == plan.id).options(ROWS)
                           .execution_options(populate_existing=True)).scalar_one()
    return plan


def get_row_or_404(plan, row_id):
    row = db.session.get(PlanRow, row_id)
    if row is None or row.plan_id != plan.id:
        abort(404)
    return row


def plans_of(kampung):
    return db.session.scalars(
        db.select(Plan).where(Plan.kampung_id == kampung.id).order_by(Plan.year.desc(), Plan.revision.desc())
    ).all()


# -- plans --------------------------------------------------------------------------------------

def create_plan(kampung, year, by):
    """Start an empty draft for ``year``. Raises PlanError when one exists."""
    _check_year(kampung, year)
    plan = Plan(kampung=kampung, year=year, status=workflow.INITIAL)
    db.session.add(plan)
    db.session.flush()
    audit.record("plan.create", by=by, plan=plan)
    return plan


def copy_previous_year(kampung, year, by):
    """Start ``year``'s draft from last year's rows: schedules move one year, progress is not
    copied. Raises PlanError when there is no plan for last year or ``year`` exists."""
    _check_year(kampung, year)
    # The version in force (newest approved revision), else the newest draft.
    source = db.session.scalar(
        db.select(Plan).where(Plan.kampung_id == kampung.id, Plan.year == year - 1)
        .order_by((Plan.status == "disetujui").desc(), Plan.revision.desc()).limit(1)
    )
    if source is None:
        raise PlanError(f"Belum ada rencana kegiatan {year - 1} untuk disalin.", "year")
    plan = Plan(kampung=kampung, year=year, status=workflow.INITIAL)
    db.session.add(plan)
    # Loading last year's funding must not flush half-built rows.
    with db.session.no_autoflush:
        for old in source.rows:
            row = clone_row(old, plan)
            row.start_date, row.end_date = _years_later(old.start_date, 1), _years_later(old.end_date, 1)
    db.session.flush()
    audit.record("plan.copy", by=by, plan=plan, changes={"Disalin dari": [None, source.title]})
    return plan


def clone_row(old, plan, lineage=None):
    """A copy of ``old`` (content only, no progress) added to ``plan``; a new lineage unless one
    is given (a revision keeps the activity's identity, a new year does not)."""
    row = PlanRow(plan=plan, part=old.part, position=old.position, seksi=old.seksi,
                  target_count=old.target_count, schedule_text=old.schedule_text,
                  schedule_problems=old.schedule_problems, funding_text=old.funding_text,
                  funding_problems=old.funding_problems, indicator=old.indicator)
    if lineage:
        row.lineage = lineage
    for name in ROW_TEXT_FIELDS + SCHEDULE_FIELDS:
        setattr(row, name, getattr(old, name))
    row.funding_sources = [FundingSource(position=s.position, type=s.type, detail=s.detail, amount=s.amount)
                           for s in old.funding_sources]
    db.session.add(row)
    return row


def _check_year(kampung, year):
    if not 2000 <= year <= 2100:
        raise PlanError("Tahun tidak valid.", "year")
    exists = db.session.scalar(db.select(Plan.id).where(Plan.kampung_id == kampung.id, Plan.year == year))
    if exists:
        raise PlanError(f"Rencana kegiatan {year} sudah ada.", "year")


def _years_later(value, years):
    if value is None:
        return None
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February
        return value.replace(year=value.year + years, day=28)


# -- rows ---------------------------------------------------------------------------------------

def add_row(plan, data, by):
    """Add a row at the end of its part. Raises PlanError."""
    part = data.get("part")
    if part not in PARTS:
        raise PlanError("Bagian tidak dikenal.", "part")
    _check_editable(plan, by)
    row = PlanRow(plan=plan, part=part, position=_next_position(plan, part))
    _apply(row, data)
    db.session.add(row)
    db.session.flush()
    _record_row("row.add", row, {}, by)
    return row


def update_row(row, data, by):
    """Change a row. Raises RowConflict when the form's version is stale, PlanError on bad data."""
    if data.get("version") != row.version:
        raise RowConflict(snapshot(row))
    _check_editable(row.plan, by)
    before = content.readable(content.row_content(row))
    if data.get("part") in PARTS and data["part"] != row.part:
        row.part, row.position = data["part"], _next_position(row.plan, data["part"])
    _apply(row, data)
    row.version += 1
    db.session.flush()
    _record_row("row.update", row, before, by)
    return row


def delete_row(row, by):
    _check_editable(row.plan, by)
    plan = row.plan
    audit.record("row.delete", by=by, plan=plan, obj=row,
                 changes=audit.diff(content.readable(content.row_content(row)), {}))
    db.session.delete(row)
    db.session.flush()
    db.session.expire(plan, ["rows"])


def move_row(row, direction, by):
    """Swap a row with its neighbour in the part (direction -1 up, +1 down); no-op at the ends."""
    _check_editable(row.plan, by)
    siblings = row.plan.rows_in(row.part)
    index = siblings.index(row)
    other_index = index + direction
    if 0 <= other_index < len(siblings):
        other = siblings[other_index]
        row.position, other.position = other.position, row.position
        if row.position == other.position:  # legacy equal positions: make them distinct
            row.position += direction
        audit.record("row.move", by=by, plan=row.plan, obj=row,
                     changes={"Nomor": [index + 1, other_index + 1], "Kegiatan": [row.kegiatan, row.kegiatan]})
    db.session.flush()
    db.session.refresh(row.plan, ["rows"])


def _next_position(plan, part):
    return max((r.position for r in plan.rows_in(part)), default=0) + 1


def _check_editable(plan, by):
    """Refuse changes to a submitted or approved plan; the first fix to a returned plan takes
    it back to Draf."""
    if not workflow.content_editable(plan):
        raise PlanError(_locked_message(plan))
    if plan.status == "dikembalikan":
        plan.status = "draf"
        audit.record("plan.reopen", by=by, plan=plan, changes={"Status": ["Dikembalikan", "Draf"]})


def _locked_message(plan):
    hint = (" Untuk mengubahnya, buat revisi." if plan.status == "disetujui"
            else " Tunggu keputusan Lurah/Kepala Desa.")
    return f"Rencana berstatus {workflow.label(plan)}; isinya tidak dapat diubah.{hint}"


def _record_row(action, row, before, by):
    after = content.readable(content.row_content(row))
    audit.record(action, by=by, plan=row.plan, obj=row, changes=audit.diff(before, after))


def _apply(row, data):
    kegiatan = (data.get("kegiatan") or "").strip()
    if not kegiatan:
        raise PlanError("Nama kegiatan wajib diisi.", "kegiatan")
    seksi = data.get("seksi") or PARTS[row.part][1]
    if seksi not in SEKSI:
        raise PlanError("Pilih seksi yang bertanggung jawab.", "seksi")
    for name in ROW_TEXT_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").strip() or None  # browsers send textarea lines as CRLF
        setattr(row, name, value)
    row.kegiatan = kegiatan
    row.seksi = seksi
    row.target_count = data.get("target_count")
    indicator = data.get("indicator") or None
    if indicator is not None and indicator not in CITABLE_KEYS:
        raise PlanError("Indikator Rumah Data tidak dikenal.", "indicator")
    row.indicator = indicator
    apply_schedule(row, data)
    apply_funding(row, data.get("funding_text") or "", data.get("funding_sources"))


def apply_schedule(row, data):
    """Set the schedule from the text, or from the structured fields when the user filled them
    for this same text (completing a phrase the reader could not place)."""
    text = (data.get("schedule_text") or "").strip()
    manual = {name: data.get(name) for name in SCHEDULE_FIELDS if data.get(name) not in (None, "")}
    text_is_new = text != (data.get("schedule_read_from") or "").strip()
    reading = read_schedule(text, row.plan.year) if text else None
    # The structured fields win when the user filled them for this text, or when the text
    # cannot be read; otherwise the text decides.
    use_manual = bool(manual.get("frequency")) and (
        not text_is_new or reading is None or reading.needs_completion)
    if use_manual:
        structure, problems = manual, []
    elif reading is not None:
        structure = _structure_of(reading)
        problems = list(reading.problems)
    else:
        structure, problems = {}, ["Jadwal belum diisi."]
    structure["interval"] = structure.get("interval") or 1
    start, end = structure.get("start_date"), structure.get("end_date")
    if start and end and end < start:
        raise PlanError("Tanggal selesai tidak boleh sebelum tanggal mulai.", "end_date")
    if not problems and not (structure.get("frequency") and start and end):
        problems = ["Frekuensi dan periode jadwal belum lengkap."]
    row.schedule_text = text or None
    for name in SCHEDULE_FIELDS:
        setattr(row, name, structure.get(name))
    row.schedule_problems = "\n".join(problems) or None


def _structure_of(reading):
    """Schedule columns from a ScheduleReading (which names the period start/end)."""
    structure = {name: getattr(reading, name, None) for name in SCHEDULE_FIELDS}
    structure["start_date"], structure["end_date"] = reading.start, reading.end
    return structure


def apply_funding(row, text, sources=None):
    """Replace the row's funding with ``sources`` (structured, from an import) or what the text
    reads into; problems are kept for the row's flag."""
    text = text.strip()
    if sources is None:
        reading = read_funding(text)
        sources = [dict(type=s.type, detail=s.detail, amount=s.amount) for s in reading.sources]
        problems = reading.problems
    else:
        problems = [f"Jenis sumber dana tidak dikenal: {s['type']}" for s in sources if s["type"] not in SOURCE_TYPES]
        if problems:
            raise PlanError(problems[0], "funding_text")
    row.funding_text = text or None
    row.funding_problems = "\n".join(problems) or None
    row.funding_sources = [FundingSource(position=i, type=s["type"], detail=s.get("detail"), amount=s.get("amount"))
                           for i, s in enumerate(sources)]


def snapshot(row):
    """What is stored now, for showing beside the user's own input on a conflict."""
    return {"kegiatan": row.kegiatan, "pelaksana": row.pelaksana or "", "sasaran": row.sasaran or "",
            "mitra": row.mitra or "", "schedule_text": row.schedule_text or "", "funding_text": row.funding_text or ""}


# -- reading the plan ---------------------------------------------------------------------------

@dataclass
class Filters:
    part: str | None = None
    seksi: str | None = None
    source: str | None = None
    month: int | None = None
    incomplete: bool = False

    @classmethod
    def from_args(cls, args):
        month = args.get("bulan", type=int)
        return cls(
            part=args.get("hanya") if args.get("hanya") in PARTS else None,
            seksi=args.get("seksi") if args.get("seksi") in SEKSI else None,
            source=args.get("dana") if args.get("dana") in SOURCE_TYPES else None,
            month=month if month and 1 <= month <= 12 else None,
            incomplete=args.get("perlu") == "1",
        )

    @property
    def active(self):
        return bool(self.part or self.seksi or self.source or self.month or self.incomplete)

    def as_args(self):
        return {k: v for k, v in {"hanya": self.part, "seksi": self.seksi, "dana": self.source, "bulan": self.month,
                                  "perlu": "1" if self.incomplete else None}.items() if v}

    def as_key(self):
        return tuple(sorted(self.as_args().items()))

    def match(self, row):
        return (
            (self.seksi is None or row.seksi == self.seksi)
            and (self.source is None or any(s.type == self.source for s in row.funding_sources))
            and (self.month is None or self.month in row.active_months())
            and (not self.incomplete or row.schedule_needs_completion or bool(row.funding_problems))
        )


def parts_view(plan, filters):
    """The parts in order (only one when filtered by part), each with its filtered rows and
    budget total."""
    view = []
    for key, (title, _seksi) in PARTS.items():
        if filters.part and key != filters.part:
            continue
        rows = [r for r in plan.rows_in(key) if filters.match(r)]
        total = sum(r.budget or 0 for r in rows)
        view.append({"key": key, "title": title, "rows": rows, "total": total,
                     "count": len(plan.rows_in(key))})
    return view


def source_totals(rows):
    """Budget per funding source type (and detail), for the rows given, largest first."""
    totals = OrderedDict()
    for row in rows:
        for s in row.funding_sources:
            key = (s.type, s.detail or "")
            totals[key] = totals.get(key, 0) + (s.amount or 0)
    return sorted(((SOURCE_TYPES.get(t, t), d, amount) for (t, d), amount in totals.items()),
                  key=lambda item: (-item[2], item[0], item[1]))


# -- JSON interchange ---------------------------------------------------------------------------

FORMAT = "portal-kampung-kb/rencana-kegiatan"
FORMAT_VERSION = 1


def export_plan(plan):
    """The whole plan as the JSON interchange document (docs/plan-json.md)."""
    rows = []
    for number, r in content.ordered_rows(plan):
        item = content.row_content(r, number)
        del item["lineage"]  # an imported plan's rows are new activities
        item["schedule"]["problems"] = r.schedule_problems.splitlines() if r.schedule_problems else []
        item["funding"]["problems"] = r.funding_problems.splitlines() if r.funding_problems else []
        rows.append(item)
    return {
        "format": FORMAT, "version": FORMAT_VERSION,
        "kampung": {"id": plan.kampung.id, "name": plan.kampung.name,
                    "desa": plan.kampung.desa.name, "desa_code": plan.kampung.desa.code},
        "year": plan.year, "revision": plan.revision, "status": plan.status,
        "rows": rows,
    }


def import_plan(document, kampung, year, by):
    """Create ``year``'s draft for ``kampung`` from an interchange document, all rows or none.
    Raises PlanError naming the row at fault."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PlanError("Berkas bukan ekspor rencana kegiatan Portal Kampung KB.")
    if document.get("version") != FORMAT_VERSION:
        raise PlanError(f"Versi format {document.get('version')!r} tidak didukung (yang didukung: {FORMAT_VERSION}).")
    rows = document.get("rows")
    if not isinstance(rows, list):
        raise PlanError("Berkas tidak berisi daftar baris (rows).")
    plan = create_plan(kampung, year, by)
    for index, item in enumerate(rows, start=1):
        try:
            part = item.get("part")
            if part not in PARTS:
                raise PlanError(f"bagian {part!r} tidak dikenal")
            row = PlanRow(part=part, position=_next_position(plan, part))
            plan.rows.append(row)  # (PlanRow(plan=…) would list it twice and not add it to the session)
            for name in ROW_TEXT_FIELDS + ("seksi",):
                value = item.get(name)
                if value is not None and (not isinstance(value, str) or len(value) > TEXT_LIMITS[name]):
                    raise PlanError(f"{name} harus teks paling banyak {TEXT_LIMITS[name]} karakter")
                setattr(row, name, value)
            if not row.kegiatan or row.seksi not in SEKSI:
                raise PlanError("kegiatan kosong atau seksi tidak dikenal")
            row.target_count = _whole(item.get("target_count"), "target_count")
            if item.get("indicator") is not None and item.get("indicator") not in CITABLE_KEYS:
                raise PlanError(f"indikator {item.get('indicator')!r} tidak dikenal")
            row.indicator = item.get("indicator")
            apply_structure(row, item.get("schedule") or {}, item.get("funding") or {})
        except PlanError as exc:
            raise PlanError(f"Baris {index}: {exc}") from exc
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise PlanError(f"Baris {index}: isi tidak sesuai format (docs/plan-json.md).") from exc
    db.session.flush()
    audit.record("plan.import", by=by, plan=plan, changes={"Jumlah kegiatan": [None, len(rows)]})
    return plan


def apply_structure(row, schedule=None, funding=None):
    """Set schedule and/or funding from their interchange form (as exported, not re-read from
    the texts). Raises ValueError, TypeError or PlanError on malformed values."""
    if schedule is not None:
        row.schedule_text = schedule.get("text")
        for name in SCHEDULE_FIELDS:
            value = schedule.get(name)
            if name in ("start_date", "end_date") and value:
                value = date.fromisoformat(value)
            elif name == "start_time" and value:
                value = time.fromisoformat(value)
            setattr(row, name, value)
        if row.frequency not in (None, *FREQUENCIES):
            raise PlanError(f"frekuensi {row.frequency!r} tidak dikenal")
        for name, low, high in SCHEDULE_RANGES:
            value = getattr(row, name)
            if value is not None and (_whole(value, name) < low or value > high):
                raise PlanError(f"{name} {value!r} di luar {low}\u2013{high}")
        row.interval = schedule.get("interval") or 1
        row.schedule_problems = "\n".join(schedule.get("problems") or []) or None
    if funding is not None:
        for source in funding.get("sources") or []:
            amount = _whole(source.get("amount"), "amount")
            if amount is not None and not 0 <= amount <= MAX_RUPIAH:
                raise PlanError(f"jumlah dana {amount!r} tidak valid")
            detail = source.get("detail")
            if detail is not None and (not isinstance(detail, str) or len(detail) > 120):
                raise PlanError("rincian sumber dana harus teks paling banyak 120 karakter")
        apply_funding(row, funding.get("text") or "", funding.get("sources") or [])
        row.funding_problems = "\n".join(funding.get("problems") or []) or None


# Stored sizes of the text columns (portal.models.plan) and the ranges of the schedule numbers.
TEXT_LIMITS = {"kegiatan": 300, "description": 4000, "pelaksana": 300, "sasaran": 300, "target_unit": 40,
               "mitra": 300, "place": 200, "seksi": 20}
SCHEDULE_RANGES = (("interval", 1, 12), ("day_of_month", 1, 31), ("weekday", 0, 6), ("week_of_month", 1, 5),
                   ("duration_minutes", 1, 24 * 60), ("duration_days", 1, 366))


def _whole(value, name):
    """An optional whole number ≥ 0 from an interchange document; PlanError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PlanError(f"{name} harus bilangan bulat \u2265 0")
    return value


# -- spreadsheets (portal.blueprints.plans.sheets) ---------------------------------------------

def sheet_rows(sheet, year):
    """Each row of a read spreadsheet with the unsaved PlanRow it becomes, read by the same
    code as the row form (or taken from an export's hidden structure). The SheetRows returned
    are copies carrying this reading's errors and warnings (the sheet itself is not changed);
    the PlanRow is None for a row with errors."""
    stand_in = Plan(year=year)  # transient: the readers need the plan's year, nothing is added
    out = []
    for item in sheet.rows:
        item = replace(item, errors=list(item.errors), warnings=list(item.warnings))
        row = None
        if not item.errors:
            row = PlanRow(part=item.part, position=0)
            row.plan = stand_in
            data = dict(item.texts, seksi=item.seksi, target_count=item.target_count,
                        target_unit=item.target_unit)
            try:
                _apply(row, data)
                _structure_or_text(row, item)
            except PlanError as exc:
                item.errors.append(str(exc))
                stand_in.rows.remove(row)
                row = None
        out.append((item, row))
    return out


def _structure_or_text(row, item):
    """Schedule and funding as the texts read, unless an export's hidden sheet kept them for
    these very texts: then as stored (a schedule completed by hand survives the round trip), the
    dates moved to the plan's year when the file came from another year (as "Salin dari tahun
    lalu" does). Each half stands alone: editing the Waktu cell re-reads the schedule only."""
    kept = item.structure or {}
    schedule, funding = kept.get("schedule"), kept.get("funding")
    try:
        apply_structure(row, dict(schedule, text=row.schedule_text) if schedule else None,
                        dict(funding, text=row.funding_text) if funding else None)
    except (PlanError, ValueError, TypeError, AttributeError):
        apply_schedule(row, {"schedule_text": row.schedule_text})
        apply_funding(row, row.funding_text or "")
        item.warnings.append("Struktur tersimpan baris ini tidak valid; jadwal dan dana dibaca dari teksnya.")
        schedule = funding = None
    exported_year = kept.get("year")
    if schedule and isinstance(exported_year, int) and exported_year != row.plan.year:
        years = row.plan.year - exported_year
        row.start_date, row.end_date = _years_later(row.start_date, years), _years_later(row.end_date, years)
    if not funding and item.anggaran is not None:
        _place_budget(row, item)


def _place_budget(row, item):
    """The Anggaran column: the amount of the one funding source the text names."""
    amount = item.anggaran
    sources = row.funding_sources
    stated = [s.amount for s in sources if s.amount is not None]
    shown = format_rupiah(amount)
    if stated:
        if sum(stated) != amount:
            item.warnings.append(f"Anggaran {shown} berbeda dengan jumlah di Sumber Dana "
                                 f"({format_rupiah(sum(stated))}); dipakai rincian Sumber Dana.")
        return
    if len(sources) == 1:
        sources[0].amount = amount
        return
    if not sources:
        row.funding_sources = [FundingSource(position=0, type="lainnya", amount=amount)]
        problem = f"Anggaran {shown} tanpa sumber dana; dicatat sebagai \u201cLainnya\u201d."
    else:
        problem = f"Anggaran {shown} belum dibagi ke {len(sources)} sumber dana."
    row.funding_problems = "\n".join(filter(None, [row.funding_problems, problem]))


def import_target(kampung, year):
    """Where an import of ``year`` goes: (the editable draft, None), (None, None) for a new
    draft, or (None, reason) when the year's plan is submitted or approved."""
    plans = db.session.scalars(db.select(Plan).where(Plan.kampung_id == kampung.id, Plan.year == year)
                               .order_by(Plan.revision.desc())).all()
    for plan in plans:
        if workflow.content_editable(plan):
            return plan, None
    if plans:
        return None, (f"Rencana kegiatan {year} berstatus {workflow.label(plans[0])}; isinya tidak dapat diubah. "
                      "Buat revisi dulu, lalu impor ke draf revisi.")
    return None, None


def import_sheet(sheet, kampung, year, by):
    """Add every row of ``sheet`` to ``year``'s draft (created when there is none): all rows
    or none. Raises PlanError when any row has an error or the year's plan is locked."""
    target, refusal = import_target(kampung, year)
    if refusal:
        raise PlanError(refusal)
    if target is None:
        _check_year(kampung, year)
    built = sheet_rows(sheet, year)
    failed = [item for item, row in built if row is None]
    if failed:
        raise PlanError(f"{len(failed)} baris masih salah (pertama: baris {failed[0].sheet_row}: "
                        f"{failed[0].errors[0]}).")
    plan = target or create_plan(kampung, year, by)
    if target is not None:
        _check_editable(plan, by)
    with db.session.no_autoflush:
        for _item, row in built:
            row.position = _next_position(plan, row.part)
            row.plan = plan
            db.session.add(row)  # SQLAlchemy 2 does not cascade along the backref
    db.session.flush()
    audit.record("plan.import", by=by, plan=plan,
                 changes={"Diimpor dari": [None, sheet.filename or sheet.kind.upper()],
                          "Jumlah kegiatan": [None, len(built)]})
    return plan
