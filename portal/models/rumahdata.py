"""Rumah Data: family and stunting figures per region and period, and what documents state.

A ``DataRecord`` holds the figures of one region (usually a desa; a kecamatan or kabupaten when a
document gives figures only at that level) for one period: a round (``ROUNDS``) in a year, e.g.
"Verval KRS 2025". One column per indicator, NULL when not recorded; the catalogue that names,
groups and validates them is ``portal.rumahdata.indicators``. Percentages are never stored: they
are computed from the counts, except ``prevalence_stated``, kept only for a document that gives a
prevalence without the number of balita it was taken from.

A ``DataStatement`` is a figure or status as a document states it (a TOTAL row, a percentage, a
TURUN/NAIK column). It is not used as data: the portal computes the same figure from the records
and flags the difference.
"""
from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.clock import utcnow

ROUNDS = {
    "tahunan": "Data tahunan",
    "verval_krs": "Verval KRS",
    "pendampingan_tpk": "Pendampingan TPK",
}

# Indicator columns, in catalogue order (portal.rumahdata.indicators checks it has them all).
COUNT_COLUMNS = (
    "families_total", "families_targeted", "krs",
    "target_pus", "target_baduta", "target_balita", "target_pregnant",
    "too_young", "too_old", "too_close", "too_many",
    "no_safe_water", "no_latrine",
    "catin_target", "catin_reached", "pregnant_target", "pregnant_reached",
    "postpartum_target", "postpartum_reached", "baduta_target", "baduta_reached",
    "kb_mkjp", "kb_non_mkjp", "pregnant_kek",
    "balita_measured", "stunting_cases",
    "population", "tpk_teams", "tpk_members", "tpk_trained",
)


class DataRecord(db.Model):
    __tablename__ = "data_record"
    __table_args__ = (
        UniqueConstraint("wilayah_id", "round", "year", name="one_per_period"),
        CheckConstraint("round IN ('tahunan','verval_krs','pendampingan_tpk')", name="round"),
        CheckConstraint("month_from IS NULL OR (month_from BETWEEN 1 AND 12 AND month_to BETWEEN month_from AND 12)",
                        name="months"),
        CheckConstraint("prevalence_stated IS NULL OR (prevalence_stated >= 0 AND prevalence_stated <= 100)",
                        name="prevalence_range"),
        *(CheckConstraint(f"{name} IS NULL OR {name} >= 0", name=f"{name}_not_negative") for name in COUNT_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wilayah_id: Mapped[int] = mapped_column(db.ForeignKey("wilayah.id"), index=True)
    round: Mapped[str] = mapped_column(db.String(20))
    year: Mapped[int]
    # The months a round covers when not the whole year ("Januari–September").
    month_from: Mapped[int | None]
    month_to: Mapped[int | None]
    # Where the figures come from ("Dokumen 003 …", or empty when typed by the data section).
    source: Mapped[str | None] = mapped_column(db.String(300))
    note: Mapped[str | None] = mapped_column(db.Text)

    families_total: Mapped[int | None]
    families_targeted: Mapped[int | None]
    krs: Mapped[int | None]
    target_pus: Mapped[int | None]
    target_baduta: Mapped[int | None]
    target_balita: Mapped[int | None]
    target_pregnant: Mapped[int | None]
    too_young: Mapped[int | None]
    too_old: Mapped[int | None]
    too_close: Mapped[int | None]
    too_many: Mapped[int | None]
    no_safe_water: Mapped[int | None]
    no_latrine: Mapped[int | None]
    catin_target: Mapped[int | None]
    catin_reached: Mapped[int | None]
    pregnant_target: Mapped[int | None]
    pregnant_reached: Mapped[int | None]
    postpartum_target: Mapped[int | None]
    postpartum_reached: Mapped[int | None]
    baduta_target: Mapped[int | None]
    baduta_reached: Mapped[int | None]
    kb_mkjp: Mapped[int | None]
    kb_non_mkjp: Mapped[int | None]
    pregnant_kek: Mapped[int | None]
    balita_measured: Mapped[int | None]
    stunting_cases: Mapped[int | None]
    population: Mapped[int | None]
    tpk_teams: Mapped[int | None]
    tpk_members: Mapped[int | None]
    tpk_trained: Mapped[int | None]
    prevalence_stated: Mapped[float | None] = mapped_column(db.Numeric(5, 2, asdecimal=False))

    version: Mapped[int] = mapped_column(default=1)
    # The app sets the next version itself; every UPDATE also says WHERE version = <the one read>,
    # so two writers who read the same version cannot both win (StaleDataError → 409).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    updated_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(db.ForeignKey("user.id"))

    wilayah = relationship("Wilayah")
    updated_by = relationship("User")

    def __repr__(self):
        return f"<DataRecord {self.wilayah_id} {self.round} {self.year}>"

    def values(self):
        return {name: getattr(self, name) for name in COUNT_COLUMNS}


class DataStatement(db.Model):
    __tablename__ = "data_statement"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The document and the place in it ("003 · Demografi balita 2022–2023 · baris TOTAL").
    source: Mapped[str] = mapped_column(db.String(300))
    # What the statement is about, as a person reads it ("Jumlah balita, TOTAL 10 kecamatan").
    label: Mapped[str] = mapped_column(db.String(300))
    # The regions the figure covers: one id, or several for a document's own total over desa
    # that share no parent here (JSON list of wilayah ids).
    wilayah_ids: Mapped[list] = mapped_column(db.JSON)
    round: Mapped[str] = mapped_column(db.String(20))
    year: Mapped[int]
    # What to compute: an indicator key, a derived figure, "status" or a summary (see
    # portal.rumahdata.checks); empty when the document's figure cannot be recomputed.
    key: Mapped[str | None] = mapped_column(db.String(40))
    # Exactly as written in the document ("14,38", "20,2%", "TURUN", "115.406").
    stated: Mapped[str] = mapped_column(db.String(40))
    note: Mapped[str | None] = mapped_column(db.Text)

    def __repr__(self):
        return f"<DataStatement {self.key} {self.stated}>"
