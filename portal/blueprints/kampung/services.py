"""Kampung KB services: loading with access checks, queries by scope, create and update."""
from flask import abort
from sqlalchemy.orm import selectinload

from portal.errors import RuleError
from portal.extensions import db
from portal.models import KampungKB, PokjaPosition, Wilayah
from portal.models.pokja import SEKSI

# Positions a complete Pokja has filled (Wakil Ketua is optional).
REQUIRED_SLOTS = [("pengarah", None), ("ketua", None), ("sekretaris", None), ("bendahara", None)] + [
    ("ketua_seksi", s) for s in SEKSI
]


class KampungError(RuleError):
    """A Kampung KB change that breaks a rule."""


def get_kampung_or_404(kampung_id, user, permission="can_view"):
    """Load a Kampung KB, then authorise: unknown *or* not visible → 404 (no existence leak);
    visible but not allowed to do ``permission`` → 403."""
    kampung = db.session.get(KampungKB, kampung_id)
    if kampung is None or not kampung.can_view(user):
        abort(404)
    if not getattr(kampung, permission)(user):
        abort(403)
    return kampung


def visible_kampungs_query(user):
    """SELECT of the Kampung KBs a user may read, by position, scope or admin right."""
    query = db.select(KampungKB).join(KampungKB.desa).order_by(Wilayah.name, KampungKB.name)
    if user.is_platform_admin:
        return query
    conditions = [
        KampungKB.id.in_(
            db.select(PokjaPosition.kampung_id).where(PokjaPosition.user_id == user.id)
        )
    ]
    scope = user.operator_scope
    if scope is not None:
        conditions.append(KampungKB.desa_id.in_(scope.descendant_ids_query()))
    return query.where(db.or_(*conditions))


def kampungs_for_home(user):
    """The user's own Kampung KBs (current positions) and, for operators, those in scope."""
    kampungs = db.session.scalars(
        visible_kampungs_query(user).options(
            selectinload(KampungKB.positions), selectinload(KampungKB.desa)
        )
    ).all()
    return [k for k in kampungs if k.can_view(user)]


def vacancies(kampung):
    """Labels of required positions with nobody in them today."""
    filled = {p.slot for p in kampung.current_positions}
    return [slot for slot in REQUIRED_SLOTS if slot not in filled]


def desa_choices(user):
    """Desa/kelurahan a user may put a Kampung KB in: inside their scope, without one yet."""
    query = db.select(Wilayah).where(
        Wilayah.level == "desa",
        ~Wilayah.id.in_(db.select(KampungKB.desa_id)),
    )
    if not user.is_platform_admin:
        scope = user.operator_scope
        if scope is None:
            return []
        query = query.where(Wilayah.id.in_(scope.descendant_ids_query()))
    desa = db.session.scalars(query.options(selectinload(Wilayah.parent))).all()
    return sorted(desa, key=lambda w: ((w.parent.name if w.parent else ""), w.name))


def create_kampung(data, by):
    """Create a Kampung KB from validated form data; raises KampungError."""
    desa = db.session.get(Wilayah, data["desa_id"])
    if desa is None or desa not in desa_choices(by):
        raise KampungError("Desa/kelurahan tidak tersedia: di luar wilayah Anda atau sudah punya Kampung KB.")
    kampung = KampungKB(desa=desa)
    _apply_profile(kampung, data)
    db.session.add(kampung)
    db.session.flush()
    return kampung


def update_kampung(kampung, data, by):
    """Update the profile. Moving to another desa needs ``can_move``; raises KampungError, and
    KampungConflict when the form's version is not the stored one (a request without a version
    is still protected against a simultaneous save by the versioned UPDATE)."""
    if data.get("version") is not None and data["version"] != kampung.version:
        raise KampungConflict(profile_snapshot(kampung))
    new_desa_id = data.get("desa_id")
    if new_desa_id is not None and new_desa_id != kampung.desa_id:
        if not kampung.can_move(by):
            raise KampungError("Anda tidak berwenang memindahkan Kampung KB ke desa lain.")
        desa = db.session.get(Wilayah, new_desa_id)
        if desa is None or desa not in desa_choices(by):
            raise KampungError("Desa/kelurahan tidak tersedia: di luar wilayah Anda atau sudah punya Kampung KB.")
        kampung.desa = desa
    _apply_profile(kampung, data)
    kampung.version += 1
    db.session.flush()
    return kampung


class KampungConflict(Exception):
    """Someone saved the profile since this form was opened; ``current`` is what is stored."""

    def __init__(self, current):
        super().__init__("conflict")
        self.current = current


def profile_snapshot(kampung):
    return {"name": kampung.name, "desa": kampung.desa.display_name, "sk_number": kampung.sk_number,
            "sk_date": kampung.sk_date, "founded_on": kampung.founded_on, "address": kampung.address,
            "version": kampung.version}


def _apply_profile(kampung, data):
    for field in ("name", "sk_number", "sk_date", "founded_on", "address"):
        if field in data:
            value = data[field]
            setattr(kampung, field, value.strip() if isinstance(value, str) else value)


