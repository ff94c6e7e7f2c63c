"""Struktur Pokja services: the roster's groups, and adding, changing and ending positions.

Positions are never deleted; history is kept through ``ended_on``. Services validate, change and
flush; the request commits.
"""
from dataclasses import dataclass, field

from flask import abort
from wtforms.fields.choices import SelectChoice

from portal import audit, labels
from portal.errors import RuleError
from portal.extensions import db
from portal.models import PokjaPosition, User
from portal.models.pokja import ROLES, SEKSI, SEKSI_ROLES, SINGLE_HOLDER_ROLES


class PokjaError(RuleError):
    """A roster change that breaks a rule."""


class PokjaConflict(Exception):
    """Someone else saved this position since the form was opened."""

    def __init__(self, current):
        super().__init__("conflict")
        self.current = current


@dataclass
class Group:
    key: str
    title: str
    roles: tuple
    seksi: str | None = None
    positions: list = field(default_factory=list)
    vacant: list = field(default_factory=list)

    @property
    def open_roles(self):
        """Roles that can take another person: many-holder roles, and empty single slots."""
        filled = {p.role for p in self.positions}
        return [r for r in self.roles if r not in SINGLE_HOLDER_ROLES or r not in filled]

    @property
    def role_choices(self):
        return [SelectChoice(r, labels.POSITIONS[r]) for r in self.roles]


def _groups():
    groups = [
        Group("pengarah", "Pengarah", ("pengarah",)),
        Group("pelaksana", "Pelaksana", ("ketua", "wakil_ketua", "sekretaris", "bendahara")),
    ]
    groups += [Group(f"seksi-{s}", labels.SEKSI[s], SEKSI_ROLES, seksi=s) for s in SEKSI]
    groups.append(Group("anggota", "Anggota", ("anggota",)))
    return groups


def group_key_for(position):
    """The roster group a position is shown in."""
    if position.seksi:
        return f"seksi-{position.seksi}"
    return next(g.key for g in _groups() if position.role in g.roles and g.seksi is None)


def group_by_key(key):
    return next((g for g in _groups() if g.key == key), None)


def roster_groups(kampung):
    """The current roster in the order of the Pokja structure, with empty required slots."""
    groups = _groups()
    order = {role: i for i, role in enumerate(ROLES)}
    current = sorted(kampung.current_positions, key=lambda p: (order[p.role], p.person_name.lower()))
    for group in groups:
        group.positions = [p for p in current if p.role in group.roles and p.seksi == group.seksi]
        filled = {p.role for p in group.positions}
        group.vacant = [
            labels.POSITIONS[r] for r in group.roles
            if r in SINGLE_HOLDER_ROLES and r not in filled and r != "wakil_ketua"
        ]
    return groups


def history(kampung):
    """Positions that have ended, most recent first."""
    ended = [p for p in kampung.positions if p.ended_on is not None and not p.is_current]
    return sorted(ended, key=lambda p: p.ended_on, reverse=True)


def get_position_or_404(kampung, position_id):
    position = db.session.get(PokjaPosition, position_id)
    if position is None or position.kampung_id != kampung.id:
        abort(404)
    return position


def add_position(kampung, data, by):
    """Add a position. Raises PokjaError on a bad role/seksi, an occupied single-holder slot
    or an unknown account."""
    role, seksi = data["role"], data.get("seksi") or None
    if role not in ROLES:
        raise PokjaError("Jabatan tidak dikenal.", "role")
    if role in SEKSI_ROLES and seksi not in SEKSI:
        raise PokjaError("Pilih seksinya.", "seksi")
    if role not in SEKSI_ROLES:
        seksi = None
    user = _account(data.get("username"))
    _check_slot_free(kampung, role, seksi, data["started_on"])
    position = PokjaPosition(
        kampung=kampung, role=role, seksi=seksi, user=user,
        person_name=data["person_name"].strip(),
        started_on=data["started_on"], note=(data.get("note") or "").strip() or None,
    )
    db.session.add(position)
    db.session.flush()
    audit.record("position.add", by=by, kampung=kampung, obj=position,
                 changes=audit.diff({}, {"Jabatan": position.title, **_readable(position)}))
    return position


def update_position(position, data, by):
    """Change name, account, start date or note (role and seksi are fixed: end the position and
    add a new one instead, so the history stays true). Raises PokjaConflict when the version in
    the form is not the stored one, PokjaError on a bad value."""
    if data.get("version") != position.version:
        raise PokjaConflict(snapshot(position))
    if position.ended_on is not None and data["started_on"] > position.ended_on:
        raise PokjaError("Tanggal mulai tidak boleh setelah tanggal berakhir.", "started_on")
    user = _account(data.get("username"))
    _check_slot_free(position.kampung, position.role, position.seksi, data["started_on"], exclude=position)
    before = _readable(position)
    position.person_name = data["person_name"].strip()
    position.started_on = data["started_on"]
    position.note = (data.get("note") or "").strip() or None
    position.user = user
    position.version += 1
    db.session.flush()
    audit.record("position.update", by=by, kampung=position.kampung, obj=position,
                 changes={"Jabatan": [position.title, position.title], **audit.diff(before, _readable(position))})
    return position


def end_position(position, ended_on, by):
    """End a position as of ``ended_on`` (the first day without it). Raises PokjaError."""
    if position.ended_on is not None and not position.is_current:
        raise PokjaError("Jabatan ini sudah berakhir.", "ended_on")
    if ended_on < position.started_on:
        raise PokjaError("Tanggal berakhir tidak boleh sebelum tanggal mulai.", "ended_on")
    position.ended_on = ended_on
    position.version += 1
    db.session.flush()
    audit.record("position.end", by=by, kampung=position.kampung, obj=position,
                 changes={"Jabatan": [position.title, position.title], "Berhenti per": [None, ended_on.isoformat()]})
    return position


def snapshot(position):
    """What is stored now, for showing beside the user's own input on a conflict."""
    return {
        "person_name": position.person_name,
        "username": position.user.username if position.user else "",
        "started_on": position.started_on,
        "note": position.note or "",
    }


def _readable(position):
    """The position's fields as the audit trail shows them."""
    return {"Nama": position.person_name, "Akun": position.user.username if position.user else None,
            "Mulai": position.started_on.isoformat(), "Catatan": position.note}


def _account(username):
    username = (username or "").strip().lower()
    if not username:
        return None
    user = db.session.scalar(db.select(User).filter_by(username=username))
    if user is None or not user.active:
        raise PokjaError("Akun dengan nama pengguna ini tidak ditemukan atau tidak aktif.", "username")
    return user


def _check_slot_free(kampung, role, seksi, started_on, exclude=None):
    """Single-holder positions: refuse when someone holds the slot on or after ``started_on``."""
    if role not in SINGLE_HOLDER_ROLES:
        return
    for other in kampung.positions:
        if other is exclude or other.slot != (role, seksi):
            continue
        if other.ended_on is None or other.ended_on > started_on:
            raise PokjaError(
                f"{other.title} masih dipegang oleh {other.person_name}. "
                "Akhiri dulu jabatan tersebut (berhenti paling lambat pada tanggal mulai yang baru).",
                "person_name",
            )
