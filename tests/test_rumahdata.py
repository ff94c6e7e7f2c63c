"""Rumah Data (issue 8): figures per region and period, checked against what documents state.

Covers validation (service and form), computed prevalence, the edit conflict, period comparison
(TURUN/NAIK/TETAP), roll-ups and mismatches, the 000 and 003 demo figures (checked against the
reference text itself where it is available), the permission matrix, CSV/XLSX export and import,
the audit trail, and plan rows citing an indicator.
"""
import csv
import html
import io
import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from portal.blueprints.plans import content
from portal.blueprints.plans.services import (
    PlanError, add_row, copy_previous_year, create_plan, export_plan, import_plan,
)
from portal.blueprints.rumahdata import services, transfer
from portal.blueprints.rumahdata.figures import Dataset, Mismatch, change, parse_number, percent
from portal.blueprints.rumahdata.forms import read_count
from portal.blueprints.rumahdata.indicators import BY_KEY, CITABLE_KEYS
from portal.extensions import db
from portal.models import AuditEntry, DataRecord, DataStatement, Plan, PlanRow, Wilayah
from portal.models.rumahdata import COUNT_COLUMNS
from seeds.demo import DEMO_PASSWORD

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


# -- helpers --------------------------------------------------------------------------------------

def url(w, rest=""):
    return f"/wilayah/{w.id}/data{rest}"


def put(w, round_="verval_krs", year=2025, months=(None, None), by=None, **values):
    """Store a period's figures the way the form does (service), committed."""
    record = services.save(w, round_, year, values, by, month_from=months[0], month_to=months[1])
    db.session.commit()
    return record


def record_of(w, round_="verval_krs", year=2025):
    return db.session.scalar(db.select(DataRecord).filter_by(wilayah_id=w.id, round=round_, year=year))


def n_records():
    return db.session.scalar(db.select(db.func.count(DataRecord.id)))


def audit_actions():
    return [e.action for e in db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.seq))]


def text_of(response):
    """The page's main content as plain text (tags become spaces, entities decoded)."""
    body = response.get_data(as_text=True)
    main = body[body.find("<main"):] if "<main" in body else body
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", main)).split())


def input_value(body, name):
    """The value attribute of the input named ``name`` (None when there is no such input)."""
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', body)
    if tag is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else ""


class _Rows(HTMLParser):
    """Every table row of a page as (tr class, [cell texts])."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
            self.rows.append((dict(attrs).get("class") or "", self._row))
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def rows_of(response):
    parser = _Rows()
    parser.feed(response.get_data(as_text=True))
    return parser.rows


def row_for(response, label, prefix=False):
    """(class, cells) of the first table row whose first cell is ``label`` (or starts with it)."""
    for cls, cells in rows_of(response):
        if cells and (cells[0] == label or (prefix and cells[0].startswith(label))):
            return cls, cells
    raise AssertionError(f"no row {label!r}")


def has_row(response, label):
    return any(cells and cells[0] == label for _cls, cells in rows_of(response))


def csv_bytes(rows, delimiter=","):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def upload(client, w, data, filename="data.csv"):
    return client.post(url(w, "/impor"), data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def staged_files(app):
    folder = Path(app.config["UPLOAD_FOLDER"]) / "imports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


IMPORT_HEAD = ["Kode wilayah", "Wilayah", "Putaran", "Tahun", "Keluarga sasaran", "Keluarga berisiko stunting (KRS)"]


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def rd(pokja, wilayah, make_user, make_position, app, tmp_path):
    """The conftest regions and Pokja (Kampung KB in Desa Harara, Kec. Dusun Timur, Kab. Barito
    Timur) plus an Anggota Seksi of "data" and the Ketua Seksi of "lingkungan"; uploads in a
    temporary folder."""
    kampung = pokja["kampung"]
    users = dict(pokja)
    users["anggota_data"] = make_user("anggota.data", area=wilayah["desa"])
    make_position(kampung, "anggota_seksi", "data", user=users["anggota_data"])
    users["seksi_lain"] = make_user("seksi.lingkungan", area=wilayah["desa"])
    make_position(kampung, "ketua_seksi", "lingkungan", user=users["seksi_lain"])
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    return {**wilayah, **users}


@pytest.fixture
def seeded(db, monkeypatch, app, tmp_path):
    """The demo data with its Rumah Data figures (the demo plans and their progress, which take
    most of the seed's time and have nothing to do with Rumah Data, are left out)."""
    import seeds.demo as demo
    for name in ("_load_plan", "_load_approved_year", "_load_barito_timur_demo"):
        monkeypatch.setattr(demo, name, lambda *args, **kwargs: None)
    demo.load_demo()
    db.session.commit()
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    kab = db.session.scalar(db.select(Wilayah).filter_by(code="62.13"))
    return kab


def named(name, parent=None):
    query = db.select(Wilayah).filter_by(name=name)
    if parent is not None:
        query = query.filter_by(parent_id=parent.id)
    return db.session.scalars(query).one()


def kecamatan_named(kab, name):
    return next(w for w in kab.children if w.name.lower() == name.lower())


def checks_by_label(dataset, **filters):
    return {c.statement.label: c for c in dataset.statements(**filters)}


def reference(prefix):
    found = sorted(REFERENCE.glob(f"{prefix}_*.txt")) if REFERENCE.is_dir() else []
    if not found:
        pytest.skip(f"reference document {prefix} not available")
    return found[0].read_text(encoding="utf-8")


# == 1. validation ================================================================================

@pytest.mark.parametrize("text,expected", [
    ("1250", 1250), ("1.250", 1250), ("1,250", 1250), (" 1 250 ", 1250), ("1.250.000", 1250000),
    ("0", 0), ("", None), ("  ", None),
])
def test_read_count_reads_how_people_type(text, expected):
    assert read_count(text) == expected


@pytest.mark.parametrize("text,message", [
    ("-5", "Tidak boleh negatif."),
    ("12a", "Isi dengan bilangan bulat"),
    ("1,5", "Isi dengan bilangan bulat"),
    ("12.50", "Isi dengan bilangan bulat"),
    ("1234567890", "Terlalu besar"),
])
def test_read_count_refuses_with_indonesian_message(text, message):
    with pytest.raises(ValueError) as exc:
        read_count(text)
    assert message in str(exc.value)


def test_read_count_superscript_digit_gets_indonesian_message():
    with pytest.raises(ValueError) as exc:
        read_count("12²")
    assert "Isi dengan bilangan bulat" in str(exc.value)


@pytest.mark.parametrize("values,field,message", [
    ({"krs": -1}, "krs", "Tidak boleh negatif."),
    ({"families_targeted": 100, "krs": 150}, "krs", "Tidak boleh lebih dari Keluarga sasaran (100)."),
    ({"families_total": 50, "krs": 60}, "krs", "Tidak boleh lebih dari Jumlah keluarga (50)."),
    ({"target_pus": 20, "too_young": 21}, "too_young", "Tidak boleh lebih dari Keluarga sasaran dengan PUS (20)."),
    ({"balita_measured": 1200, "stunting_cases": 1250}, "stunting_cases",
     "Tidak boleh lebih dari Balita diukur (1.200)."),
    ({"tpk_teams": 7, "tpk_trained": 8}, "tpk_trained", "Tidak boleh lebih dari Tim Pendamping Keluarga (tim) (7)."),
    ({"krs": 10_000_001}, "krs", "Terlalu besar (paling banyak 10.000.000)."),
])
def test_validate_errors(values, field, message):
    errors, warnings = services.validate(values)
    assert errors == {field: message}
    assert warnings == {}


def test_validate_reports_each_part_over_its_total():
    errors, _ = services.validate({"target_pus": 20, "too_young": 21, "too_old": 20, "too_close": 25,
                                   "families_targeted": 10, "krs": 11, "families_total": 12})
    assert set(errors) == {"too_young", "too_close", "krs", "target_pus"}
    assert errors["krs"] == "Tidak boleh lebih dari Keluarga sasaran (10)."
    assert errors["target_pus"] == "Tidak boleh lebih dari Keluarga sasaran (10)."


def test_validate_accepts_equal_and_empty_and_warns_on_achievement():
    errors, warnings = services.validate({"families_targeted": 100, "krs": 100, "too_young": 3, "target_pus": None,
                                          "pregnant_target": 16, "pregnant_reached": 19,
                                          "catin_target": 10, "catin_reached": 10})
    assert errors == {}
    assert set(warnings) == {"pregnant_reached"}
    assert warnings["pregnant_reached"].startswith("Capaian melebihi sasaran (16).")


@pytest.mark.parametrize("months,field,message", [
    ((9, 3), "month_to", "Bulan akhir tidak boleh sebelum bulan awal."),
    ((3, None), "month_to", "Isi bulan awal dan bulan akhir, atau kosongkan keduanya."),
    ((None, 9), "month_from", "Isi bulan awal dan bulan akhir, atau kosongkan keduanya."),
])
def test_validate_months(months, field, message):
    errors, _ = services.validate({}, *months)
    assert errors == {field: message}
    assert services.validate({}, 1, 9) == ({}, {})


@pytest.mark.parametrize("data,field,message", [
    ({"krs": "-5"}, "krs", "Tidak boleh negatif."),
    ({"families_targeted": "100", "krs": "150"}, "krs", "Tidak boleh lebih dari Keluarga sasaran (100)."),
    ({"target_pus": "20", "too_young": "21"}, "too_young", "Tidak boleh lebih dari Keluarga sasaran dengan PUS (20)."),
    ({"balita_measured": "200", "stunting_cases": "201"}, "stunting_cases",
     "Tidak boleh lebih dari Balita diukur (200)."),
])
def test_form_refuses_with_message_beside_the_field(rd, client, login, data, field, message):
    desa = rd["desa"]
    put(desa, families_targeted=300, krs=40)  # stored figures stay as they were
    login(rd["seksi_head"].username)
    r = client.post(url(desa, "/verval_krs/2025"), data={**data, "version": "1", "note": "cek ulang"})
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert re.search(rf'<p class="error" id="{field}-err">{re.escape(message)}', body)
    assert 'aria-invalid="true"' in re.search(rf'<input[^>]*name="{field}"[^>]*>', body).group(0)
    for key, typed in data.items():
        assert input_value(body, key) == typed
    assert "cek ulang" in body
    stored = record_of(desa)
    assert (stored.families_targeted, stored.krs, stored.version, stored.note) == (300, 40, 1, None)
    assert audit_actions() == ["rumahdata.create"]


def test_form_returns_unreadable_input_as_typed(rd, client, login):
    login(rd["seksi_head"].username)
    r = client.post(url(rd["desa"], "/verval_krs/2025"),
                    data={"target_pus": "1.250", "too_young": "12a", "too_old": "1,5", "note": "Verval Juni"})
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert input_value(body, "too_young") == "12a"
    assert input_value(body, "too_old") == "1,5"
    assert input_value(body, "target_pus") in ("1.250", "1250")
    assert re.search(r'id="too_young-err">Isi dengan bilangan bulat', body)
    assert "Belum ada yang disimpan" in body and "Verval Juni" in body
    assert n_records() == 0 and audit_actions() == []


def test_form_saves_thousands_and_keeps_empty_apart_from_zero(rd, client, login):
    desa = rd["desa"]
    login(rd["seksi_head"].username)
    r = client.post(url(desa, "/verval_krs/2025"),
                    data={"target_pus": "1.250", "too_young": "0", "too_old": "", "note": "Verval Juni"})
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/wilayah/{desa.id}/data?putaran=verval_krs&tahun=2025")
    stored = record_of(desa)
    assert (stored.target_pus, stored.too_young, stored.too_old, stored.krs) == (1250, 0, None, None)
    assert stored.note == "Verval Juni" and stored.version == 1 and stored.updated_by_id == rd["seksi_head"].id
    page = client.get(r.headers["Location"])
    assert row_for(page, "Keluarga sasaran dengan PUS")[1][1] == "1.250"
    assert row_for(page, "Terlalu muda")[1][1] == "0"
    assert not has_row(page, "Terlalu tua")  # not recorded: not shown as 0
    assert "Terakhir diisi oleh Seksi.Data" in text_of(page)


def test_achievement_above_target_saves_with_warning(rd, client, login):
    desa = rd["desa"]
    login(rd["seksi_head"].username)
    r = client.post(url(desa, "/pendampingan_tpk/2025"), follow_redirects=True, data={
        "month_from": "1", "month_to": "9", "pregnant_target": "16", "pregnant_reached": "19"})
    assert r.status_code == 200
    page = text_of(r)
    assert "Ibu hamil: capaian: Capaian melebihi sasaran (16)." in page
    assert "Pendampingan TPK Januari–September 2025" in page
    stored = record_of(desa, "pendampingan_tpk")
    assert (stored.pregnant_target, stored.pregnant_reached, stored.month_from, stored.month_to) == (16, 19, 1, 9)
    assert row_for(r, "Ibu hamil: capaian", prefix=True)  # count and percentage rows are shown
    assert "118,75%" in page


@pytest.mark.parametrize("months,field,message", [
    (("9", "3"), "month_to", "Bulan akhir tidak boleh sebelum bulan awal."),
    (("9", ""), "month_to", "Isi bulan awal dan bulan akhir"),
])
def test_form_month_errors(rd, client, login, months, field, message):
    login(rd["seksi_head"].username)
    r = client.post(url(rd["desa"], "/pendampingan_tpk/2025"),
                    data={"month_from": months[0], "month_to": months[1], "catin_target": "5"})
    assert r.status_code == 422
    assert re.search(rf'id="{field}-err">{re.escape(message)}', r.get_data(as_text=True))
    assert n_records() == 0


def test_form_months_only_for_tpk_and_default_whole_year(rd, client, login):
    login(rd["seksi_head"].username)
    verval = client.get(url(rd["desa"], "/verval_krs/2025")).get_data(as_text=True)
    assert 'name="month_from"' not in verval
    tpk = client.get(url(rd["desa"], "/pendampingan_tpk/2025")).get_data(as_text=True)
    selected = {name: re.findall(r'<option selected value="(\d*)"', select) for name, select in re.findall(
        r'<select[^>]*name="(month_from|month_to)"(.*?)</select>', tpk, re.S)}
    assert selected == {"month_from": ["1"], "month_to": ["12"]}  # a new period defaults to the whole year
    assert re.search(r'id="too_young-hint">keluarga · paling banyak Keluarga sasaran dengan PUS<', tpk)


def test_new_period_redirects_to_its_form(rd, client, login):
    desa = rd["desa"]
    login(rd["seksi_head"].username)
    r = client.get(url(desa, "/baru?round=verval_krs&year=2025"))
    assert r.status_code == 302 and r.headers["Location"].endswith(url(desa, "/verval_krs/2025"))
    bad = client.get(url(desa, "/baru?round=verval_krs&year=1999"))
    assert bad.status_code == 422 and "Tahun 2000 sampai 2100." in bad.get_data(as_text=True)
    assert client.get(url(desa, "/baru")).status_code == 200


@pytest.mark.parametrize("rest", ["/bulanan/2025", "/verval_krs/1999", "/verval_krs/2101"])
def test_unknown_round_or_year_is_404(rd, client, login, rest):
    login(rd["admin"].username)
    assert client.get(url(rd["desa"], rest)).status_code == 404


# == 2. prevalence is computed ====================================================================

def test_form_has_no_prevalence_input(rd, client, login):
    login(rd["seksi_head"].username)
    body = client.get(url(rd["desa"], "/tahunan/2025")).get_data(as_text=True)
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', body))
    assert {"balita_measured", "stunting_cases", "krs", "families_targeted", "target_pus", "too_young"} <= names
    assert not any("prevalen" in n or "percent" in n for n in names)
    assert names - {"csrf_token", "version", "note"} == set(COUNT_COLUMNS)


def test_prevalence_is_computed_after_saving(rd, client, login):
    desa = rd["desa"]
    login(rd["seksi_head"].username)
    r = client.post(url(desa, "/tahunan/2025"), data={"balita_measured": "200", "stunting_cases": "25"},
                    follow_redirects=True)
    assert r.status_code == 200
    _cls, cells = row_for(r, "Prevalensi stunting balita")
    assert cells[1] == "12,50%"
    assert record_of(desa, "tahunan").prevalence_stated is None


def test_typed_balita_count_replaces_document_prevalence(rd, client, login):
    desa = rd["desa"]
    stated = put(desa, "tahunan", 2023, stunting_cases=2)
    stated.prevalence_stated = 4.55
    db.session.commit()
    login(rd["seksi_head"].username)
    form = client.get(url(desa, "/tahunan/2023")).get_data(as_text=True)
    assert input_value(form, "stunting_cases") == "2" and input_value(form, "balita_measured") == ""
    kept = client.post(url(desa, "/tahunan/2023"), data={"version": "1", "stunting_cases": "2", "population": "900"},
                       follow_redirects=True)
    assert row_for(kept, "Prevalensi stunting balita (angka dokumen)")[1][1] == "4,55%"
    replaced = client.post(url(desa, "/tahunan/2023"), data={"version": "2", "stunting_cases": "2",
                                                              "balita_measured": "40"}, follow_redirects=True)
    assert row_for(replaced, "Prevalensi stunting balita")[1][1] == "5,00%"
    assert record_of(desa, "tahunan", 2023).prevalence_stated is None


# == 3. conflict ==================================================================================

def test_stale_version_shows_both_and_overwrites_nothing(rd, client, login):
    desa = rd["desa"]
    put(desa, families_targeted=100, krs=10)
    login(rd["seksi_head"].username)
    form = client.get(url(desa, "/verval_krs/2025")).get_data(as_text=True)
    assert input_value(form, "version") == "1" and input_value(form, "krs") == "10"
    services.save(desa, "verval_krs", 2025, {"families_targeted": 100, "krs": 20}, rd["admin"], version=1)
    db.session.commit()

    r = client.post(url(desa, "/verval_krs/2025"), data={"version": "1", "families_targeted": "100", "krs": "30"})
    assert r.status_code == 409
    body = r.get_data(as_text=True)
    assert "Data ini baru saja disimpan orang lain" in body and "Admin" in body
    _cls, cells = row_for(r, "Keluarga berisiko stunting (KRS)")
    assert cells[1:] == ["20", "30"]  # stored, typed
    assert input_value(body, "krs") == "30"  # the user's input is kept
    assert input_value(body, "version") == "2"
    stored = record_of(desa)
    assert (stored.krs, stored.version) == (20, 2)

    again = client.post(url(desa, "/verval_krs/2025"), data={"version": "2", "families_targeted": "100", "krs": "30"})
    assert again.status_code == 302
    stored = record_of(desa)
    assert (stored.krs, stored.version, stored.updated_by_id) == (30, 3, rd["seksi_head"].id)


def test_period_created_meanwhile_is_a_conflict(rd, client, login):
    desa = rd["desa"]
    login(rd["seksi_head"].username)
    assert input_value(client.get(url(desa, "/verval_krs/2025")).get_data(as_text=True), "version") == ""
    put(desa, krs=7)
    r = client.post(url(desa, "/verval_krs/2025"), data={"version": "", "krs": "9"})
    assert r.status_code == 409
    assert record_of(desa).krs == 7


def test_page_after_a_form_save_renders(rd, client, login):
    login(rd["seksi_head"].username)
    r = client.post(url(rd["desa"], "/verval_krs/2025"), data={"krs": "4"}, follow_redirects=True)
    assert r.status_code == 200
    assert re.search(r"Terakhir diisi oleh Seksi\.Data, \d{1,2} [A-Z][a-z]+ \d{4}\.", text_of(r))


def test_conflict_view_renders(rd, client, login):
    put(rd["desa"], krs=10)
    services.save(rd["desa"], "verval_krs", 2025, {"krs": 20}, rd["admin"], version=1)
    db.session.commit()
    login(rd["seksi_head"].username)
    r = client.post(url(rd["desa"], "/verval_krs/2025"), data={"version": "1", "krs": "30"})
    assert r.status_code == 409
    assert re.search(r"Data ini baru saja disimpan orang lain Admin menyimpan data periode ini "
                     r"\d{1,2} [A-Z][a-z]+ \d{4} setelah Anda membuka formulir", text_of(r))


# == 4. comparison ================================================================================

@pytest.mark.parametrize("now,before,expected", [
    (4.55, 4.55, "TETAP"), (4.554, 4.546, "TETAP"), (4.56, 4.55, "NAIK"), (1.16, 12.5, "TURUN"),
    (0.0, 0.0, "TETAP"), (12, 12, "TETAP"), (None, 3, None), (3, None, None),
])
def test_change(now, before, expected):
    assert change(now, before) == expected


@pytest.mark.parametrize("text,integer,expected", [
    ("115.406", True, 115406), ("6,880", True, 6880), ("103", True, 103), ("14,38", False, 14.38),
    ("20,2%", False, 20.2), ("11 %", False, 11.0), ("23.5", False, 23.5), ("TURUN", False, None), ("", True, None),
])
def test_parse_number_reads_document_figures(text, integer, expected):
    assert parse_number(text, integer=integer) == expected


def test_change_compares_at_two_decimals_like_the_deck():
    # 2/44 and 100/2199 differ unrounded but both show as 4,55 %.
    assert percent(2, 44, exact=True) != percent(100, 2199, exact=True)
    assert change(percent(100, 2199, exact=True), percent(2, 44, exact=True)) == "TETAP"
    assert percent(1, 0) is None and percent(None, 5) is None


def test_desa_page_compares_with_previous_period(rd, client, login):
    desa = rd["desa"]
    put(desa, year=2024, target_pus=300, too_young=5, too_old=28, too_close=4, families_targeted=200, krs=50)
    put(desa, year=2025, target_pus=305, too_young=3, too_old=28, too_close=6, families_targeted=200, krs=40)
    login(rd["admin"].username)
    r = client.get(url(desa, "?putaran=verval_krs&tahun=2025"))
    assert r.status_code == 200
    assert "Dibandingkan dengan Verval KRS 2024." in text_of(r)
    assert row_for(r, "Terlalu muda")[1] == ["Terlalu muda", "3", "5", "TURUN"]
    assert row_for(r, "Terlalu tua")[1] == ["Terlalu tua", "28", "28", "TETAP"]
    assert row_for(r, "Terlalu dekat")[1] == ["Terlalu dekat", "6", "4", "NAIK"]
    assert row_for(r, "Keluarga sasaran dengan PUS")[1][3] == "NAIK"
    assert row_for(r, "KRS dari keluarga sasaran")[1] == ["KRS dari keluarga sasaran", "20,00%", "25,00%", "TURUN"]
    body = r.get_data(as_text=True)
    assert '<span class="trend trend-good">TURUN</span>' in body  # fewer "4 terlalu" is good
    assert '<span class="trend trend-bad">NAIK</span>' in body
    # The default period is the newest; the oldest has nothing to compare with.
    assert row_for(client.get(url(desa)), "Terlalu muda")[1] == ["Terlalu muda", "3", "5", "TURUN"]
    first = client.get(url(desa, "?periode=verval_krs:2024"))
    assert row_for(first, "Terlalu muda")[1] == ["Terlalu muda", "5"]
    assert client.get(url(desa, "?putaran=bulanan")).status_code == 404


# == 5. roll-up ===================================================================================

def test_rollup_prefers_own_record_and_keeps_mismatch(rd):
    kec, kec2, kab = rd["kec"], rd["kec2"], rd["kab"]
    put(kec, families_targeted=100, krs=10)
    put(rd["desa"], families_targeted=40, krs=4)
    put(rd["desa_b"], families_targeted=50, krs=5, too_many=3)
    put(rd["desa_c"], families_targeted=30, krs=7)
    ds = Dataset([kab])
    f = ds.figures(kec.id, "verval_krs", 2025)
    assert (f.counts["krs"], f.counts["families_targeted"], f.counts["too_many"]) == (10, 100, 3)
    assert f.mismatch("krs") == Mismatch("krs", 10, 9, 2)
    assert f.mismatch("families_targeted") == Mismatch("families_targeted", 100, 90, 2)
    assert f.mismatch("too_many") is None and f.desa_with_data == 2
    other = ds.figures(kec2.id, "verval_krs", 2025)
    assert other.record is None and other.counts["krs"] == 7 and other.mismatches == []
    total = ds.figures(kab.id, "verval_krs", 2025)
    assert total.counts["krs"] == 17 and total.counts["families_targeted"] == 130
    assert total.desa_with_data == 3 and total.mismatches == []
    assert total.derived["krs_percent"] == round(100 * 17 / 130, 2)


def test_rollup_equal_figures_are_no_mismatch(rd):
    put(rd["kec"], krs=9)
    put(rd["desa"], krs=4)
    put(rd["desa_b"], krs=5)
    assert Dataset([rd["kab"]]).figures(rd["kec"].id, "verval_krs", 2025).mismatches == []


def test_mismatch_is_shown_as_berbeda(rd, client, login):
    put(rd["kec"], families_targeted=90, krs=10)
    put(rd["desa"], families_targeted=40, krs=4)
    put(rd["desa_b"], families_targeted=50, krs=5)
    login(rd["operator"].username)
    kec_page = client.get(url(rd["kec"]))
    _cls, cells = row_for(kec_page, "Keluarga berisiko stunting (KRS)", prefix=True)
    assert "Berbeda" in cells[0] and "tercatat 10; jumlah 2 wilayah di bawahnya 9" in cells[0]
    assert cells[1] == "10"
    assert "Berbeda" not in row_for(kec_page, "Keluarga sasaran", prefix=False)[1][0]
    kab_page = client.get(url(rd["kab"]))
    _cls, cells = row_for(kab_page, "Dusun Timur", prefix=True)
    assert "Berbeda Keluarga berisiko stunting (KRS): tercatat 10, jumlah desa 9" in cells[0]


# == 6./7. seeded demo data =======================================================================

def test_seed_demo_command_loads_rumah_data_once(runner, db):
    from seeds import rumahdata
    from seeds.demo import DATA, DESA_000
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    counts = (db.session.scalar(db.select(db.func.count(DataRecord.id))),
              db.session.scalar(db.select(db.func.count(DataStatement.id))))
    assert counts[0] > 0 and counts[1] > 0
    kab = db.session.scalar(db.select(Wilayah).filter_by(code="62.13"))
    rumahdata.load(DATA, kab, {name: named(name) for name in DESA_000})
    db.session.commit()
    assert (db.session.scalar(db.select(db.func.count(DataRecord.id))),
            db.session.scalar(db.select(db.func.count(DataStatement.id)))) == counts
    assert Dataset([kab]).summary(kab.id, "tahunan", 2023, 2022) == {"TURUN": 74, "TETAP": 3, "NAIK": 26}


def test_barito_timur_summary_is_computed_not_copied(seeded):
    kab = seeded
    ds = Dataset([kab])
    assert ds.previous_year("tahunan", 2023) == 2022
    assert ds.summary(kab.id, "tahunan", 2023, 2022) == {"TURUN": 74, "TETAP": 3, "NAIK": 26}
    checks = {c.statement.key: c for c in ds.statements(wilayah_id=kab.id) if c.statement.key.startswith("count_")}
    assert (checks["count_turun"].result, checks["count_turun"].computed) == ("sesuai", 74)
    assert (checks["count_tetap"].statement.stated, checks["count_tetap"].computed, checks["count_tetap"].flagged) \
        == ("2", 3, True)
    assert (checks["count_naik"].statement.stated, checks["count_naik"].computed, checks["count_naik"].flagged) \
        == ("27", 26, True)


def test_kupang_baru_status_is_flagged(seeded):
    kab = seeded
    kupang = named("Kupang Baru")
    checks = Dataset([kab]).statements(wilayah_id=kupang.id)
    assert len(checks) == 1
    check = checks[0]
    assert (check.statement.stated, check.computed, check.result) == ("NAIK", "TETAP", "berbeda")
    statuses = [c for c in Dataset([kab]).statements() if c.statement.key == "status"]
    assert len(statuses) == 103
    assert [c.statement.label for c in statuses if c.flagged] == [check.statement.label]


def test_barito_timur_population_totals_are_flagged(seeded):
    checks = checks_by_label(Dataset([seeded]))
    table = checks["Jumlah penduduk, JUMLAH"]
    assert (table.statement.stated, table.computed, table.result) == ("115.406", 116217, "berbeda")
    narrative = next(c for label, c in checks.items() if label.startswith("Jumlah penduduk Kabupaten"))
    assert (narrative.statement.stated, narrative.computed, narrative.result) == ("117.312", 116217, "berbeda")
    for label in ("Jumlah TPK (tim), JUMLAH", "Jumlah anggota TPK, JUMLAH", "Keluarga berisiko stunting, JUMLAH",
                  "Jumlah desa/kelurahan, JUMLAH", "TPK terlatih, JUMLAH"):
        assert checks[label].result == "sesuai", label


DESA_COUNTS_FLAGGED = {"Benua Lima": (13, 7), "Patangkep Tutui": (12, 10), "Awang": (10, 11),
                       "Pematang Karau": (9, 13), "Paju Epat": (11, 9), "Paku": (7, 12)}


def test_desa_counts_flagged_for_six_kecamatan(seeded):
    checks = [c for c in Dataset([seeded]).statements() if c.statement.key == "desa_count"
              and c.statement.label.startswith("Jumlah desa/kelurahan, Kec. ")]
    assert len(checks) == 10
    by_kec = {c.statement.label.removeprefix("Jumlah desa/kelurahan, Kec. "): c for c in checks}
    flagged = {name: (int(c.statement.stated), c.computed) for name, c in by_kec.items() if c.flagged}
    assert flagged == DESA_COUNTS_FLAGGED
    assert {name for name, c in by_kec.items() if c.result == "sesuai"} == {
        "Dusun Timur", "Karusen Janang", "Dusun Tengah", "Raren Batuah"}


def test_dusun_tengah_krs_percent_is_truncated(seeded):
    check = checks_by_label(Dataset([seeded]))["Persentase berisiko, Kec. Dusun Tengah"]
    assert (check.statement.stated, check.result, check.computed) == ("42,18%", "pembulatan", 42.19)
    assert "memotong" in check.reason and "42,1853" in check.reason


def test_balita_totals_and_kecamatan_prevalences_agree(seeded):
    checks = checks_by_label(Dataset([seeded]), round_="tahunan")
    totals = {label: (c.statement.stated, c.computed, c.result) for label, c in checks.items()
              if label.split(",")[-1].strip() == "TOTAL" and label.startswith(("Jumlah balita", "Balita stunting",
                                                                              "Prevalensi"))}
    assert totals == {
        "Jumlah balita 2022, TOTAL": ("6084", 6084, "sesuai"), "Balita stunting 2022, TOTAL": ("875", 875, "sesuai"),
        "Prevalensi 2022, TOTAL": ("14,38", 14.38, "sesuai"), "Jumlah balita 2023, TOTAL": ("6999", 6999, "sesuai"),
        "Balita stunting 2023, TOTAL": ("465", 465, "sesuai"), "Prevalensi 2023, TOTAL": ("6,64", 6.64, "sesuai"),
    }
    prevalences = [c for label, c in checks.items() if label.startswith("Prevalensi stunting 20")]
    assert len(prevalences) == 20
    assert [c.statement.label for c in prevalences if c.result != "sesuai"] == []


def test_003_figures_match_the_reference_text(seeded):
    text = reference("003")
    kab = seeded
    balita = re.findall(r"^([A-Z][A-Z ]+)\t(\d+)\t(\d+)\t([\d,]+)\t(\d+)\t(\d+)\t([\d,]+)$", text, re.M)
    balita = [row for row in balita if row[0] != "TOTAL"]
    assert len(balita) == 10
    ds = Dataset([kab])
    for name, b22, s22, p22, b23, s23, p23 in balita:
        kec = kecamatan_named(kab, name)
        for year, b, s, p in ((2022, b22, s22, p22), (2023, b23, s23, p23)):
            r = record_of(kec, "tahunan", year)
            assert (r.balita_measured, r.stunting_cases) == (int(b), int(s)), (name, year)
            assert ds.figures(kec.id, "tahunan", year).derived["prevalence"] == float(p.replace(",", "."))
    tpk = re.findall(r"^\d+\t([A-Za-z ]+)\t([\d.]+)\t([\d.]+)\t(\d+)\t(\d+)\t(\d+)\t(\d+)$", text, re.M)
    assert len(tpk) == 10
    aliases = {"banua lima": "benua lima", "petangkep tutui": "patangkep tutui"}
    for name, population, krs, _desa, teams, members, trained in tpk:
        kec = kecamatan_named(kab, aliases.get(name.lower(), name))
        r = record_of(kec, "tahunan", 2023)
        assert (r.population, r.krs, r.tpk_teams, r.tpk_members, r.tpk_trained) == (
            int(population.replace(".", "")), int(krs.replace(".", "")), int(teams), int(members), int(trained))
    own_sum = sum(int(p.replace(".", "")) for _n, p, *_rest in tpk)
    stated = re.search(r"\tJUMLAH\t([\d.]+)\t", text).group(1)
    assert (stated, own_sum) == ("115.406", 116217)
    assert "117.312 jiwa" in text
    assert ds.figures(kab.id, "tahunan", 2023).counts["population"] == own_sum


def test_003_desa_monitoring_matches_the_reference_text(seeded):
    text = reference("003")
    kab = seeded
    rows = re.findall(r"^(\d+)\t([A-Z][A-Z ]+)\t([^\t]+)\t(\d+)\t([\d,]+)\t(\d+)\t([\d,]+)\t(TURUN|NAIK|TETAP)$",
                      text, re.M)
    assert len(rows) == 103
    deck, computed = {"TURUN": 0, "TETAP": 0, "NAIK": 0}, {"TURUN": 0, "TETAP": 0, "NAIK": 0}
    disagree = []
    ds = Dataset([kab])
    for _no, kec_name, desa_name, c22, p22, c23, p23, status in rows:
        desa = named(desa_name, kecamatan_named(kab, kec_name))
        for year, cases, prev in ((2022, c22, p22), (2023, c23, p23)):
            r = record_of(desa, "tahunan", year)
            assert (r.stunting_cases, r.prevalence_stated) == (int(cases), float(prev.replace(",", "."))), desa_name
        ours = change(float(p23.replace(",", ".")), float(p22.replace(",", ".")))
        assert ds.status(desa.id, "tahunan", 2023, 2022) == ours
        deck[status] += 1
        computed[ours] += 1
        if ours != status:
            disagree.append((desa_name, p22, p23, status, ours))
    assert deck == {"TURUN": 74, "TETAP": 2, "NAIK": 27}
    summary = re.search(r"(\d+)\s+TURUN\s+(\d+)\s+TETAP\s+(\d+)\s+NAIK\s+Dari 103", text)
    assert summary.groups() == ("74", "2", "27")
    assert computed == {"TURUN": 74, "TETAP": 3, "NAIK": 26}
    assert disagree == [("Kupang Baru", "4,55", "4,55", "NAIK", "TETAP")]
    # Desa per kecamatan in the monitoring list against the TPK table's "JUMLAH DESA/KEL".
    listed = {}
    for _no, kec_name, *_rest in rows:
        listed[kec_name.title()] = listed.get(kec_name.title(), 0) + 1
    tpk = {name: int(desa) for name, desa in re.findall(
        r"^\d+\t([A-Za-z ]+)\t[\d.]+\t[\d.]+\t(\d+)\t\d+\t\d+\t\d+$", text, re.M)}
    tpk = {{"Banua Lima": "Benua Lima", "Petangkep Tutui": "Patangkep Tutui"}.get(k, k): v for k, v in tpk.items()}
    assert {k: (tpk[k], listed[k]) for k in tpk if tpk[k] != listed[k]} == DESA_COUNTS_FLAGGED


DESA_000 = ("Sungai Damar", "Sungai Tabuk", "Sungai Cabang Barat", "Sungai Pasir")


def test_000_records_match_the_reference_text(seeded):
    text = reference("000")
    rows = {label: [int(v) for v in values.split()] for label, values in re.findall(
        r"^(PUS|BADUTA|BALITA|HAMIL|TERLALU MUDA|TERLALU TUA|TERLALU DEKAT|TERLALU BANYAK) ((?:\d+ ?){4})$",
        text, re.M)}
    keys = {"PUS": "target_pus", "BADUTA": "target_baduta", "BALITA": "target_balita", "HAMIL": "target_pregnant",
            "TERLALU MUDA": "too_young", "TERLALU TUA": "too_old", "TERLALU DEKAT": "too_close",
            "TERLALU BANYAK": "too_many"}
    assert set(rows) == set(keys)
    tpk = [[int(v) for v in line.split()] for line in re.findall(r"^(\d+(?: \d+){7})$", text, re.M)]
    assert len(tpk) == 4
    tpk_keys = ("catin_target", "catin_reached", "pregnant_target", "pregnant_reached", "postpartum_target",
                "postpartum_reached", "baduta_target", "baduta_reached")
    for index, name in enumerate(DESA_000):
        desa = named(name)
        assert desa.parent is None and desa.code is None
        verval = record_of(desa, "verval_krs", 2025)
        assert {key: getattr(verval, key) for key in keys.values()} == {
            key: rows[label][index] for label, key in keys.items()}, name
        assert verval.no_safe_water == 0  # the chart says 0 …
        assert verval.no_latrine is None and verval.krs is None  # … these charts have no numbers: empty, not 0
        pendampingan = record_of(desa, "pendampingan_tpk", 2025)
        assert (pendampingan.month_from, pendampingan.month_to) == (1, 9)
        assert [getattr(pendampingan, key) for key in tpk_keys] == tpk[index], name
        assert pendampingan.pregnant_kek == (1 if name in ("Sungai Damar", "Sungai Pasir") else None)
    sungai_damar = record_of(named("Sungai Damar"), "verval_krs", 2025)
    assert (sungai_damar.target_pus, sungai_damar.too_many) == (305, 41)
    total = re.search(r"^TOTAL ((?:\d+ ?){8})$", text, re.M).group(1).split()
    assert [sum(row[i] for row in tpk) for i in range(8)] == [int(v) for v in total]


def test_000_statements_checked_over_the_four_desa(seeded):
    ds = Dataset([named(name) for name in DESA_000])
    checks = ds.statements(round_="pendampingan_tpk", year=2025)
    totals = [c for c in checks if c.statement.label.endswith("TOTAL 4 desa")]
    assert len(totals) == 8
    assert {c.statement.label: (c.result, c.computed) for c in totals}["Ibu hamil: sasaran, TOTAL 4 desa"] == \
        ("sesuai", 63)
    assert all(c.result == "sesuai" for c in totals)
    conclusions = [c for c in checks if c.statement.source.startswith("000 · Kesimpulan")]
    assert len(conclusions) == 6
    assert all(c.result == "tidak_dapat" for c in conclusions)
    too_many = next(c for c in conclusions if c.statement.label.startswith("TERLALU BANYAK"))
    assert "187 dari 1295" in too_many.reason
    # Each desa alone does not cover a statement about all four.
    assert Dataset([named("Sungai Damar")]).statements() == []


def test_sungai_damar_page_warns_about_achievement(seeded, client, login):
    login("admin", DEMO_PASSWORD)
    damar = named("Sungai Damar")
    r = client.get(url(damar, "?putaran=pendampingan_tpk&tahun=2025"))
    assert r.status_code == 200
    page = text_of(r)
    assert "Pendampingan TPK Januari–September 2025" in page
    assert "Ibu hamil: capaian: Capaian melebihi sasaran (16)." in page
    assert row_for(r, "Ibu hamil: capaian")[1][1] == "19"
    verval = client.get(url(damar, "?putaran=verval_krs&tahun=2025"))
    assert row_for(verval, "Keluarga sasaran dengan PUS")[1][1] == "305"
    assert row_for(verval, "Keluarga tanpa sumber air minum utama yang layak")[1][1] == "0"
    assert not has_row(verval, "Keluarga tanpa jamban yang layak")  # no number in the deck: not 0
    assert "Capaian melebihi" not in text_of(verval)


def test_000_total_checks_are_shown_on_the_desa_pages(seeded, client, login):
    login("admin", DEMO_PASSWORD)
    for name in ("Sungai Damar", "Sungai Pasir"):
        page = text_of(client.get(url(named(name), "?putaran=pendampingan_tpk&tahun=2025")))
        assert "Pemeriksaan angka dokumen" in page
        assert "Ibu hamil: sasaran, TOTAL 4 desa : dokumen 63 — Sesuai" in page
        assert "8 angka dokumen sesuai dengan hitungan portal" in page
        assert re.search(r"TERLALU BANYAK : 35 % : dokumen 35 % — Tidak dapat diperiksa .*187 dari 1295", page)
    verval = text_of(client.get(url(named("Sungai Damar"), "?putaran=verval_krs&tahun=2025")))
    assert "TOTAL 4 desa" not in verval  # the TPK statements belong to their own period


def test_desa_page_compares_with_its_own_previous_period(seeded, client, login):
    put(named("Sungai Tabuk"), "verval_krs", 2024, target_pus=100)
    login("admin", DEMO_PASSWORD)
    r = client.get(url(named("Sungai Damar"), "?putaran=verval_krs&tahun=2025"))
    assert r.status_code == 200
    assert "Dibandingkan dengan" not in text_of(r)
    assert row_for(r, "Keluarga sasaran dengan PUS")[1] == ["Keluarga sasaran dengan PUS", "305"]


def test_kabupaten_page_as_operator(seeded, client, login):
    kab = seeded
    login("operator", DEMO_PASSWORD)
    r = client.get(url(kab))
    assert r.status_code == 200
    page = text_of(r)
    assert "Perubahan prevalensi stunting per desa, 2022 → 2023" in page
    assert "74 TURUN 3 TETAP 26 NAIK" in page
    assert re.search(r"berstatus TETAP \(Dari 103 Desa/Kelurahan\): dokumen menulis 2 — Berbeda hitungan portal: 3",
                     page)
    assert re.search(r"berstatus NAIK \(Dari 103 Desa/Kelurahan\): dokumen menulis 27 — Berbeda hitungan portal: 26",
                     page)
    assert re.search(r"Status dokumen yang berbeda dengan hitungan portal: Status no\. 77, Kupang Baru "
                     r"\(Kec\. Paku\) ?: dokumen NAIK, portal TETAP\.", page)
    cls, cells = row_for(r, "Kupang Baru")
    assert cls == "flagged"
    assert cells[1:] == ["Paku", "2", "4,55%", "2", "4,55%", "TETAP", "NAIK Berbeda"]
    assert row_for(r, "Kupang Bersih")[0] == ""
    assert "Pemeriksaan angka dokumen" in page
    assert re.search(r"Jumlah penduduk, JUMLAH : dokumen 115\.406 — Berbeda hitungan portal: 116\.217", page)
    assert re.search(r"Jumlah desa/kelurahan, Kec\. Paku : dokumen 7 — Berbeda hitungan portal: 12", page)
    assert re.search(r"Persentase berisiko, Kec\. Dusun Tengah : dokumen 42,18% — Selisih pembulatan "
                     r"hitungan portal: 42,19%", page)
    # Flagged checks come first.
    assert page.index("115.406 — Berbeda") < page.index("Jumlah keluarga, TOTAL")
    assert row_for(r, "Prevalensi stunting balita")[1] == ["Prevalensi stunting balita", "6,64%", "14,38%", "TURUN"]


def test_kecamatan_page_lists_its_desa(seeded, client, login):
    paku = kecamatan_named(seeded, "Paku")
    login("operator", DEMO_PASSWORD)
    r = client.get(url(paku))
    page = text_of(r)
    assert "8 TURUN 1 TETAP 3 NAIK" in page
    kupang = [(cls, cells) for cls, cells in rows_of(r) if cells and cells[0] == "Kupang Baru"]
    assert [cls for cls, _cells in kupang] == ["", "flagged"]  # per-desa figures, then the status table
    assert kupang[1][1][-2:] == ["TETAP", "NAIK Berbeda"]
    assert re.search(r"Jumlah desa/kelurahan, Kec\. Paku : dokumen 7 — Berbeda hitungan portal: 12", page)
    assert "Kec. Awang" not in page  # other kecamatan's checks stay on their pages


def test_003_desa_page_shows_document_prevalence(seeded, client, login):
    login("operator", DEMO_PASSWORD)
    r = client.get(url(named("Kupang Baru")))
    assert r.status_code == 200
    _cls, cells = row_for(r, "Prevalensi stunting balita (angka dokumen)")
    assert cells[1:] == ["4,55%", "4,55%", "TETAP"]
    assert re.search(r"Status no\. 77, Kupang Baru \(Kec\. Paku\) : dokumen NAIK — Berbeda hitungan portal: TETAP",
                     text_of(r))
    tamiang = text_of(client.get(url(named("Tamiang Layang"))))
    assert "(angka dokumen)" in tamiang and "4,48%" in tamiang


# == 8. permissions ===============================================================================

# role → (desa, desa_b, kec, kab) for viewing, then the same four for editing.
PERMISSIONS = {
    "admin": ((200, 200, 200, 200), (200, 200, 200, 200)),
    "operator": ((200, 200, 200, 200), (200, 200, 200, 200)),
    "operator_kecamatan": ((200, 200, 200, 200), (200, 200, 200, 403)),
    "operator_other": ((404, 404, 404, 404), (404, 404, 404, 404)),
    "seksi_head": ((200, 404, 200, 200), (200, 404, 403, 403)),
    "anggota_data": ((200, 404, 200, 200), (200, 404, 403, 403)),
    "seksi_lain": ((200, 404, 200, 200), (403, 404, 403, 403)),
    "anggota": ((200, 404, 200, 200), (403, 404, 403, 403)),
    "ketua": ((200, 404, 200, 200), (403, 404, 403, 403)),
    "outsider": ((404, 404, 404, 404), (404, 404, 404, 404)),
    "no_position": ((404, 404, 404, 404), (404, 404, 404, 404)),
}


@pytest.mark.parametrize("role", list(PERMISSIONS))
def test_permission_matrix(rd, client, login, role):
    regions = [rd["desa"], rd["desa_b"], rd["kec"], rd["kab"]]
    for w in regions:
        put(w, year=2024, krs=1)
    login(rd[role].username)
    view, edit = PERMISSIONS[role]
    assert [client.get(url(w)).status_code for w in regions] == list(view)
    assert [client.get(url(w, "/unduh.csv")).status_code for w in regions] == list(view)
    assert [client.get(url(w, "/unduh.xlsx")).status_code for w in regions] == list(view)
    assert [client.get(url(w, "/verval_krs/2025")).status_code for w in regions] == list(edit)
    assert [client.get(url(w, "/baru")).status_code for w in regions] == list(edit)
    assert [client.get(url(w, "/impor")).status_code for w in regions] == list(edit)
    posted = [client.post(url(w, "/verval_krs/2025"), data={"krs": "3"}).status_code for w in regions]
    assert posted == [302 if e == 200 else e for e in edit]
    saved = {w.id for w in regions if record_of(w) is not None}
    assert saved == {w.id for w, e in zip(regions, edit) if e == 200}
    # Edit links only for those who may edit.
    page = client.get(url(rd["desa"]))
    if view[0] == 200:
        assert ("Isi data periode lain" in page.get_data(as_text=True)) == (edit[0] == 200)


def test_region_without_data(rd, client, login):
    login(rd["seksi_head"].username)
    r = client.get(url(rd["desa"]))
    assert r.status_code == 200
    assert "Belum ada data untuk Desa Harara." in text_of(r) and 'name="periode"' not in r.get_data(as_text=True)
    assert "mengisi data satu periode" in text_of(r)
    login(rd["anggota"].username)
    assert "mengisi data satu periode" not in text_of(client.get(url(rd["desa"])))


def test_outsider_sees_own_region_only(rd, client, login):
    login(rd["outsider"].username)
    assert client.get(url(rd["desa_other"])).status_code == 200
    assert client.get(url(rd["kab_other"])).status_code == 200
    assert client.get(url(rd["desa_other"], "/verval_krs/2025")).status_code == 403  # a ketua, not seksi data
    assert client.get("/wilayah/999999/data").status_code == 404


def test_ended_position_gives_no_access(rd, client, login, make_user, make_position):
    former = make_user("mantan.data", area=rd["desa"])
    make_position(rd["kampung"], "anggota_seksi", "data", user=former, started_on=date(2024, 1, 1),
                  ended_on=date(2024, 12, 31))
    login(former.username)
    assert client.get(url(rd["desa"])).status_code == 404
    assert client.post(url(rd["desa"], "/verval_krs/2025"), data={"krs": "3"}).status_code == 404
    assert n_records() == 0


@pytest.mark.parametrize("method,rest", [
    ("get", ""), ("get", "/baru"), ("get", "/verval_krs/2025"), ("post", "/verval_krs/2025"),
    ("get", "/unduh.csv"), ("get", "/impor"), ("post", "/impor"), ("get", "/impor/AAAAAAAAAAAAAAAAAAAAAA"),
])
def test_anonymous_is_sent_to_login(rd, client, method, rest):
    r = getattr(client, method)(url(rd["desa"], rest), data={"krs": "1"} if method == "post" else None)
    assert r.status_code == 302 and "/masuk" in r.headers["Location"]
    assert n_records() == 0


def test_seksi_data_cannot_import_another_desa(rd, client, login, app):
    login(rd["seksi_head"].username)
    data = csv_bytes([IMPORT_HEAD, ["62.13.01.2001", "Harara", "Verval KRS", "2025", "100", "10"],
                      ["62.13.01.2002", "Sumur", "Verval KRS", "2025", "50", "5"]])
    r = upload(client, rd["desa"], data)
    assert r.status_code == 302
    preview = client.get(r.headers["Location"])
    page = text_of(preview)
    assert "Baris 3: Kode wilayah 62.13.01.2002 tidak ada di Desa Harara." in page
    assert "1 salah" in page and "Impor 2 baris" not in page
    assert client.post(r.headers["Location"]).status_code == 422
    assert n_records() == 0
    assert upload(client, rd["kec"], data).status_code == 403


def test_import_checks_each_row_against_the_user(rd):
    """Defence in depth: rows for a region the user may not edit are errors even inside the scope."""
    data = csv_bytes([IMPORT_HEAD, ["62.13.01.2001", "", "Verval KRS", "2025", "100", "10"],
                      ["62.13.01.2002", "", "Verval KRS", "2025", "50", "5"]])
    result = transfer.read(data, rd["kec"], rd["seksi_head"])
    assert [r.errors for r in result.rows] == [[], ["Anda tidak berwenang mengisi data Desa Sumur."]]
    assert transfer.read(data, rd["kec"], rd["operator_kecamatan"]).errors == 0


# == 9. export and import =========================================================================

def _sample_records(rd):
    put(rd["desa"], families_total=500, families_targeted=300, krs=60, target_pus=250, too_young=3, too_many=0)
    put(rd["desa_b"], "pendampingan_tpk", months=(1, 9), pregnant_target=16, pregnant_reached=19, catin_target=10,
        catin_reached=5)
    put(rd["kec"], "tahunan", 2023, balita_measured=1706, stunting_cases=158, population=29913)
    stated = put(rd["desa"], "tahunan", 2023, stunting_cases=2)
    stated.prevalence_stated = 4.55
    db.session.commit()


def _snapshot():
    return {(r.wilayah_id, r.round, r.year): (r.values(), r.month_from, r.month_to, r.prevalence_stated)
            for r in db.session.scalars(db.select(DataRecord))}


def test_csv_export_has_indonesian_headers_and_values(rd, client, login):
    _sample_records(rd)
    login(rd["operator"].username)
    r = client.get(url(rd["kab"], "/unduh.csv"))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert 'filename="rumah-data-' in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    head = rows[0]
    assert head[:7] == ["Kode wilayah", "Wilayah", "Tingkat", "Putaran", "Tahun", "Bulan awal", "Bulan akhir"]
    assert [BY_KEY[k].label for k in COUNT_COLUMNS] == head[7:7 + len(COUNT_COLUMNS)]
    assert "Prevalensi stunting balita (%)" in head and "KRS dari keluarga sasaran (%)" in head
    table = [dict(zip(head, row)) for row in rows[1:]]
    assert len(table) == 4
    harara = next(t for t in table if t["Wilayah"] == "Harara" and t["Putaran"] == "Verval KRS")
    assert (harara["Kode wilayah"], harara["Tahun"], harara["Keluarga berisiko stunting (KRS)"],
            harara["Terlalu banyak"], harara["Terlalu tua"], harara["KRS dari keluarga sasaran (%)"]) == \
        ("62.13.01.2001", "2025", "60", "0", "", "20,00")
    sumur = next(t for t in table if t["Wilayah"] == "Sumur")
    assert (sumur["Putaran"], sumur["Bulan awal"], sumur["Bulan akhir"], sumur["Ibu hamil: capaian (%)"]) == \
        ("Pendampingan TPK", "1", "9", "118,75")
    kec = next(t for t in table if t["Tingkat"] == "kecamatan")
    assert kec["Prevalensi stunting balita (%)"] == "9,26"
    stated = next(t for t in table if t["Wilayah"] == "Harara" and t["Putaran"] == "Data tahunan")
    assert stated["Prevalensi stunting balita (%)"] == "4,55"
    only = client.get(url(rd["kab"], "/unduh.csv?putaran=verval_krs&tahun=2025"))
    assert len(list(csv.reader(io.StringIO(only.data.decode("utf-8-sig"))))) == 2
    assert client.get(url(rd["kab"], "/unduh.pdf")).status_code == 404
    assert client.get(url(rd["kab"], "/unduh.csv?putaran=bulanan")).status_code == 404


def test_xlsx_export_has_headers_and_numbers(rd, client, login):
    _sample_records(rd)
    login(rd["operator"].username)
    r = client.get(url(rd["kab"], "/unduh.xlsx?putaran=verval_krs&tahun=2025"))
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert "Rumah Data Kabupaten Barito Timur Verval KRS 2025" == values[0][0]
    head = list(values[1])
    assert head[:5] == ["Kode wilayah", "Wilayah", "Tingkat", "Putaran", "Tahun"]
    row = dict(zip(head, values[2]))
    assert (row["Wilayah"], row["Tahun"], row["Keluarga sasaran"], row["Keluarga sasaran dengan PUS"]) == \
        ("Harara", 2025, 300, 250)
    assert isinstance(row["Keluarga berisiko stunting (KRS)"], int)
    assert len(values) == 3


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_import_round_trip(rd, client, login, app, fmt):
    _sample_records(rd)
    before = _snapshot()
    login(rd["operator"].username)
    exported = client.get(url(rd["kab"], f"/unduh.{fmt}")).data
    db.session.execute(db.delete(DataRecord))
    db.session.commit()
    r = upload(client, rd["kab"], exported, f"ekspor.{fmt}")
    assert r.status_code == 302
    preview = client.get(r.headers["Location"])
    assert preview.status_code == 200
    page = text_of(preview)
    assert "4 baris terbaca" in page and page.count("Periode baru") == 4 and "salah" not in page
    assert "Impor 4 baris" in page
    assert "diabaikan: dihitung dari balita diukur dan balita stunting" in page  # the kecamatan's computed prevalence
    assert n_records() == 0  # nothing until confirmed
    done = client.post(r.headers["Location"])
    assert done.status_code == 302 and done.headers["Location"].endswith(url(rd["kab"]))
    assert _snapshot() == before
    assert audit_actions() == ["rumahdata.create"] * 8  # four by the set-up, four by the import
    assert staged_files(app) == []


def test_import_updates_existing_and_reports_changes(rd, client, login):
    put(rd["desa"], families_targeted=100, krs=10)
    login(rd["operator"].username)
    r = upload(client, rd["kec"], csv_bytes([IMPORT_HEAD + ["Catatan"],
                                             ["62.13.01.2001", "", "verval", "2025", "100", "12", "cek"]]))
    page = text_of(client.get(r.headers["Location"]))
    assert "Mengubah 1 angka yang tersimpan" in page and "Keluarga berisiko stunting (KRS) 10 → 12" in page
    assert "Tidak dipakai: Catatan." in page
    assert client.post(r.headers["Location"]).status_code == 302
    stored = record_of(rd["desa"])
    assert (stored.krs, stored.families_targeted, stored.version) == (12, 100, 2)
    assert audit_actions() == ["rumahdata.create", "rumahdata.update"]


def test_import_empty_cell_keeps_stored_figure(rd, client, login):
    put(rd["desa"], families_targeted=100, krs=10, too_young=3)
    login(rd["operator"].username)
    data = csv_bytes([IMPORT_HEAD + ["Terlalu muda"], ["62.13.01.2001", "", "Verval KRS", "2025", "100", "12", ""]])
    r = upload(client, rd["kec"], data)
    client.post(r.headers["Location"])
    stored = record_of(rd["desa"])
    assert stored.krs == 12
    assert stored.too_young == 3


def test_import_without_month_columns_keeps_stored_months(rd, client, login):
    put(rd["desa_b"], "pendampingan_tpk", months=(1, 9), pregnant_target=16)
    login(rd["operator"].username)
    data = csv_bytes([["Kode wilayah", "Putaran", "Tahun", "Ibu hamil: capaian"],
                      ["62.13.01.2002", "Pendampingan TPK", "2025", "12"]])
    r = upload(client, rd["kec"], data)
    assert client.post(r.headers["Location"]).status_code == 302
    stored = record_of(rd["desa_b"], "pendampingan_tpk")
    assert (stored.pregnant_target, stored.pregnant_reached) == (16, 12)
    assert (stored.month_from, stored.month_to) == (1, 9)


def test_import_to_desa_without_code_column(rd, client, login):
    login(rd["seksi_head"].username)
    data = csv_bytes([["Periode", "Tahun", "Balita diukur", "Balita stunting"],
                      ["Data tahunan", "2025", "1.200", "96"]],
                     delimiter=";")
    r = upload(client, rd["desa"], data)
    assert r.status_code == 302
    assert client.post(r.headers["Location"]).status_code == 302
    stored = record_of(rd["desa"], "tahunan")
    assert (stored.balita_measured, stored.stunting_cases, stored.updated_by_id) == (1200, 96, rd["seksi_head"].id)


GOOD_ROW = ["62.13.01.2002", "Sumur", "Verval KRS", "2025", "50", "5"]


@pytest.mark.parametrize("rows,message", [
    ([["62.13.01.2001", "Harara", "Verval KRS", "2025", "100", "-5"]],
     "Baris 2: Keluarga berisiko stunting (KRS) (F2): Tidak boleh negatif."),
    ([["62.13.01.2001", "Harara", "Verval KRS", "2025", "100", "150"]],
     "Baris 2: Keluarga berisiko stunting (KRS): Tidak boleh lebih dari Keluarga sasaran (100)."),
    ([["62.13.99.2001", "Entah", "Verval KRS", "2025", "100", "10"]],
     "Baris 2: Kode wilayah 62.13.99.2001 tidak ada di Kabupaten Barito Timur."),
    ([["62.13.01.2001", "Harara", "Verval KRS", "2025", "100", "10"],
      ["62.13.01.2001", "Harara", "verval_krs", "2025", "100", "11"]],
     "Baris 3: Periode yang sama untuk Harara sudah ada di baris 2."),
    ([["62.13.01.2001", "Harara", "Bulanan", "2025", "100", "10"]], "Baris 2: Putaran “Bulanan” tidak dikenal"),
    ([["62.13.01.2001", "Harara", "Verval KRS", "", "100", "10"]], "Baris 2: Tahun harus diisi, 2000 sampai 2100."),
    ([["", "Kota Entah", "Verval KRS", "2025", "100", "10"]],
     "Baris 2: Wilayah “Kota Entah” tidak ada di Kabupaten Barito Timur."),
    ([["62.13.01.2001", "Harara", "Verval KRS", "2025", "100", "1,5"]],
     "Baris 2: Keluarga berisiko stunting (KRS) (F2): Isi"),
])
def test_import_with_a_bad_row_is_refused_whole(rd, client, login, app, rows, message):
    login(rd["operator"].username)
    r = upload(client, rd["kab"], csv_bytes([IMPORT_HEAD] + rows + [GOOD_ROW]))
    assert r.status_code == 302
    preview = client.get(r.headers["Location"])
    page = text_of(preview)
    assert message in page
    assert "Impor " + str(len(rows) + 1) + " baris" not in page and "Belum ada yang disimpan" in page
    confirm = client.post(r.headers["Location"])
    assert confirm.status_code == 422 and message in text_of(confirm)
    assert n_records() == 0 and audit_actions() == []
    assert len(staged_files(app)) == 2  # still there to cancel


def test_batal_discards_the_upload(rd, client, login, app):
    login(rd["operator"].username)
    r = upload(client, rd["kec"], csv_bytes([IMPORT_HEAD, GOOD_ROW]))
    assert len(staged_files(app)) == 2
    cancel = client.post(r.headers["Location"], data={"batal": "1"})
    assert cancel.status_code == 302 and cancel.headers["Location"].endswith(url(rd["kec"]))
    assert staged_files(app) == [] and n_records() == 0
    gone = client.get(r.headers["Location"])
    assert gone.status_code == 302 and gone.headers["Location"].endswith(url(rd["kec"], "/impor"))
    assert client.post(r.headers["Location"]).status_code == 302
    assert n_records() == 0


def test_another_users_token_is_not_theirs(rd, client, login, app):
    login(rd["operator"].username)
    r = upload(client, rd["kec"], csv_bytes([IMPORT_HEAD, GOOD_ROW]), filename="rahasia-operator.csv")
    token_url = r.headers["Location"]
    login(rd["admin"].username)
    seen = client.get(token_url)
    assert seen.status_code == 302 and seen.headers["Location"].endswith(url(rd["kec"], "/impor"))
    followed = client.get(token_url, follow_redirects=True)
    assert "rahasia-operator.csv" not in followed.get_data(as_text=True)
    assert "sudah tidak tersedia" in followed.get_data(as_text=True)
    assert client.post(token_url).status_code == 302 and n_records() == 0
    # The same token under another region is refused too, even for its owner.
    login(rd["operator"].username)
    token = token_url.rsplit("/", 1)[1]
    assert client.get(url(rd["kab"], f"/impor/{token}")).status_code == 302
    assert client.get(token_url).status_code == 200


@pytest.mark.parametrize("data,message", [
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "Berkas PDF tidak dapat dibaca."),
    (bytes(range(256)) * 8, "Berkas bukan CSV atau Excel (.xlsx) yang dapat dibaca."),
    (b"", "Pilih berkas Excel (.xlsx) atau CSV."),
    (b"PK\x03\x04 bukan zip sungguhan", "Berkas .xlsx rusak atau tidak lengkap."),
    (b"nama,umur\nBudi,7\n", "Tidak ditemukan baris judul kolom"),
    (",".join(IMPORT_HEAD).encode() + b"\n", "Tidak ada baris data di bawah judul kolom."),
    (csv_bytes([IMPORT_HEAD] + [["62.13.01.2001", "", "Verval KRS", str(2000 + i % 100), "1", "1"]
                                for i in range(2001)]), "lebih dari 2.000 baris data (batas impor)"),
])
def test_hostile_files_are_refused(rd, client, login, app, data, message):
    login(rd["operator"].username)
    r = upload(client, rd["kab"], data, filename="berkas.xlsx")
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert staged_files(app) == [] and n_records() == 0


def test_missing_file_is_refused(rd, client, login, app):
    login(rd["operator"].username)
    r = client.post(url(rd["kab"], "/impor"), data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and "Pilih berkas Excel (.xlsx) atau CSV." in r.get_data(as_text=True)
    assert staged_files(app) == []


# == 10. audit ====================================================================================

def test_saving_writes_audit_entries(rd, client, login):
    desa = rd["desa"]
    login(rd["seksi_head"].username)
    client.post(url(desa, "/verval_krs/2025"), data={"families_targeted": "300", "krs": "40"})
    client.post(url(desa, "/verval_krs/2025"), data={"version": "1", "families_targeted": "300", "krs": "45"})
    entries = db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [e.action for e in entries] == ["rumahdata.create", "rumahdata.update"]
    stored = record_of(desa)
    for entry in entries:
        assert (entry.user_id, entry.kampung_id, entry.object_type, entry.object_id) == (
            rd["seksi_head"].id, rd["kampung"].id, "data_record", stored.id)
        assert "Harara" in entry.note and "verval_krs 2025" in entry.note
    assert json.loads(entries[0].changes) == {"families_targeted": [None, 300], "krs": [None, 40]}
    assert json.loads(entries[1].changes) == {"krs": [40, 45]}


def test_kecamatan_save_is_audited_without_kampung(rd):
    put(rd["kec"], krs=3, by=rd["operator"])
    entry = db.session.scalars(db.select(AuditEntry)).one()
    assert (entry.action, entry.kampung_id, entry.user_id) == ("rumahdata.create", None, rd["operator"].id)


# == 11. plan rows cite an indicator ==============================================================

@pytest.fixture
def plan(pokja, db):
    plan = create_plan(pokja["kampung"], 2025, by=None)
    add_row(plan, {"part": "I", "kegiatan": "Pemutahiran data KRS", "schedule_text": "Juni - Des",
                   "funding_text": "BOKB"}, by=None)
    db.session.commit()
    return plan


def test_plan_row_form_offers_indicators(pokja, plan, client, login):
    login(pokja["sekretaris"].username)
    body = client.get(f"/rencana/{plan.id}?tambah=I").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="indicator".*?</select>', body, re.S)
    assert select is not None
    options = re.findall(r'<option[^>]*value="([^"]*)"', select.group(0))
    assert options[0] == "" and {"krs", "prevalence", "stunting_cases", "krs_percent"} <= set(options)
    assert set(options) - {""} == CITABLE_KEYS
    assert 'label="Ibu hamil KEK dan stunting balita"' in select.group(0)


def test_plan_row_stores_indicator(pokja, plan, client, login):
    login(pokja["sekretaris"].username)
    r = client.post(f"/rencana/{plan.id}/baris", data={
        "part": "I", "kegiatan": "Pendampingan KRS", "schedule_text": "Sepanjang tahun", "indicator": "krs"})
    assert r.status_code == 302
    row = db.session.scalar(db.select(PlanRow).filter_by(kegiatan="Pendampingan KRS"))
    assert row.indicator == "krs"
    assert "Indikator: Keluarga berisiko stunting (KRS)" in text_of(client.get(f"/rencana/{plan.id}"))
    edit = client.post(f"/rencana/{plan.id}/baris/{row.id}", data={
        "part": "I", "kegiatan": "Pendampingan KRS", "schedule_text": "Sepanjang tahun", "indicator": "",
        "version": str(row.version)})
    assert edit.status_code == 302
    assert db.session.get(PlanRow, row.id).indicator is None


def test_plan_row_unknown_indicator_is_refused(pokja, plan, client, login):
    login(pokja["sekretaris"].username)
    r = client.post(f"/rencana/{plan.id}/baris", data={
        "part": "I", "kegiatan": "Pendampingan KRS", "schedule_text": "Sepanjang tahun", "indicator": "bogus"})
    assert r.status_code == 422
    assert "Pilihan tidak valid." in r.get_data(as_text=True)
    assert db.session.scalar(db.select(PlanRow).filter_by(kegiatan="Pendampingan KRS")) is None
    with pytest.raises(PlanError) as exc:
        add_row(plan, {"part": "I", "kegiatan": "X", "schedule_text": "Juni", "indicator": "bogus"}, by=None)
    assert str(exc.value) == "Indikator Rumah Data tidak dikenal." and exc.value.field == "indicator"
    db.session.rollback()


def test_row_content_has_indicator_only_when_set(plan):
    row = plan.rows[0]
    assert "indicator" not in content.row_content(row)
    unchanged = content.content_hash(plan)
    row.indicator = "prevalence"
    assert content.row_content(row)["indicator"] == "prevalence"
    assert content.content_hash(plan) != unchanged
    row.indicator = None
    assert content.content_hash(plan) == unchanged


def test_revision_comparison_names_the_indicator(plan):
    old = content.row_content(plan.rows[0])
    plan.rows[0].indicator = "prevalence"
    new = content.row_content(plan.rows[0])
    changed = content.compare([old], [new])
    assert changed == [{"kind": "changed", "old": old, "new": new,
                        "fields": [("Indikator Rumah Data", "", "Prevalensi stunting balita")]}]


def test_latest_values_for_cited_indicators(rd):
    from portal.blueprints.rumahdata.figures import latest_values
    desa = rd["desa"]
    put(desa, year=2024, families_targeted=200, krs=50)
    put(desa, year=2025, families_targeted=200, krs=40)
    put(desa, "tahunan", 2023, balita_measured=100, stunting_cases=9)
    values = latest_values(desa, ["krs", "krs_percent", "prevalence", "kb_mkjp"])
    assert values["krs"] == {"value": 40, "period": "Verval KRS 2025", "previous": 50,
                             "previous_period": "Verval KRS 2024", "change": "TURUN"}
    assert (values["krs_percent"]["value"], values["krs_percent"]["previous"]) == (20.0, 25.0)
    assert values["prevalence"] == {"value": 9.0, "period": "Data tahunan 2023", "previous": None,
                                    "previous_period": None, "change": None}
    assert "kb_mkjp" not in values


def test_plan_json_keeps_indicator(pokja, plan):
    plan.rows[0].indicator = "krs"
    db.session.commit()
    document = export_plan(plan)
    assert document["rows"][0]["indicator"] == "krs"
    copy = import_plan(json.loads(json.dumps(document)), pokja["other_kampung"], 2025, by=None)
    db.session.commit()
    assert [r.indicator for r in copy.rows] == ["krs"]
    assert export_plan(copy)["rows"] == document["rows"]
    nxt = copy_previous_year(pokja["kampung"], 2026, by=None)
    assert [r.indicator for r in nxt.rows] == ["krs"]


def test_plan_json_unknown_indicator_is_refused(pokja, plan):
    document = export_plan(plan)
    document["rows"][0]["indicator"] = "xyz"
    with pytest.raises(PlanError) as exc:
        import_plan(document, pokja["other_kampung"], 2025, by=None)
    assert str(exc.value) == "Baris 1: indikator 'xyz' tidak dikenal"
    db.session.rollback()
    assert db.session.scalar(db.select(Plan).filter_by(kampung_id=pokja["other_kampung"].id)) is None
