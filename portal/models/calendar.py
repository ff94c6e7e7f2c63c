"""Calendar subscriptions (private iCal feed URLs) and the published state of each event.

A subscription's URL carries a secret token; only its SHA-256 is stored, so the URL can be
shown once and never again. ``CalendarEvent`` remembers, per activity (lineage), the hash of
the event content last published and its SEQUENCE, so SEQUENCE rises exactly when what a
calendar app shows changes, and LAST-MODIFIED says when that was.
"""
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.clock import utcnow

SCOPES = {
    "saya": "Kegiatan saya",
    "kampung": "Seluruh rencana Kampung KB",
    "seksi": "Satu seksi",
    "wilayah": "Wilayah (kecamatan atau kabupaten)",
}



class FeedSubscription(db.Model):
    __tablename__ = "feed_subscription"
    __table_args__ = (
        CheckConstraint("scope IN ('saya','kampung','seksi','wilayah')", name="scope"),
        CheckConstraint("months_back >= 0 AND months_ahead >= 0", name="window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(db.String(60))
    scope: Mapped[str] = mapped_column(db.String(10))
    kampung_id: Mapped[int | None] = mapped_column(db.ForeignKey("kampung_kb.id"))
    seksi: Mapped[str | None] = mapped_column(db.String(20))
    wilayah_id: Mapped[int | None] = mapped_column(db.ForeignKey("wilayah.id"))
    reminder: Mapped[bool] = mapped_column(default=False)
    # The date window, in whole months around the current month.
    months_back: Mapped[int] = mapped_column(default=12)
    months_ahead: Mapped[int] = mapped_column(default=12)
    # SHA-256 (hex) of the token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(db.String(64), unique=True)
    # The token's last four characters, so a member can tell two URLs apart.
    token_hint: Mapped[str] = mapped_column(db.String(8))
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))
    # Bytes of the feed last built, shown so a district operator sees when it nears what
    # Google Calendar accepts (about 1 MB).
    last_size: Mapped[int | None]
    # SHA-256 of the feed text last served and when it changed: Last-Modified never goes back.
    content_hash: Mapped[str | None] = mapped_column(db.String(64))
    content_changed_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))

    user = relationship("User")
    kampung = relationship("KampungKB")
    wilayah = relationship("Wilayah")

    @property
    def active(self):
        return self.revoked_at is None


class CalendarEvent(db.Model):
    """What was last published for one activity: its content hash, SEQUENCE and when it
    changed. Written while a feed is built; never shown directly."""
    __tablename__ = "calendar_event"

    lineage: Mapped[str] = mapped_column(db.String(32), primary_key=True)
    content_hash: Mapped[str] = mapped_column(db.String(64))
    sequence: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
