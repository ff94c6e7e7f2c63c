"""Kampung KB: the village-level unit a Pokja runs, with its permission rules."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db


class KampungKB(db.Model):
    __tablename__ = "kampung_kb"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(120))
    # One Kampung KB per desa/kelurahan.
    desa_id: Mapped[int] = mapped_column(db.ForeignKey("wilayah.id"), unique=True)
    sk_number: Mapped[str | None] = mapped_column(db.String(120))
    sk_date: Mapped[date | None]
    founded_on: Mapped[date | None]
    address: Mapped[str | None] = mapped_column(db.Text)
    # Two editors of the profile: the second sees both versions (checked in the UPDATE too).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=lambda: datetime.now(timezone.utc))

    desa = relationship("Wilayah")
    positions = relationship(
        "PokjaPosition", back_populates="kampung", order_by="PokjaPosition.started_on"
    )

    def __repr__(self):
        return f"<KampungKB {self.name}>"

    @property
    def timezone(self):
        """IANA zone of the province; the configured default when the province is unknown.
        Read in one statement (every permission check asks for today's date here), and kept
        on the instance for the rest of the request."""
        if "_timezone" not in self.__dict__:
            self.__dict__["_timezone"] = db.session.scalar(_PROVINCE_ZONE, {"desa": self.desa_id})
        return self.__dict__["_timezone"] or current_app.config["DEFAULT_TIMEZONE"]

    def today(self):
        """Today's date in the Kampung KB's own time zone."""
        return datetime.now(ZoneInfo(self.timezone)).date()

    @property
    def timezone_known(self):
        province = self.desa.province if self.desa else None
        return bool(province and province.timezone)

    @property
    def current_positions(self):
        return [p for p in self.positions if p.is_current]

    # -- permissions: functions of (user, kampung), shared by views and templates -------------
    def is_operated_by(self, user):
        scope = user.operator_scope
        return scope is not None and scope.contains(self.desa)

    def can_view(self, user):
        """Members of the Pokja, operators in scope and platform admins may read."""
        if not user.is_authenticated:
            return False
        return (
            user.is_platform_admin
            or self.is_operated_by(user)
            or bool(user.active_positions(self))
        )

    def can_manage_roster(self, user):
        """Ketua, Sekretaris, operators in scope and platform admins edit Struktur Pokja."""
        if not user.is_authenticated:
            return False
        return (
            user.is_platform_admin
            or self.is_operated_by(user)
            or user.holds(self, "ketua", "sekretaris")
        )

    def can_edit_profile(self, user):
        return self.can_manage_roster(user)

    def can_move(self, user):
        """Only operators and admins may move a Kampung KB to another desa (field-level)."""
        return user.is_authenticated and (user.is_platform_admin or self.is_operated_by(user))


def _province_zone():
    """The time zone of the province above a desa: walk up the wilayah tree in SQL."""
    from portal.models.wilayah import Wilayah
    w = Wilayah.__table__
    up = db.select(w.c.id, w.c.parent_id, w.c.level, w.c.timezone).where(w.c.id == db.bindparam("desa")).cte(
        "up", recursive=True)
    up = up.union_all(db.select(w.c.id, w.c.parent_id, w.c.level, w.c.timezone).join(up, w.c.id == up.c.parent_id))
    return db.select(up.c.timezone).where(up.c.level == "provinsi").limit(1)


_PROVINCE_ZONE = _province_zone()


@event.listens_for(KampungKB, "expire", raw=True)
@event.listens_for(KampungKB, "refresh", raw=True)
def _forget_zone(state, *args):
    # The state, not the object: a commit expires objects that may have been collected already.
    state.dict.pop("_timezone", None)
