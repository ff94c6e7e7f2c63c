"""Demo data: wilayah and a Kampung KB from the reference documents, plus one account per role.

Facts come from the documents in ../shared/reference (see docs/demo-data.md for what each comes
from and what the documents leave open). People's names are fictitious: the plan form only says
"( Nama )". Loading is idempotent: running it again adds what is missing and changes nothing else.
"""
import csv
import json
from datetime import date
from pathlib import Path

from portal.extensions import db
from portal.models import KampungKB, PokjaPosition, User, Wilayah
from seeds import rumahdata

DATA = Path(__file__).parent / "data"
DEMO_PASSWORD = "kampungkb"
POSITIONS_SINCE = date(2025, 1, 2)

PGS_DUA_NOTE = (
    "Dokumen rencana kegiatan (004) menulis 'Kel. Pgs Dua' dan menyebut Sudin PPAPP (DKI Jakarta); "
    "kecamatan, kota administrasi dan kode Kemendagri-nya tidak disebutkan dalam dokumen."
)
DESA_000_NOTE = (
    "Dokumen Mini Lokakarya Stunting 2025 (000) hanya menyebut nama desa; kecamatan, kabupaten, "
    "provinsi dan kode Kemendagri-nya tidak disebutkan dalam dokumen."
)
DESA_000 = ("Sungai Damar", "Sungai Tabuk", "Sungai Cabang Barat", "Sungai Pasir")

# username, full name, role, seksi. Accounts hold positions in the Kampung KB of Kel. Pgs Dua.
ACCOUNTS = [
    ("lurah", "Hendra Saputra", "pengarah", None),
    ("ketua", "Sri Wahyuni", "ketua", None),
    ("sekretaris", "Dewi Lestari", "sekretaris", None),
    ("seksi.data", "Rina Marlina", "ketua_seksi", "data"),
    ("seksi.perilaku", "Agus Setiawan", "ketua_seksi", "perilaku"),
    ("seksi.layanan", "Nur Aisyah", "ketua_seksi", "layanan"),
    ("seksi.lingkungan", "Bambang Riyadi", "ketua_seksi", "lingkungan"),
    ("anggota", "Yuliana Sari", "anggota", None),
]
# Roster members without an account.
MEMBERS = [
    ("Ahmad Fauzi", "wakil_ketua", None),
    ("Lilis Suryani", "bendahara", None),
    ("Eka Putri", "anggota_seksi", "data"),
    ("Wati Rohayati", "anggota_seksi", "perilaku"),
    ("Fitri Handayani", "anggota_seksi", "layanan"),
    ("Joko Prasetyo", "anggota_seksi", "lingkungan"),
]

DEMO_LOGINS = [
    ("admin", "Admin platform (semua wilayah)"),
    ("operator", "Operator Kabupaten Barito Timur (103 desa/kelurahan, 8 Kampung KB demo)"),
    ("lurah", "Pengarah (Lurah) — Kampung KB Kel. Pgs Dua"),
    ("ketua", "Ketua Pokja — Kampung KB Kel. Pgs Dua"),
    ("sekretaris", "Sekretaris Pokja — Kampung KB Kel. Pgs Dua"),
    ("seksi.data", "Ketua Seksi Penyediaan Data — Kampung KB Kel. Pgs Dua"),
    ("seksi.perilaku", "Ketua Seksi Perubahan Perilaku — Kampung KB Kel. Pgs Dua"),
    ("seksi.layanan", "Ketua Seksi Layanan dan Rujukan — Kampung KB Kel. Pgs Dua"),
    ("seksi.lingkungan", "Ketua Seksi Penataan Lingkungan — Kampung KB Kel. Pgs Dua"),
    ("anggota", "Anggota Pokja — Kampung KB Kel. Pgs Dua"),
    ("demo.ketua", "Ketua Pokja di 8 Kampung KB demo Barito Timur"),
    ("demo.lurah", "Kepala Desa di 8 Kampung KB demo Barito Timur"),
]


def load_demo():
    """Load (or complete) the demo data; flushes, the caller commits. Returns a summary dict."""
    barito_timur = _load_wilayah_csv(DATA / "wilayah_barito_timur.csv")
    jakarta = _wilayah("provinsi", "DKI Jakarta", code="31", timezone="Asia/Jakarta")
    pgs_dua = _wilayah("desa", "Pgs Dua", parent=jakarta, kind="Kelurahan", note=PGS_DUA_NOTE)
    desa_000 = {name: _wilayah("desa", name, kind="Desa", note=DESA_000_NOTE) for name in DESA_000}

    kampung = db.session.scalar(db.select(KampungKB).filter_by(desa_id=pgs_dua.id))
    if kampung is None:
        kampung = KampungKB(name="Kampung KB Kel. Pgs Dua", desa=pgs_dua)
        db.session.add(kampung)

    _user("admin", "Admin Platform", is_platform_admin=True)
    _user("operator", "Operator Kabupaten Barito Timur", is_operator=True, area=barito_timur)
    for username, full_name, role, seksi in ACCOUNTS:
        user = _user(username, full_name, area=pgs_dua)
        _position(kampung, role, seksi, full_name, user)
    for full_name, role, seksi in MEMBERS:
        _position(kampung, role, seksi, full_name, None)
    db.session.flush()
    _load_plan(kampung, DATA / "rencana_kegiatan_pgs_dua_2025.json")
    _load_approved_year(kampung, DATA / "rencana_kegiatan_pgs_dua_2025.json")
    _load_barito_timur_demo(barito_timur, DATA / "rencana_kegiatan_pgs_dua_2025.json")
    rumahdata.load(DATA, barito_timur, desa_000)
    return {
        "wilayah": db.session.scalar(db.select(db.func.count(Wilayah.id))),
        "kampung": db.session.scalar(db.select(db.func.count(KampungKB.id))),
        "users": db.session.scalar(db.select(db.func.count(User.id))),
    }


def _load_plan(kampung, path):
    """The 004 form as a 2025 draft: texts as written, read into schedules and funding by the
    same readers a user's typing goes through (what they cannot read stays flagged)."""
    from portal.models import Plan
    document = json.loads(path.read_text(encoding="utf-8"))
    if not db.session.scalar(db.select(Plan.id).filter_by(kampung_id=kampung.id, year=document["year"])):
        _plan_from_document(kampung, document, document["year"])


# DEMO, not from the form: the Rumah Data indicator each activity addresses, so the dashboard
# can show the activity beside the desa's figure (Kegiatan → indicator key).
CITATIONS = {
    "Pemutahiran data keluarga resiko stunting": "krs",
    "Pemutahiran data stunting": "prevalence",
    "Pemberian makanan tambahan": "stunting_cases",
    "Pendampingan KRS": "krs",
    "Layanan KB Pasca salinan": "postpartum_reached",
    "MKJP": "kb_mkjp",
    "Gasing Perak": "stunting_cases",
}


def _plan_from_document(kampung, document, year):
    """A draft for ``year`` with the document's rows, typed in as a user would."""
    from portal.blueprints.plans.services import add_row, create_plan
    plan = create_plan(kampung, year, by=None)
    for item in document["rows"]:
        add_row(plan, {
            "part": item["part"], "kegiatan": item["kegiatan"], "pelaksana": item["pelaksana"],
            "sasaran": item["sasaran"], "mitra": item["mitra"], "seksi": _seksi_named_in(item["pelaksana"]),
            "schedule_text": item["waktu"], "funding_text": item["sumber_dana"],
            "indicator": CITATIONS.get(item["kegiatan"]),
        }, by=None)
    return plan


def _approve_with_progress(plan, ketua, lurah, share, skip=lambda row, index: False):
    """Submit (the Ketua signs) and approve (the Lurah signs) ``plan``, then tick off ``share``
    of each activity's occurrences up to the end of last month (``skip`` leaves some behind);
    a continuous activity that has begun is Berjalan, or Selesai once its period is over."""
    from datetime import timedelta

    from portal.blueprints.plans import approval
    from portal.blueprints.progress.services import mark_occurrence, set_status
    from portal.occurrences import planned_dates
    approval.perform(plan, "ajukan", ketua, password=DEMO_PASSWORD)
    approval.perform(plan, "setujui", lurah, password=DEMO_PASSWORD)
    cutoff = plan.kampung.today().replace(day=1) - timedelta(days=1)
    for index, row in enumerate(plan.rows):
        if skip(row, index):
            continue
        days = planned_dates(row)
        past = [d for d in days if d <= cutoff]
        for day in past[:round(len(past) * share)]:
            mark_occurrence(row, day, "done", by=None)
        if not days and row.start_date and row.start_date <= cutoff:
            set_status(row, {"status": "selesai" if row.end_date and row.end_date <= cutoff else "berjalan"},
                       by=None)


def _load_approved_year(kampung, path):
    """DEMO, not from the documents: the 004 rows as this year's plan (2026 or later), signed by
    the demo Ketua and approved by the demo Lurah, with progress up to the end of last month
    (as the seed runs). Every third activity is left behind, so the dashboard has overdue
    dates; "Gotong royong" is up to date but for this month's, for seksi.lingkungan to tick."""
    from portal.models import Plan
    year = max(2026, kampung.today().year)
    if db.session.scalar(db.select(Plan.id).filter_by(kampung_id=kampung.id, year=year)):
        return
    plan = _plan_from_document(kampung, json.loads(path.read_text(encoding="utf-8")), year)
    ketua = db.session.scalar(db.select(User).filter_by(username="ketua"))
    lurah = db.session.scalar(db.select(User).filter_by(username="lurah"))
    _approve_with_progress(plan, ketua, lurah, 1.0,
                           skip=lambda row, index: index % 3 == 2 and not row.kegiatan.startswith("Gotong royong"))


# Share of past occurrences ticked off in each demo Kampung KB of Barito Timur (2026; 2025 gets
# ten points more), so the roll-up shows a spread and both NAIK and TURUN.
BARITO_TIMUR_PROGRESS = (0.9, 0.75, 0.6, 0.45, 0.3, 0.85, 0.5, 0.2)


def _load_barito_timur_demo(kabupaten, path):
    """DEMO, not from the documents: a Kampung KB in the first desa of eight kecamatan of Barito
    Timur, named "(demo)", each with the 004 form's rows as approved plans for last year and
    this year and progress at different levels, so the operator's roll-up has something to show."""
    from portal.models import Plan
    document = json.loads(path.read_text(encoding="utf-8"))
    ketua = _user("demo.ketua", "Ketua Demo Barito Timur", area=kabupaten)
    lurah = _user("demo.lurah", "Kepala Desa Demo Barito Timur", area=kabupaten)
    kecamatans = sorted((w for w in kabupaten.children if w.level == "kecamatan"), key=lambda w: w.code)[:8]
    for index, kecamatan in enumerate(kecamatans):
        desa = min((w for w in kecamatan.children if w.level == "desa"), key=lambda w: w.code)
        kampung = db.session.scalar(db.select(KampungKB).filter_by(desa_id=desa.id))
        if kampung is None:
            kampung = KampungKB(name=f"Kampung KB {desa.name} (demo)", desa=desa)
            db.session.add(kampung)
        _position(kampung, "ketua", None, f"Ketua Pokja {desa.name} (demo)", ketua)
        _position(kampung, "pengarah", None, f"Kepala Desa {desa.name} (demo)", lurah)
        db.session.flush()
        this_year = max(2026, kampung.today().year)
        for year in (this_year - 1, this_year):
            if not db.session.scalar(db.select(Plan.id).filter_by(kampung_id=kampung.id, year=year)):
                plan = _plan_from_document(kampung, document, year)
                share = BARITO_TIMUR_PROGRESS[index] + (0.1 if year < this_year else 0)
                _approve_with_progress(plan, ketua, lurah, min(1.0, share))


def _seksi_named_in(pelaksana):
    """Part V rows name their seksi as pelaksana ("Seksi peningkatan cakupan layanan"); other
    rows take their part's seksi (None here)."""
    text = pelaksana.lower()
    if "seksi" not in text:
        return None
    for key, word in (("data", "data"), ("perilaku", "perilaku"), ("layanan", "layanan"), ("lingkungan", "lingkungan")):
        if word in text:
            return key
    return None


def _load_wilayah_csv(path):
    """Load a wilayah CSV (level,code,name,parent_code,official_name,doc_no,notes); returns
    the kabupaten row's Wilayah."""
    by_code, kabupaten = {}, None
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            parent = by_code.get(row["parent_code"])
            # In a 10-digit Kemendagri code, 1xxx is a kelurahan and 2xxx a desa.
            kind = {"kabupaten": "Kabupaten", "desa": "Kelurahan" if row["code"][9:10] == "1" else "Desa"}
            note = f"Nama resmi: {row['official_name']}" if row["official_name"] else None
            wilayah = _wilayah(
                row["level"], row["name"], code=row["code"] or None, parent=parent,
                kind=kind.get(row["level"]), note=note,
                timezone="Asia/Jakarta" if row["level"] == "provinsi" else None,
            )
            by_code[row["code"]] = wilayah
            if row["level"] == "kabupaten":
                kabupaten = wilayah
    return kabupaten


def _wilayah(level, name, code=None, parent=None, kind=None, timezone=None, note=None):
    if code:
        existing = db.session.scalar(db.select(Wilayah).filter_by(code=code))
    else:
        existing = db.session.scalar(
            db.select(Wilayah).filter_by(level=level, name=name, parent_id=parent.id if parent else None)
        )
    if existing is not None:
        return existing
    wilayah = Wilayah(level=level, name=name, code=code, parent=parent, kind=kind, timezone=timezone, note=note)
    db.session.add(wilayah)
    db.session.flush()
    return wilayah


def _user(username, full_name, area=None, is_operator=False, is_platform_admin=False):
    user = db.session.scalar(db.select(User).filter_by(username=username))
    if user is None:
        user = User(username=username, full_name=full_name, area=area, is_operator=is_operator,
                    is_platform_admin=is_platform_admin)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
    return user


def _position(kampung, role, seksi, person_name, user):
    exists = any(
        p.role == role and p.seksi == seksi and p.person_name == person_name and p.ended_on is None
        for p in kampung.positions
    )
    if not exists:
        db.session.add(PokjaPosition(
            kampung=kampung, role=role, seksi=seksi, person_name=person_name, user=user,
            started_on=POSITIONS_SINCE, note="Data demo",
        ))
