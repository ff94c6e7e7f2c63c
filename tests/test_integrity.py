"""Integrity at five levels, each attacked the way a real user (or a crash) would.

1. Object level (OWASP WSTG-ATHZ-04, IDOR): two Kampung KB in neighbouring desa of one kecamatan,
   each with its own Ketua, Sekretaris and Ketua Seksi. Every route that takes an object id, fed
   B's ids by A's members, answers exactly what it answers for an id that does not exist (404,
   no existence leak), for GET and POST, and nothing of B changes. Mixed ids (A's plan with B's
   row, A's Kampung KB with B's position or staged upload) are refused the same way.
2. Field level (mass assignment): extra form fields named like plan content, identity or
   privilege columns are ignored by the progress routes, the row form, /profil, the Kampung KB
   profile, Struktur Pokja and the Rumah Data form.
3. State level: once a plan is submitted or approved no route changes its content, for any role,
   revisions and imports included; under the ORM, the triggers refuse a raw UPDATE of every
   content column.
4. Lost updates: two writers opening the same form (same ``version``) never silently overwrite
   each other, counted over interleaved pairs; then the same pairs submitted at the same moment
   from two threads on a shared database.
5. An import killed with SIGKILL half-way through its confirmation leaves the database exactly as
   before (SQLite file, and PostgreSQL when the suite runs on it), and the upload can then be
   imported once, whole.
"""
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from markupsafe import escape
from PIL import Image
from sqlalchemy import event
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from portal import audit, create_app
from portal.blueprints.feeds import services as feed_services
from portal.blueprints.plans import approval, content, staging
from portal.blueprints.plans.services import add_row, create_plan
from portal.blueprints.progress.services import add_realisation, mark_occurrence, set_status
from portal.blueprints.rumahdata import services as rumahdata
from portal.extensions import db
from portal.models import (
    ActivityProgress, AuditEntry, DataRecord, FeedSubscription, FundingSource, KampungKB, Plan, PlanRow,
    PokjaPosition, Realisation, Signature, User, Wilayah, workflow,
)
from portal.models.locking import NOT_CONTENT
from portal.uploads import save_photo
from tests.conftest import ON_POSTGRES, PASSWORD

ROOT = Path(__file__).resolve().parents[1]
YEAR = datetime.now(ZoneInfo("Asia/Jakarta")).year
TODAY = date(YEAR, 6, 15)
MISSING = 987_654  # an id no table reaches in these tests
MISSING_TOKEN = "A" * 22

# Part I belongs to seksi "data", part IV to "lingkungan".
ROWS = [
    {"part": "I", "kegiatan": "Rapat bulanan Pokja", "schedule_text": "Setiap bulan",
     "funding_text": "Dana Desa Rp 1.200.000", "pelaksana": "Pokja", "sasaran": "Keluarga"},
    {"part": "I", "kegiatan": "Pendataan keluarga baru", "schedule_text": f"Tanggal 12 Maret {YEAR}",
     "funding_text": "Swadaya Rp 300.000"},
    {"part": "IV", "kegiatan": "Kerja bakti lingkungan", "schedule_text": f"Tanggal 5 Februari {YEAR}",
     "funding_text": "Dana Desa Rp 800.000"},
]
# Everything of Kampung KB B carries this word, so a response that shows B's data is caught.
B_MARK = "Sumur"
PLAN_HEADER = ["No", "Kegiatan", "Pelaksana", "Sasaran", "Mitra", "Waktu", "Sumber Dana", "Anggaran"]
DATA_HEADER = ["Kode wilayah", "Wilayah", "Putaran", "Tahun", "Keluarga sasaran", "Keluarga berisiko stunting (KRS)"]


# == helpers ======================================================================================

def body(response):
    return response.get_data(as_text=True)


def location(response):
    return urlparse(response.headers["Location"]).path


def sign_in(client, username):
    client.post("/keluar")
    response = client.post("/masuk", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, f"{username} cannot sign in"


def approve(plan, ketua, lurah):
    approval.perform(plan, "ajukan", ketua, password=PASSWORD)
    db.session.commit()
    approval.perform(plan, "setujui", lurah, password=PASSWORD)
    db.session.commit()


def make_plan(kampung, year, by, rows=ROWS, prefix=""):
    plan = create_plan(kampung, year, by=by)
    for data in rows:
        add_row(plan, dict(data, kegiatan=prefix + data["kegiatan"]), by=by)
    db.session.commit()
    return plan


def rows_by_part(plan, part):
    return [r for r in plan.rows if r.part == part]


def plan_csv(count, prefix="Impor", parts=("I", "II", "III", "IV")):
    """A plan table of ``count`` activities spread over ``parts``, as the importer reads it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PLAN_HEADER)
    per_part = -(-count // len(parts))
    made = 0
    for part in parts:
        writer.writerow([part])
        for number in range(1, per_part + 1):
            if made == count:
                break
            made += 1
            writer.writerow([number, f"{prefix} kegiatan {made}", "Kader KB", "Keluarga", "",
                             f"Juni {YEAR}", "Dana Desa", 100_000 + made])
    return out.getvalue().encode("utf-8")


def data_csv(rows):
    out = io.StringIO()
    csv.writer(out).writerows([DATA_HEADER, *rows])
    return out.getvalue().encode("utf-8")


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 140, 90)).save(out, "PNG")
    return out.getvalue()


# The database as plain data: every table, every column, ordered by primary key. Signing in and
# out rotates the session token and stamps the login time; nothing else may change unnoticed.
VOLATILE = {"user": {"session_token", "last_login_at"}}


def database_state(connection=None, only=None):
    execute = (connection or db.session).execute
    state = {}
    for table in db.metadata.sorted_tables:
        if only is not None and table.name not in only:
            continue
        columns = [c for c in table.columns if c.name not in VOLATILE.get(table.name, ())]
        rows = execute(sa.select(*columns).order_by(*table.primary_key.columns)).all()
        state[table.name] = [tuple(r) for r in rows]
    return state


def changed_tables(before, after):
    return sorted(name for name in before if before[name] != after.get(name))


def assert_same_state(before, after, what="database"):
    changed = changed_tables(before, after)
    details = []
    for name in changed:
        old, new = set(before[name]), set(after[name])
        details.append(f"{name}: removed {sorted(old - new, key=str)[:3]} added {sorted(new - old, key=str)[:3]}")
    assert not changed, f"{what} changed: " + "; ".join(details)


def frozen(plan):
    """Everything about a plan that its signatures vouch for, plus its bookkeeping."""
    plan_cols = db.session.execute(sa.select(Plan.__table__).where(Plan.id == plan.id)).one()
    row_ids = sa.select(PlanRow.id).where(PlanRow.plan_id == plan.id)
    rows = db.session.execute(sa.select(PlanRow.__table__).where(PlanRow.plan_id == plan.id)
                              .order_by(PlanRow.id)).all()
    sources = db.session.execute(sa.select(FundingSource.__table__).where(FundingSource.row_id.in_(row_ids))
                                 .order_by(FundingSource.id)).all()
    signatures = db.session.execute(sa.select(Signature.__table__).where(Signature.plan_id == plan.id)
                                    .order_by(Signature.id)).all()
    return tuple(plan_cols), [tuple(r) for r in rows], [tuple(s) for s in sources], [tuple(s) for s in signatures]


def assert_signed_content_intact(plan):
    db.session.expire_all()
    stored = content.content_hash(plan)
    signatures = plan.current_signatures()
    assert signatures and all(s.content_hash == stored for s in signatures.values())
    if plan.status == "disetujui":
        assert approval.verify(plan.verification_code).intact


def staged_files(app):
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def normalised(html):
    """A page with per-request tokens (CSRF, nonces) blanked, for comparing two answers."""
    return re.sub(r"[A-Za-z0-9_.+/=-]{40,}", "…", html)


def input_value(html, name):
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"no input {name}"
    found = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return found.group(1) if found else ""


def selected_option(html, name):
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option(?=[^>]*\bselected\b)[^>]*value="([^"]*)"', select).group(1)


# == fixtures =====================================================================================

@pytest.fixture
def kb(pokja, monkeypatch, app, tmp_path):
    """The conftest Pokja (Kampung KB Harara, every role, outsiders), "today" pinned to 15 June of
    the current year, uploads in a temporary folder."""
    assert pokja["kampung"].today().year == YEAR
    monkeypatch.setattr(KampungKB, "today", lambda self: TODAY)
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    return dict(pokja)


@pytest.fixture
def villages(kb, wilayah, make_user, make_kampung, make_position, app):
    """Kampung KB A (Harara) and Kampung KB B (Sumur, the neighbouring desa of the same
    kecamatan), each with a Lurah, Ketua, Sekretaris and Ketua Seksi Penyediaan Data, an approved
    plan of the year with progress, realisation and a photo; B also with an open revision, a
    calendar subscription, Rumah Data figures and two staged uploads."""
    a, desa_b = kb["kampung"], wilayah["desa_b"]
    b = make_kampung(desa_b)
    users = dict(kb)
    for key, role, seksi in (("b_lurah", "pengarah", None), ("b_ketua", "ketua", None),
                             ("b_sekretaris", "sekretaris", None), ("b_seksi", "ketua_seksi", "data")):
        users[key] = make_user(key.replace("_", "."), area=desa_b)
        make_position(b, role, seksi, user=users[key])
    v = {"users": users, "a": a, "b": b, "desa_a": wilayah["desa"], "desa_b": desa_b, "kec": wilayah["kec"]}

    # A: an approved plan of the year and a draft for next year.
    v["plan_a"] = make_plan(a, YEAR, users["sekretaris"])
    approve(v["plan_a"], users["ketua"], users["lurah"])
    v["draft_a"] = make_plan(a, YEAR + 1, users["sekretaris"])

    # B: the approved plan in force, with progress and a realisation with a photo.
    v["plan_b"] = plan_b = make_plan(b, YEAR, users["b_sekretaris"], prefix=f"{B_MARK}: ")
    approve(plan_b, users["b_ketua"], users["b_lurah"])
    row_b = v["row_b"] = rows_by_part(plan_b, "I")[0]
    set_status(row_b, {"status": "berjalan", "percent": 30, "reason": None, "version": None}, by=users["b_ketua"])
    mark_occurrence(row_b, date(YEAR, 1, 1), "done", by=users["b_ketua"])
    photo = save_photo(FileStorage(io.BytesIO(png_bytes()), "bukti-sumur.png", content_type="image/png"))
    v["item_b"] = add_realisation(row_b, {"on": date(YEAR, 3, 1), "description": f"Rapat di {B_MARK}",
                                          "people_reached": 9, "spends": {"dana_desa": 100_000}},
                                  by=users["b_ketua"], photo_name=photo)
    db.session.commit()
    # B: an open revision (an editable draft, so a missing check would let writes through).
    v["rev_b"] = approval.create_revision(plan_b, by=users["b_sekretaris"])
    db.session.commit()
    v["rev_row_b"] = rows_by_part(v["rev_b"], "I")[0]
    v["position_b"] = users["b_sekretaris"].active_positions(b)[0]
    subscription, _token = feed_services.create(users["b_ketua"], f"HP {B_MARK}", "kampung", kampung=b)
    v["subscription_b"] = subscription
    v["record_b"] = rumahdata.save(desa_b, "verval_krs", 2025, {"families_targeted": 100, "krs": 10},
                                   users["b_seksi"])
    db.session.commit()
    v["plan_token_b"] = staging.stage(plan_csv(1, prefix=B_MARK), filename=f"rahasia-{B_MARK}.csv",
                                      user_id=users["b_sekretaris"].id, scope=f"kampung:{b.id}", year=YEAR + 1)
    v["data_token_b"] = staging.stage(data_csv([["62.13.01.2002", B_MARK, "Verval KRS", "2024", "50", "5"]]),
                                      filename=f"rahasia-{B_MARK}-data.csv", user_id=users["b_seksi"].id,
                                      scope=f"wilayah:{desa_b.id}")
    return v


# == 1. object level: B's ids in A's hands =========================================================

# (method, url template, form data or a callable making it, expected status). Placeholders are
# filled with B's ids, then with ids that exist nowhere; both answers must be the same.
def _upload_plan():
    return {"year": str(YEAR + 1), "file": (io.BytesIO(plan_csv(1)), "rencana.csv")}


def _upload_data():
    return {"file": (io.BytesIO(data_csv([["", "", "Verval KRS", "2024", "1", "1"]])), "data.csv")}


ROW_FORM = {"part": "I", "kegiatan": "Disusupkan", "schedule_text": "Juli", "funding_text": "Swadaya"}
B_ROUTES = [
    # Kampung KB and Struktur Pokja
    ("GET", "/kampung/{kampung}", None, 404),
    ("GET", "/kampung/{kampung}/ubah", None, 404),
    ("POST", "/kampung/{kampung}/ubah", {"name": "Diambil alih"}, 404),
    ("GET", "/kampung/{kampung}/pokja/", None, 404),
    ("GET", "/kampung/{kampung}/pokja/?ubah={position}", None, 404),
    ("GET", "/kampung/{kampung}/pokja/?akhiri={position}", None, 404),
    ("GET", "/kampung/{kampung}/pokja/?tambah=anggota", None, 404),
    ("POST", "/kampung/{kampung}/pokja/jabatan",
     {"group": "anggota", "role": "anggota", "person_name": "Penyusup", "started_on": "2025-01-02"}, 404),
    ("POST", "/kampung/{kampung}/pokja/jabatan/{position}",
     {"person_name": "Diganti", "started_on": "2025-01-02", "version": "1"}, 404),
    ("POST", "/kampung/{kampung}/pokja/jabatan/{position}/akhiri", {"ended_on": TODAY.isoformat()}, 404),
    # plans of the Kampung KB, import, screens
    ("GET", "/kampung/{kampung}/rencana", None, 404),
    ("POST", "/kampung/{kampung}/rencana", {"year": str(YEAR + 2)}, 404),
    ("GET", "/kampung/{kampung}/rencana/impor", None, 404),
    ("POST", "/kampung/{kampung}/rencana/impor", _upload_plan, 404),
    ("GET", "/kampung/{kampung}/rencana/impor/{plan_token}", None, 404),
    ("POST", "/kampung/{kampung}/rencana/impor/{plan_token}", {}, 404),
    ("POST", "/kampung/{kampung}/rencana/impor/{plan_token}", {"batal": "1"}, 404),
    ("GET", "/kampung/{kampung}/rencana/contoh.xlsx", None, 404),
    ("GET", "/kampung/{kampung}/kegiatan-saya", None, 404),
    ("GET", "/kampung/{kampung}/dasbor", None, 404),
    ("GET", "/kampung/{kampung}/dasbor?unduh=seksi.csv", None, 404),
    ("GET", "/kampung/{kampung}/seksi/data", None, 404),
    ("GET", "/kampung/{kampung}/laporan", None, 404),
    ("GET", "/kampung/{kampung}/laporan?unduh=xlsx", None, 404),
    # one plan
    ("GET", "/rencana/{plan}", None, 404),
    ("GET", "/rencana/{revision}?ubah={rev_row}", None, 404),
    ("GET", "/rencana/{revision}?hapus={rev_row}", None, 404),
    ("GET", "/rencana/{revision}?tambah=I", None, 404),
    ("GET", "/rencana/{plan}/riwayat", None, 404),
    ("GET", "/rencana/{revision}/perbandingan", None, 404),
    ("GET", "/rencana/{plan}/cetak", None, 404),
    ("GET", "/rencana/{plan}/unduh.csv", None, 404),
    ("GET", "/rencana/{plan}/unduh.json", None, 404),
    ("GET", "/rencana/{plan}/unduh.xlsx", None, 404),
    ("GET", "/rencana/{plan}/unduh.pdf", None, 404),
    ("POST", "/rencana/{revision}/baris", ROW_FORM, 404),
    ("POST", "/rencana/{revision}/baris/{rev_row}", {**ROW_FORM, "version": "1"}, 404),
    ("POST", "/rencana/{revision}/baris/{rev_row}/hapus", {}, 404),
    ("POST", "/rencana/{revision}/baris/{rev_row}/pindah", {"arah": "turun"}, 404),
    *[("POST", f"/rencana/{{revision}}/aksi/{name}", {"password": PASSWORD, "note": "Catatan"}, 404)
      for name in workflow.TRANSITIONS],
    ("POST", "/rencana/{plan}/aksi/kembalikan", {"password": PASSWORD, "note": "Catatan"}, 404),
    ("POST", "/rencana/{plan}/revisi", {}, 404),
    # one activity: page, progress, calendar, photo
    ("GET", "/rencana/{plan}/kegiatan/{row}", None, 404),
    ("GET", "/rencana/{plan}/kegiatan/{row}/kalender.ics", None, 404),
    ("POST", "/rencana/{plan}/kegiatan/{row}/status", {"status": "dibatalkan", "reason": "x", "version": "1"}, 404),
    ("POST", "/rencana/{plan}/kegiatan/{row}/jadwal", {"tanggal": f"{YEAR}-02-01", "aksi": "done"}, 404),
    ("POST", "/rencana/{plan}/kegiatan/{row}/realisasi",
     {"on": f"{YEAR}-03-02", "description": "Disusupkan", "dana_dana_desa": "Rp 1"}, 404),
    ("GET", "/realisasi/{item}/foto", None, 404),
    ("GET", "/realisasi/{item}/foto/kecil", None, 404),
    # calendar subscription
    ("POST", "/kalender/{subscription}/cabut", {}, 404),
    # Rumah Data of B's desa
    ("GET", "/wilayah/{desa}/data", None, 404),
    ("GET", "/wilayah/{desa}/data?putaran=verval_krs&tahun=2025", None, 404),
    ("GET", "/wilayah/{desa}/data/baru", None, 404),
    ("GET", "/wilayah/{desa}/data/verval_krs/2025", None, 404),
    ("POST", "/wilayah/{desa}/data/verval_krs/2025", {"krs": "99", "families_targeted": "100", "version": "1"}, 404),
    ("GET", "/wilayah/{desa}/data/unduh.csv", None, 404),
    ("GET", "/wilayah/{desa}/data/unduh.xlsx", None, 404),
    ("GET", "/wilayah/{desa}/data/impor", None, 404),
    ("POST", "/wilayah/{desa}/data/impor", _upload_data, 404),
    ("GET", "/wilayah/{desa}/data/impor/{data_token}", None, 404),
    ("POST", "/wilayah/{desa}/data/impor/{data_token}", {}, 404),
    ("POST", "/wilayah/{desa}/data/impor/{data_token}", {"batal": "1"}, 404),
    # accounts: a Pokja member is no account manager, whatever the id (403 before any lookup)
    ("GET", "/akun/{user}/ubah", None, 403),
    ("POST", "/akun/{user}/ubah", {"full_name": "Diganti", "username": "b.ketua"}, 403),
    ("POST", "/akun/{user}/kata-sandi", {"password": "sandi-baru-123", "confirm": "sandi-baru-123"}, 403),
]


def b_ids(v):
    return {"kampung": v["b"].id, "position": v["position_b"].id, "plan": v["plan_b"].id,
            "revision": v["rev_b"].id, "rev_row": v["rev_row_b"].id, "row": v["row_b"].id,
            "item": v["item_b"].id, "subscription": v["subscription_b"].id, "desa": v["desa_b"].id,
            "user": v["users"]["b_ketua"].id, "plan_token": v["plan_token_b"], "data_token": v["data_token_b"]}


def missing_ids(ids):
    return {k: (MISSING_TOKEN if k.endswith("token") else MISSING) for k in ids}


def send(client, method, url, data):
    if method == "GET":
        return client.get(url)
    data = data() if callable(data) else dict(data or {})
    multipart = any(isinstance(v, tuple) for v in data.values())
    return client.post(url, data=data, content_type="multipart/form-data" if multipart else None)


@pytest.mark.parametrize("attacker", ["ketua", "sekretaris", "seksi_head"])
def test_b_ids_in_a_members_hands_answer_like_missing_ids(attacker, villages, client, app):
    """Each of B's ids, on every route that takes one, answers A's member exactly as an id that
    does not exist does (404; 403 only where no id is looked up at all), never shows B's data and
    changes nothing."""
    v = villages
    ids = b_ids(v)
    before, files_before = database_state(), staged_files(app)
    sign_in(client, v["users"][attacker].username)
    wrong = []
    for method, template, data, expected in B_ROUTES:
        real = send(client, method, template.format(**ids), data)
        fake = send(client, method, template.format(**missing_ids(ids)), data)
        url = f"{method} {template}"
        if real.status_code != expected or fake.status_code != expected:
            wrong.append(f"{url}: B's id {real.status_code}, missing id {fake.status_code}, expected {expected}")
        elif normalised(body(real)) != normalised(body(fake)):
            wrong.append(f"{url}: B's id answers differently from a missing id")
        elif B_MARK in body(real) or B_MARK.lower() in body(real):
            wrong.append(f"{url}: shows B's data")
    assert wrong == [], "\n".join(wrong)
    assert len(B_ROUTES) >= 60
    assert_same_state(before, database_state(), "B's objects (or anything)")
    assert staged_files(app) == files_before


def test_calendar_subscription_for_b_is_refused(villages, client):
    """The subscription form takes a Kampung KB id: B's is refused like a missing one."""
    v = villages
    sign_in(client, v["users"]["ketua"].username)
    before = database_state()
    answers = []
    for kampung_id in (v["b"].id, MISSING):
        for scope in ("kampung", "seksi"):
            response = client.post("/kalender", data={"name": "Intip", "scope": scope, "kampung": kampung_id,
                                                      "seksi": "data", "wilayah": v["desa_b"].id})
            answers.append(response.status_code)
            assert B_MARK not in body(response)
    assert answers == [422] * 4
    assert_same_state(before, database_state())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedSubscription).where(
        FeedSubscription.user_id == v["users"]["ketua"].id)) == 0


# A's own object with one of B's inside it. (who, method, url template, data, expected)
MIXED = [
    ("ketua", "GET", "/rencana/{draft_a}?ubah={b_row}", None, 404),
    ("ketua", "GET", "/rencana/{draft_a}?hapus={b_row}", None, 404),
    ("ketua", "POST", "/rencana/{draft_a}/baris/{b_row}", {**ROW_FORM, "version": "1"}, 404),
    ("sekretaris", "POST", "/rencana/{draft_a}/baris/{b_row}", {**ROW_FORM, "part": "II", "version": "1"}, 404),
    ("ketua", "POST", "/rencana/{draft_a}/baris/{b_row}/hapus", {}, 404),
    ("ketua", "POST", "/rencana/{draft_a}/baris/{b_row}/pindah", {"arah": "naik"}, 404),
    ("sekretaris", "POST", "/rencana/{draft_a}/baris/{b_row}/pindah", {"arah": "turun"}, 404),
    ("ketua", "GET", "/rencana/{plan_a}/kegiatan/{b_approved_row}", None, 404),
    ("ketua", "GET", "/rencana/{plan_a}/kegiatan/{b_approved_row}/kalender.ics", None, 404),
    ("ketua", "POST", "/rencana/{plan_a}/kegiatan/{b_approved_row}/status",
     {"status": "selesai", "percent": "100", "version": "1"}, 404),
    ("seksi_head", "POST", "/rencana/{plan_a}/kegiatan/{b_approved_row}/status",
     {"status": "dibatalkan", "reason": "x", "version": "1"}, 404),
    ("seksi_head", "POST", "/rencana/{plan_a}/kegiatan/{b_approved_row}/jadwal",
     {"tanggal": f"{YEAR}-01-01", "aksi": "undo"}, 404),
    ("sekretaris", "POST", "/rencana/{plan_a}/kegiatan/{b_approved_row}/realisasi",
     {"on": f"{YEAR}-03-02", "description": "Disusupkan"}, 404),
    ("ketua", "GET", "/kampung/{a}/pokja/?ubah={b_position}", None, 404),
    ("ketua", "GET", "/kampung/{a}/pokja/?akhiri={b_position}", None, 404),
    ("ketua", "POST", "/kampung/{a}/pokja/jabatan/{b_position}",
     {"person_name": "Diganti", "started_on": "2025-01-02", "version": "1"}, 404),
    ("sekretaris", "POST", "/kampung/{a}/pokja/jabatan/{b_position}/akhiri", {"ended_on": TODAY.isoformat()}, 404),
]


def test_a_objects_with_b_ids_inside_are_404(villages, client, app):
    v = villages
    ids = {"draft_a": v["draft_a"].id, "plan_a": v["plan_a"].id, "a": v["a"].id, "b_row": v["rev_row_b"].id,
           "b_approved_row": v["row_b"].id, "b_position": v["position_b"].id}
    absent = dict(ids, b_row=MISSING, b_approved_row=MISSING, b_position=MISSING)
    before, b_row_before = database_state(), frozen(v["rev_b"])
    wrong = []
    for who, method, template, data, expected in MIXED:
        sign_in(client, v["users"][who].username)
        real = send(client, method, template.format(**ids), data)
        fake = send(client, method, template.format(**absent), data)
        if (real.status_code, fake.status_code) != (expected, expected):
            wrong.append(f"{who} {method} {template}: {real.status_code}/{fake.status_code}, expected {expected}")
        elif normalised(body(real)) != normalised(body(fake)) or B_MARK in body(real):
            wrong.append(f"{who} {method} {template}: B's id answers differently from a missing id")
    assert wrong == [], "\n".join(wrong)
    assert_same_state(before, database_state())
    assert frozen(v["rev_b"]) == b_row_before


@pytest.mark.parametrize("who,scope_url,token_key,owner", [
    ("sekretaris", "/kampung/{a}/rencana/impor", "plan_token_b", "b_sekretaris"),
    ("ketua", "/kampung/{a}/rencana/impor", "plan_token_b", "b_sekretaris"),
    ("seksi_head", "/wilayah/{desa_a}/data/impor", "data_token_b", "b_seksi"),
])
def test_b_staged_upload_under_a_scope_is_not_available(who, scope_url, token_key, owner, villages, client, app):
    """A staged upload belongs to its uploader and scope: under A's own Kampung KB or desa, B's
    token answers as an expired one (the upload form again), shows nothing of the file, imports
    nothing and is not discarded by A's "Batal"."""
    v = villages
    base = scope_url.format(a=v["a"].id, desa_a=v["desa_a"].id)
    token = v[token_key]
    before, files_before = database_state(), staged_files(app)
    sign_in(client, v["users"][who].username)
    for method, data in (("GET", None), ("POST", {}), ("POST", {"batal": "1"})):
        real = send(client, method, f"{base}/{token}", data)
        fake = send(client, method, f"{base}/{MISSING_TOKEN}", data)
        assert real.status_code == fake.status_code == 302
        assert location(real) == location(fake) == base
        followed = client.get(real.headers["Location"])
        assert "sudah tidak tersedia" in body(followed) and B_MARK not in body(followed)
    assert_same_state(before, database_state())
    assert staged_files(app) == files_before
    # The token was valid all along: its owner still previews it.
    sign_in(client, v["users"][owner].username)
    own = client.get(f"{scope_url.format(a=v['b'].id, desa_a=v['desa_b'].id)}/{token}")
    assert own.status_code == 200 and B_MARK in body(own)


# == 2. field level: mass assignment ===============================================================

def smuggled(v):
    """Form fields named like plan content, identity and bookkeeping columns, pointing at B."""
    other = v["users"]["admin"]
    return {
        "kegiatan": "Disusupkan", "pelaksana": "Disusupkan", "sasaran": "Disusupkan", "mitra": "Disusupkan",
        "place": "Disusupkan", "part": "VI", "seksi": "lingkungan", "schedule_text": "Setiap minggu",
        "schedule_read_from": "Setiap minggu", "frequency": "weekly", "start_date": "2000-01-01",
        "end_date": "2000-12-31", "interval": "3", "funding_text": "APBN Rp 999.999.999", "budget": "999999999",
        "anggaran": "999999999", "amount": "999999999", "funding_sources-0-amount": "1", "indicator": "krs",
        "target_count": "999", "target_unit": "rumah", "plan_id": str(v["plan_b"].id),
        "kampung_id": str(v["b"].id), "row_id": str(v["row_b"].id), "lineage": v["row_b"].lineage,
        "position": "99", "number": "99", "year": "2000", "revision": "9", "submission": "9",
        "verification_code": "XXXX-XXXX-XXXX", "approved_at": "2000-01-01", "return_note": "Disusupkan",
        "revises_id": str(v["plan_b"].id), "created_by_id": str(other.id), "updated_by_id": str(other.id),
        "id": "1", "plan_status": "draf", "dana_apbn": "Rp 5.000.000",
    }


CONTENT_TABLES = {"plan", "plan_row", "funding_source", "signature"}
# data_version: every progress change moves its Kampung KB's version (feeds and roll-ups).
PROGRESS_TABLES = {"activity_progress", "occurrence_mark", "realisation", "realisation_spend", "audit_entry",
                   "data_version"}


@pytest.mark.parametrize("route", ["status", "jadwal", "realisasi"])
def test_progress_routes_ignore_plan_content_fields(route, villages, client):
    """A section head's progress update with plan-content fields beside it changes progress only:
    the approved plan and its rows are byte-for-byte as signed, and the progress records belong
    to the row of the URL, in A's Kampung KB and year, by the section head."""
    v = villages
    head, plan = v["users"]["seksi_head"], v["plan_a"]
    row = rows_by_part(plan, "I")[0]
    extra = smuggled(v)
    before_plan, before = frozen(plan), database_state()
    version_before = row.version
    sign_in(client, head.username)
    url = f"/rencana/{plan.id}/kegiatan/{row.id}/{route}"
    if route == "status":
        data = {**extra, "status": "berjalan", "percent": "40", "reason": "Lancar", "version": "0"}
    elif route == "jadwal":
        data = {**extra, "status": "draf", "version": "999", "tanggal": f"{YEAR}-01-01", "aksi": "done"}
    else:
        data = {**extra, "status": "draf", "version": "999", "on": f"{YEAR}-03-01",
                "description": "Rapat Maret", "people_reached": "12", "dana_dana_desa": "Rp 100.000"}
    response = client.post(url, data=data)
    assert response.status_code == 302, body(response)[:500]
    after = database_state()
    assert set(changed_tables(before, after)) <= PROGRESS_TABLES
    assert frozen(plan) == before_plan
    assert db.session.get(PlanRow, row.id).version == version_before
    assert_signed_content_intact(plan)
    assert_same_state({k: before[k] for k in before if k not in PROGRESS_TABLES},
                      {k: after[k] for k in after if k not in PROGRESS_TABLES})
    progress = db.session.scalar(sa.select(ActivityProgress).where(ActivityProgress.lineage == row.lineage))
    if route == "status":
        assert (progress.status, progress.percent, progress.reason, progress.version) == ("berjalan", 40, "Lancar", 1)
    elif route == "jadwal":
        assert (progress.status, progress.version) == ("berjalan", 1)
    else:
        item = db.session.scalar(sa.select(Realisation).where(Realisation.lineage == row.lineage))
        assert (item.kampung_id, item.year, item.created_by_id, item.description) == \
            (v["a"].id, YEAR, head.id, "Rapat Maret")
        assert [(s.source_type, s.amount) for s in item.spends] == [("dana_desa", 100_000)]
        assert progress is None
    # Only the row of the URL got progress: B's row, which the smuggled ids name, is untouched.
    for name in ("activity_progress", "occurrence_mark", "realisation"):
        lineage = db.metadata.tables[name].c.keys().index("lineage")
        assert [r for r in after[name] if r[lineage] != row.lineage] == before[name], name


def test_row_form_ignores_identity_fields(villages, client):
    """Editing a draft row: content changes as typed, but a smuggled plan_id, lineage, position or
    kampung_id neither moves the row to B's plan nor renumbers or re-identifies it."""
    v = villages
    plan, row = v["draft_a"], rows_by_part(v["draft_a"], "I")[1]
    b_before = frozen(v["rev_b"]), frozen(v["plan_b"])
    lineage, position = row.lineage, row.position
    sign_in(client, v["users"]["sekretaris"].username)
    data = {**smuggled(v), "part": "I", "seksi": "", "kegiatan": "Pendataan keluarga (diperbaiki)",
            "schedule_text": row.schedule_text, "schedule_read_from": row.schedule_text,
            "funding_text": row.funding_text, "frequency": "", "start_date": "", "end_date": "", "interval": "",
            "indicator": "", "version": str(row.version)}
    response = client.post(f"/rencana/{plan.id}/baris/{row.id}", data=data)
    assert response.status_code == 302, body(response)[:500]
    stored = db.session.get(PlanRow, row.id)
    assert stored.kegiatan == "Pendataan keluarga (diperbaiki)" and stored.version == 2
    assert (stored.plan_id, stored.lineage, stored.position) == (plan.id, lineage, position)
    assert (frozen(v["rev_b"]), frozen(v["plan_b"])) == b_before


def test_profile_ignores_privilege_fields(villages, client):
    v = villages
    ketua, kab = v["users"]["ketua"], v["kec"].parent
    columns = [c for c in User.__table__.columns if c.name not in ("full_name", "phone")]
    sign_in(client, ketua.username)
    before = db.session.execute(sa.select(*columns).where(User.id == ketua.id)).one()
    response = client.post("/profil", data={
        "full_name": "Ketua Harara", "phone": "0812345678", "is_platform_admin": "1", "is_operator": "1",
        "area_id": str(kab.id), "active": "0", "must_change_password": "1", "username": "admin2",
        "session_token": "x", "password_hash": "x", "id": str(v["users"]["admin"].id)})
    assert response.status_code == 302
    stored = db.session.get(User, ketua.id)
    assert (stored.full_name, stored.phone) == ("Ketua Harara", "0812345678")
    assert db.session.execute(sa.select(*columns).where(User.id == ketua.id)).one() == before
    assert client.get("/akun/").status_code == 403
    assert client.get(f"/wilayah/{kab.id}/rekap").status_code == 404


def test_kampung_profile_and_position_ignore_fixed_fields(villages, client):
    """The Ketua's Kampung KB form has no desa; a position's role, seksi, Kampung KB, account id
    and end are not fields of its edit form (docs/permissions.md, field level)."""
    v = villages
    a, b = v["a"], v["b"]
    sign_in(client, v["users"]["ketua"].username)
    b_before = database_state(only={"kampung_kb", "pokja_position"})
    response = client.post(f"/kampung/{a.id}/ubah", data={
        "name": "Kampung KB Harara Maju", "desa_id": str(v["desa_b"].id), "id": str(b.id),
        "created_at": "2000-01-01"})
    assert response.status_code == 302
    stored = db.session.get(KampungKB, a.id)
    assert (stored.name, stored.desa_id) == ("Kampung KB Harara Maju", v["desa_a"].id)

    position = v["users"]["anggota"].active_positions(a)[0]
    response = client.post(f"/kampung/{a.id}/pokja/jabatan/{position.id}", data={
        "person_name": "Anggota Baru", "username": "anggota", "started_on": "2025-01-02", "note": "",
        "version": str(position.version), "role": "pengarah", "seksi": "data", "kampung_id": str(b.id),
        "user_id": str(v["users"]["admin"].id), "ended_on": "2025-02-01", "id": str(v["position_b"].id)})
    assert response.status_code == 302
    stored = db.session.get(PokjaPosition, position.id)
    assert (stored.person_name, stored.role, stored.seksi, stored.kampung_id, stored.user_id, stored.ended_on) == \
        ("Anggota Baru", "anggota", None, a.id, v["users"]["anggota"].id, None)
    after = database_state(only={"kampung_kb", "pokja_position"})
    assert [r for r in after["kampung_kb"] if r[0] == b.id] == [r for r in b_before["kampung_kb"] if r[0] == b.id]
    assert [r for r in after["pokja_position"] if r[1] == b.id] == \
        [r for r in b_before["pokja_position"] if r[1] == b.id]


def test_rumahdata_form_ignores_region_period_and_computed_fields(villages, client):
    v = villages
    head = v["users"]["seksi_head"]
    b_record = database_state(only={"data_record"})
    sign_in(client, head.username)
    response = client.post(f"/wilayah/{v['desa_a'].id}/data/verval_krs/2025", data={
        "families_targeted": "50", "krs": "5", "version": "", "wilayah_id": str(v["desa_b"].id),
        "round": "tahunan", "year": "2000", "prevalence_stated": "99", "updated_by_id": str(v["users"]["admin"].id),
        "id": str(v["record_b"].id)})
    assert response.status_code == 302, body(response)[:500]
    records = db.session.scalars(sa.select(DataRecord).order_by(DataRecord.id)).all()
    mine = [r for r in records if r.wilayah_id == v["desa_a"].id]
    assert [(r.round, r.year, r.krs, r.families_targeted, r.prevalence_stated, r.updated_by_id) for r in mine] == \
        [("verval_krs", 2025, 5, 50, None, head.id)]
    assert [r for r in database_state(only={"data_record"})["data_record"] if r[0] == v["record_b"].id] == \
        [r for r in b_record["data_record"] if r[0] == v["record_b"].id]


# == 3. state level: signed content stays as signed ================================================

ROW_ROUTES = {
    "add": lambda plan, rows: (f"/rencana/{plan.id}/baris", {**ROW_FORM}, {}),
    "update": lambda plan, rows: (f"/rencana/{plan.id}/baris/{rows[0].id}",
                                  {**ROW_FORM, "kegiatan": "Diubah", "version": str(rows[0].version)}, {}),
    "delete": lambda plan, rows: (f"/rencana/{plan.id}/baris/{rows[0].id}/hapus", {}, {}),
    "move_down": lambda plan, rows: (f"/rencana/{plan.id}/baris/{rows[0].id}/pindah", {"arah": "turun"}, {}),
    "move_up": lambda plan, rows: (f"/rencana/{plan.id}/baris/{rows[1].id}/pindah", {"arah": "naik"}, {}),
}
# docs/permissions.md: content changes of a locked plan are 409 for those who may edit content,
# 403 for other members, 404 for anyone who cannot see the plan.
LOCKED_CODES = {"admin": 409, "operator": 409, "operator_kecamatan": 409, "ketua": 409, "sekretaris": 409,
                "lurah": 403, "seksi_head": 403, "anggota": 403, "operator_other": 404, "outsider": 404,
                "no_position": 404}


@pytest.mark.parametrize("state", ["diajukan", "disetujui"])
def test_locked_plan_refuses_every_row_route_for_every_role(state, kb, client):
    plan = make_plan(kb["kampung"], YEAR, kb["sekretaris"])
    approval.perform(plan, "ajukan", kb["ketua"], password=PASSWORD)  # the Ketua signs
    db.session.commit()
    if state == "disetujui":
        approval.perform(plan, "setujui", kb["lurah"], password=PASSWORD)
        db.session.commit()
    rows = rows_by_part(plan, "I")
    before, signed = database_state(), frozen(plan)
    wrong, cases = [], 0
    for role, expected in LOCKED_CODES.items():
        sign_in(client, kb[role].username)
        for name, route in ROW_ROUTES.items():
            url, data, headers = route(plan, rows)
            response = client.post(url, data=data, headers=headers)
            cases += 1
            if response.status_code != expected:
                wrong.append(f"{role} {name}: {response.status_code}, expected {expected}")
            elif expected == 409 and f"Rencana berstatus {workflow.STATES[state]}" not in body(response):
                wrong.append(f"{role} {name}: 409 without the reason")
        if state == "disetujui":
            for name in workflow.TRANSITIONS:
                response = client.post(f"/rencana/{plan.id}/aksi/{name}", data={"password": PASSWORD, "note": "x"})
                cases += 1
                if response.status_code != (404 if expected == 404 else 409):
                    wrong.append(f"{role} aksi/{name}: {response.status_code}")
    assert wrong == [], "\n".join(wrong)
    assert cases == len(LOCKED_CODES) * (len(ROW_ROUTES) + (4 if state == "disetujui" else 0))
    assert frozen(plan) == signed
    assert_same_state(before, database_state())
    assert_signed_content_intact(plan)


@pytest.mark.parametrize("state", ["diajukan", "disetujui"])
def test_locked_plan_refusal_over_htmx_says_why(state, kb, client):
    """The plan page's inline row forms post with htmx: a plan submitted in another tab meanwhile
    must answer 409 with the reason in the message area, and change nothing.

    Regression: at 095b888 ``state_conflict`` in portal/errors.py set headers on the (body,
    status) tuple ``render`` returns, so every one of these requests ended in AttributeError → 500.
    """
    plan = make_plan(kb["kampung"], YEAR, kb["sekretaris"])
    approval.perform(plan, "ajukan", kb["ketua"], password=PASSWORD)
    db.session.commit()
    if state == "disetujui":
        approval.perform(plan, "setujui", kb["lurah"], password=PASSWORD)
        db.session.commit()
    rows, signed = rows_by_part(plan, "I"), frozen(plan)
    sign_in(client, kb["sekretaris"].username)
    for name, route in ROW_ROUTES.items():
        url, data, _headers = route(plan, rows)
        response = client.post(url, data=data, headers={"HX-Request": "true"})
        assert response.status_code == 409, name
        assert response.headers.get("HX-Retarget") == "#messages", name
        assert f"Rencana berstatus {workflow.STATES[state]}" in body(response), name
        assert "<html" not in body(response), name
    assert frozen(plan) == signed


@pytest.mark.parametrize("role", ["admin", "operator", "ketua", "sekretaris"])
def test_import_into_an_approved_year_changes_nothing(role, kb, client):
    """Confirming an upload for the approved year is refused (422 with the reason, as
    tests/test_sheets.py pins it) for everyone who may import; nothing is written."""
    plan = make_plan(kb["kampung"], YEAR, kb["sekretaris"])
    approve(plan, kb["ketua"], kb["lurah"])
    before = database_state()
    sign_in(client, kb[role].username)
    upload = client.post(f"/kampung/{kb['kampung'].id}/rencana/impor",
                         data={"year": str(YEAR), "file": (io.BytesIO(plan_csv(5)), "rencana.csv")},
                         content_type="multipart/form-data")
    assert upload.status_code == 302
    confirm = client.post(upload.headers["Location"])
    assert confirm.status_code == 422 and "revisi" in body(confirm)
    assert_same_state(before, database_state())
    assert_signed_content_intact(plan)


def test_revision_flow_never_touches_the_signed_version(kb, client):
    """Revise, edit the revision through every row route, import into it, approve it: the
    original keeps its exact rows and signatures, ids of one version never reach the other's
    rows, and the superseded original stays locked."""
    plan = make_plan(kb["kampung"], YEAR, kb["sekretaris"])
    approve(plan, kb["ketua"], kb["lurah"])
    signed = frozen(plan)
    original_rows = rows_by_part(plan, "I")
    sign_in(client, kb["ketua"].username)
    response = client.post(f"/rencana/{plan.id}/revisi")
    assert response.status_code == 302
    revision = db.session.scalar(sa.select(Plan).where(Plan.revises_id == plan.id))
    assert location(response) == f"/rencana/{revision.id}"

    # The revision's id with the original's rows, and the original's id with the revision's rows.
    for url, data in ((f"/rencana/{revision.id}/baris/{original_rows[0].id}", {**ROW_FORM, "version": "1"}),
                      (f"/rencana/{revision.id}/baris/{original_rows[0].id}/hapus", {}),
                      (f"/rencana/{revision.id}/baris/{original_rows[1].id}/pindah", {"arah": "naik"})):
        assert client.post(url, data=data).status_code == 404, url
    rev_rows = rows_by_part(revision, "I")
    for name, route in ROW_ROUTES.items():
        url, data, headers = route(plan, rev_rows)  # the original's id: locked before any row is read
        assert client.post(url, data=data, headers=headers).status_code == 409, name

    # Every row route works on the revision.
    sign_in(client, kb["sekretaris"].username)
    for name in ("update", "move_up", "add", "delete"):
        db.session.expire_all()
        url, data, headers = ROW_ROUTES[name](revision, rows_by_part(db.session.get(Plan, revision.id), "I"))
        assert client.post(url, data=data, headers=headers).status_code == 302, name
    upload = client.post(f"/kampung/{kb['kampung'].id}/rencana/impor",
                         data={"year": str(YEAR), "file": (io.BytesIO(plan_csv(4)), "rencana.csv")},
                         content_type="multipart/form-data")
    assert client.post(upload.headers["Location"]).status_code == 302
    db.session.expire_all()
    assert len(db.session.get(Plan, revision.id).rows) == len(ROWS) + 4
    assert frozen(plan) == signed

    sign_in(client, kb["ketua"].username)
    assert client.post(f"/rencana/{revision.id}/aksi/ajukan", data={"password": PASSWORD}).status_code == 302
    sign_in(client, kb["lurah"].username)
    assert client.post(f"/rencana/{revision.id}/aksi/setujui", data={"password": PASSWORD}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Plan, revision.id).status == "disetujui"

    # Superseded: still locked, no second revision from it, content as signed.
    sign_in(client, kb["sekretaris"].username)
    for name, route in ROW_ROUTES.items():
        url, data, headers = route(plan, original_rows)
        assert client.post(url, data=data, headers=headers).status_code == 409, name
    refused = client.post(f"/rencana/{plan.id}/revisi")
    assert refused.status_code == 409 and "sedang berlaku" in body(refused)
    assert frozen(plan) == signed
    assert_signed_content_intact(plan)
    assert_signed_content_intact(db.session.get(Plan, revision.id))


def _changed_value(column, current, draft_plan_id, other_row_id):
    if column.name == "plan_id":
        return draft_plan_id
    if column.name == "row_id":
        return other_row_id
    if column.name == "part":
        return "VI"
    kind = column.type.python_type
    if kind is str:
        return "diubah"
    if kind is int:
        return (current or 0) + 1
    if kind is date:
        return date(2001, 1, 2)
    if kind is time:
        return time(7, 30)
    raise AssertionError(f"no test value for {column}")


def test_triggers_refuse_a_raw_update_of_every_content_column(kb):
    """Past the services and the ORM guard: raw SQL changing any content column of a signed
    plan's row or funding source (moving it to a draft included) is refused by the database."""
    plan = make_plan(kb["kampung"], YEAR, kb["sekretaris"])
    approve(plan, kb["ketua"], kb["lurah"])
    draft = make_plan(kb["kampung"], YEAR + 1, kb["sekretaris"], rows=ROWS[:1])
    row = rows_by_part(plan, "I")[0]
    source = row.funding_sources[0]
    targets = [(PlanRow.__table__, row.id, draft.rows[0].id), (FundingSource.__table__, source.id,
                                                               draft.rows[0].id)]
    signed, refused = frozen(plan), []
    for table, object_id, other_row_id in targets:
        current = db.session.execute(sa.select(table).where(table.c.id == object_id)).one()._mapping
        for column in table.columns:
            if column.name in NOT_CONTENT:
                continue
            value = _changed_value(column, current[column.name], draft.id, other_row_id)
            assert value != current[column.name]
            with pytest.raises(DatabaseError, match="plan_locked"):
                db.session.execute(sa.update(table).where(table.c.id == object_id).values({column.name: value}))
            db.session.rollback()
            refused.append(f"{table.name}.{column.name}")
    assert len(refused) >= 30
    # Bookkeeping stays writable, so the refusals above are about content.
    db.session.execute(sa.update(PlanRow.__table__).where(PlanRow.id == row.id).values(version=PlanRow.version + 1))
    db.session.commit()
    after = frozen(plan)
    assert after[0] == signed[0] and after[2:] == signed[2:]
    assert [r for r in after[1] if r[0] != row.id] == [r for r in signed[1] if r[0] != row.id]
    assert_signed_content_intact(plan)


# == 4. lost updates ===============================================================================

@dataclass
class Kind:
    """One versioned object two people can edit: where its form is, how it is posted, what is
    stored, and how its conflict view shows the stored value beside the typed one."""
    name: str
    writers: tuple
    form_url: Callable
    post: Callable  # (client, w, version, value) → response
    stored: Callable  # w → value
    shows_both: Callable  # (html, stored, typed) → bool
    value: Callable  # (pair, writer index) → value
    model: type


def _row_post(client, w, version, value):
    return client.post(f"/rencana/{w['draft']}/baris/{w['draft_row']}", data={
        "part": "I", "kegiatan": value, "schedule_text": "Juni", "schedule_read_from": "Juni",
        "funding_text": "Swadaya", "version": str(version)})


def _conflict_cells(html, label, stored, typed):
    return f'<tr><th scope="row">{label}</th><td>{escape(stored)}</td><td>{escape(typed)}</td></tr>' in html


def _status_post(client, w, version, value):
    return client.post(f"/rencana/{w['approved']}/kegiatan/{w['approved_row']}/status",
                       data={"status": "berjalan", "percent": str(value), "reason": "", "version": str(version)})


def _status_shows_both(html, stored, typed):
    return (f"<li>Persen: {stored}</li>" in html and input_value(html, "percent") == str(typed)
            and selected_option(html, "status") == "berjalan")


def _data_post(client, w, version, value):
    return client.post(f"/wilayah/{w['desa']}/data/verval_krs/2025",
                       data={"families_targeted": "1000", "krs": str(value), "version": str(version)})


def _data_shows_both(html, stored, typed):
    return re.search(rf'<th scope="row">Keluarga berisiko stunting \(KRS\)</th><td class="num">{stored}</td>'
                     rf'<td class="num">{typed}</td>', html) is not None and input_value(html, "krs") == str(typed)


def _position_post(client, w, version, value):
    return client.post(f"/kampung/{w['kampung']}/pokja/jabatan/{w['position']}", data={
        "person_name": value, "username": "anggota", "started_on": "2025-01-02", "note": "",
        "version": str(version)})


KINDS = {
    "plan_row": Kind(
        "plan_row", ("ketua", "sekretaris"),
        lambda w: f"/rencana/{w['draft']}?ubah={w['draft_row']}", _row_post,
        lambda w: db.session.get(PlanRow, w["draft_row"]).kegiatan,
        lambda html, stored, typed: _conflict_cells(html, "Kegiatan", stored, typed),
        lambda pair, who: f"Kegiatan pasangan {pair} oleh penulis {who}", PlanRow),
    "progress_status": Kind(
        "progress_status", ("ketua", "seksi.data"),
        lambda w: f"/rencana/{w['approved']}/kegiatan/{w['approved_row']}", _status_post,
        lambda w: db.session.scalar(sa.select(ActivityProgress.percent).where(
            ActivityProgress.lineage == w["approved_lineage"])),
        _status_shows_both, lambda pair, who: 10 * who + pair + 1, ActivityProgress),
    "rumahdata": Kind(
        "rumahdata", ("seksi.data", "op.kab"),
        lambda w: f"/wilayah/{w['desa']}/data/verval_krs/2025", _data_post,
        lambda w: db.session.get(DataRecord, w["record"]).krs,
        _data_shows_both, lambda pair, who: 100 * (who + 1) + pair, DataRecord),
    "pokja_position": Kind(
        "pokja_position", ("ketua", "sekretaris"),
        lambda w: f"/kampung/{w['kampung']}/pokja/?ubah={w['position']}", _position_post,
        lambda w: db.session.get(PokjaPosition, w["position"]).person_name,
        lambda html, stored, typed: _conflict_cells(html, "Nama", stored, typed),
        lambda pair, who: f"Anggota pasangan {pair} oleh penulis {who}", PokjaPosition),
}


def editable_world(kampung, users):
    """Ids of one object of each kind: a draft row, an approved row (with progress), the desa's
    figures, a position (the Anggota's)."""
    draft = make_plan(kampung, YEAR + 1, users["sekretaris"], rows=ROWS[:1])
    approved = make_plan(kampung, YEAR, users["sekretaris"])
    approve(approved, users["ketua"], users["lurah"])
    row = rows_by_part(approved, "I")[0]
    set_status(row, {"status": "berjalan", "percent": 5, "reason": None, "version": None}, by=users["ketua"])
    record = rumahdata.save(kampung.desa, "verval_krs", 2025, {"families_targeted": 1000, "krs": 1}, users["ketua"])
    db.session.commit()
    return {"draft": draft.id, "draft_row": draft.rows[0].id, "approved": approved.id, "approved_row": row.id,
            "approved_lineage": row.lineage, "desa": kampung.desa_id, "record": record.id, "kampung": kampung.id,
            "position": users["anggota"].active_positions(kampung)[0].id}


PAIRS = 6


@pytest.mark.parametrize("kind", list(KINDS))
def test_stale_second_writer_gets_409_and_no_update_is_lost(kind, kb, app, client):
    """Both writers open the form (same version), then both save, the first writer alternating:
    the second gets 409 with the stored and the typed value side by side, the first writer's value
    stays; saving again from the conflict page then overwrites knowingly. Lost updates counted."""
    k = KINDS[kind]
    w = editable_world(kb["kampung"], kb)
    clients = [client, app.test_client()]
    for c, username in zip(clients, k.writers):
        sign_in(c, username)
    lost = conflicts = 0
    for pair in range(PAIRS):
        order = [0, 1] if pair % 2 == 0 else [1, 0]
        versions = [input_value(body(clients[i].get(k.form_url(w))), "version") for i in order]
        assert versions[0] == versions[1]
        first, second = order
        first_value, second_value = k.value(pair, first), k.value(pair, second)
        assert k.post(clients[first], w, versions[0], first_value).status_code == 302
        late = k.post(clients[second], w, versions[1], second_value)
        db.session.expire_all()
        stored = k.stored(w)
        lost += stored != first_value
        if late.status_code == 409:
            conflicts += 1
            html = body(late)
            assert k.shows_both(html, first_value, second_value), f"pair {pair}: conflict view lacks a version"
            # The conflict page carries the stored version: saving again is a deliberate overwrite.
            again = k.post(clients[second], w, input_value(html, "version"), second_value)
            assert again.status_code == 302
            db.session.expire_all()
            assert k.stored(w) == second_value
    assert (lost, conflicts) == (0, PAIRS), f"{lost} lost updates over {PAIRS} interleaved pairs"
    assert audit.check_all().intact


# -- the same pairs at the same moment ------------------------------------------------------------

@pytest.fixture
def shared_database(tmp_path, pg_server):
    """A URL of a database of its own, reachable from several threads and processes: a SQLite
    file, or a fresh PostgreSQL database in the suite's cluster. Yields a factory (backend → url)."""
    created = []

    def make(backend):
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'portal-{uuid.uuid4().hex[:8]}.db'}"
        name = f"integrity_{uuid.uuid4().hex[:12]}"
        pg_server.admin(f"CREATE DATABASE {name}")
        created.append(name)
        return pg_server.url(name)

    yield make
    for name in created:
        pg_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _world_users(kampung, desa, kab):
    """The accounts the kinds' writers use, with their positions."""
    users = {}
    for username, role, seksi, extra in (("ketua", "ketua", None, {}), ("sekretaris", "sekretaris", None, {}),
                                         ("lurah", "pengarah", None, {}), ("seksi.data", "ketua_seksi", "data", {}),
                                         ("anggota", "anggota", None, {}), ("op.kab", None, None, {"is_operator": True})):
        user = User(username=username, full_name=username.title(), area=kab if extra else desa, **extra)
        user.set_password(PASSWORD)
        db.session.add(user)
        if role:
            db.session.add(PokjaPosition(kampung=kampung, role=role, seksi=seksi, user=user, person_name=user.full_name,
                                         started_on=date(2025, 1, 2)))
        users[username.split(".")[0] if username != "seksi.data" else "seksi_head"] = user
    db.session.commit()
    return users


def _build_shared_world():
    prov = Wilayah(level="provinsi", code="62", name="Kalimantan Tengah", timezone="Asia/Jakarta")
    kab = Wilayah(level="kabupaten", code="62.13", name="Barito Timur", kind="Kabupaten", parent=prov)
    kec = Wilayah(level="kecamatan", code="62.13.01", name="Dusun Timur", parent=kab)
    desa = Wilayah(level="desa", code="62.13.01.2001", name="Harara", kind="Desa", parent=kec)
    kampung = KampungKB(name="Kampung KB Harara", desa=desa)
    db.session.add_all([prov, kampung])
    db.session.commit()
    users = _world_users(kampung, desa, kab)
    return editable_world(kampung, users)


RACES = 3


# Both writers of a plan row replace its funding sources; the second DELETE then matches no row.
# The suite makes SAWarnings errors; in production it is a logged warning and the save goes on.
@pytest.mark.filterwarnings("ignore:DELETE statement on table 'funding_source':sqlalchemy.exc.SAWarning")
@pytest.mark.parametrize("backend", ["sqlite"] + (["postgresql"] if ON_POSTGRES else []))
@pytest.mark.parametrize("kind", list(KINDS))
def test_simultaneous_writers_lose_no_update(kind, backend, shared_database, monkeypatch):
    """The interleaving the test client cannot produce: both requests have passed the version
    check when the first one writes (threads, a shared database, a barrier at the first flush of
    the object). At most one may succeed; every 302 must be the value stored.

    Regression: at 095b888 the version check was read-then-write in Python (UPDATE ... WHERE id = ?
    with no version in the WHERE and no row lock): both writers got 302 and the first one's change
    was silently overwritten (3 lost of 3 pairs, for every kind, on SQLite and PostgreSQL), its
    audit entry still saying it was saved. Now ``version_id_col`` makes the later UPDATE match no
    row (StaleDataError → 409)."""
    monkeypatch.setattr(KampungKB, "today", lambda self: TODAY)
    k = KINDS[kind]
    shared = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": shared_database(backend)})
    with shared.app_context():
        db.create_all()
        w = _build_shared_world()
        db.session.remove()
    clients = [shared.test_client(), shared.test_client()]
    for c, username in zip(clients, k.writers):
        sign_in(c, username)

    held = threading.local()
    barrier = threading.Barrier(2, timeout=5)

    def hold_first_flush(session, flush_context, instances):
        if getattr(held, "armed", False) and any(isinstance(o, k.model) for o in session.dirty):
            held.armed = False
            try:
                barrier.wait()
            except threading.BrokenBarrierError:  # an implementation that locks on load
                pass

    event.listen(Session, "before_flush", hold_first_flush)
    lost = successes = conflicts = 0
    try:
        for race in range(RACES):
            with shared.app_context():
                version = input_value(body(clients[0].get(k.form_url(w))), "version")
                values = [k.value(race, 0), k.value(race, 1)]
                answers = [None, None]

                def write(i):
                    held.armed = True
                    try:
                        answers[i] = k.post(clients[i], w, version, values[i]).status_code
                    except Exception as exc:  # noqa: BLE001 - reported below
                        answers[i] = repr(exc)

                barrier.reset()
                threads = [threading.Thread(target=write, args=(i,)) for i in (0, 1)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(30)
                db.session.remove()
                stored = k.stored(w)
                assert all(a in (302, 409) for a in answers), answers
                successes += answers.count(302)
                conflicts += answers.count(409)
                lost += sum(1 for a, value in zip(answers, values) if a == 302 and value != stored)
                db.session.remove()
        with shared.app_context():
            assert audit.check_all().intact
            db.session.remove()
    finally:
        event.remove(Session, "before_flush", hold_first_flush)
        with shared.app_context():
            db.engine.dispose()
    assert lost == 0, f"{lost} lost updates over {RACES} simultaneous pairs"
    # Each pair really raced: one saved, the other was told it came second.
    assert (successes, conflicts) == (RACES, RACES)


# == 5. an import killed half-way ==================================================================

CHILD = r'''
"""Build a Kampung KB, stage an import through the web form, wait for the parent's "go", then
confirm it with the per-row function patched to SIGKILL this process half-way."""
import io, json, os, signal, sqlite3, sys
from datetime import date

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

kind, url, uploads, year, total, kill_at = sys.argv[1:7]
year, total, kill_at = int(year), int(total), int(kill_at)
PASSWORD = "rahasia-123"
if url.startswith("sqlite"):
    @event.listens_for(Engine, "connect")
    def _small_cache(dbapi_connection, _record):
        # A tiny page cache, so the uncommitted rows spill into the WAL before the kill.
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute("PRAGMA cache_size=8")

from portal import create_app
from portal.blueprints.plans import approval
from portal.blueprints.plans import services as plan_services
from portal.blueprints.plans.services import add_row, create_plan
from portal.blueprints.rumahdata import services as data_services
from portal.extensions import db
from portal.models import DataRecord, KampungKB, PlanRow, PokjaPosition, User, Wilayah

app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": uploads})
with app.app_context():
    db.create_all()
    prov = Wilayah(level="provinsi", code="62", name="Kalimantan Tengah", timezone="Asia/Jakarta")
    kab = Wilayah(level="kabupaten", code="62.13", name="Barito Timur", kind="Kabupaten", parent=prov)
    kec = Wilayah(level="kecamatan", code="62.13.01", name="Dusun Timur", parent=kab)
    desa = Wilayah(level="desa", code="62.13.01.2001", name="Harara", kind="Desa", parent=kec)
    kampung = KampungKB(name="Kampung KB Harara", desa=desa)
    db.session.add_all([prov, kampung])
    users = {}
    for username, role, seksi in (("ketua", "ketua", None), ("sekretaris", "sekretaris", None),
                                  ("lurah", "pengarah", None), ("seksi.data", "ketua_seksi", "data")):
        user = User(username=username, full_name=username.title(), area=desa)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.add(PokjaPosition(kampung=kampung, role=role, seksi=seksi, user=user,
                                     person_name=user.full_name, started_on=date(2025, 1, 2)))
        users[username] = user
    db.session.commit()
    if kind == "plan":
        # A plan the Lurah returned: the import's first change would take it back to Draf.
        plan = create_plan(kampung, year, by=users["sekretaris"])
        for i in range(3):
            add_row(plan, {"part": "I", "kegiatan": f"Kegiatan awal {i}", "schedule_text": f"Mei {year}",
                           "funding_text": "Swadaya Rp 10.000"}, by=users["sekretaris"])
        db.session.commit()
        approval.perform(plan, "ajukan", users["ketua"], password=PASSWORD)
        approval.perform(plan, "kembalikan", users["lurah"], note="Lengkapi bagian II.")
        db.session.commit()
        username, form_url, target = "sekretaris", f"/kampung/{kampung.id}/rencana/impor", plan.id
        header = ["No", "Kegiatan", "Pelaksana", "Sasaran", "Mitra", "Waktu", "Sumber Dana", "Anggaran"]
        lines, per_part = [header], total // 4
        for p, part in enumerate(("I", "II", "III", "IV")):
            lines.append([part])
            lines += [[n, f"Impor kegiatan {p * per_part + n}", "Kader KB", "Keluarga", "", f"Juni {year}",
                       "Dana Desa", 100000 + n] for n in range(1, per_part + 1)]
        extra = {"year": str(year)}
    else:
        for i in range(20):  # some periods exist: the import updates them, and creates the rest
            data_services.save(desa, "verval_krs", 2001 + i, {"families_targeted": 500, "krs": i}, users["seksi.data"])
        db.session.commit()
        username, form_url, target = "seksi.data", f"/wilayah/{desa.id}/data/impor", desa.id
        lines = [["Putaran", "Tahun", "Keluarga sasaran", "Keluarga berisiko stunting (KRS)"]]
        lines += [[r, str(y), "900", str(y % 97)] for y in range(2001, 2001 + total // 2)
                  for r in ("Verval KRS", "Data tahunan")]
        extra = {}
    db.session.remove()

import csv
out = io.StringIO()
csv.writer(out).writerows(lines)
client = app.test_client()
assert client.post("/masuk", data={"username": username, "password": PASSWORD}).status_code == 302
staged = client.post(form_url, data={**extra, "file": (io.BytesIO(out.getvalue().encode()), "impor.csv")},
                     content_type="multipart/form-data")
assert staged.status_code == 302, staged.get_data(as_text=True)[:3000]
token_url = staged.headers["Location"]
assert client.get(token_url).status_code == 200
WAL = url[len("sqlite:///"):] + "-wal" if url.startswith("sqlite") else None


def wal_size():
    return os.path.getsize(WAL) if WAL and os.path.exists(WAL) else None


print(json.dumps({"ready": token_url, "username": username}), flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit(3)

calls = {"n": 0}


def die_half_way(flushed_count):
    """Everything so far is flushed inside the confirm's transaction: show it, then die."""
    db.session.flush()
    print(json.dumps({"killing": True, "calls": calls["n"], "in_transaction": flushed_count(),
                      "wal_before": wal_before, "wal_at_kill": wal_size()}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if kind == "plan":
    original = plan_services._next_position

    def next_position(plan, part):
        calls["n"] += 1
        if calls["n"] == kill_at:
            die_half_way(lambda: db.session.scalar(select(func.count(PlanRow.id)).where(PlanRow.plan_id == target)))
        return original(plan, part)

    plan_services._next_position = next_position
else:
    original = data_services.save

    def save(*args, **kwargs):
        calls["n"] += 1
        record = original(*args, **kwargs)
        if calls["n"] == kill_at:
            die_half_way(lambda: db.session.scalar(select(func.count(DataRecord.id))))
        return record

    data_services.save = save

wal_before = wal_size()
response = client.post(token_url)
print(json.dumps({"survived": response.status_code}), flush=True)
sys.exit(4)
'''

IMPORT_ROWS = 200
KILL_AT = 137


def _engine_for(url):
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _snapshot(url):
    engine = _engine_for(url)
    try:
        with engine.connect() as conn:
            return database_state(conn)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgresql"] if ON_POSTGRES else []))
@pytest.mark.parametrize("kind", ["plan", "rumahdata"])
def test_import_killed_half_way_leaves_the_database_as_before(kind, backend, shared_database, tmp_path):
    """A process confirms a 200-row import and is SIGKILLed after 137 rows were written and
    flushed (and, on SQLite, spilled into the WAL). The database is exactly as before the confirm:
    every table, the plan's status, the audit chain, the versions; SQLite's integrity check
    passes; and the staged upload then imports once, whole."""
    url = shared_database(backend)
    uploads = tmp_path / "uploads"
    script = tmp_path / "crash_import.py"
    script.write_text(CHILD, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, str(script), kind, url, str(uploads), str(YEAR), str(IMPORT_ROWS),
                              str(KILL_AT)], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        ready = json.loads(child.stdout.readline() or "{}")
        assert "ready" in ready, child.stderr.read()[-3000:]
        before = _snapshot(url)
        child.stdin.write("go\n")
        child.stdin.flush()
        rest, errors = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, f"child exited {child.returncode}: {rest}\n{errors[-3000:]}"
    killing = json.loads(rest.strip().splitlines()[-1])
    print(backend, kind, killing)
    assert killing["killing"] and killing["calls"] == KILL_AT
    if kind == "plan":
        # the three rows before the import, and 136 of the import's (flushed before the 137th)
        assert killing["in_transaction"] == 3 + KILL_AT - 1
        assert len(before["plan_row"]) == 3 and [r[4] for r in before["plan"]] == ["dikembalikan"]
    else:
        # 20 periods before; the 137 saves created all but the 20 updated ones
        assert killing["in_transaction"] == 20 + KILL_AT - 20
    if backend == "sqlite":
        assert killing["wal_at_kill"] > killing["wal_before"], "the uncommitted rows did not reach the WAL"

    after = _snapshot(url)
    assert_same_state(before, after, "the database after the killed import")
    if backend == "sqlite":
        import sqlite3
        with sqlite3.connect(url[len("sqlite:///"):]) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    else:
        engine = _engine_for(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM pg_prepared_xacts")).scalar() == 0
        finally:
            engine.dispose()

    # Restarted: the same staged upload imports once, all of it, and the chain holds.
    again = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(uploads)})
    with again.app_context():
        try:
            client = again.test_client()
            sign_in(client, ready["username"])
            assert client.post(ready["ready"]).status_code == 302
            assert client.post(ready["ready"]).status_code == 302  # gone: redirected to the upload form
            db.session.remove()
            if kind == "plan":
                plan = db.session.scalars(sa.select(Plan)).one()
                assert (plan.status, len(plan.rows)) == ("draf", 3 + IMPORT_ROWS)
                actions = [e.action for e in audit.entries_for_plan(plan)][-2:]
                assert actions == ["plan.reopen", "plan.import"]
            else:
                assert db.session.scalar(sa.select(sa.func.count(DataRecord.id))) == IMPORT_ROWS
                assert db.session.scalar(sa.select(sa.func.count(DataRecord.id)).where(DataRecord.version == 2)) == 20
            assert audit.check_all().intact
        finally:
            db.session.remove()
            db.engine.dispose()
