"""Account management by operators (inside their scope) and platform admins."""
from flask import abort
from sqlalchemy.orm import selectinload

from portal.errors import RuleError
from portal.extensions import db
from portal.models import User, Wilayah


class AccountError(RuleError):
    """An account change that breaks a rule."""


def get_managed_user_or_404(user_id, actor):
    """Load an account the actor may manage; anything else is 404 (no existence leak)."""
    user = db.session.get(User, user_id)
    if user is None or not actor.can_manage_user(user):
        abort(404)
    return user


def managed_users(actor):
    query = db.select(User).options(selectinload(User.positions), selectinload(User.area)).order_by(User.username)
    if not actor.is_platform_admin:
        query = query.where(User.area_id.in_(actor.operator_scope.descendant_ids_query()))
    return [u for u in db.session.scalars(query) if actor.can_manage_user(u)]


def area_choices(actor):
    """Regions an actor may assign to an account: their scope and below (admins: everything)."""
    query = db.select(Wilayah).where(Wilayah.level != "provinsi").options(selectinload(Wilayah.parent))
    if not actor.is_platform_admin:
        query = query.where(Wilayah.id.in_(actor.operator_scope.descendant_ids_query()))
    order = {"kabupaten": 0, "kecamatan": 1, "desa": 2}
    return sorted(db.session.scalars(query), key=lambda w: (order[w.level], w.name))


def create_account(data, actor):
    """Create an account with a temporary password (changed at first login). Raises AccountError."""
    if db.session.scalar(db.select(User.id).filter_by(username=data["username"])):
        raise AccountError("Nama pengguna ini sudah dipakai.", "username")
    user = User(username=data["username"], must_change_password=True)
    user.set_password(data["password"])
    _apply(user, data, actor)
    db.session.add(user)
    db.session.flush()
    return user


def update_account(user, data, actor):
    """Change name, phone, area, operator flag and active flag. Raises AccountError."""
    _apply(user, data, actor)
    db.session.flush()
    return user


def reset_password(user, password, actor):
    """Set a temporary password; the user must change it at next login. Ends their sessions."""
    user.set_password(password)
    user.must_change_password = True
    db.session.flush()


def _apply(user, data, actor):
    area = db.session.get(Wilayah, data["area_id"])
    if area is None or area not in area_choices(actor):
        raise AccountError("Wilayah di luar wilayah kerja Anda.", "area_id")
    if data["is_operator"]:
        if area.level not in ("kecamatan", "kabupaten"):
            raise AccountError("Operator bertugas di tingkat kecamatan atau kabupaten/kota.", "area_id")
        if not actor.is_platform_admin and area.id == actor.operator_scope.id:
            raise AccountError("Operator baru harus berada di wilayah yang lebih kecil dari wilayah Anda.", "area_id")
    elif area.level != "desa":
        raise AccountError("Akun anggota Pokja ditempatkan di desa/kelurahan Kampung KB-nya.", "area_id")
    user.full_name = data["full_name"].strip()
    user.phone = (data.get("phone") or "").strip() or None
    user.area = area
    user.is_operator = bool(data["is_operator"])
    user.active = bool(data["active"])
