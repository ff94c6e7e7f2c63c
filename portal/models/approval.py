"""Signatures on a plan: who signed, as what, when, and the hash of exactly what was signed.

A signature row is never changed or deleted (database triggers refuse it). It keeps the
canonical serialisation it hashed, so the verification page can both check that copy and name
what differs from the plan as stored now.
"""
import hashlib
from datetime import datetime, timezone

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

ROLES = {"ketua": "Ketua Pokja", "lurah": "Lurah/Kepala Desa"}


class Signature(db.Model):
    __tablename__ = "signature"
    __table_args__ = (CheckConstraint("role IN ('ketua','lurah')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(db.ForeignKey("plan.id"), index=True)
    # Plan.submission at signing: a returned and resubmitted plan is signed again.
    submission: Mapped[int]
    role: Mapped[str] = mapped_column(db.String(10))
    user_id: Mapped[int] = mapped_column(db.ForeignKey("user.id"))
    position_id: Mapped[int | None] = mapped_column(db.ForeignKey("pokja_position.id"))
    # As printed under the signature.
    signer_name: Mapped[str] = mapped_column(db.String(120))
    position_title: Mapped[str] = mapped_column(db.String(200))
    signed_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True),
                                                default=lambda: datetime.now(timezone.utc))
    # The Kampung KB's zone at signing, so the time reads the same forever.
    timezone: Mapped[str] = mapped_column(db.String(40))
    content_hash: Mapped[str] = mapped_column(db.String(64))
    content: Mapped[str] = mapped_column(db.Text)

    plan = relationship("Plan", back_populates="signatures")
    user = relationship("User")

    @property
    def role_label(self):
        return ROLES[self.role]

    @property
    def stored_copy_intact(self):
        """The kept serialisation still hashes to the recorded hash."""
        return hashlib.sha256(self.content.encode("utf-8")).hexdigest() == self.content_hash
