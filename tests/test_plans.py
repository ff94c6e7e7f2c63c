"""Rencana Kegiatan: permissions, the plan page and its htmx swaps, copy, and JSON round trip."""
import json
from datetime import date

import pytest

from portal.blueprints.plans.services import add_row, create_plan, export_plan
from portal.models import Plan, PlanRow
from tests.conftest import is_fragment

HX = {"HX-Request": "true"}


@pytest.fixture
def plan(pokja, db):
    plan = create_plan(pokja["kampung"], 2025, by=None)
    add_row(plan, {"part": "I", "kegiatan": "Pemutahiran data KRS", "pelaksana": "Tim Pendamping Keluarga",
                   "schedule_text": "Juni - Des", "funding_text": "APBD (Dinkes) Rp 2.000.000"}, by=None)
    add_row(plan, {"part": "II", "kegiatan": "Penyuluhan kontrasepsi", "schedule_text": "Sepanjang tahun",
                   "funding_text": "BOKB"}, by=None)
    add_row(plan, {"part": "IV", "kegiatan": "Gotong royong", "schedule_text": "Sebulan sekali, Maret - Des",
                   "funding_text": "swadaya"}, by=None)
    db.session.commit()
    return plan


def row_named(plan, name):
    return next(r for r in plan.rows if r.kegiatan == name)


NEW_ROW = {"part": "II", "kegiatan": "Kelas BKB", "schedule_text": "tiap minggu ke-2, Maret s.d. Nov",
           "funding_text": "BOKB Rp 1.500.000"}

# role → (view, add/update/delete/move)
EXPECTED = {
    "admin": (200, 200), "operator": (200, 200), "operator_kecamatan": (200, 200),
    "operator_other": (404, 404), "lurah": (200, 403), "ketua": (200, 200), "sekretaris": (200, 200),
    "seksi_head": (200, 403), "anggota": (200, 403), "outsider": (404, 404), "no_position": (404, 404),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_plan_permission_table(role, pokja, plan, client, login, db):
    login(pokja[role].username)
    view, edit = EXPECTED[role]
    row = row_named(plan, "Gotong royong")
    base = f"/rencana/{plan.id}"
    assert client.get(base).status_code == view
    assert client.get(f"{base}/unduh.json").status_code == view
    assert client.get(f"/kampung/{plan.kampung_id}/rencana").status_code == view
    responses = [
        client.post(f"{base}/baris", headers=HX, data=NEW_ROW),
        client.post(f"{base}/baris/{row.id}", headers=HX, data={"part": "IV", "kegiatan": "Diubah",
                                                               "version": "1", "schedule_text": "Sebulan sekali"}),
        client.post(f"{base}/baris/{row.id}/pindah", headers=HX, data={"arah": "naik"}),
    ]
    assert [r.status_code for r in responses] == [edit] * 3
    delete = client.post(f"{base}/baris/{row_named(plan, 'Pemutahiran data KRS').id}/hapus", headers=HX)
    assert delete.status_code == edit
    names = {r.kegiatan for r in db.session.scalars(db.select(PlanRow).filter_by(plan_id=plan.id))}
    assert ("Kelas BKB" in names) is (edit == 200)
    assert ("Diubah" in names) is (edit == 200)
    assert ("Pemutahiran data KRS" in names) is (edit != 200)


def test_anonymous_is_sent_to_login(plan, client):
    assert client.get(f"/rencana/{plan.id}").status_code == 302
    r = client.post(f"/rencana/{plan.id}/baris", headers=HX, data=NEW_ROW)
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/masuk")


def test_reader_cannot_see_edit_controls(plan, client, login):
    login("anggota")
    body = client.get(f"/rencana/{plan.id}").get_data(as_text=True)
    assert "Gotong royong" in body
    assert "+ Tambah kegiatan" not in body and ">Ubah<" not in body
    assert client.get(f"/rencana/{plan.id}?tambah=II").get_data(as_text=True).count("<form") == 2  # filters + logout


def test_row_from_another_plan_is_404(pokja, plan, client, login, db):
    other = create_plan(pokja["other_kampung"], 2025, by=None)
    foreign = add_row(other, {"part": "I", "kegiatan": "Rahasia", "schedule_text": "Juni", "funding_text": "APBN"}, by=None)
    db.session.commit()
    login("sekretaris")
    assert client.get(f"/rencana/{plan.id}?ubah={foreign.id}").status_code == 404
    assert client.post(f"/rencana/{plan.id}/baris/{foreign.id}/hapus").status_code == 404
    assert client.get(f"/rencana/{other.id}").status_code == 404


def test_add_row_answers_with_part_and_out_of_band_totals(plan, client, login):
    login("sekretaris")
    r = client.post(f"/rencana/{plan.id}/baris", headers=HX, data=NEW_ROW)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and is_fragment(r)
    assert body.lstrip().startswith('<section class="card part" id="bagian-II"')
    assert 'id="bagian-I"' not in body  # only the changed part
    assert 'id="totals" hx-swap-oob="true"' in body
    assert "Kelas BKB" in body and "Rp 1.500.000" in body
    totals = body[body.index('id="totals"'):]
    assert "DAK BOKB" in totals and "Rp 3.500.000" in totals  # 2.000.000 APBD + 1.500.000 BOKB
    row = row_named(plan, "Kelas BKB")
    assert (row.frequency, row.week_of_month, row.start_date, row.end_date) == (
        "monthly", 2, date(2025, 3, 1), date(2025, 11, 30))
    assert not row.schedule_needs_completion
    assert [(s.type, s.amount) for s in row.funding_sources] == [("dak_bokb", 1_500_000)]


def test_unreadable_schedule_is_kept_flagged_and_completed_in_the_form(plan, client, login):
    login("sekretaris")
    client.post(f"/rencana/{plan.id}/baris", data={"part": "IV", "kegiatan": "Kerja bakti",
                                                    "schedule_text": "kalau sempat", "funding_text": "swadaya"})
    row = row_named(plan, "Kerja bakti")
    assert row.schedule_text == "kalau sempat" and row.schedule_needs_completion
    assert "jadwal perlu dilengkapi" in client.get(f"/rencana/{plan.id}").get_data(as_text=True)
    r = client.post(f"/rencana/{plan.id}/baris/{row.id}", data={
        "part": "IV", "kegiatan": "Kerja bakti", "schedule_text": "kalau sempat", "schedule_read_from": "kalau sempat",
        "start_date": "2025-04-01", "end_date": "2025-09-30", "frequency": "monthly", "funding_text": "swadaya",
        "version": "1"})
    assert r.status_code == 302
    assert row.schedule_text == "kalau sempat" and not row.schedule_needs_completion
    assert (row.frequency, row.start_date, row.end_date) == ("monthly", date(2025, 4, 1), date(2025, 9, 30))
    # Typing a new, readable phrase replaces the hand-made structure.
    client.post(f"/rencana/{plan.id}/baris/{row.id}", data={
        "part": "IV", "kegiatan": "Kerja bakti", "schedule_text": "Seminggu sekali", "schedule_read_from": "kalau sempat",
        "start_date": "2025-04-01", "end_date": "2025-09-30", "frequency": "monthly", "version": "2"})
    assert (row.frequency, row.start_date) == ("weekly", date(2025, 1, 1))


def test_validation_keeps_input(plan, client, login):
    login("sekretaris")
    r = client.post(f"/rencana/{plan.id}/baris", headers=HX, data={
        "part": "II", "kegiatan": "", "pelaksana": "Kader BKB", "target_count": "-3", "schedule_text": "Maret - Mei",
        "start_date": "2025-05-01", "end_date": "2025-04-01"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Wajib diisi." in body and "Tidak boleh negatif." in body
    assert 'value="Kader BKB"' in body and 'value="Maret - Mei"' in body


def test_end_before_start_is_refused(plan, client, login):
    login("sekretaris")
    r = client.post(f"/rencana/{plan.id}/baris", data={
        "part": "II", "kegiatan": "Salah tanggal", "schedule_text": "entah", "start_date": "2025-05-01",
        "end_date": "2025-04-01", "frequency": "once"})
    assert r.status_code == 422 and "Tanggal selesai tidak boleh sebelum tanggal mulai." in r.get_data(as_text=True)
    assert all(r.kegiatan != "Salah tanggal" for r in plan.rows)


def test_concurrent_row_edit_shows_both_versions(plan, client, login):
    login("sekretaris")
    row = row_named(plan, "Gotong royong")
    url = f"/rencana/{plan.id}/baris/{row.id}"
    base = {"part": "IV", "schedule_text": "Sebulan sekali", "version": "1"}
    assert client.post(url, data={**base, "kegiatan": "Versi A"}).status_code == 302
    r = client.post(url, headers=HX, data={**base, "kegiatan": "Versi B"})
    body = r.get_data(as_text=True)
    assert r.status_code == 409 and "baru saja diubah orang lain" in body
    assert "Versi A" in body and 'value="Versi B"' in body
    assert row.kegiatan == "Versi A"


def test_move_and_numbering(plan, client, login, db):
    login("sekretaris")
    second = add_row(plan, {"part": "IV", "kegiatan": "Penghijauan", "schedule_text": "Sebulan sekali",
                            "funding_text": "swadaya"}, by=None)
    db.session.commit()
    assert [r.kegiatan for r in plan.rows_in("IV")] == ["Gotong royong", "Penghijauan"]
    client.post(f"/rencana/{plan.id}/baris/{second.id}/pindah", data={"arah": "naik"})
    db.session.refresh(plan)
    assert [r.kegiatan for r in plan.rows_in("IV")] == ["Penghijauan", "Gotong royong"]
    assert second.number == 1


@pytest.mark.parametrize("query,expected", [
    ("seksi=perilaku", {"Penyuluhan kontrasepsi"}),
    ("dana=swadaya", {"Gotong royong"}),
    ("bulan=2", {"Penyuluhan kontrasepsi"}),          # Juni–Des and Maret–Des do not touch February
    ("bulan=7&dana=apbd", {"Pemutahiran data KRS"}),
    ("perlu=1", {"Penyuluhan kontrasepsi"}),           # "BOKB" alone reads fine; see next test
])
def test_filters(plan, client, login, query, expected, db):
    add_row(plan, {"part": "II", "kegiatan": "Penyuluhan kontrasepsi lanjutan", "schedule_text": "",
                   "funding_text": "BOKB", "seksi": "layanan"}, by=None) if query == "perlu=1" else None
    db.session.commit()
    login("anggota")
    r = client.get(f"/rencana/{plan.id}?{query}", headers=HX)
    body = r.get_data(as_text=True)
    assert is_fragment(r) and body.lstrip().startswith('<div id="plan-body">')
    shown = {name for name in ("Pemutahiran data KRS", "Penyuluhan kontrasepsi", "Gotong royong")
             if f"<strong>{name}</strong>" in body}
    if query == "perlu=1":
        assert "Penyuluhan kontrasepsi lanjutan" in body and shown == set()
    else:
        assert shown == expected


def test_history_restore_gets_the_whole_page(plan, client, login):
    login("anggota")
    r = client.get(f"/rencana/{plan.id}?seksi=data", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in r.get_data(as_text=True)


def test_create_and_copy_from_last_year(pokja, plan, client, login, db):
    login("sekretaris")
    r = client.post(f"/kampung/{plan.kampung_id}/rencana", data={"year": "2026", "copy_previous": "y"})
    assert r.status_code == 302
    copy = db.session.scalar(db.select(Plan).filter_by(kampung_id=plan.kampung_id, year=2026))
    assert copy.status == "draf" and len(copy.rows) == 3
    krs = row_named(copy, "Pemutahiran data KRS")
    assert (krs.start_date, krs.end_date) == (date(2026, 6, 1), date(2026, 12, 31))
    assert krs.budget == 2_000_000
    assert len(plan.rows) == 3  # last year's plan untouched
    again = client.post(f"/kampung/{plan.kampung_id}/rencana", data={"year": "2026"})
    assert again.status_code == 422 and "sudah ada" in again.get_data(as_text=True)
    nothing = client.post(f"/kampung/{plan.kampung_id}/rencana", data={"year": "2030", "copy_previous": "y"})
    assert "Belum ada rencana kegiatan 2029" in nothing.get_data(as_text=True)


def test_only_editors_create_plans(pokja, client, login):
    login("anggota")
    assert client.post(f"/kampung/{pokja['kampung'].id}/rencana", data={"year": "2027"}).status_code == 403


def test_json_round_trip_is_lossless(pokja, plan, runner, tmp_path, db):
    add_row(plan, {"part": "VI", "kegiatan": "Posyandu remaja", "description": "Dengan PIK-R", "seksi": "perilaku",
                   "sasaran": "Remaja", "target_count": 40, "target_unit": "orang", "mitra": "Karang Taruna",
                   "place": "Balai RW 03", "schedule_text": "kalau sempat", "start_date": date(2025, 2, 1),
                   "end_date": date(2025, 2, 28), "frequency": "once", "day_of_month": 14,
                   "funding_text": "Dana Desa Rp 750.000; Dinsos"}, by=None)
    db.session.commit()
    path = tmp_path / "plan.json"
    assert runner.invoke(args=["plan", "export", str(plan.id), "--format", "json", "-o", str(path)]).exit_code == 0
    result = runner.invoke(args=["plan", "import", str(path), "--kampung", str(pokja["other_kampung"].id),
                                 "--year", "2025"])
    assert result.exit_code == 0, result.output
    copy = db.session.scalar(db.select(Plan).filter_by(kampung_id=pokja["other_kampung"].id))
    original, imported = export_plan(plan), export_plan(copy)
    assert original["rows"] == imported["rows"]
    assert len(imported["rows"]) == 4
    listing = json.loads(runner.invoke(args=["plan", "list", "--json"]).output)
    assert {(p["kampung_id"], p["year"], p["rows"]) for p in listing} == {
        (plan.kampung_id, 2025, 4), (pokja["other_kampung"].id, 2025, 4)}


@pytest.mark.parametrize("document,message", [
    ({"format": "lain"}, "bukan ekspor rencana kegiatan"),
    ({"format": "portal-kampung-kb/rencana-kegiatan", "version": 9, "rows": []}, "tidak didukung"),
    ({"format": "portal-kampung-kb/rencana-kegiatan", "version": 1,
      "rows": [{"part": "I", "kegiatan": "Baik", "seksi": "data"}, {"part": "IX", "kegiatan": "Rusak"}]}, "Baris 2"),
])
def test_bad_import_changes_nothing(pokja, runner, tmp_path, db, document, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    result = runner.invoke(args=["plan", "import", str(path), "--kampung", str(pokja["kampung"].id), "--year", "2024"])
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(db.select(db.func.count(Plan.id))) == 0


def test_demo_plan_reads_every_004_phrase(runner, db):
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    plan = db.session.scalar(db.select(Plan))
    assert (plan.year, len(plan.rows)) == (2025, 17)
    assert [len(plan.rows_in(p)) for p in ("I", "II", "III", "IV", "V", "VI")] == [4, 2, 5, 3, 3, 0]
    # Every schedule reads except "30 hari", which has no start date in the form.
    flagged = {r.schedule_text for r in plan.rows if r.schedule_needs_completion}
    assert flagged == {"30 hari"}
    assert all(r.schedule_text for r in plan.rows)
    gasing = row_named(plan, "Gasing Perak")
    assert gasing.seksi == "perilaku" and [s.type for s in gasing.funding_sources] == ["dak_bokb", "csr"]


@pytest.mark.parametrize("query", ["tambah=II", "bagian=II"])
def test_links_inside_a_part_get_that_part_back(plan, client, login, query):
    """Ubah/Tambah/Batal target their own part (hx-target=this): the answer must be that part,
    not the whole plan body, or the page would nest a copy of itself."""
    login("sekretaris")
    body = client.get(f"/rencana/{plan.id}?{query}", headers=HX).get_data(as_text=True)
    assert body.lstrip().startswith('<section class="card part" id="bagian-II"')
    assert body.count('class="card part"') == 1
    assert 'id="totals" hx-swap-oob="true"' in body


def test_edit_link_gets_its_part_with_the_form(plan, client, login):
    login("sekretaris")
    row = row_named(plan, "Gotong royong")
    body = client.get(f"/rencana/{plan.id}?ubah={row.id}", headers=HX).get_data(as_text=True)
    assert body.lstrip().startswith('<section class="card part" id="bagian-IV"')
    assert 'value="Gotong royong"' in body and "?bagian=IV" in body


def test_filter_by_part_shows_only_that_part_and_its_totals(plan, client, login):
    login("sekretaris")
    client.post(f"/rencana/{plan.id}/baris", data=NEW_ROW)
    r = client.get(f"/rencana/{plan.id}?hanya=II", headers=HX)
    body = r.get_data(as_text=True)
    assert body.count('class="card part"') == 1 and 'id="bagian-II"' in body
    assert "Kelas BKB" in body and "Gotong royong" not in body
    totals = body[body.index('id="totals"'):]
    assert "Rp 1.500.000" in totals and "Rp 2.000.000" not in totals
    # The filter survives an inline change: links carry it, the redirect keeps it.
    assert "hanya=II" in body[body.index("+ Tambah kegiatan") - 200:]
