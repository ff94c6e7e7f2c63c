"""The audit trail: an append-only log of who changed what, chained by hash.

Each entry's hash covers its own fields and the previous entry's hash, so editing or deleting
an entry breaks the chain at that point (``portal.audit.check``). Database triggers refuse
UPDATE and DELETE on the table; the chain catches what gets past them.
"""
from datetime import datetime, timezone

from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Position in the chain, 1, 2, 3 … with no gaps; unique, so two writers cannot fork it.
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=lambda: datetime.now(timezone.utc))
    user_id: Mapped[int | None] = mapped_column(db.ForeignKey("user.id"))
    # Name and username at the time ("sistem" for the command line).
    actor: Mapped[str] = mapped_column(db.String(200))
    kampung_id: Mapped[int | None] = mapped_column(db.ForeignKey("kampung_kb.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(db.ForeignKey("plan.id"), index=True)
    object_type: Mapped[str] = mapped_column(db.String(30))
    object_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(db.String(40))
    # JSON: {"field": [old, new], …}
    changes: Mapped[str | None] = mapped_column(db.Text)
    note: Mapped[str | None] = mapped_column(db.Text)
    prev_hash: Mapped[str] = mapped_column(db.String(64))
    hash: Mapped[str] = mapped_column(db.String(64))

    user = relationship("User")
