"""Rumah Data rules: who reads and enters figures for a region, validation, saving.

Reading follows the region: platform admins, operators whose scope contains the region or lies
inside it, and Pokja members of a Kampung KB inside it. Entering is for the data section: the head
and members of Seksi Penyediaan Data of the desa's Kampung KB, operators in scope and admins
(kecamatan and kabupaten figures only operators and admins).
"""
from flask import abort, current_app

from portal import audit
from portal.blueprints.rumahdata.indicators import BY_KEY, COUNTS, label
from portal.extensions import db
from portal.models import DataRecord, KampungKB, Wilayah
from portal.models.pokja import SEKSI_ROLES
from portal.models.rumahdata import COUNT_COLUMNS, ROUNDS

MAX_COUNT = 10_000_000
YEARS = (2000, 2100)


class DataConflict(Exception):
    """Someone else saved this period's figures since the form was opened."""

    def __init__(self, current):
        super().__init__("conflict")
        self.current = current


# -- permissions ----------------------------------------------------------------------------------

def _member_desa_ids(user):
    return {p.kampung.desa_id for p in user.active_positions()}


def can_view(user, wilayah):
    if not user.is_authenticated:
        return False
    if user.is_platform_admin:
        return True
    scope = user.operator_scope
    if scope is not None and (scope.contains(wilayah) or wilayah.contains(scope)):
        return True
    return any(wilayah.contains(db.session.get(Wilayah, desa_id)) for desa_id in _member_desa_ids(user))


def can_edit(user, wilayah):
    if not user.is_authenticated:
        return False
    if user.is_platform_admin:
        return True
    scope = user.operator_scope
    if scope is not None and scope.contains(wilayah):
        return True
    if wilayah.level != "desa":
        return False
    return any(p.role in SEKSI_ROLES and p.seksi == "data" and p.kampung.desa_id == wilayah.id
               for p in user.active_positions())


def get_wilayah_or_404(wilayah_id, user, edit=False):
    wilayah = db.session.get(Wilayah, wilayah_id)
    if wilayah is None or not can_view(user, wilayah):
        abort(404)
    if edit and not can_edit(user, wilayah):
        abort(403)
    return wilayah


def kampung_of(wilayah):
    return db.session.scalar(db.select(KampungKB).filter_by(desa_id=wilayah.id)) if wilayah.level == "desa" else None


def zone_of(wilayah):
    """The IANA zone dates of this region are shown in: its province's, else the default."""
    province = wilayah.province
    return province.timezone if province is not None and province.timezone else current_app.config["DEFAULT_TIMEZONE"]


def named_with(wilayah):
    """Regions a document names together with ``wilayah`` in one statement (a total over desa
    that share no parent here)."""
    from portal.models import DataStatement
    ids = set()
    for wilayah_ids in db.session.scalars(db.select(DataStatement.wilayah_ids)):
        if wilayah.id in (wilayah_ids or []) and len(wilayah_ids) > 1:
            ids.update(wilayah_ids)
    ids.discard(wilayah.id)
    return db.session.scalars(db.select(Wilayah).where(Wilayah.id.in_(ids))).all() if ids else []


# -- periods --------------------------------------------------------------------------------------

def record_of(wilayah, round_, year):
    return db.session.scalar(db.select(DataRecord).filter_by(wilayah_id=wilayah.id, round=round_, year=year))


def records_of(wilayah):
    """The region's own records, newest first."""
    return db.session.scalars(db.select(DataRecord).filter_by(wilayah_id=wilayah.id)
                              .order_by(DataRecord.year.desc(), DataRecord.round)).all()


def previous_record(record):
    return db.session.scalar(db.select(DataRecord).where(
        DataRecord.wilayah_id == record.wilayah_id, DataRecord.round == record.round,
        DataRecord.year < record.year).order_by(DataRecord.year.desc()).limit(1))


def check_period(round_, year):
    if round_ not in ROUNDS:
        abort(404)
    if not YEARS[0] <= year <= YEARS[1]:
        abort(404)


# -- validation -----------------------------------------------------------------------------------

def validate(values, month_from=None, month_to=None):
    """(errors, warnings): {field: message in Indonesian}. ``values`` are ints or None."""
    errors, warnings = {}, {}
    for indicator in COUNTS:
        value = values.get(indicator.key)
        if value is None:
            continue
        if value < 0:
            errors[indicator.key] = "Tidak boleh negatif."
            continue
        if value > MAX_COUNT:
            errors[indicator.key] = f"Terlalu besar (paling banyak {MAX_COUNT:,}).".replace(",", ".")
            continue
        for total in indicator.within:
            if values.get(total) is not None and value > values[total]:
                errors[indicator.key] = (f"Tidak boleh lebih dari {label(total)} "
                                         f"({values[total]:,}).".replace(",", "."))
                break
        for target in indicator.soft_within:
            if values.get(target) is not None and value > values[target]:
                warnings[indicator.key] = (f"Capaian melebihi sasaran ({values[target]:,}). "
                                           "Boleh disimpan bila memang begitu; periksa kembali.").replace(",", ".")
    if (month_from is None) != (month_to is None):
        errors["month_to" if month_to is None else "month_from"] = "Isi bulan awal dan bulan akhir, atau kosongkan keduanya."
    elif month_from is not None and month_from > month_to:
        errors["month_to"] = "Bulan akhir tidak boleh sebelum bulan awal."
    return errors, warnings


# -- saving ---------------------------------------------------------------------------------------

def save(wilayah, round_, year, values, by, *, version=None, month_from=None, month_to=None, note=None, source=None):
    """Create or update the region's record of the period. Raises DataConflict when ``version``
    is given and stale. Validation is the caller's (``validate``)."""
    record = record_of(wilayah, round_, year)
    created = record is None
    if created:
        record = DataRecord(wilayah=wilayah, round=round_, year=year)
        db.session.add(record)
    elif version is not None and version != record.version:
        raise DataConflict(record)
    before = {name: getattr(record, name) for name in COUNT_COLUMNS}
    for name in COUNT_COLUMNS:
        if name in values:
            setattr(record, name, values[name])
    record.month_from, record.month_to = month_from, month_to
    if note is not None:
        record.note = note or None
    if source is not None:
        record.source = source or None
    # A typed balita count replaces a prevalence a document once gave without one.
    if record.balita_measured:
        record.prevalence_stated = None
    record.updated_by = by
    if not created:
        record.version += 1
    changed = {name: [before[name], getattr(record, name)] for name in COUNT_COLUMNS if before[name] != getattr(record, name)}
    kampung = kampung_of(wilayah)
    audit.record("rumahdata.create" if created else "rumahdata.update", by=by, kampung=kampung, obj=record,
                 changes=changed, note=f"{wilayah.display_name}, {round_} {year}")
    db.session.flush()
    return record


def differences(record, values):
    """Fields where the stored record and the user's input differ: [(key, label, stored, typed)]."""
    return [(name, BY_KEY[name].label, getattr(record, name), values.get(name))
            for name in COUNT_COLUMNS if getattr(record, name) != values.get(name)]
