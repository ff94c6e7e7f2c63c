"""Synthetic data for the benchmark, written straight into a migrated database.

Plans look like real ones: 30 rows per plan across the six parts and the four seksi, their
schedules and funding typed as Indonesian text and read into structure by the portal's own
readers (``plans.services._apply``, the code the row form and the spreadsheet import use), an
approved plan in force per Kampung KB signed by its Ketua and Lurah (signature hashes computed
with ``plans.content`` exactly as ``approval._sign`` does), and a year of progress: statuses,
occurrence marks (done, moved, cancelled, some left overdue) and realisations with people
reached and money spent per funding source.

Speed matters (a province is 45,000 rows and about a million progress records): rows are built
as lists of dicts and written with SQLAlchemy Core ``insert()`` (executemany), in chunks of
Kampung KBs, with primary keys assigned here. Plans are inserted as drafts, their rows added,
then switched to approved with one UPDATE, which is what the database triggers allow (rows of
an approved plan cannot be inserted).
"""
import csv
import random
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
WILAYAH_CSV = ROOT / "seeds" / "data" / "wilayah_barito_timur.csv"
TZ = "Asia/Jakarta"

# part, kegiatan, seksi (None: the part's), pelaksana, sasaran, target count, unit, mitra, place,
# Waktu as written, Sumber Dana as written, Rumah Data indicator. Modelled on the 004 form.
TEMPLATES = [
    ("I", "Pemutakhiran data keluarga risiko stunting", None, "Tim Pendamping Keluarga",
     "Keluarga risiko stunting (KRS)", 120, "keluarga", "Kader PPKBD, TPK", "Balai desa",
     "Juni - Des", "BOKB Rp 1.500.000", "krs"),
    ("I", "Pemutakhiran data stunting", None, "Tim Pendamping Keluarga", "Balita", 85, "anak",
     "Puskesmas", "Posyandu", "tiap tanggal 10", "APBD Kabupaten (Dinkes) Rp 2.000.000", "prevalence"),
    ("I", "Pendataan keluarga rutin (PK)", None, "Kader PPKBD", "Keluarga", 450, "keluarga",
     "Sub-PPKBD", "Rumah warga", "Sebulan sekali", "Dana Desa Rp 1.200.000", None),
    ("I", "Layanan buku nikah, akte dan dokumen kependudukan", None, "Seksi Penyediaan Data",
     "Keluarga", 60, "keluarga", "Disdukcapil", "Kantor desa", "Juli - Okt", "APBD (Disdukcapil)", None),
    ("I", "Pembekalan kader Rumah Data", None, "Satpel PPKB", "Kader", 12, "orang", "Penyuluh KB",
     "Balai desa", "tanggal 14 Maret", "BOKB Rp 750.000", None),
    ("II", "Penyuluhan pilihan kontrasepsi", None, "Penyuluh KB", "Pasangan usia subur", 200, "pasangan",
     "Bidan desa", "Balai desa", "Sepanjang tahun", "APBD Kabupaten Rp 3.000.000", None),
    ("II", "Kelas Bina Keluarga Balita (BKB)", None, "Kader BKB", "Keluarga dengan balita", 40,
     "keluarga", "PKK", "Posyandu", "tiap minggu ke-2, Februari s.d. Nov", "Dana Desa Rp 2.400.000", None),
    ("II", "Kelas Bina Keluarga Remaja (BKR)", None, "Kader BKR", "Keluarga dengan remaja", 30,
     "keluarga", "Karang Taruna", "Balai desa", "tiap minggu ke-3, Maret s.d. Des", "Dana Desa Rp 1.800.000",
     None),
    ("II", "Pendampingan pembiasaan pola makan sehat", None, "TPK, Kader Dashat", "Ibu hamil dan balita",
     35, "orang", "PKK", "Rumah warga", "Seminggu sekali", "BOKB, swadaya", None),
    ("II", "Sosialisasi Generasi Berencana (GenRe)", None, "PIK Remaja", "Remaja", 60, "orang",
     "Sekolah", "SMP negeri", "3 bulan sekali", "CSR Rp 1.000.000", None),
    ("III", "Pemberian makanan tambahan", None, "Kader Posyandu, Kader Dashat", "Balita gizi kurang", 25,
     "anak", "Puskesmas", "Posyandu", "Seminggu sekali, Maret s.d. Mei",
     "APBD Kabupaten (Dinkes) Rp 2.000.000, Dana Desa Rp 1.000.000", "stunting_cases"),
    ("III", "Pemberian tablet tambah darah", None, "TPK, Bidan", "Remaja putri dan ibu hamil", 70, "orang",
     "Puskesmas", "Sekolah", "Sebulan sekali, Maret - Nov", "APBD (Dinkes)", None),
    ("III", "Pendampingan keluarga risiko stunting", None, "TPK", "Keluarga risiko stunting (KRS)", 40,
     "keluarga", "Kader Dashat", "Rumah warga", "Seminggu sekali hari Kamis", "BOKB Rp 2.000.000", "krs"),
    ("III", "Layanan KB pasca persalinan", None, "Bidan desa", "Ibu pasca persalinan", 24, "orang",
     "Puskesmas", "Polindes", "Sepanjang Tahun", "APBD dan mandiri", "postpartum_reached"),
    ("III", "Posyandu balita", None, "Kader Posyandu", "Balita", 85, "anak", "Puskesmas", "Posyandu",
     "tiap tanggal 5", "Dana Desa Rp 6.000.000", "stunting_cases"),
    ("III", "Pelayanan KB MKJP", None, "Penyuluh KB", "Akseptor baru", 15, "orang", "Bidan desa",
     "Puskesmas", "3 bulan sekali", "BOKB Rp 1.500.000", "kb_mkjp"),
    ("IV", "Gotong royong kebersihan lingkungan", None, "Seksi Penataan Lingkungan", "Warga", 100, "orang",
     "RT/RW", "Lingkungan RT", "Sebulan sekali", "swadaya", None),
    ("IV", "Penghijauan lingkungan", None, "Seksi Penataan Lingkungan", "Warga", 50, "orang",
     "Karang Taruna", "Lingkungan RW", "tiap tanggal 20", "swadaya, CSR Rp 500.000", None),
    ("IV", "Pengolahan sampah organik", None, "Seksi Penataan Lingkungan", "Rumah tangga", 60,
     "rumah tangga", "Bank Sampah", "Bank sampah", "Seminggu sekali", "swadaya", None),
    ("IV", "Pembangunan jamban sehat", None, "Seksi Penataan Lingkungan", "Keluarga tanpa jamban", 8,
     "keluarga", "Dinas Perkim", "Rumah warga", "Agustus - Okt", "Dana Desa Rp 15.000.000", None),
    ("IV", "Lomba kampung bersih", None, "Seksi Penataan Lingkungan", "RT", 12, "RT", "PKK",
     "Lingkungan desa", "tanggal 17 Agustus", "Dana Desa Rp 2.000.000", None),
    ("V", "Rapat koordinasi Pokja", "data", "Seksi Penyediaan Data", "Pengurus Pokja", 15, "orang",
     None, "Balai desa", "Sebulan sekali", "BOKB Rp 600.000", None),
    ("V", "Pembinaan Kampung KB", "data", "Seksi Penyediaan Data keluarga", "Pengurus Pokja", 15, "orang",
     "Satpel PPKB", "Balai desa", "Juni - Des", "BOKB Rp 1.000.000", None),
    ("V", "Gasing Perak", "perilaku", "Seksi Perubahan Perilaku", "Keluarga", 40, "keluarga", "CSR",
     "Balai desa", "Sebulan sekali", "BOKB, CSR", "stunting_cases"),
    ("V", "Penyusunan laporan triwulan", "data", "Sekretaris Pokja", None, None, None, None, None,
     "triwulan", "BOKB Rp 300.000", None),
    ("V", "Pelatihan kader Pokja", "layanan", "Seksi Pelayanan", "Kader", 20, "orang", "Satpel PPKB",
     "Aula kecamatan", "tanggal 12 Mei", "BOKB Rp 2.500.000", None),
    ("VI", "Bedah rumah keluarga miskin", "lingkungan", "Pemerintah desa", "Keluarga miskin", 2, "rumah",
     "Baznas", "Rumah warga", "Juli - Sep", "Dana Desa Rp 25.000.000", None),
    ("VI", "Pelatihan UPPKA", "layanan", "Kelompok UPPKA", "Anggota UPPKA", 25, "orang", "Dinkop UKM",
     "Balai desa", "6 bulan sekali", "Dana Desa Rp 3.000.000", None),
    ("VI", "Sarana air bersih", "lingkungan", "Pemerintah desa", "Rumah tangga", 40, "rumah tangga",
     "PDAM", "Dusun II", "tanggal 1 Juni", "Dana Desa Rp 10.000.000", None),
    # One phrase the reader cannot place (as in the real 004 form): kept and flagged.
    ("VI", "Senam lansia (BKL)", "perilaku", "Kader BKL", "Lansia", 30, "orang", "Puskesmas", "Lapangan",
     "30 hari", "swadaya", None),
]
assert len(TEMPLATES) == 30

ROW_COLUMNS = ("part", "kegiatan", "description", "pelaksana", "seksi", "sasaran", "target_count",
               "target_unit", "mitra", "place", "indicator", "schedule_text", "start_date", "end_date",
               "frequency", "interval", "day_of_month", "weekday", "week_of_month", "start_time",
               "duration_minutes", "duration_days", "schedule_problems", "funding_text", "funding_problems")

POSITIONS = [  # role, seksi, has an account
    ("pengarah", None, True), ("ketua", None, True), ("wakil_ketua", None, False),
    ("sekretaris", None, False), ("bendahara", None, False),
    ("ketua_seksi", "data", False), ("ketua_seksi", "perilaku", False), ("ketua_seksi", "layanan", False),
    ("ketua_seksi", "lingkungan", False), ("anggota_seksi", "data", False),
    ("anggota_seksi", "perilaku", False), ("anggota_seksi", "layanan", False),
    ("anggota_seksi", "lingkungan", False), ("anggota", None, False), ("anggota", None, False),
]
FIRST = ("Sri", "Dewi", "Agus", "Nur", "Bambang", "Rina", "Hendra", "Yuliana", "Eka", "Joko", "Wati",
         "Fitri", "Ahmad", "Lilis", "Budi", "Siti", "Made", "Yohana", "Rahmat", "Ani")
LAST = ("Wahyuni", "Lestari", "Setiawan", "Aisyah", "Riyadi", "Marlina", "Saputra", "Sari", "Putri",
        "Prasetyo", "Rohayati", "Handayani", "Fauzi", "Suryani", "Santoso", "Nurhaliza", "Gunawan")
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass
class PlanSpec:
    year: int
    rows: int = 30
    approved: bool = True
    progress: bool = True


@dataclass
class KampungSpec:
    desa_id: int
    plans: list
    ketua_username: str | None = None
    lurah_username: str | None = None


@dataclass
class Made:
    """What was generated: ids the benchmark needs, and counts."""
    counts: dict = field(default_factory=lambda: defaultdict(int))
    kampung_by_desa: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)  # (kampung id, year) -> plan id
    users: dict = field(default_factory=dict)  # username -> id
    wilayah: dict = field(default_factory=dict)  # label -> id
    seconds: float = 0.0


class Generator:
    """Writes synthetic data with Core inserts. Use inside an app context."""

    def __init__(self, db, today, password_hash, seed=20260101, log=print):
        from portal import models
        self.db, self.today, self.password_hash, self.log = db, today, password_hash, log
        self.m = models
        self.rng = random.Random(seed)
        self.made = Made()
        self.t = {name: getattr(models, name).__table__ for name in (
            "Wilayah", "User", "KampungKB", "PokjaPosition", "Plan", "PlanRow", "FundingSource", "Signature",
            "ActivityProgress", "OccurrenceMark", "Realisation", "RealisationSpend", "FeedSubscription")}
        self.next_id = {}
        conn = db.session.connection()
        for name, table in self.t.items():
            self.next_id[name] = (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
        self._templates = {}
        self._planned = {}
        self.wilayah_info = {}  # id -> dict (name, kind, level, parent_id)

    # -- ids and writing ----------------------------------------------------------------------
    def _ids(self, name, n):
        start = self.next_id[name]
        self.next_id[name] = start + n
        return range(start, start + n)

    def _id(self, name):
        return self._ids(name, 1)[0]

    def insert(self, name, rows):
        """Write ``rows`` (dicts with the same keys) into the model's table: COPY on PostgreSQL,
        executemany on SQLite, values converted by SQLAlchemy's own bind processors."""
        if not rows:
            return
        table = self.t[name]
        columns = list(rows[0])
        conn = self.db.session.connection()
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        if dialect.name == "postgresql":
            with conn.connection.driver_connection.cursor() as cursor:
                with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in columns])
        else:
            processors = [table.c[c].type._cached_bind_processor(dialect) for c in columns]
            values = [[row[c] for c in columns] for row in rows]
            for i, process in enumerate(processors):
                if process is not None:
                    for item in values:
                        if item[i] is not None:
                            item[i] = process(item[i])
            conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' * len(columns))})",
                                 [tuple(v) for v in values])
        self.made.counts[name] += len(rows)

    # -- wilayah -------------------------------------------------------------------------------
    def _wilayah(self, rows, level, name, code=None, parent_id=None, kind=None, tz=None, note=None):
        wid = self._id("Wilayah")
        row = {"id": wid, "code": code, "name": name, "level": level, "kind": kind, "parent_id": parent_id,
               "timezone": tz, "note": note}
        rows.append(row)
        self.wilayah_info[wid] = row
        return wid

    def barito_timur(self, rows, province_id=None):
        """The real Barito Timur tree from the seed's CSV (1 kabupaten, 10 kecamatan, 103 desa).
        Returns (province id, kabupaten id, [desa ids])."""
        by_code, desa = {}, []
        with WILAYAH_CSV.open(newline="", encoding="utf-8") as fh:
            for item in csv.DictReader(fh):
                level = item["level"]
                if level == "provinsi":
                    if province_id is None:
                        province_id = self._wilayah(rows, "provinsi", item["name"], item["code"], tz=TZ)
                    by_code[item["code"]] = province_id
                    continue
                kind = {"kabupaten": "Kabupaten",
                        "desa": "Kelurahan" if item["code"][9:10] == "1" else "Desa"}.get(level)
                wid = self._wilayah(rows, level, item["name"], item["code"] or None, by_code[item["parent_code"]],
                                    kind)
                by_code[item["code"]] = wid
                if level == "desa":
                    desa.append(wid)
        kabupaten = by_code["62.13"]
        return province_id, kabupaten, desa

    def synthetic_kabupaten(self, rows, province_id, number, desa_count, kecamatan_count=10, name=None):
        """A kabupaten of ``kecamatan_count`` kecamatan sharing ``desa_count`` desa (codes 62.NN…,
        names marked synthetic). Returns (kabupaten id, [desa ids], [kecamatan ids])."""
        code = f"62.{number:02d}"
        kab = self._wilayah(rows, "kabupaten", name or f"Uji {number:02d}", code, province_id, "Kabupaten",
                            note="Data sintetis untuk benchmark")
        desa, kecamatans = [], []
        per = [desa_count // kecamatan_count + (1 if i < desa_count % kecamatan_count else 0)
               for i in range(kecamatan_count)]
        for k, count in enumerate(per, start=1):
            kec = self._wilayah(rows, "kecamatan", f"Kecamatan Uji {number:02d}.{k:02d}", f"{code}.{k:02d}", kab)
            kecamatans.append(kec)
            for d in range(1, count + 1):
                desa.append(self._wilayah(rows, "desa", f"Desa Uji {number:02d}.{k:02d}.{d:03d}",
                                          f"{code}.{k:02d}.{2000 + d:04d}", kec, "Desa"))
        return kab, desa, kecamatans

    def write_wilayah(self, rows):
        self.insert("Wilayah", rows)

    # -- users ---------------------------------------------------------------------------------
    def user(self, username, full_name, area_id=None, operator=False, admin=False):
        uid = self._id("User")
        self.insert("User", [self._user_row(uid, username, full_name, area_id, operator, admin)])
        self.made.users[username] = uid
        return uid

    def _user_row(self, uid, username, full_name, area_id, operator=False, admin=False):
        return {"id": uid, "username": username, "full_name": full_name, "phone": None,
                "password_hash": self.password_hash, "active": True, "is_platform_admin": admin,
                "is_operator": operator, "area_id": area_id, "must_change_password": False,
                "session_token": secrets.token_urlsafe(32),
                "created_at": datetime(self.today.year - 3, 1, 5, tzinfo=timezone.utc), "last_login_at": None}

    def feed_subscription(self, user_id, wilayah_id, token, months_back, months_ahead, name="Kabupaten"):
        from portal.blueprints.feeds.services import token_digest
        sid = self._id("FeedSubscription")
        self.insert("FeedSubscription", [{
            "id": sid, "user_id": user_id, "name": name, "scope": "wilayah", "kampung_id": None, "seksi": None,
            "wilayah_id": wilayah_id, "reminder": False, "months_back": months_back, "months_ahead": months_ahead,
            "token_hash": token_digest(token), "token_hint": token[-4:],
            "created_at": datetime(self.today.year, 1, 2, tzinfo=timezone.utc), "last_used_at": None,
            "revoked_at": None, "last_size": None, "content_hash": None, "content_changed_at": None}])
        return sid

    # -- plan content --------------------------------------------------------------------------
    def templates(self, year):
        """The 30 template rows read for ``year`` by the portal's readers: [(columns, sources)]."""
        if year not in self._templates:
            from portal.blueprints.plans.services import _apply
            from portal.models import Plan, PlanRow
            stand_in = Plan(year=year)  # transient, as plans.services.sheet_rows does
            out = []
            for (part, kegiatan, seksi, pelaksana, sasaran, count, unit, mitra, place, waktu, dana,
                 indicator) in TEMPLATES:
                row = PlanRow(part=part, position=0)
                row.plan = stand_in
                _apply(row, {"kegiatan": kegiatan, "seksi": seksi, "pelaksana": pelaksana, "sasaran": sasaran,
                             "target_count": count, "target_unit": unit, "mitra": mitra, "place": place,
                             "schedule_text": waktu, "funding_text": dana, "indicator": indicator})
                columns = {name: getattr(row, name) for name in ROW_COLUMNS}
                sources = [(s.type, s.detail, s.amount) for s in row.funding_sources]
                out.append((columns, sources))
            stand_in.rows.clear()
            self._templates[year] = out
        return self._templates[year]

    def planned(self, year, index):
        key = (year, index)
        if key not in self._planned:
            from portal.occurrences import planned_dates
            self._planned[key] = planned_dates(SimpleNamespace(**self.templates(year)[index][0]))
        return self._planned[key]

    # -- Kampung KBs with plans ------------------------------------------------------------------
    def kampungs(self, specs, chunk=100):
        """Kampung KBs (one per desa) with Pokja, accounts for Ketua and Lurah, and plans."""
        for start in range(0, len(specs), chunk):
            self._kampung_chunk(specs[start:start + chunk])
            self.db.session.commit()

    def _kampung_chunk(self, specs):
        users, kampungs, positions = [], [], []
        plans, rows, sources, approvals, signatures = [], [], [], [], []
        progress, marks, realisations, spends = [], [], [], []
        for spec in specs:
            desa = self.wilayah_info[spec.desa_id]
            kid = self._id("KampungKB")
            self.made.kampung_by_desa[spec.desa_id] = kid
            name = f"Kampung KB {desa['name']}"
            kampungs.append({"id": kid, "name": name, "desa_id": spec.desa_id,
                             "sk_number": f"SK/{kid:04d}/KKB/{self.today.year - 2}", "sk_date": date(self.today.year - 2, 3, 1),
                             "founded_on": date(self.today.year - 2, 3, 1), "address": f"Balai {desa['name']}",
                             "version": 1, "created_at": datetime(self.today.year - 2, 3, 1, tzinfo=timezone.utc)})
            account = {}
            for role, username in (("pengarah", spec.lurah_username or f"k{kid}.lurah"),
                                   ("ketua", spec.ketua_username or f"k{kid}.ketua")):
                uid = self._id("User")
                users.append(self._user_row(uid, username, self._person(), spec.desa_id))
                self.made.users[username] = uid
                account[role] = uid
            holders = {}
            for role, seksi, has_account in POSITIONS:
                pid = self._id("PokjaPosition")
                person = users[-2]["full_name"] if role == "pengarah" else (
                    users[-1]["full_name"] if role == "ketua" else self._person())
                positions.append({"id": pid, "kampung_id": kid, "role": role, "seksi": seksi, "person_name": person,
                                  "user_id": account.get(role) if has_account else None,
                                  "started_on": date(self.today.year - 2, 3, 1), "ended_on": None, "note": None,
                                  "version": 1, "updated_at": datetime(self.today.year - 2, 3, 1, tzinfo=timezone.utc)})
                holders[role] = (pid, person)
            for plan_spec in spec.plans:
                self._plan(kid, name, desa, plan_spec, account, holders, plans, rows, sources, approvals,
                           signatures, progress, marks, realisations, spends)
        self.insert("User", users)
        self.insert("KampungKB", kampungs)
        self.insert("PokjaPosition", positions)
        self.insert("Plan", plans)
        self.insert("PlanRow", rows)
        self.insert("FundingSource", sources)
        if approvals:
            plan = self.t["Plan"]
            self.db.session.connection().execute(
                plan.update().where(plan.c.id == sa.bindparam("pid")).values(
                    status="disetujui", submission=1, approved_at=sa.bindparam("at"),
                    verification_code=sa.bindparam("code")), approvals)
        self.insert("Signature", signatures)
        self.insert("ActivityProgress", progress)
        self.insert("OccurrenceMark", marks)
        self.insert("Realisation", realisations)
        self.insert("RealisationSpend", spends)

    def _person(self):
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def _plan(self, kid, kampung_name, desa, spec, account, holders, plans, rows, sources, approvals,
              signatures, progress, marks, realisations, spends):
        from portal.blueprints.plans import content
        pid = self._id("Plan")
        self.made.plans[(kid, spec.year)] = pid
        created = datetime(spec.year - 1, 11, 20, tzinfo=timezone.utc)
        plans.append({"id": pid, "kampung_id": kid, "year": spec.year, "revision": 0, "status": "draf",
                      "submission": 0, "return_note": None, "approved_at": None, "verification_code": None,
                      "revises_id": None, "created_at": created, "updated_at": created})
        templates = self.templates(spec.year)
        position_in_part = defaultdict(int)
        plan_rows = []
        for n in range(spec.rows):
            index = n % len(templates)
            columns, row_sources = templates[index]
            rid = self._id("PlanRow")
            position_in_part[columns["part"]] += 1
            row = dict(columns, id=rid, plan_id=pid, lineage=uuid.UUID(int=self.rng.getrandbits(128)).hex,
                       position=position_in_part[columns["part"]], version=1, updated_at=created)
            if n >= len(templates):
                row["kegiatan"] = f"{columns['kegiatan']} (kelompok {n // len(templates) + 1})"
            rows.append(row)
            fs = []
            for i, (stype, detail, amount) in enumerate(row_sources):
                fs.append({"id": self._id("FundingSource"), "row_id": rid, "position": i, "type": stype,
                           "detail": detail, "amount": amount})
            sources.extend(fs)
            plan_rows.append((index, row, fs))
        if not spec.approved:
            return
        # Signed as approval._sign does: the canonical document of exactly these rows.
        by_part = defaultdict(list)
        for _index, row, fs in plan_rows:
            by_part[row["part"]].append(SimpleNamespace(**row, funding_sources=[SimpleNamespace(**s) for s in fs]))
        fake = SimpleNamespace(id=pid, kampung_id=kid, year=spec.year, revision=0,
                               rows_in=lambda part: sorted(by_part.get(part, []), key=lambda r: r.position))
        text = content.canonical(content.document(fake))
        digest = content.sha256(text)
        signed = datetime(spec.year, 1, 8, 2, 0, tzinfo=timezone.utc) + timedelta(hours=self.rng.randrange(0, 200))
        approved = signed + timedelta(days=2)
        lurah_title = f"{'Lurah' if desa['kind'] == 'Kelurahan' else 'Kepala Desa'} {desa['name']}"
        for role, user_role, at, title in (("ketua", "ketua", signed, f"Ketua Pokja {kampung_name}"),
                                           ("lurah", "pengarah", approved, lurah_title)):
            position_id, person = holders[user_role]
            signatures.append({"id": self._id("Signature"), "plan_id": pid, "submission": 1, "role": role,
                               "user_id": account[user_role], "position_id": position_id, "signer_name": person,
                               "position_title": title, "signed_at": at, "timezone": TZ, "content_hash": digest,
                               "content": text})
        code = "".join(self.rng.choice(CODE_ALPHABET) for _ in range(12))
        approvals.append({"pid": pid, "at": approved, "code": f"{code[:4]}-{code[4:8]}-{code[8:]}"})
        if spec.progress:
            self._progress(kid, spec.year, plan_rows, account["ketua"], progress, marks, realisations, spends)

    # -- a year of progress ---------------------------------------------------------------------
    def _progress(self, kid, year, plan_rows, by, progress, marks, realisations, spends):
        rng = self.rng
        share = rng.uniform(0.35, 0.95)  # how diligent this Kampung KB is
        cutoff = min(self.today - timedelta(days=1), date(year, 12, 31))
        if cutoff < date(year, 1, 1):
            return
        for index, row, fs in plan_rows:
            dates = self.planned(year, index)
            lineage, frequency = row["lineage"], row["frequency"]
            row_marks, held = [], []
            for day in dates:
                if day > cutoff:
                    break
                recent = (cutoff - day).days < 7
                r = rng.random()
                if r < (share * 0.6 if recent else share):
                    row_marks.append(self._mark(lineage, day, "done", None, None, by))
                    held.append(day)
                elif r < share + 0.04 and not recent:
                    moved_to = min(day + timedelta(days=7), date(year, 12, 31))
                    state = "done" if moved_to <= cutoff and rng.random() < 0.6 else "moved"
                    row_marks.append(self._mark(lineage, day, state, moved_to, "Bertepatan dengan acara desa", by))
                    if state == "done":
                        held.append(moved_to)
                elif r < share + 0.06 and not recent:
                    row_marks.append(self._mark(lineage, day, "cancelled", None, "Cuaca buruk", by))
            marks.extend(row_marks)
            # Status as progress.services._follow_occurrences leaves it, or by hand for a period.
            cancelled = sum(m["state"] == "cancelled" for m in row_marks)
            live = len(dates) - cancelled
            done = len(held)
            reason = None
            if frequency == "period":
                started = row["start_date"] <= cutoff
                ended = row["end_date"] <= cutoff
                status = ("selesai" if ended and rng.random() < share + 0.1 else "berjalan") if started else "belum"
            elif dates:
                status = "selesai" if live and done >= live else ("berjalan" if done else "belum")
            else:
                status = "belum"
            if status in ("belum", "berjalan") and rng.random() < 0.03:
                status, reason = "tertunda", "Menunggu pencairan dana"
            if row_marks or status != "belum":
                stamp = max([m["updated_at"] for m in row_marks], default=datetime(year, 1, 20, 3, tzinfo=timezone.utc))
                progress.append({"id": self._id("ActivityProgress"), "lineage": lineage, "status": status,
                                 "percent": None, "reason": reason, "version": 1 + len(row_marks),
                                 "updated_at": stamp, "updated_by_id": by})
            # Realisations: one per session held; weekly and continuous activities report monthly.
            if frequency in ("weekly", "period"):
                if frequency == "weekly":
                    months = sorted({d.month for d in held})
                else:
                    last = min(row["end_date"], cutoff) if row["start_date"] <= cutoff else None
                    months = [m for m in range(row["start_date"].month, last.month + 1)
                              if rng.random() < share] if last else []
                units = [min(date(year, m, 25), cutoff) for m in months]
                expected = 12 if frequency == "weekly" else max(1, row["end_date"].month - row["start_date"].month + 1)
            else:
                units, expected = sorted(held), max(1, len(dates))
            per_type = {}
            for s in fs:
                if s["amount"] and s["type"] not in per_type:
                    per_type[s["type"]] = round(s["amount"] / expected, -3)
            for on in units:
                rid = self._id("Realisation")
                realisations.append({
                    "id": rid, "lineage": lineage, "kampung_id": kid, "year": year, "on": on,
                    "description": f"{row['kegiatan']} dilaksanakan", "people_reached":
                    rng.randint(1, max(1, row["target_count"])) if row["target_count"] else None,
                    "note": None, "photo": None,
                    "created_at": datetime.combine(on, time(9), timezone.utc) + timedelta(days=1),
                    "created_by_id": by})
                for stype, amount in per_type.items():
                    spends.append({"id": self._id("RealisationSpend"), "realisation_id": rid, "source_type": stype,
                                   "amount": int(amount * rng.uniform(0.7, 1.05)) // 1000 * 1000})

    def _mark(self, lineage, day, state, moved_to, reason, by):
        stamp = datetime.combine(moved_to or day, time(10), timezone.utc) + timedelta(days=1)
        return {"id": self._id("OccurrenceMark"), "lineage": lineage, "original_date": day, "state": state,
                "moved_to": moved_to, "reason": reason, "updated_at": stamp, "updated_by_id": by}

    # -- finishing ------------------------------------------------------------------------------
    def finish(self):
        """PostgreSQL: move each id sequence past the ids assigned here, and ANALYZE."""
        self.db.session.commit()
        conn = self.db.session.connection()
        if conn.dialect.name == "postgresql":
            for table in self.t.values():
                conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM \"{table.name}\"))"))
            self.db.session.connection().exec_driver_sql("ANALYZE")
        self.db.session.commit()
