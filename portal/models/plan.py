"""Rencana Kegiatan: a Kampung KB's annual work plan, its rows and their funding sources.

A row's number within its part is its rank by ``position``; schedules are stored structured
beside the text as written; funding is one or more typed sources with optional amounts.
"""
import uuid
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.clock import utcnow

# The six parts of the form, in order: key → (title, default seksi).
PARTS = {
    "I": ("Penyediaan data dan administrasi kependudukan", "data"),
    "II": ("Perubahan perilaku", "perilaku"),
    "III": ("Pelayanan dan rujukan", "layanan"),
    "IV": ("Penataan lingkungan", "lingkungan"),
    "V": ("Operasional Kampung KB (BOKB)", None),
    "VI": ("Kegiatan menggunakan Dana Desa/Kelurahan/Mandiri", None),
}



class Plan(db.Model):
    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("kampung_id", "year", "revision", name="uq_plan_kampung_year_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kampung_id: Mapped[int] = mapped_column(db.ForeignKey("kampung_kb.id"), index=True)
    year: Mapped[int]
    # 0 is the original plan; revisions (next issue) count up from 1.
    revision: Mapped[int] = mapped_column(default=0)
    # Owned by portal.blueprints.plans.workflow; nothing else assigns it.
    # (active_history: the flush guard needs the old value even when it was not loaded.)
    status: Mapped[str] = mapped_column(db.String(20), default="draf", active_history=True)
    # Counts submissions; a signature belongs to one (a returned plan needs signing again).
    submission: Mapped[int] = mapped_column(default=0)
    # The Lurah's note when returning; kept through the fixes until the next submission.
    return_note: Mapped[str | None] = mapped_column(db.Text)
    approved_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    # Printed on the signed document; the public verification page looks it up.
    verification_code: Mapped[str | None] = mapped_column(db.String(14), unique=True)
    # The approved plan this revision was copied from.
    revises_id: Mapped[int | None] = mapped_column(db.ForeignKey("plan.id"))
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    kampung = relationship("KampungKB")
    rows = relationship("PlanRow", back_populates="plan", order_by="PlanRow.position",
                        cascade="all, delete-orphan")
    revises = relationship("Plan", remote_side=[id])
    signatures = relationship("Signature", back_populates="plan", order_by="Signature.signed_at")

    def __repr__(self):
        return f"<Plan {self.kampung_id}/{self.year}>"

    @property
    def title(self):
        suffix = f" Revisi {self.revision}" if self.revision else ""
        return f"Rencana Kegiatan {self.year}{suffix}"

    def current_signatures(self):
        """Signatures of the current submission, by role ("ketua", "lurah")."""
        return {s.role: s for s in self.signatures if s.submission == self.submission}

    def rows_in(self, part):
        return [r for r in self.rows if r.part == part]

    # -- permissions ---------------------------------------------------------------------------
    def can_view(self, user):
        return self.kampung.can_view(user)

    def may_edit_content(self, user):
        """Sekretaris, Ketua, the Kampung KB's operator and admins edit plan content, in the
        states that allow it (``can_edit``)."""
        if not user.is_authenticated:
            return False
        kampung = self.kampung
        return user.is_platform_admin or kampung.is_operated_by(user) or user.holds(kampung, "ketua", "sekretaris")

    def can_edit(self, user):
        from portal.models.workflow import content_editable
        return content_editable(self) and self.may_edit_content(user)


class PlanRow(db.Model):
    __tablename__ = "plan_row"
    __table_args__ = (
        CheckConstraint("part IN ('I','II','III','IV','V','VI')", name="part"),
        CheckConstraint("target_count IS NULL OR target_count >= 0", name="target_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(db.ForeignKey("plan.id"), index=True)
    # The activity's identity across revisions (copied into a revision, never edited): what a
    # revision's comparison matches rows by, and later a calendar event's UID.
    lineage: Mapped[str] = mapped_column(db.String(32), default=lambda: uuid.uuid4().hex)
    part: Mapped[str] = mapped_column(db.String(3))
    position: Mapped[int] = mapped_column(default=0)
    kegiatan: Mapped[str] = mapped_column(db.String(300))
    description: Mapped[str | None] = mapped_column(db.Text)
    pelaksana: Mapped[str | None] = mapped_column(db.String(300))
    seksi: Mapped[str] = mapped_column(db.String(20))
    sasaran: Mapped[str | None] = mapped_column(db.String(300))
    target_count: Mapped[int | None]
    target_unit: Mapped[str | None] = mapped_column(db.String(40))
    mitra: Mapped[str | None] = mapped_column(db.String(300))
    place: Mapped[str | None] = mapped_column(db.String(200))
    # The Rumah Data indicator this activity addresses (portal.rumahdata.indicators key).
    indicator: Mapped[str | None] = mapped_column(db.String(40))

    # Schedule: the text as written, and its structure.
    schedule_text: Mapped[str | None] = mapped_column(db.String(200))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    frequency: Mapped[str | None] = mapped_column(db.String(10))
    interval: Mapped[int] = mapped_column(default=1)
    day_of_month: Mapped[int | None]
    weekday: Mapped[int | None]
    week_of_month: Mapped[int | None]
    start_time: Mapped[time | None]
    duration_minutes: Mapped[int | None]
    duration_days: Mapped[int | None]
    # Why the schedule could not be read completely (Indonesian, one reason per line); empty
    # when complete.
    schedule_problems: Mapped[str | None] = mapped_column(db.Text)

    funding_text: Mapped[str | None] = mapped_column(db.String(300))
    funding_problems: Mapped[str | None] = mapped_column(db.Text)
    version: Mapped[int] = mapped_column(default=1)
    # The app sets the next version itself; every UPDATE also says WHERE version = <the one read>,
    # so two writers who read the same version cannot both win (StaleDataError → 409).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    updated_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    plan = relationship("Plan", back_populates="rows")
    funding_sources = relationship("FundingSource", back_populates="row", order_by="FundingSource.position",
                                   cascade="all, delete-orphan")

    @property
    def number(self):
        """Rank within its part, 1-based. The whole plan is numbered once and kept on the plan
        until its rows change (``_forget_numbers``): a page of n rows costs n, not n²."""
        numbers = self.plan.__dict__.get("_numbers")
        if numbers is None or id(self) not in numbers:
            counters, numbers = {}, {}
            for row in self.plan.rows:
                counters[row.part] = numbers[id(row)] = counters.get(row.part, 0) + 1
            self.plan.__dict__["_numbers"] = numbers
        return numbers[id(self)]

    @property
    def schedule_needs_completion(self):
        return bool(self.schedule_problems) or not (self.frequency and self.start_date and self.end_date)

    @property
    def budget(self):
        amounts = [s.amount for s in self.funding_sources if s.amount is not None]
        return sum(amounts) if amounts else None

    def active_months(self):
        """Months (1–12) of the plan's year that the schedule's period touches."""
        if not (self.start_date and self.end_date):
            return set()
        first = (self.start_date.year, self.start_date.month)
        last = (self.end_date.year, self.end_date.month)
        return {m for m in range(1, 13) if first <= (self.plan.year, m) <= last}


class FundingSource(db.Model):
    __tablename__ = "funding_source"
    __table_args__ = (CheckConstraint("amount IS NULL OR amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    row_id: Mapped[int] = mapped_column(db.ForeignKey("plan_row.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    type: Mapped[str] = mapped_column(db.String(20))
    detail: Mapped[str | None] = mapped_column(db.String(120))
    amount: Mapped[int | None] = mapped_column(db.BigInteger)

    row = relationship("PlanRow", back_populates="funding_sources")


def _forget_numbers(plan):
    if plan is not None:
        plan.__dict__.pop("_numbers", None)


@event.listens_for(Plan.rows, "append")
@event.listens_for(Plan.rows, "remove")
def _rows_changed(plan, row, initiator):
    _forget_numbers(plan)


@event.listens_for(PlanRow.part, "set")
@event.listens_for(PlanRow.position, "set")
def _row_moved(row, value, old, initiator):
    _forget_numbers(row.__dict__.get("plan"))


@event.listens_for(Plan, "expire")
@event.listens_for(Plan, "refresh")
def _plan_reloaded(plan, *args):
    _forget_numbers(plan)
