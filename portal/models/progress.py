"""Progress of an approved plan's activities: status, occurrences ticked off, realisation.

Progress is keyed by the activity's ``lineage`` (``PlanRow.lineage``), not by a row id: a
revision copies rows with the same lineage, so progress recorded against Revisi 0 carries over
to Revisi 1 unchanged. It lives outside ``plan_row`` on purpose: the signed content stays frozen
(database triggers) while progress keeps changing.
"""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.clock import utcnow

STATUSES = {
    "belum": "Belum mulai",
    "berjalan": "Berjalan",
    "selesai": "Selesai",
    "tertunda": "Tertunda",
    "dibatalkan": "Dibatalkan",
}
MARKS = {"done": "Terlaksana", "moved": "Dipindah", "cancelled": "Dibatalkan"}



class ActivityProgress(db.Model):
    """Status and percentage of one activity; created on the first update."""
    __tablename__ = "activity_progress"
    __table_args__ = (
        CheckConstraint("status IN ('belum','berjalan','selesai','tertunda','dibatalkan')", name="status"),
        CheckConstraint("percent IS NULL OR (percent >= 0 AND percent <= 100)", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lineage: Mapped[str] = mapped_column(db.String(32), unique=True)
    status: Mapped[str] = mapped_column(db.String(12), default="belum")
    # Set by hand; None means "follow the occurrences" (or 0/100 from the status).
    percent: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(db.Text)
    version: Mapped[int] = mapped_column(default=1)
    # The app sets the next version itself; every UPDATE also says WHERE version = <the one read>,
    # so two writers who read the same version cannot both win (StaleDataError → 409).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    updated_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(db.ForeignKey("user.id"))

    updated_by = relationship("User")


class OccurrenceMark(db.Model):
    """What happened to one planned date of a recurring activity: done, moved or cancelled."""
    __tablename__ = "occurrence_mark"
    __table_args__ = (
        UniqueConstraint("lineage", "original_date", name="uq_occurrence_mark_lineage_date"),
        CheckConstraint("state IN ('done','moved','cancelled')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lineage: Mapped[str] = mapped_column(db.String(32), index=True)
    original_date: Mapped[date]
    state: Mapped[str] = mapped_column(db.String(10))
    moved_to: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(db.Text)
    updated_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(db.ForeignKey("user.id"))


class Realisation(db.Model):
    """One report of what was done: when, what, people reached, money spent, evidence."""
    __tablename__ = "realisation"
    __table_args__ = (CheckConstraint("people_reached IS NULL OR people_reached >= 0", name="people_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lineage: Mapped[str] = mapped_column(db.String(32), index=True)
    # The plan year and Kampung KB, so roll-ups need no join through plan rows.
    kampung_id: Mapped[int] = mapped_column(db.ForeignKey("kampung_kb.id"), index=True)
    year: Mapped[int]
    on: Mapped[date]
    description: Mapped[str] = mapped_column(db.Text)
    people_reached: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(db.Text)
    # File names (random) under the instance's upload folder; never served statically.
    photo: Mapped[str | None] = mapped_column(db.String(80))
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(db.ForeignKey("user.id"))

    created_by = relationship("User")
    spends = relationship("RealisationSpend", back_populates="realisation", cascade="all, delete-orphan",
                          order_by="RealisationSpend.id")

    @property
    def spent(self):
        return sum(s.amount for s in self.spends)


class RealisationSpend(db.Model):
    """Money spent in a realisation, per funding source type of the activity."""
    __tablename__ = "realisation_spend"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    realisation_id: Mapped[int] = mapped_column(db.ForeignKey("realisation.id"), index=True)
    source_type: Mapped[str] = mapped_column(db.String(20))
    amount: Mapped[int] = mapped_column(db.BigInteger)

    realisation = relationship("Realisation", back_populates="spends")
