"""User accounts. What a user may do follows from their Pokja positions and operator scope."""
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.clock import utcnow



def _hasher():
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(db.String(40), unique=True)
    full_name: Mapped[str] = mapped_column(db.String(120))
    phone: Mapped[str | None] = mapped_column(db.String(20))
    password_hash: Mapped[str] = mapped_column(db.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_operator: Mapped[bool] = mapped_column(default=False)
    # The region the account belongs to: an operator's scope (kecamatan or kabupaten), or the
    # desa of a member's Kampung KB. Operators manage accounts whose area lies inside theirs.
    area_id: Mapped[int | None] = mapped_column(db.ForeignKey("wilayah.id"), index=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Part of the session identity: rotating it logs out every other session of this user.
    session_token: Mapped[str] = mapped_column(db.String(64), default=lambda: secrets.token_urlsafe(32))
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))

    area = relationship("Wilayah")
    positions = relationship("PokjaPosition", back_populates="user")

    def __repr__(self):
        return f"<User {self.username}>"

    # -- Flask-Login -------------------------------------------------------------------------
    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_token}"

    # -- passwords ---------------------------------------------------------------------------
    def set_password(self, password):
        """Store an argon2id hash and end every existing session of this user."""
        self.password_hash = _hasher().hash(password)
        self.end_sessions()

    def end_sessions(self):
        """Make every session cookie issued to this account useless (they carry the token)."""
        self.session_token = secrets.token_urlsafe(32)

    def check_password(self, password):
        """Verify, upgrading the stored hash when the configured parameters changed."""
        hasher = _hasher()
        try:
            hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if hasher.check_needs_rehash(self.password_hash):
            self.password_hash = hasher.hash(password)
        return True

    # -- roles and permissions ---------------------------------------------------------------
    @property
    def operator_scope(self):
        """The region an active operator manages, else None."""
        return self.area if self.is_operator and self.active and self.area_id else None

    def active_positions(self, kampung=None):
        return [
            p for p in self.positions
            if (kampung is None or p.kampung_id == kampung.id) and p.is_current
        ]

    def holds(self, kampung, *roles):
        return any(p.role in roles for p in self.active_positions(kampung))

    def can_manage_user(self, other):
        """Platform admins manage everyone but themselves stay admins; operators manage the
        accounts whose area lies strictly inside their scope, or members in their scope."""
        if self.is_platform_admin:
            return True
        scope = self.operator_scope
        if scope is None or other.is_platform_admin or other.id == self.id or other.area is None:
            return False
        if other.is_operator:
            return other.area_id != scope.id and scope.contains(other.area)
        return scope.contains(other.area)

    @property
    def can_manage_accounts(self):
        return self.is_platform_admin or self.operator_scope is not None
