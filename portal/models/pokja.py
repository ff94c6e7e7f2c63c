"""Pokja roster: who holds which position in a Kampung KB, with history.

Positions are never deleted: ending one sets ``ended_on``, the first day the person no longer
holds it ("berhenti per tanggal"), so ending one today takes effect today. A position
may name a person without an account; when it is linked to a user, that user gets the
position's permissions.
"""
from datetime import date, datetime, timezone

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import labels
from portal.extensions import db

ROLES = (
    "pengarah", "ketua", "wakil_ketua", "sekretaris", "bendahara",
    "ketua_seksi", "anggota_seksi", "anggota",
)
SEKSI = ("data", "perilaku", "layanan", "lingkungan")
SEKSI_ROLES = ("ketua_seksi", "anggota_seksi")
# Positions one person holds at a time (per seksi for ketua_seksi).
SINGLE_HOLDER_ROLES = ("pengarah", "ketua", "wakil_ketua", "sekretaris", "bendahara", "ketua_seksi")


class PokjaPosition(db.Model):
    __tablename__ = "pokja_position"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('ketua_seksi','anggota_seksi')) = (seksi IS NOT NULL)", name="seksi_for_seksi_roles"
        ),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kampung_id: Mapped[int] = mapped_column(db.ForeignKey("kampung_kb.id"), index=True)
    role: Mapped[str] = mapped_column(db.String(20))
    seksi: Mapped[str | None] = mapped_column(db.String(20))
    # Name as it appears on the SK and printed documents.
    person_name: Mapped[str] = mapped_column(db.String(120))
    user_id: Mapped[int | None] = mapped_column(db.ForeignKey("user.id"), index=True)
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(db.String(200))
    # Raised on every change; the edit form carries it so two editors cannot overwrite each
    # other unnoticed.
    version: Mapped[int] = mapped_column(default=1)
    # The app sets the next version itself; every UPDATE also says WHERE version = <the one read>,
    # so two writers who read the same version cannot both win (StaleDataError → 409).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    updated_at: Mapped[datetime] = mapped_column(
        db.DateTime(timezone=True),
        default=lambda: datetime.now(timezone.utc), onupdate=lambda: datetime.now(timezone.utc)
    )

    kampung = relationship("KampungKB", back_populates="positions")
    user = relationship("User", back_populates="positions")

    def __repr__(self):
        return f"<PokjaPosition {self.role}/{self.seksi} {self.person_name}>"

    @property
    def is_current(self):
        today = self.kampung.today()
        return self.started_on <= today and (self.ended_on is None or self.ended_on > today)

    @property
    def title(self):
        """"Ketua Seksi Penyediaan Data", "Sekretaris" …"""
        title = labels.POSITIONS[self.role]
        return f"{title} {labels.SEKSI_SHORT[self.seksi]}" if self.seksi else title

    @property
    def slot(self):
        """Positions sharing a slot exclude each other when single-holder."""
        return (self.role, self.seksi)
