"""Progress services: who may update an activity, its occurrences, status and realisation.

Progress is recorded on the approved plan in force, keyed by the activity's lineage (see
``portal.models.progress``). Services validate, change, record the audit entry and flush; the
request commits.
"""
from dataclasses import dataclass, field
from datetime import date

from flask import abort
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from portal import audit
from portal.blueprints.plans import approval
from portal.blueprints.plans.services import PlanError, get_plan_or_404, get_row_or_404
from portal.extensions import db
from portal.forms import without_control_characters
from portal.models import ActivityProgress, OccurrenceMark, Realisation, RealisationSpend
from portal.models.pokja import SEKSI_ROLES
from portal.models.progress import STATUSES
from portal.occurrences import apply_marks, planned_dates
from portal.occurrences import progress as occurrence_progress

REASON_MAX = 1000


class ProgressError(PlanError):
    """A progress update that breaks a rule (message beside ``field``)."""


class ProgressConflict(Exception):
    """Someone else saved this activity's status since the form was opened."""

    def __init__(self, current):
        super().__init__("conflict")
        self.current = current


# -- permissions ----------------------------------------------------------------------------------

def may_update(row, user):
    """The head and members of the row's seksi, the Sekretaris and the Ketua update progress of
    the approved plan in force; everyone who may read the plan reads it."""
    plan = row.plan
    if not user.is_authenticated or plan.status != "disetujui":
        return False
    positions = user.active_positions(plan.kampung)
    return any(p.role in ("ketua", "sekretaris") or (p.role in SEKSI_ROLES and p.seksi == row.seksi)
               for p in positions)


def is_in_force(plan):
    return plan.status == "disetujui" and approval.in_force(approval.versions(plan)) is plan


def get_activity_or_404(plan_id, row_id, user, update=False):
    plan = get_plan_or_404(plan_id, user)
    row = get_row_or_404(plan, row_id)
    if update and not (may_update(row, user) and is_in_force(plan)):
        abort(403)
    return plan, row


# -- reading --------------------------------------------------------------------------------------

@dataclass
class Activity:
    """One activity with its progress, as the screens show it."""
    row: object
    progress: ActivityProgress | None
    occurrences: list
    realisations: list = field(default_factory=list)
    today: date | None = None

    @property
    def status(self):
        return self.progress.status if self.progress else "belum"

    @property
    def status_label(self):
        return STATUSES[self.status]

    @property
    def percent(self):
        """Set by hand, else from the occurrences, else 100 when Selesai and 0 when not begun;
        None when nothing says (Berjalan without occurrences)."""
        if self.progress and self.progress.percent is not None:
            return self.progress.percent
        if self.status == "selesai":
            return 100
        from_occurrences = occurrence_progress(self.occurrences)
        if from_occurrences is not None:
            return from_occurrences
        return 0 if self.status in ("belum", "tertunda") else None

    @property
    def overdue(self):
        """Planned or moved occurrences whose date has passed without being done."""
        if self.status in ("selesai", "dibatalkan"):
            return []
        return [o for o in self.occurrences if o.state in ("planned", "moved") and o.date < self.today]

    @property
    def upcoming(self):
        if self.status in ("selesai", "dibatalkan"):
            return []
        return [o for o in self.occurrences if o.state in ("planned", "moved") and o.date >= self.today]

    def due_within(self, days):
        return [o for o in self.upcoming if (o.date - self.today).days <= days]

    @property
    def reached(self):
        return sum(r.people_reached or 0 for r in self.realisations)

    @property
    def spent(self):
        return sum(r.spent for r in self.realisations)


def activities(plan, rows=None):
    """Activity views for ``rows`` (default: all of the plan's), in three queries however many
    rows and realisations there are."""
    rows = list(plan.rows if rows is None else rows)
    return _activities_of(rows, plan.kampung.today(), _progress_maps([r.lineage for r in rows]))


def _progress_maps(lineages):
    progress, marks, realisations = {}, {}, {}
    if lineages:
        progress = {p.lineage: p for p in db.session.scalars(
            db.select(ActivityProgress).where(ActivityProgress.lineage.in_(lineages)))}
        # Marks only feed ``apply_marks``: rows of the columns it reads, not objects.
        for mark in db.session.execute(db.select(
                OccurrenceMark.lineage, OccurrenceMark.original_date, OccurrenceMark.state, OccurrenceMark.moved_to,
                OccurrenceMark.reason).where(OccurrenceMark.lineage.in_(lineages))):
            marks.setdefault(mark.lineage, []).append(mark)
        # Spends joined in the same query: selectinload would add one query per 500 realisations.
        for item in db.session.scalars(db.select(Realisation).where(Realisation.lineage.in_(lineages))
                                       .options(joinedload(Realisation.spends))
                                       .order_by(Realisation.on.desc(), Realisation.id.desc())).unique():
            realisations.setdefault(item.lineage, []).append(item)
    return progress, marks, realisations


def _activities_of(rows, today, maps):
    progress, marks, realisations = maps
    return [Activity(r, progress.get(r.lineage), apply_marks(planned_dates(r), marks.get(r.lineage, [])),
                     realisations.get(r.lineage, []), today) for r in rows]


# -- changing -------------------------------------------------------------------------------------

def set_status(row, data, by):
    """Status, percentage and reason. Raises ProgressConflict on a stale version, ProgressError
    on bad data."""
    progress = _progress_for(row)
    if progress.id is not None and data.get("version") != progress.version:
        raise ProgressConflict({**snapshot(progress), "version": progress.version})
    status = data.get("status")
    if status not in STATUSES:
        raise ProgressError("Pilih status kegiatan.", "status")
    reason = (data.get("reason") or "").strip() or None
    if status in ("dibatalkan", "tertunda") and not reason:
        raise ProgressError(f"Tuliskan alasan kegiatan {STATUSES[status].lower()}.", "reason")
    if reason and len(reason) > REASON_MAX:
        raise ProgressError(f"Alasan terlalu panjang (paling banyak {REASON_MAX} karakter).", "reason")
    percent = data.get("percent")
    if percent is not None and not 0 <= percent <= 100:
        raise ProgressError("Persentase harus antara 0 dan 100.", "percent")
    try:
        before = snapshot(progress)
        progress.status, progress.percent, progress.reason = status, percent, reason
        progress.updated_by_id = by.id if by else None
        progress.version = (progress.version or 0) + 1
        db.session.flush()
    except (StaleDataError, IntegrityError):
        # Someone else saved this activity (or its first status) between our read and write.
        db.session.rollback()
        current = _progress_for(row)
        raise ProgressConflict({**snapshot(current), "version": current.version}) from None
    audit.record("progress.status", by=by, plan=row.plan, obj=row,
                 changes={"Kegiatan": [row.kegiatan, row.kegiatan], **audit.diff(before, snapshot(progress))})
    return progress


def snapshot(progress):
    return {"Status": STATUSES.get(progress.status or "belum"), "Persen": progress.percent,
            "Alasan": progress.reason}


def mark_occurrence(row, original, action, by, moved_to=None, reason=None):
    """Tick a planned date done, move it, cancel it (with a reason), or undo what was marked.
    Ticking the first one starts the activity; ticking the last one finishes it."""
    planned = planned_dates(row)
    existing = db.session.scalar(db.select(OccurrenceMark).where(
        OccurrenceMark.lineage == row.lineage, OccurrenceMark.original_date == original))
    if original not in planned and existing is None and action != "done":
        raise ProgressError("Tanggal itu tidak ada dalam jadwal kegiatan ini.", "tanggal")
    reason = without_control_characters(reason or "").strip() or None
    if action == "cancelled" and not reason:
        raise ProgressError("Tuliskan alasan pembatalan.", "alasan")
    if reason and len(reason) > REASON_MAX:
        raise ProgressError(f"Alasan terlalu panjang (paling banyak {REASON_MAX} karakter).", "alasan")
    if original.year != row.plan.year:
        raise ProgressError(f"Tanggal harus di tahun {row.plan.year}.", "tanggal")
    if action == "moved":
        if moved_to is None:
            raise ProgressError("Pilih tanggal pengganti.", "pindah_ke")
        if moved_to.year != row.plan.year:
            raise ProgressError(f"Tanggal pengganti harus di tahun {row.plan.year}.", "pindah_ke")
    before = f"{existing.state}" if existing else "planned"
    if action == "undo":
        if existing is not None:
            db.session.delete(existing)
    elif action in ("done", "moved", "cancelled"):
        mark = existing or OccurrenceMark(lineage=row.lineage, original_date=original)
        if action == "done" and existing is not None and existing.state == "moved":
            mark.state = "done"  # a moved session held on its new date
        else:
            mark.state, mark.moved_to = action, moved_to if action == "moved" else None
        mark.reason = reason
        mark.updated_by_id = by.id if by else None
        db.session.add(mark)
    else:
        raise ProgressError("Tindakan tidak dikenal.", "aksi")
    db.session.flush()
    _follow_occurrences(row, by)
    labels = {"planned": "Direncanakan", "done": "Terlaksana", "moved": "Dipindah", "cancelled": "Dibatalkan",
              "undo": "Direncanakan"}
    audit.record("progress.occurrence", by=by, plan=row.plan, obj=row, note=reason,
                 changes={"Kegiatan": [row.kegiatan, row.kegiatan], "Tanggal": [None, original.isoformat()],
                          "Jadwal": [labels[before], labels[action]],
                          **({"Dipindah ke": [None, moved_to.isoformat()]} if action == "moved" else {})})


def _follow_occurrences(row, by):
    """Belum mulai → Berjalan at the first done occurrence; → Selesai when all are done. A status
    set to Tertunda or Dibatalkan by hand is left alone."""
    progress = _progress_for(row)
    if progress.status in ("tertunda", "dibatalkan"):
        return
    marks = db.session.scalars(db.select(OccurrenceMark).where(OccurrenceMark.lineage == row.lineage)).all()
    occurrences = apply_marks(planned_dates(row), marks)
    live = [o for o in occurrences if o.state != "cancelled"]
    done = [o for o in live if o.state == "done"]
    status = "selesai" if live and len(done) == len(live) else ("berjalan" if done else "belum")
    if status != progress.status:
        progress.status = status
        progress.version = (progress.version or 0) + 1
        progress.updated_by_id = by.id if by else None
        db.session.flush()


def _progress_for(row):
    progress = db.session.scalar(db.select(ActivityProgress).where(ActivityProgress.lineage == row.lineage))
    if progress is None:
        progress = ActivityProgress(lineage=row.lineage, status="belum", version=0)
        db.session.add(progress)
    return progress


def add_realisation(row, data, by, photo_name=None):
    """Record what was done. ``data``: on, description, people_reached, note, spends
    {source_type: amount}. Raises ProgressError."""
    on = data.get("on")
    if on is None:
        raise ProgressError("Isi tanggal pelaksanaan.", "on")
    if on.year != row.plan.year:
        raise ProgressError(f"Tanggal pelaksanaan harus di tahun {row.plan.year}.", "on")
    if on > row.plan.kampung.today():
        raise ProgressError("Tanggal pelaksanaan tidak boleh di masa depan.", "on")
    description = (data.get("description") or "").strip()
    if not description:
        raise ProgressError("Tuliskan apa yang dilaksanakan.", "description")
    people = data.get("people_reached")
    if people is not None and people < 0:
        raise ProgressError("Jumlah orang tidak boleh negatif.", "people_reached")
    types = {s.type for s in row.funding_sources}
    spends = []
    for source_type, amount in (data.get("spends") or {}).items():
        if amount in (None, 0):
            continue
        if source_type not in types:
            raise ProgressError("Sumber dana itu tidak ada pada kegiatan ini.", "spends")
        if amount < 0:
            raise ProgressError("Jumlah dana tidak boleh negatif.", "spends")
        spends.append(RealisationSpend(source_type=source_type, amount=amount))
    item = Realisation(lineage=row.lineage, kampung_id=row.plan.kampung_id, year=row.plan.year, on=on,
                       description=description, people_reached=people,
                       note=(data.get("note") or "").strip() or None, photo=photo_name,
                       created_by_id=by.id if by else None, spends=spends)
    db.session.add(item)
    db.session.flush()
    audit.record("progress.realisation", by=by, plan=row.plan, obj=row,
                 changes={"Kegiatan": [row.kegiatan, row.kegiatan], "Tanggal": [None, on.isoformat()],
                          "Uraian": [None, description], "Orang terjangkau": [None, people],
                          "Dana terpakai": [None, sum(s.amount for s in spends)]})
    return item
