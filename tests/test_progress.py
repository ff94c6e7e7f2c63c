"""Progress of an approved plan: who may update (HTTP role matrix), draft and superseded plans,
occurrences, status with conflicts, realisation with photo evidence, Kegiatan saya, the
Kampung KB dashboard and its exports, and the audit trail.

The plan is for the Kampung KB's current year. "Today" is pinned to 15 June of that year
(``KampungKB.today``) so overdue, upcoming and "future" are the same whenever the suite runs.
"""
import csv
import io
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from markupsafe import escape
from openpyxl import load_workbook
from PIL import Image

from portal import audit
from portal.blueprints.plans import approval
from portal.blueprints.plans.reading import parse_rupiah
from portal.blueprints.plans.services import add_row, create_plan
from portal.blueprints.progress.services import add_realisation, mark_occurrence, set_status
from portal.extensions import db
from portal.formatting import tanggal
from portal.models import (
    ActivityProgress, AuditEntry, KampungKB, OccurrenceMark, PlanRow, Realisation, RealisationSpend,
)
from portal.occurrences import planned_dates
from tests.conftest import PASSWORD

# The Kampung KB is in Kalimantan Tengah (Asia/Jakarta); the fixture checks it agrees.
YEAR = datetime.now(ZoneInfo("Asia/Jakarta")).year
TODAY = date(YEAR, 6, 15)


def d(month, day, year=YEAR):
    return date(year, month, day)


# key → row data. Part I belongs to seksi "data", part IV to seksi "lingkungan".
ROWS = {
    "period": {"part": "I", "kegiatan": "Pemutakhiran data keluarga", "schedule_text": f"Juli {YEAR}"},
    "monthly": {"part": "I", "kegiatan": "Rapat bulanan Pokja", "schedule_text": "Setiap bulan",
                "funding_text": "Dana Desa Rp 1.200.000"},
    "once": {"part": "I", "kegiatan": "Pendataan keluarga baru", "schedule_text": f"Tanggal 12 Maret {YEAR}",
             "funding_text": "Swadaya Rp 300.000"},
    "soon": {"part": "I", "kegiatan": "Sosialisasi data", "schedule_text": f"Tanggal 20 Juni {YEAR}"},
    "env": {"part": "IV", "kegiatan": "Kerja bakti lingkungan", "schedule_text": f"Tanggal 5 Februari {YEAR}",
            "funding_text": "Dana Desa Rp 800.000"},
    "env2": {"part": "IV", "kegiatan": "Penghijauan", "schedule_text": f"Tanggal 30 Juni {YEAR}"},
}
MONTHLY_DATES = [d(m, 1) for m in range(1, 13)]

ROLES = ["admin", "operator", "operator_kecamatan", "operator_other", "lurah", "ketua", "sekretaris",
         "seksi_head", "anggota_data", "seksi_lingkungan", "anggota", "outsider", "no_position"]
MAY_UPDATE = {"seksi_head", "ketua", "sekretaris", "anggota_data"}
CANNOT_VIEW = {"outsider", "operator_other", "no_position"}
FORBIDDEN = set(ROLES) - MAY_UPDATE - CANNOT_VIEW
MEMBERS = ["lurah", "ketua", "sekretaris", "seksi_head", "anggota_data", "seksi_lingkungan", "anggota"]

AFTER_APPROVAL = "Kemajuan dicatat setelah rencana disetujui Lurah/Kepala Desa."
SUPERSEDED = "Versi ini sudah diganti; kemajuan dicatat pada versi yang berlaku."
NOTHING_TO_UPDATE = "Tidak ada kegiatan yang dapat Anda perbarui"


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def kb(pokja, make_user, make_position, monkeypatch, app, tmp_path):
    """The pokja fixture plus an Anggota Seksi of "data" and the Ketua Seksi of "lingkungan";
    today pinned to 15 June of the current year; uploads in a temporary folder."""
    kampung = pokja["kampung"]
    assert kampung.today().year == YEAR
    monkeypatch.setattr(KampungKB, "today", lambda self: TODAY)
    desa = kampung.desa
    users = dict(pokja)
    users["anggota_data"] = make_user("anggota.data", area=desa)
    make_position(kampung, "anggota_seksi", "data", user=users["anggota_data"])
    users["seksi_lingkungan"] = make_user("seksi.lingkungan", area=desa)
    make_position(kampung, "ketua_seksi", "lingkungan", user=users["seksi_lingkungan"])
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    return users


def make_plan(kb, approve=True, rows=None):
    """The plan of ``rows`` (default ROWS) for YEAR, submitted and approved unless ``approve``
    is false."""
    plan = create_plan(kb["kampung"], YEAR, by=kb["sekretaris"])
    for data in (ROWS if rows is None else rows).values():
        add_row(plan, dict(data), by=kb["sekretaris"])
    db.session.commit()
    if approve:
        act(plan, "ajukan", kb["ketua"])
        act(plan, "setujui", kb["lurah"])
    return plan


def act(plan, name, user):
    approval.perform(plan, name, user, password=PASSWORD)
    db.session.commit()


@pytest.fixture
def plan(kb):
    return make_plan(kb)


def rows_of(plan):
    by_name = {r.kegiatan: r for r in plan.rows}
    return {key: by_name[data["kegiatan"]] for key, data in ROWS.items()}


# -- request helpers ------------------------------------------------------------------------------

def page_url(plan, row, action=""):
    return f"/rencana/{plan.id}/kegiatan/{row.id}" + (f"/{action}" if action else "")


def post_status(client, plan, row, status="berjalan", percent="", reason="", version="0"):
    return client.post(page_url(plan, row, "status"),
                       data={"status": status, "percent": percent, "reason": reason, "version": version})


def post_tick(client, plan, row, day, aksi="done", **extra):
    data = {"tanggal": day.isoformat() if isinstance(day, date) else day, "aksi": aksi, **extra}
    return client.post(page_url(plan, row, "jadwal"), data=data)


def realisation_data(**overrides):
    data = {"on": d(3, 1).isoformat(), "description": "Rapat bulanan dilaksanakan di balai desa",
            "people_reached": "12", "note": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_realisation(client, plan, row, **overrides):
    return client.post(page_url(plan, row, "realisasi"), data=realisation_data(**overrides),
                       content_type="multipart/form-data")


ACTIONS = {
    "status": lambda client, plan, row: post_status(client, plan, row, status="berjalan", percent="10"),
    "occurrence": lambda client, plan, row: post_tick(client, plan, row, MONTHLY_DATES[0]),
    "realisation": lambda client, plan, row: post_realisation(client, plan, row, dana_dana_desa="Rp 100.000"),
}


def body(response):
    return response.get_data(as_text=True)


def location(response):
    return urlparse(response.headers["Location"]).path


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def progress_counts():
    """Everything a progress update may write."""
    return (count(ActivityProgress), count(OccurrenceMark), count(Realisation), count(RealisationSpend),
            count(AuditEntry, AuditEntry.action.like("progress.%")))


def progress_of(row):
    return db.session.scalar(sa.select(ActivityProgress).where(ActivityProgress.lineage == row.lineage))


def marks_of(row):
    return {m.original_date: m for m in db.session.scalars(
        sa.select(OccurrenceMark).where(OccurrenceMark.lineage == row.lineage))}


def progress_actions(plan):
    return [e.action for e in audit.entries_for_plan(plan) if e.action.startswith("progress.")]


def field_error(html, field_id):
    """The error paragraph rendered beside a form field, or None."""
    found = re.search(rf'<p class="error" id="{field_id}-err">(.*?)</p>', html)
    return found.group(1) if found else None


def selected_option(html, name):
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option(?=[^>]*\bselected\b)[^>]*value="([^"]*)"', select).group(1)


def input_value(html, name):
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def textarea(html, name):
    return re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S).group(1).strip()


def shown_percent(html):
    """The big percentage on an activity page."""
    found = re.search(r'<span class="badge progress-(\w+)">[^<]*</span>\s*(?:<strong>(\d+)%</strong>)?', html)
    return found.group(1), (int(found.group(2)) if found.group(2) else None)


def png_bytes(size=(640, 480), fmt="PNG"):
    out = io.BytesIO()
    Image.new("RGB", size, (30, 140, 90)).save(out, fmt)
    return out.getvalue()


def uploaded_files(app):
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- 0. the set-up itself -------------------------------------------------------------------------

def test_setup_schedules_and_seksi(plan):
    rows = rows_of(plan)
    assert plan.status == "disetujui" and plan.year == YEAR
    assert planned_dates(rows["monthly"]) == MONTHLY_DATES
    assert planned_dates(rows["once"]) == [d(3, 12)]
    assert rows["period"].frequency == "period" and planned_dates(rows["period"]) == []
    assert {k: r.seksi for k, r in rows.items()} == {
        "period": "data", "monthly": "data", "once": "data", "soon": "data", "env": "lingkungan",
        "env2": "lingkungan"}
    assert [(s.type, s.amount) for s in rows["monthly"].funding_sources] == [("dana_desa", 1_200_000)]


# -- 1. who may update ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_http_role_matrix(action, role, kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    before = progress_counts()
    login(kb[role].username)
    response = ACTIONS[action](client, plan, row)
    if role in MAY_UPDATE:
        assert response.status_code == 302, body(response)
        assert location(response) == page_url(plan, row)
        after = progress_counts()
        assert after[-1] == before[-1] + 1 and progress_actions(plan) == [f"progress.{action}"]
        entry = audit.entries_for_plan(plan)[-1]
        assert entry.user_id == kb[role].id and entry.object_id == row.id
        if action == "status":
            assert (progress_of(row).status, progress_of(row).percent) == ("berjalan", 10)
        elif action == "occurrence":
            assert marks_of(row)[MONTHLY_DATES[0]].state == "done"
            assert progress_of(row).status == "berjalan"
        else:
            item = db.session.scalar(sa.select(Realisation))
            assert (item.lineage, item.people_reached, item.created_by_id) == (row.lineage, 12, kb[role].id)
            assert [(s.source_type, s.amount) for s in item.spends] == [("dana_desa", 100_000)]
        return
    assert response.status_code == (404 if role in CANNOT_VIEW else 403)
    assert progress_counts() == before == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_http_anonymous_is_sent_to_login(action, plan, client):
    response = ACTIONS[action](client, plan, rows_of(plan)["monthly"])
    assert response.status_code == 302 and location(response) == "/masuk"
    assert progress_counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("role,key,allowed", [
    ("seksi_head", "env", False), ("anggota_data", "env", False),
    ("seksi_lingkungan", "env", True), ("seksi_lingkungan", "monthly", False),
    ("ketua", "env", True), ("sekretaris", "env", True),
])
def test_seksi_roles_update_their_own_seksi_only(role, key, allowed, kb, plan, client, login):
    row = rows_of(plan)[key]
    login(kb[role].username)
    response = post_status(client, plan, row, status="berjalan")
    assert response.status_code == (302 if allowed else 403)
    assert (progress_of(row) is not None) is allowed


@pytest.mark.parametrize("role,editable", [("seksi_head", True), ("anggota", False), ("lurah", False),
                                           ("operator", False), ("seksi_lingkungan", False)])
def test_activity_page_shows_forms_only_to_those_who_may_update(role, editable, kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login(kb[role].username)
    response = client.get(page_url(plan, row))
    assert response.status_code == 200
    html = body(response)
    assert row.kegiatan in html and "Belum mulai" in html
    assert ("Perbarui status" in html) is editable
    assert ("Catat realisasi" in html) is editable
    assert (f'action="{page_url(plan, row, "jadwal")}"' in html) is editable


@pytest.mark.parametrize("role", sorted(CANNOT_VIEW))
def test_activity_page_is_404_for_outsiders(role, kb, plan, client, login):
    login(kb[role].username)
    assert client.get(page_url(plan, rows_of(plan)["monthly"])).status_code == 404


def test_row_of_another_plan_is_404(kb, plan, client, login):
    other = create_plan(kb["other_kampung"], YEAR, by=kb["outsider"])
    foreign = add_row(other, dict(ROWS["monthly"]), by=kb["outsider"])
    db.session.commit()
    login("ketua")
    assert client.get(page_url(plan, foreign)).status_code == 404
    assert post_status(client, plan, foreign).status_code == 404
    assert progress_counts() == (0, 0, 0, 0, 0)


# -- 2. draft and superseded plans ----------------------------------------------------------------

@pytest.mark.parametrize("action", list(ACTIONS))
def test_progress_on_draft_plan_is_refused(action, kb, client, login):
    plan = make_plan(kb, approve=False)
    row = rows_of(plan)["monthly"]
    login("ketua")
    assert ACTIONS[action](client, plan, row).status_code == 403
    assert progress_counts() == (0, 0, 0, 0, 0)
    html = body(client.get(page_url(plan, row)))
    assert AFTER_APPROVAL in html
    assert "Perbarui status" not in html and "Catat realisasi" not in html


def test_progress_on_submitted_plan_is_refused(kb, client, login):
    plan = make_plan(kb, approve=False)
    act(plan, "ajukan", kb["ketua"])
    login("ketua")
    assert post_status(client, plan, rows_of(plan)["monthly"]).status_code == 403
    assert progress_counts() == (0, 0, 0, 0, 0)


def test_superseded_plan_is_refused_and_progress_carries_over(kb, plan, client, login):
    old_row = rows_of(plan)["monthly"]
    login("ketua")
    assert post_tick(client, plan, old_row, d(1, 1)).status_code == 302
    assert post_realisation(client, plan, old_row, description="Rapat Januari",
                            dana_dana_desa="Rp 100.000").status_code == 302

    revision = approval.create_revision(plan, by=kb["sekretaris"])
    db.session.commit()
    new_row = rows_of(revision)["monthly"]
    assert new_row.id != old_row.id and new_row.lineage == old_row.lineage
    # While the revision is a draft the old plan is still in force.
    assert post_tick(client, revision, new_row, d(2, 1)).status_code == 403
    assert post_tick(client, plan, old_row, d(2, 1)).status_code == 302
    assert AFTER_APPROVAL in body(client.get(page_url(revision, new_row)))

    act(revision, "ajukan", kb["ketua"])
    act(revision, "setujui", kb["lurah"])
    before = progress_counts()
    for name, do in ACTIONS.items():
        assert do(client, plan, old_row).status_code == 403, name
    assert progress_counts() == before
    old_page = body(client.get(page_url(plan, old_row)))
    assert SUPERSEDED in old_page and "Perbarui status" not in old_page

    new_page = body(client.get(page_url(revision, new_row)))
    assert shown_percent(new_page) == ("berjalan", 100 * 2 // 12)
    assert "Rapat Januari" in new_page and "Perbarui status" in new_page
    assert SUPERSEDED not in new_page and AFTER_APPROVAL not in new_page
    assert post_tick(client, revision, new_row, d(3, 1)).status_code == 302
    assert shown_percent(body(client.get(page_url(revision, new_row)))) == ("berjalan", 25)
    assert set(marks_of(new_row)) == {d(1, 1), d(2, 1), d(3, 1)}
    assert count(ActivityProgress) == 1  # one record per activity, not per version


# -- 3. occurrences and status --------------------------------------------------------------------

def test_occurrence_lifecycle(kb, plan, client, login):
    rows = rows_of(plan)
    row = rows["monthly"]
    login(kb["seksi_head"].username)
    page = lambda: body(client.get(page_url(plan, row)))  # noqa: E731

    assert shown_percent(page()) == ("belum", 0)
    assert post_tick(client, plan, row, d(1, 1)).status_code == 302
    assert progress_of(row).status == "berjalan"
    assert shown_percent(page()) == ("berjalan", 8)
    for month in (2, 3):
        assert post_tick(client, plan, row, d(month, 1)).status_code == 302
    assert shown_percent(page()) == ("berjalan", 25)

    # Moved, then held on the new date.
    response = post_tick(client, plan, row, d(4, 1), aksi="moved", pindah_ke=d(4, 20).isoformat(),
                         alasan="Bertepatan dengan posyandu")
    assert response.status_code == 302
    mark = marks_of(row)[d(4, 1)]
    assert (mark.state, mark.moved_to) == ("moved", d(4, 20))
    html = page()
    assert f"dipindah dari {tanggal(d(4, 1))}" in html and shown_percent(html) == ("berjalan", 25)
    assert post_tick(client, plan, row, d(4, 1)).status_code == 302
    mark = marks_of(row)[d(4, 1)]
    assert (mark.state, mark.moved_to) == ("done", d(4, 20))
    html = page()
    assert f"(jadwal {tanggal(d(4, 1))})" in html and shown_percent(html) == ("berjalan", 33)

    # Undo returns the date to planned.
    assert post_tick(client, plan, row, d(4, 1), aksi="undo").status_code == 302
    assert d(4, 1) not in marks_of(row)
    assert shown_percent(page()) == ("berjalan", 25)

    # A cancelled date no longer counts; ticking all the others finishes the activity.
    assert post_tick(client, plan, row, d(12, 1), aksi="cancelled", alasan="Libur akhir tahun").status_code == 302
    assert marks_of(row)[d(12, 1)].reason == "Libur akhir tahun"
    assert shown_percent(page()) == ("berjalan", 100 * 3 // 11)
    for day in MONTHLY_DATES[3:11]:
        assert post_tick(client, plan, row, day).status_code == 302
    assert progress_of(row).status == "selesai"
    html = page()
    assert shown_percent(html) == ("selesai", 100)
    assert "Semua jadwal sudah terlaksana atau dibatalkan." in html
    # Undoing one takes it back to Berjalan.
    assert post_tick(client, plan, row, d(11, 1), aksi="undo").status_code == 302
    assert progress_of(row).status == "berjalan"


def test_undo_first_tick_returns_to_belum(kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login("ketua")
    post_tick(client, plan, row, d(1, 1))
    assert post_tick(client, plan, row, d(1, 1), aksi="undo").status_code == 302
    assert progress_of(row).status == "belum" and marks_of(row) == {}


def test_ticking_a_one_off_activity_finishes_it(kb, plan, client, login):
    row = rows_of(plan)["once"]
    login("ketua")
    assert post_tick(client, plan, row, d(3, 12)).status_code == 302
    assert progress_of(row).status == "selesai"
    assert shown_percent(body(client.get(page_url(plan, row)))) == ("selesai", 100)


@pytest.mark.parametrize("data,message", [
    ({"tanggal": d(2, 1), "aksi": "cancelled", "alasan": "   "}, "Tuliskan alasan pembatalan."),
    ({"tanggal": d(2, 1), "aksi": "moved", "pindah_ke": d(1, 5, YEAR + 1).isoformat()},
     f"Tanggal pengganti harus di tahun {YEAR}."),
    ({"tanggal": d(2, 1), "aksi": "moved", "pindah_ke": d(12, 20, YEAR - 1).isoformat()},
     f"Tanggal pengganti harus di tahun {YEAR}."),
    ({"tanggal": d(2, 1), "aksi": "moved", "pindah_ke": ""}, "Pilih tanggal pengganti."),
    ({"tanggal": d(2, 2), "aksi": "cancelled", "alasan": "Hujan"}, "Tanggal itu tidak ada dalam jadwal kegiatan ini."),
    ({"tanggal": d(2, 2), "aksi": "moved", "pindah_ke": d(2, 9).isoformat()},
     "Tanggal itu tidak ada dalam jadwal kegiatan ini."),
    ({"tanggal": d(2, 2), "aksi": "undo"}, "Tanggal itu tidak ada dalam jadwal kegiatan ini."),
    ({"tanggal": f"{YEAR}-13-45", "aksi": "done"}, "Tanggal tidak valid."),
    ({"tanggal": d(2, 1), "aksi": "done", "pindah_ke": "besok"}, "Tanggal tidak valid."),
    ({"tanggal": d(2, 1), "aksi": "hapus"}, "Tindakan tidak dikenal."),
], ids=["cancel_without_reason", "move_to_next_year", "move_to_last_year", "move_without_date",
        "cancel_unplanned", "move_unplanned", "undo_unplanned", "bad_date", "bad_new_date", "unknown_action"])
def test_occurrence_refusals(data, message, kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login("ketua")
    data = {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}
    response = client.post(page_url(plan, row, "jadwal"), data=data)
    assert response.status_code == 422
    html = body(response)
    assert f'<p class="flash error" role="alert">{escape(message)}</p>' in html
    assert marks_of(row) == {}
    assert count(AuditEntry, AuditEntry.action.like("progress.%")) == 0
    assert progress_of(row) is None or progress_of(row).status == "belum"


@pytest.mark.parametrize("day", [d(3, 3, YEAR + 1), d(12, 31, YEAR - 1)], ids=["next_year", "last_year"])
def test_done_on_a_date_outside_the_plan_year_is_refused(day, kb, plan, client, login):
    """A date that is not in the schedule is accepted for "done" as an extra session; but an
    extra session of another year is not part of this plan (a move to another year is refused,
    and so is a realisation), yet it would count in the activity's percentage."""
    row = rows_of(plan)["monthly"]
    login("ketua")
    response = post_tick(client, plan, row, day)
    assert response.status_code == 422
    assert marks_of(row) == {}


def test_extra_session_in_the_plan_year_is_listed_as_done(kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login("ketua")
    assert post_tick(client, plan, row, d(2, 14)).status_code == 302
    assert marks_of(row)[d(2, 14)].state == "done"
    html = body(client.get(page_url(plan, row)))
    assert shown_percent(html) == ("berjalan", 100 * 1 // 13)


def test_manual_percent_overrides_occurrences(kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login("ketua")
    for day in MONTHLY_DATES[:3]:
        post_tick(client, plan, row, day)
    version = progress_of(row).version
    assert post_status(client, plan, row, status="berjalan", percent="40", version=str(version)).status_code == 302
    assert shown_percent(body(client.get(page_url(plan, row)))) == ("berjalan", 40)
    post_tick(client, plan, row, MONTHLY_DATES[3])
    assert shown_percent(body(client.get(page_url(plan, row)))) == ("berjalan", 40)
    # Emptied again, the percentage follows the occurrences.
    version = progress_of(row).version
    assert post_status(client, plan, row, status="berjalan", percent="", version=str(version)).status_code == 302
    assert shown_percent(body(client.get(page_url(plan, row)))) == ("berjalan", 33)


@pytest.mark.parametrize("status,label", [("dibatalkan", "dibatalkan"), ("tertunda", "tertunda")])
def test_status_needing_reason_without_one(status, label, kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login("ketua")
    response = post_status(client, plan, row, status=status, percent="30", reason="   ")
    assert response.status_code == 422
    html = body(response)
    assert field_error(html, "reason") == f"Tuliskan alasan kegiatan {label}."
    assert selected_option(html, "status") == status
    assert input_value(html, "percent") == "30"
    assert progress_of(row) is None and count(AuditEntry, AuditEntry.action.like("progress.%")) == 0


@pytest.mark.parametrize("status,label", [("dibatalkan", "Dibatalkan"), ("tertunda", "Tertunda")])
def test_status_with_reason_is_saved_and_shown(status, label, kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login("ketua")
    response = post_status(client, plan, row, status=status, reason="Dana belum cair")
    assert response.status_code == 302 and location(response) == page_url(plan, row)
    progress = progress_of(row)
    assert (progress.status, progress.reason, progress.version) == (status, "Dana belum cair", 1)
    html = body(client.get(page_url(plan, row)))
    assert f'<span class="badge progress-{status}">{label}</span>' in html
    assert "Alasan: Dana belum cair" in html
    # A status set by hand to Tertunda/Dibatalkan is left alone by a tick.
    post_tick(client, plan, row, d(1, 1))
    assert progress_of(row).status == status


def test_status_percent_out_of_range(kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login("ketua")
    response = post_status(client, plan, row, status="berjalan", percent="150", reason="Lancar")
    assert response.status_code == 422
    html = body(response)
    assert field_error(html, "percent") == "Harus antara 0 dan 100."
    assert input_value(html, "percent") == "150" and textarea(html, "reason") == "Lancar"
    assert progress_of(row) is None


# -- 4. conflicts ---------------------------------------------------------------------------------

def test_status_conflict_keeps_stored_values_and_typed_reason(kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login("ketua")
    post_tick(client, plan, row, d(1, 1))  # progress exists: version 1
    version = input_value(body(client.get(page_url(plan, row))), "version")
    login("sekretaris")
    assert input_value(body(client.get(page_url(plan, row))), "version") == version == "1"

    login("ketua")
    assert post_status(client, plan, row, status="berjalan", percent="50", reason="",
                       version=version).status_code == 302
    login("sekretaris")
    before = progress_counts()
    response = post_status(client, plan, row, status="tertunda", percent="", reason="Menunggu dana cair",
                           version=version)
    assert response.status_code == 409
    html = body(response)
    assert "Status ini baru saja diubah orang lain." in html
    assert "<li>Status: Berjalan</li>" in html and "<li>Persen: 50</li>" in html
    assert textarea(html, "reason") == "Menunggu dana cair"
    assert selected_option(html, "status") == "tertunda"
    progress = progress_of(row)
    assert (progress.status, progress.percent, progress.reason, progress.version) == ("berjalan", 50, None, 2)
    assert progress_counts() == before


def test_status_conflict_page_lets_the_user_overwrite(kb, plan, client, login):
    """The conflict message says "Simpan lagi untuk menimpanya": submitting the form as shown
    on the conflict page must then save."""
    row = rows_of(plan)["monthly"]
    login("ketua")
    post_status(client, plan, row, status="berjalan")
    post_status(client, plan, row, status="berjalan", percent="50", version="1")
    login("sekretaris")
    response = post_status(client, plan, row, status="tertunda", reason="Menunggu dana cair", version="1")
    assert response.status_code == 409
    shown_version = input_value(body(response), "version")
    again = post_status(client, plan, row, status="tertunda", reason="Menunggu dana cair", version=shown_version)
    assert again.status_code == 302
    assert progress_of(row).status == "tertunda"


def test_first_status_saves_race(kb, plan, client, login):
    """Both open the form before any progress exists (version 0); the second save conflicts."""
    row = rows_of(plan)["monthly"]
    login("ketua")
    assert input_value(body(client.get(page_url(plan, row))), "version") == "0"
    assert post_status(client, plan, row, status="berjalan", version="0").status_code == 302
    login("sekretaris")
    assert post_status(client, plan, row, status="tertunda", reason="x", version="0").status_code == 409
    assert progress_of(row).status == "berjalan"


# -- 5. realisation -------------------------------------------------------------------------------

def rupiah_error(text):
    with pytest.raises(ValueError) as error:
        parse_rupiah(text)
    return str(error.value)


@pytest.mark.parametrize("overrides,field,message", [
    ({"on": (TODAY + timedelta(days=1)).isoformat()}, "on", "Tanggal pelaksanaan tidak boleh di masa depan."),
    ({"on": d(12, 31, YEAR - 1).isoformat()}, "on", f"Tanggal pelaksanaan harus di tahun {YEAR}."),
    ({"on": ""}, "on", "Wajib diisi."),
    ({"people_reached": "-5"}, "people_reached", "Tidak boleh negatif."),
    ({"description": "  "}, "description", "Wajib diisi."),
], ids=["future", "last_year", "no_date", "negative_people", "no_description"])
def test_realisation_refusals(overrides, field, message, kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login(kb["seksi_head"].username)
    response = post_realisation(client, plan, row, dana_dana_desa="Rp 250.000", **overrides)
    assert response.status_code == 422
    html = body(response)
    assert field_error(html, field) == escape(message)
    assert input_value(html, "dana_dana_desa") == "Rp 250.000"
    assert progress_counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("typed", ["seratus ribu", "-50.000", "Rp 1.500,50"])
def test_realisation_bad_rupiah(typed, kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login(kb["seksi_head"].username)
    response = post_realisation(client, plan, row, description="Rapat Maret", dana_dana_desa=typed)
    assert response.status_code == 422
    html = body(response)
    error = re.search(r'<input id="dana_dana_desa"[^>]*>\s*<p class="error">(.*?)</p>', html, re.S)
    assert error and error.group(1) == escape(rupiah_error(typed))
    assert input_value(html, "dana_dana_desa") == escape(typed)
    assert textarea(html, "description") == "Rapat Maret"
    assert progress_counts() == (0, 0, 0, 0, 0)


def test_realisation_with_spends_shows_on_activity_and_dashboard(kb, plan, client, login):
    rows = rows_of(plan)
    login("sekretaris")
    response = post_realisation(client, plan, rows["monthly"], on=d(3, 1).isoformat(),
                                description="Rapat Maret", people_reached="20", note="Hadir lengkap",
                                dana_dana_desa="Rp 500.000")
    assert response.status_code == 302
    assert location(response) == page_url(plan, rows["monthly"])
    # Back to the top of the page, where the success message is.
    assert urlparse(response.headers["Location"]).fragment == ""
    assert post_realisation(client, plan, rows["env"], on=d(2, 5).isoformat(), description="Kerja bakti",
                            dana_dana_desa="300 ribu").status_code == 302
    item = db.session.scalar(sa.select(Realisation).where(Realisation.lineage == rows["monthly"].lineage))
    assert (item.on, item.description, item.people_reached, item.note, item.year, item.kampung_id, item.photo) == \
        (d(3, 1), "Rapat Maret", 20, "Hadir lengkap", YEAR, kb["kampung"].id, None)
    assert sorted((s.source_type, s.amount) for s in db.session.scalars(sa.select(RealisationSpend))) == \
        [("dana_desa", 300_000), ("dana_desa", 500_000)]

    html = body(client.get(page_url(plan, rows["monthly"])))
    assert "Rapat Maret" in html and "20 terjangkau" in html and "Hadir lengkap" in html
    assert "terpakai Rp 500.000" in html and "dicatat Sekretaris" in html

    budget = dashboard_section(body(client.get(f"/kampung/{kb['kampung'].id}/dasbor")), "Anggaran dan realisasi")
    assert table_rows(budget) == [
        ["Dana Desa/APBDes", "", "Rp 2.000.000", "Rp 800.000", "40%"],
        ["Swadaya/mandiri", "", "Rp 300.000", "Rp 0", "0%"],
    ]


def test_photo_is_stored_and_served_to_members_only(kb, plan, client, login, app):
    row = rows_of(plan)["monthly"]
    login(kb["seksi_head"].username)
    response = post_realisation(client, plan, row, photo=(io.BytesIO(png_bytes()), "bukti.png", "image/png"))
    assert response.status_code == 302, body(response)
    item = db.session.scalar(sa.select(Realisation))
    assert item.photo and re.fullmatch(r"[0-9a-f]{32}", item.photo)
    assert uploaded_files(app) == [f"{item.photo}-kecil.webp", f"{item.photo}.webp"]
    assert f'src="/realisasi/{item.id}/foto/kecil"' in body(client.get(page_url(plan, row)))

    for role in ("anggota", "lurah", "operator"):
        login(kb[role].username)
        small = client.get(f"/realisasi/{item.id}/foto/kecil")
        assert small.status_code == 200 and small.mimetype == "image/webp"
        with Image.open(io.BytesIO(small.data)) as image:
            assert image.format == "WEBP" and image.size == (320, 240)
        full = client.get(f"/realisasi/{item.id}/foto")
        assert full.status_code == 200 and full.mimetype == "image/webp"
        with Image.open(io.BytesIO(full.data)) as image:
            assert image.size == (640, 480)
        assert client.get(f"/realisasi/{item.id}/foto/besar").status_code == 404
    for role in sorted(CANNOT_VIEW):
        login(kb[role].username)
        assert client.get(f"/realisasi/{item.id}/foto/kecil").status_code == 404
        assert client.get(f"/realisasi/{item.id}/foto").status_code == 404
    client.post("/keluar")
    anonymous = client.get(f"/realisasi/{item.id}/foto/kecil")
    assert anonymous.status_code == 302 and location(anonymous) == "/masuk"


def test_photo_of_realisation_without_photo_is_404(kb, plan, client, login):
    login("ketua")
    post_realisation(client, plan, rows_of(plan)["monthly"])
    item = db.session.scalar(sa.select(Realisation))
    assert client.get(f"/realisasi/{item.id}/foto/kecil").status_code == 404
    assert client.get(f"/realisasi/{item.id + 1}/foto/kecil").status_code == 404


def big_upload():
    return png_bytes()[:64] + b"\0" * (5 * 1024 * 1024)


@pytest.mark.parametrize("content,filename,message", [
    (lambda: b"Ini bukan foto, hanya teks biasa.\n" * 20, "bukti.jpg",
     "Berkas bukan foto yang dapat dibaca (JPEG, PNG atau WebP)."),
    (lambda: png_bytes(fmt="GIF"), "bukti.gif", "Foto harus berupa JPEG, PNG atau WebP."),
    (big_upload, "besar.png", "Foto terlalu besar (paling besar 5 MB)."),
], ids=["text_as_jpg", "gif", "over_5_mb"])
def test_bad_photo_is_refused(content, filename, message, kb, plan, client, login, app):
    row = rows_of(plan)["monthly"]
    login(kb["seksi_head"].username)
    response = post_realisation(client, plan, row, description="Rapat dengan foto",
                                photo=(io.BytesIO(content()), filename, "image/jpeg"))
    assert response.status_code == 422
    html = body(response)
    assert field_error(html, "photo") == message
    assert textarea(html, "description") == "Rapat dengan foto"
    assert progress_counts() == (0, 0, 0, 0, 0)
    assert uploaded_files(app) == []


def test_photo_is_removed_when_the_realisation_is_refused(kb, plan, client, login, app):
    row = rows_of(plan)["monthly"]
    login(kb["seksi_head"].username)
    response = post_realisation(client, plan, row, on=(TODAY + timedelta(days=3)).isoformat(),
                                photo=(io.BytesIO(png_bytes()), "bukti.png", "image/png"))
    assert response.status_code == 422
    assert uploaded_files(app) == [] and progress_counts() == (0, 0, 0, 0, 0)


# -- 6. Kegiatan saya -----------------------------------------------------------------------------

def mine_url(kb):
    return f"/kampung/{kb['kampung'].id}/kegiatan-saya"


def listed(html):
    """Activity names in the order Kegiatan saya lists them."""
    return re.findall(r'<a class="activity-link"[^>]*><strong>[IV]+\.\d+ ([^<]+)</strong></a>', html)


def test_mine_lists_own_seksi_overdue_first(kb, plan, client, login):
    login(kb["seksi_head"].username)
    html = body(client.get(mine_url(kb)))
    names = {k: ROWS[k]["kegiatan"] for k in ROWS}
    # Overdue (monthly: 1 Jan–1 Jun; once: 12 Mar) first, then this month's, then the rest.
    assert listed(html) == [names["monthly"], names["once"], names["soon"], names["period"]]
    assert "6 terlambat" in html and "1 terlambat" in html

    login("ketua")
    everything = listed(body(client.get(mine_url(kb))))
    assert sorted(everything) == sorted(names.values())
    assert everything.index(names["env"]) < everything.index(names["soon"])

    login(kb["seksi_lingkungan"].username)
    assert sorted(listed(body(client.get(mine_url(kb))))) == sorted([names["env"], names["env2"]])


def test_mine_tick_posts_and_returns_to_mine(kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login(kb["anggota_data"].username)
    html = body(client.get(mine_url(kb)))
    forms = re.findall(rf'<form method="post" action="{page_url(plan, row, "jadwal")}" class="tick">(.*?)</form>',
                       html, re.S)
    # At most three buttons: the most recent overdue dates first.
    dates = [re.search(r'name="tanggal" value="([^"]+)"', f).group(1) for f in forms]
    assert dates == [d(6, 1).isoformat(), d(5, 1).isoformat(), d(4, 1).isoformat()]
    assert all('name="kembali" value="saya"' in f and 'name="aksi" value="done"' in f for f in forms)
    assert f"Terlaksana {tanggal(d(6, 1))}" in html

    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', forms[0]))
    response = client.post(page_url(plan, row, "jadwal"), data=fields)
    assert response.status_code == 302 and location(response) == mine_url(kb)
    assert marks_of(row)[d(6, 1)].state == "done" and progress_of(row).status == "berjalan"
    html = body(client.get(mine_url(kb)))
    assert f'name="tanggal" value="{d(6, 1).isoformat()}"' not in html
    assert "5 terlambat" in html


def test_mine_offers_no_tick_for_a_cancelled_activity(kb, plan, client, login):
    """Penghijauan (30 June, this month) cancelled as a whole: listed last, without a tick button."""
    env2 = rows_of(plan)["env2"]
    login(kb["seksi_lingkungan"].username)
    assert post_status(client, plan, env2, status="dibatalkan", reason="Bibit tidak tersedia").status_code == 302
    html = body(client.get(mine_url(kb)))
    assert listed(html) == [ROWS["env"]["kegiatan"], ROWS["env2"]["kegiatan"]]
    assert f'action="{page_url(plan, env2, "jadwal")}"' not in html


@pytest.mark.parametrize("role", ["anggota", "lurah"])
def test_mine_for_someone_who_updates_nothing(role, kb, plan, client, login):
    login(kb[role].username)
    response = client.get(mine_url(kb))
    assert response.status_code == 200
    html = body(response)
    assert NOTHING_TO_UPDATE in html and listed(html) == []


def test_mine_without_approved_plan(kb, client, login):
    make_plan(kb, approve=False)
    login("ketua")
    html = body(client.get(mine_url(kb)))
    assert f"Belum ada rencana kegiatan {YEAR} yang disetujui." in html and listed(html) == []


@pytest.mark.parametrize("role", sorted(CANNOT_VIEW))
def test_mine_is_404_for_outsiders(role, kb, plan, client, login):
    login(kb[role].username)
    assert client.get(mine_url(kb)).status_code == 404


# -- 7. dashboard ---------------------------------------------------------------------------------

def dashboard_url(kb, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/kampung/{kb['kampung'].id}/dasbor" + (f"?{query}" if query else "")


def dashboard_section(html, heading):
    return re.search(rf"<h2>{heading}</h2>(.*?)</section>", html, re.S).group(1)


def table_rows(section_html):
    tbody = re.search(r"<tbody>(.*?)</tbody>", section_html, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)]


@pytest.fixture
def progressed(kb, plan):
    """A known state, through the services:
    data: monthly 3 of 12 done (25 %, overdue), once done (100 %), soon (0 %, due 20 June),
          period (0 %): 4 activities, 1 done, 1 overdue, mean 31 %.
    lingkungan: env overdue (0 %), env2 cancelled (left out of overdue and mean).
    Spent: Dana Desa 500.000 (monthly) + 300.000 (env) of 2.000.000; Swadaya 0 of 300.000."""
    rows = rows_of(plan)
    by = kb["ketua"]
    for day in MONTHLY_DATES[:3]:
        mark_occurrence(rows["monthly"], day, "done", by=by)
    mark_occurrence(rows["once"], d(3, 12), "done", by=by)
    set_status(rows["env2"], {"status": "dibatalkan", "reason": "Bibit tidak tersedia", "percent": None,
                              "version": None}, by=by)
    add_realisation(rows["monthly"], {"on": d(3, 1), "description": "Rapat Maret", "people_reached": 20,
                                      "spends": {"dana_desa": 500_000}}, by=by)
    add_realisation(rows["env"], {"on": d(2, 5), "description": "Kerja bakti", "spends": {"dana_desa": 300_000}},
                    by=by)
    db.session.commit()
    return plan


SEKSI_EXPECTED = [
    ["Penyediaan Data", "4", "1", "1", "31%"],
    ["Perubahan Perilaku", "0", "0", "0", "–"],
    ["Layanan dan Rujukan", "0", "0", "0", "–"],
    ["Penataan Lingkungan", "2", "0", "1", "0%"],
]


def test_dashboard_numbers_per_seksi(kb, progressed, client, login):
    login("ketua")
    response = client.get(dashboard_url(kb))
    assert response.status_code == 200
    html = body(response)
    assert table_rows(dashboard_section(html, "Kemajuan per seksi")) == SEKSI_EXPECTED
    overdue = table_rows(dashboard_section(html, "Terlambat"))
    expected = [(ROWS["env"]["kegiatan"], "Penataan Lingkungan", d(2, 5))] + \
        [(ROWS["monthly"]["kegiatan"], "Penyediaan Data", d(m, 1)) for m in (4, 5, 6)]
    assert overdue == [[k, s, tanggal(day), str((TODAY - day).days)] for k, s, day in expected]
    assert table_rows(dashboard_section(html, "Anggaran dan realisasi")) == [
        ["Dana Desa/APBDes", "", "Rp 2.000.000", "Rp 800.000", "40%"],
        ["Swadaya/mandiri", "", "Rp 300.000", "Rp 0", "0%"],
    ]


def test_dashboard_upcoming_leaves_out_cancelled_activities(kb, progressed, client, login):
    """Penghijauan (30 June) was cancelled as a whole: it is not coming up."""
    login("ketua")
    upcoming = table_rows(dashboard_section(body(client.get(dashboard_url(kb))), "30 hari ke depan"))
    assert upcoming == [[ROWS["soon"]["kegiatan"], "Penyediaan Data", tanggal(d(6, 20))],
                        [ROWS["monthly"]["kegiatan"], "Penyediaan Data", tanggal(d(7, 1))]]


def test_dashboard_seksi_csv(kb, progressed, client, login):
    login("sekretaris")
    response = client.get(dashboard_url(kb, unduh="seksi.csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["Seksi", "Kegiatan", "Selesai", "Terlambat", "Rata-rata kemajuan"]
    assert rows[1:] == [[r[0], r[1], r[2], r[3], r[4].rstrip("%").replace("–", "")] for r in SEKSI_EXPECTED]


def test_dashboard_budget_xlsx(kb, progressed, client, login):
    login("anggota")
    response = client.get(dashboard_url(kb, unduh="budget.xlsx"))
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Anggaran dan realisasi per sumber dana"
    assert values[1] == ["Sumber dana", "Instansi/rincian", "Anggaran", "Realisasi", "%"]
    assert [[v if v is not None else "" for v in r] for r in values[2:]] == [
        ["Dana Desa/APBDes", "", 2_000_000, 800_000, 0.4],
        ["Swadaya/mandiri", "", 300_000, 0, 0],
    ]


@pytest.mark.parametrize("unduh", ["rahasia.csv", "seksi.pdf", "seksi", "budget.xls", "activities.csv"])
def test_dashboard_unknown_download_is_404(unduh, kb, progressed, client, login):
    login("ketua")
    assert client.get(dashboard_url(kb, unduh=unduh)).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_dashboard_readers(role, kb, progressed, client, login):
    login(kb[role].username)
    response = client.get(dashboard_url(kb))
    csv_response = client.get(dashboard_url(kb, unduh="seksi.csv"))
    if role in CANNOT_VIEW:
        assert response.status_code == 404 and csv_response.status_code == 404
    else:
        assert response.status_code == 200 and csv_response.status_code == 200
        assert "Kemajuan per seksi" in body(response)


def test_dashboard_year_without_plan(kb, progressed, client, login):
    login("ketua")
    html = body(client.get(dashboard_url(kb, tahun=YEAR - 1)))
    assert f"Belum ada rencana kegiatan {YEAR - 1} yang disetujui." in html
    assert "Kemajuan per seksi" not in html


# -- 8. audit trail -------------------------------------------------------------------------------

def test_audit_trail_of_progress(kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    login(kb["seksi_head"].username)
    post_tick(client, plan, row, d(1, 1))
    post_tick(client, plan, row, d(2, 1), aksi="moved", pindah_ke=d(2, 8).isoformat(), alasan="Rapat desa")
    version = str(progress_of(row).version)
    post_status(client, plan, row, status="tertunda", reason="Dana belum cair", version=version)
    post_realisation(client, plan, row, description="Rapat Januari", dana_dana_desa="Rp 100.000")
    assert progress_actions(plan) == ["progress.occurrence", "progress.occurrence", "progress.status",
                                      "progress.realisation"]
    entries = [e for e in audit.entries_for_plan(plan) if e.action.startswith("progress.")]
    assert {(e.user_id, e.object_type, e.object_id) for e in entries} == {(kb["seksi_head"].id, "plan_row", row.id)}
    changes = [json.loads(e.changes) for e in entries]
    assert changes[0]["Tanggal"] == [None, d(1, 1).isoformat()]
    assert changes[0]["Jadwal"] == ["Direncanakan", "Terlaksana"]
    assert changes[1]["Jadwal"] == ["Direncanakan", "Dipindah"] and entries[1].note == "Rapat desa"
    assert changes[1]["Dipindah ke"] == [None, d(2, 8).isoformat()]
    assert changes[2]["Status"] == ["Berjalan", "Tertunda"]
    assert changes[2]["Alasan"] == [None, "Dana belum cair"]
    assert changes[3]["Dana terpakai"] == [None, 100_000] and changes[3]["Uraian"] == [None, "Rapat Januari"]
    check = audit.check_all()
    assert check.intact and check.checked == count(AuditEntry)
    assert audit.check(audit.entries_for_plan(plan)).intact


def test_progress_rows_do_not_touch_signed_content(kb, plan, client, login):
    """Progress lives beside the frozen plan: the approved content and its signatures stay valid."""
    row = rows_of(plan)["monthly"]
    login("ketua")
    post_tick(client, plan, row, d(1, 1))
    post_status(client, plan, row, status="berjalan", percent="20", version="1")
    post_realisation(client, plan, row)
    assert count(PlanRow, PlanRow.plan_id == plan.id) == len(ROWS)
    assert approval.verify(plan.verification_code).intact


# -- roll-ups -------------------------------------------------------------------------------------

def rollup_row(client, wilayah, kampung):
    """The Kampung KB's row of the roll-up, read from its CSV download (the page's own table)."""
    response = client.get(f"/wilayah/{wilayah.id}/rekap?tahun={YEAR}&unduh=rekap.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    return next(r for r in rows if r["Kampung KB"] == kampung.name)


def test_rollup_reflects_a_tick_and_is_for_operators_in_scope(kb, plan, client, login, wilayah):
    """The kabupaten roll-up shows the plan, and a tick lowers the overdue count and dates the
    last update; only operators in scope and admins see it."""
    row = rows_of(plan)["monthly"]
    login("op.kab")
    before = rollup_row(client, wilayah["kab"], kb["kampung"])
    assert before["Status rencana"] == "Disetujui"
    overdue_before = int(before["Jadwal terlambat"])
    assert overdue_before > 0
    login("sekretaris")
    assert post_tick(client, plan, row, d(1, 1)).status_code == 302
    login("op.kab")
    after = rollup_row(client, wilayah["kab"], kb["kampung"])
    assert int(after["Jadwal terlambat"]) == overdue_before - 1
    # Last update is the (UTC) day the progress was stored.
    assert after["Pembaruan terakhir"] == datetime.now(timezone.utc).date().isoformat()
    page = client.get(f"/wilayah/{wilayah['kab'].id}/rekap?tahun={YEAR}&urut=overdue&arah=turun")
    assert page.status_code == 200 and kb["kampung"].name in body(page)
    for username in ("op.lain", "sekretaris", "lurah"):
        login(username)
        assert client.get(f"/wilayah/{wilayah['kab'].id}/rekap").status_code == 404
