"""Rencana Kegiatan from a spreadsheet: how the reader copes with real layouts, what the preview
reads, CSV encodings, hostile files, and the upload → preview → import flow."""
import csv
import html
import io
import json
import random
import re
import signal
import time
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook

from portal import audit
from portal.blueprints.plans import approval, content, office, sheets
from portal.blueprints.plans.services import PlanError, add_row, create_plan, import_sheet, sheet_rows
from portal.models import AuditEntry, FundingSource, Plan, PlanRow
from tests.conftest import PASSWORD

YEAR = 2025
HEADER = ["No", "Kegiatan", "Pelaksana", "Sasaran", "Mitra", "Waktu", "Sumber Dana", "Anggaran"]
SHEET_XML = "xl/worksheets/sheet1.xml"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TOKEN_URL = re.compile(r"^/kampung/(\d+)/rencana/impor/([A-Za-z0-9_-]{22})$")


# -- building files -----------------------------------------------------------------------------

def xlsx(rows, merges=(), title="Rencana"):
    """An XLSX whose first sheet holds ``rows`` (lists of cell values) from A1."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    for ref in merges:
        sheet.merge_cells(ref)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, delimiter=",", encoding="utf-8"):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def activity(number, kegiatan, schedule="Juni 2025", funding="APBD", anggaran=None, pelaksana="Kader KB",
             sasaran="Keluarga", mitra=""):
    """One activity line in HEADER's column order."""
    return [number, kegiatan, pelaksana, sasaran, mitra, schedule, funding, anggaran]


def table(*lines, part="I"):
    """HEADER, a part header and ``lines``: the smallest plan table."""
    return [HEADER, [part], *lines]


def rezip(data, replace=None, add=None):
    """The archive ``data`` with members replaced and/or added (str or bytes)."""
    replace, add = replace or {}, add or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
        for name, body in add.items():
            target.writestr(name, body)
    return out.getvalue()


def edit_sheet(data, edit):
    """``data`` with its first worksheet's XML passed through ``edit`` (str → str)."""
    xml = zipfile.ZipFile(io.BytesIO(data)).read(SHEET_XML).decode("utf-8")
    changed = edit(xml)
    assert changed != xml, "the edit did not apply"
    return rezip(data, replace={SHEET_XML: changed})


def with_sheet_rows(data, rows_xml, last_row, dimension=True):
    """``data`` with ``rows_xml`` appended to its sheetData; the sheet's <dimension> covers
    ``last_row`` (or is removed, as some writers leave it out)."""
    def edit(xml):
        xml = xml.replace("</sheetData>", rows_xml + "</sheetData>")
        ref = f'<dimension ref="A1:H{last_row}" />' if dimension else ""
        return re.sub(r'<dimension ref="[^"]*" ?/>', ref, xml)
    return edit_sheet(data, edit)


def with_shared_strings(data, sst_xml, cell="B3"):
    """``data`` with a sharedStrings part whose first string fills ``cell`` (openpyxl itself
    writes inline strings, so the part has to be added and registered)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    rels = archive.read("xl/_rels/workbook.xml.rels").decode().replace(
        "</Relationships>",
        '<Relationship Id="rIdSst" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/sharedStrings"/></Relationships>')
    types = archive.read("[Content_Types].xml").decode().replace(
        "</Types>",
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    sheet = re.sub(rf'<c r="{cell}" t="inlineStr"><is><t>[^<]*</t></is></c>', f'<c r="{cell}" t="s"><v>0</v></c>',
                   archive.read(SHEET_XML).decode())
    return rezip(data, replace={"xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types,
                                SHEET_XML: sheet}, add={"xl/sharedStrings.xml": sst_xml})


def set_cell_xml(data, ref, cell_xml):
    """``data`` with the cell ``ref`` replaced by raw XML (e.g. a formula with a cached value)."""
    return edit_sheet(data, lambda xml: re.sub(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', cell_xml, xml, count=1))


def read(rows, merges=()):
    return sheets.read_file(xlsx(rows, merges), "rencana.xlsx")


def names(sheet):
    return [r.kegiatan for r in sheet.rows]


def by_name(sheet):
    return {r.kegiatan: r for r in sheet.rows}


SIMPLE = xlsx(table(activity(1, "Pendataan keluarga", anggaran=1000)))


# -- the HTTP flow ------------------------------------------------------------------------------

@pytest.fixture
def kb(pokja, app, tmp_path):
    """The pokja fixture, with staged uploads kept under a temporary folder."""
    app.instance_path = str(tmp_path)
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    return pokja


def upload(client, kampung, data, filename="rencana.xlsx", year=YEAR):
    return client.post(f"/kampung/{kampung.id}/rencana/impor",
                       data={"year": str(year), "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def preview_url(response):
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    path = response.headers["Location"]
    assert TOKEN_URL.match(path), path
    return path


def file_error(response):
    """The message shown beside the file field."""
    match = re.search(r'<p class="error" id="file-err">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert match, "no error beside the file field"
    return html.unescape(match.group(1))


def counts(db):
    return tuple(db.session.scalar(db.select(db.func.count()).select_from(model))
                 for model in (Plan, PlanRow, FundingSource))


def staged_files(tmp_path):
    return sorted(p.name for p in tmp_path.rglob("*") if p.suffix in (".bin", ".json"))


def import_actions(plan):
    return [e.action for e in audit.entries_for_plan(plan) if e.action == "plan.import"]


# -- layout tolerance ---------------------------------------------------------------------------

def test_header_found_by_synonyms_below_title_rows_in_any_order():
    sheet = read([
        ["RENCANA KEGIATAN KAMPUNG KB HARARA"],
        ["Tahun 2025"],
        [],
        ["Biaya (Rp)", "  SUMBER   anggaran ", "Nama Kegiatan", "No.", "Kelompok Sasaran", "JADWAL",
         "Pelaksana", "Paraf"],
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)"],  # column numbering under the header
        [None, None, "I. Penyediaan data dan administrasi kependudukan"],
        [1_500_000, "Dana Desa", "Pendataan keluarga", 1, "Keluarga", "Januari 2025", "Kader KB"],
        [],
        [None, None, None, None, None, None, None, None],
        [None, "APBD", "Pemutakhiran data", 2, "KRS", "Februari 2025", "Tim PK"],
    ])
    assert (sheet.kind, sheet.sheet, sheet.header_row) == ("xlsx", "Rencana", 4)
    assert sheet.columns == [("anggaran", "Biaya (Rp)"), ("funding_text", "SUMBER anggaran"),
                             ("kegiatan", "Nama Kegiatan"), ("number", "No."), ("sasaran", "Kelompok Sasaran"),
                             ("schedule_text", "JADWAL"), ("pelaksana", "Pelaksana")]
    assert sheet.ignored == ["Paraf"]
    first, second = sheet.rows
    assert (first.sheet_row, first.part, first.anggaran) == (7, "I", 1_500_000)
    assert first.texts == {"kegiatan": "Pendataan keluarga", "pelaksana": "Kader KB", "sasaran": "Keluarga",
                           "schedule_text": "Januari 2025", "funding_text": "Dana Desa"}
    assert (second.sheet_row, second.part, second.kegiatan, second.anggaran) == (10, "I", "Pemutakhiran data", None)
    assert not first.errors and not second.errors and not sheet.notes


@pytest.mark.parametrize("part_line", [
    ["II", "Perubahan Perilaku"],
    [None, "II Perubahan Perilaku"],
    ["II.", None],
    [None, "II."],
    [None, "Perubahan perilaku"],
    [None, "  PERUBAHAN   PERILAKU "],
], ids=["numeral-and-title", "numeral-in-title", "numeral-dot", "numeral-in-kegiatan", "title-only", "title-caps"])
def test_part_header_with_or_without_roman_numeral(part_line):
    sheet = read(table(activity(1, "Pendataan keluarga"), part_line, activity(1, "Penyuluhan KB")))
    assert {r.kegiatan: r.part for r in sheet.rows} == {"Pendataan keluarga": "I", "Penyuluhan KB": "II"}


def test_activity_mentioning_a_part_word_is_not_a_part_header():
    sheet = read(table(activity(1, "Gotong royong"), [None, "Kerja bakti lingkungan"], part="IV"))
    assert [(r.kegiatan, r.part) for r in sheet.rows] == [("Gotong royong", "IV"), ("Kerja bakti lingkungan", "IV")]


def test_totals_rows_and_signature_block_are_not_activities():
    sheet = read([
        HEADER,
        ["I", "Penyediaan data dan administrasi kependudukan"],
        activity(1, "Pendataan keluarga", anggaran=1_000_000),
        activity(2, "Pemutakhiran data", anggaran=2_000_000),
        [None, "Jumlah bagian I", None, None, None, None, None, 3_000_000],
        ["II", "Perubahan perilaku"],
        activity(1, "Penyuluhan KB", schedule="Desember 2025", anggaran=500_000),
        ["JUMLAH", None, None, None, None, None, None, 3_500_000],
        ["Total seluruhnya", None, None, None, None, None, None, 3_500_000],
        [],
        [None, None, "Mengetahui,", None, None, "Harara, 2 Januari 2025"],
        [None, None, "Kepala Desa Harara", None, None, "Ketua Pokja Kampung KB"],
        [],
        [None, None, "(Drs. Bambang Sutrisno)", None, None, "(Hj. Siti Rahmawati)"],
    ])
    assert names(sheet) == ["Pendataan keluarga", "Pemutakhiran data", "Penyuluhan KB"]
    last = sheet.rows[-1]
    assert (last.part, last.texts["schedule_text"], last.texts["pelaksana"]) == ("II", "Desember 2025", "Kader KB")
    assert all(not r.errors for r in sheet.rows)


def test_signature_block_in_the_kegiatan_column_is_not_read_as_activities():
    """Regression: "Mengetahui," under the Kegiatan column used to become an activity."""
    sheet = read(table(
        activity(1, "Pendataan keluarga"),
        [None, "Jumlah", None, None, None, None, None, 0],
        [],
        [None, "Mengetahui,", None, None, None, "Harara, 2 Januari 2025"],
        [None, "Kepala Desa Harara", None, None, None, "Ketua Pokja Kampung KB"],
        [None, "(Drs. Bambang Sutrisno)", None, None, None, "(Hj. Siti Rahmawati)"],
    ))
    assert names(sheet) == ["Pendataan keluarga"]


def test_signature_date_line_is_not_appended_to_the_last_activity():
    """Regression: the place/date line below a Jumlah row used to be appended to the last
    activity's Waktu as a continuation."""
    sheet = read(table(
        activity(1, "Pendataan keluarga", schedule="Juli 2025"),
        [None, "Jumlah", None, None, None, None, None, 0],
        [],
        [None, None, None, None, None, "Harara, 2 Januari 2025"],
        [None, None, "Mengetahui,", None, None, "Ketua Pokja Kampung KB"],
    ))
    assert names(sheet) == ["Pendataan keluarga"]
    assert sheet.rows[0].texts["schedule_text"] == "Juli 2025"


@pytest.mark.parametrize("kegiatan", ["Kepala Desa membuka Pekan KB", "Ketua Pokja mengikuti rakor kecamatan",
                                      "Jumlah peserta KB baru didata ulang"])
def test_unnumbered_activity_starting_with_a_signature_or_total_word_is_read(kegiatan):
    sheet = read([["Kegiatan", "Pelaksana", "Sasaran", "Waktu"], ["II"],
                  ["Penyuluhan KB", "Kader", "PUS", "Mei 2025"],
                  [kegiatan, "Pokja", "Warga", "Juni 2025"],
                  ["Kelas BKB", "Kader", "Ibu balita", "Agustus 2025"]])
    assert names(sheet) == ["Penyuluhan KB", kegiatan, "Kelas BKB"]


def test_continuation_rows_append_their_text_to_the_activity_above():
    sheet = read(table(
        activity(1, "Kunjungan rumah", pelaksana="Kader BKL", mitra="Puskesmas", schedule="Agustus 2025"),
        [None, None, "Bidan desa", None, "PKK"],
        [None, None, "Tim Pendamping Keluarga"],
        activity(2, "Kelas lansia", pelaksana="Kader BKL"),
        part="III"))
    assert names(sheet) == ["Kunjungan rumah", "Kelas lansia"]
    visit = sheet.rows[0]
    assert visit.texts["pelaksana"] == "Kader BKL, Bidan desa, Tim Pendamping Keluarga"
    assert visit.texts["mitra"] == "Puskesmas, PKK"
    assert visit.texts["schedule_text"] == "Agustus 2025"
    assert sheet.rows[1].texts["pelaksana"] == "Kader BKL"


def test_funding_merged_over_two_activities_applies_to_both():
    rows = table(activity(1, "Pendataan keluarga", funding="Dana Desa"),
                 activity(2, "Pemutakhiran data", funding=None),
                 activity(3, "Rapat data", funding="APBD"))
    sheet = read(rows, merges=["G3:G4"])
    assert {r.kegiatan: r.texts["funding_text"] for r in sheet.rows} == {
        "Pendataan keluarga": "Dana Desa", "Pemutakhiran data": "Dana Desa", "Rapat data": "APBD"}


def test_kegiatan_merged_down_makes_the_next_row_a_continuation():
    rows = table(activity(1, "Kunjungan rumah", pelaksana="Kader BKL", mitra="Puskesmas"),
                 [None, None, "Bidan desa", "Lansia", "PKK", "Agustus 2025", "APBD"],
                 activity(2, "Kelas lansia"))
    sheet = read(rows, merges=["A3:A4", "B3:B4"])
    assert names(sheet) == ["Kunjungan rumah", "Kelas lansia"]
    visit = sheet.rows[0]
    assert (visit.texts["pelaksana"], visit.texts["mitra"]) == ("Kader BKL, Bidan desa", "Puskesmas, PKK")
    assert visit.texts["schedule_text"] == "Juni 2025, Agustus 2025"


def test_budget_merged_over_two_activities_is_counted_once_and_said(app):
    """Regression: the merged amount used to be copied into every row it spans (3.000.000 over
    two activities imported as 6.000.000, silently)."""
    rows = table(activity(1, "Pendataan keluarga", funding="APBD", anggaran=3_000_000),
                 activity(2, "Pemutakhiran data", funding=None, anggaran=None))
    sheet = read(rows, merges=["G3:G4", "H3:H4"])
    assert [(r.anggaran, r.texts["funding_text"]) for r in sheet.rows] == [(3_000_000, "APBD"), (None, "APBD")]
    assert any("H3:H4" in note for note in sheet.notes)
    built = sheet_rows(sheet, YEAR)
    assert sum(row.budget or 0 for _item, row in built) == 3_000_000


def test_seksi_and_bagian_columns_place_rows_without_part_headers():
    sheet = read([
        ["Bagian", "No", "Kegiatan", "Pelaksana", "Seksi", "Waktu", "Sumber Dana"],
        ["I", 1, "Pendataan keluarga", "Kader KB", None, "Juni 2025", "APBD"],
        ["V", 1, "Rapat Pokja", "Ketua Pokja", "Seksi Data", "Juni 2025", "BOKB"],
        ["VI.", 1, "Posyandu remaja", "Kader", "Perilaku", "Juli 2025", "Dana Desa"],
        [None, 2, "Pelayanan KB keliling", "Bidan", "Pelayanan dan rujukan", "Juli 2025", "APBD"],
        ["Perubahan perilaku", 3, "Penyuluhan KB", "PKB", None, "Mei 2025", "BOKB"],
        ["7", 4, "Bagian salah", "Kader", None, "Mei 2025", "BOKB"],
        ["IV", 5, "Kerja bakti", "Kader", "Olahraga", "Mei 2025", "swadaya"],
    ])
    rows = by_name(sheet)
    assert {r.kegiatan: (r.part, r.seksi) for r in sheet.rows if not r.errors} == {
        "Pendataan keluarga": ("I", None),
        "Rapat Pokja": ("V", "data"),
        "Posyandu remaja": ("VI", "perilaku"),
        "Pelayanan KB keliling": ("III", "layanan"),
        "Penyuluhan KB": ("II", None),
        "Kerja bakti": ("IV", None),
    }
    assert rows["Bagian salah"].errors[0] == "Bagian \u201c7\u201d tidak dikenal (isi I\u2013VI)."
    assert "Olahraga" in rows["Kerja bakti"].warnings[0]


def test_parts_v_and_vi_need_a_seksi_from_the_pelaksana_or_an_error_naming_the_part(app):
    sheet = read([
        HEADER,
        ["V", "Operasional Kampung KB (BOKB)"],
        activity(1, "Rapat koordinasi", pelaksana="Seksi Pelayanan dan Rujukan", funding="BOKB"),
        activity(2, "Pembelian ATK", pelaksana="Bendahara", funding="BOKB"),
        ["VI", "Kegiatan menggunakan Dana Desa/Kelurahan/Mandiri"],
        activity(1, "Posyandu remaja", pelaksana="seksi data", funding="Dana Desa"),
        activity(2, "Bedah rumah", pelaksana="Kader", funding="Dana Desa"),
    ])
    rows = by_name(sheet)
    assert (rows["Rapat koordinasi"].part, rows["Rapat koordinasi"].seksi) == ("V", "layanan")
    assert (rows["Posyandu remaja"].part, rows["Posyandu remaja"].seksi) == ("VI", "data")
    assert len(rows["Pembelian ATK"].errors) == 1 and rows["Pembelian ATK"].errors[0].startswith("Bagian V ")
    assert len(rows["Bedah rumah"].errors) == 1 and rows["Bedah rumah"].errors[0].startswith("Bagian VI ")
    built = {item.kegiatan: row for item, row in sheet_rows(sheet, YEAR)}
    assert built["Rapat koordinasi"].seksi == "layanan" and built["Posyandu remaja"].seksi == "data"
    assert built["Pembelian ATK"] is None and built["Bedah rumah"] is None


def test_activity_outside_any_part_is_an_error_with_a_note():
    sheet = read([HEADER, activity(1, "Tanpa bagian")])
    assert sheet.rows[0].part is None
    assert sheet.rows[0].errors == ["Bagian (I\u2013VI) tidak diketahui: letakkan kegiatan di bawah judul bagian."]
    assert sheet.notes and "bagiannya perlu dipilih" in sheet.notes[0]


def test_target_column_reads_count_and_unit():
    sheet = read([["No", "Kegiatan", "Jml Sasaran", "Waktu"], ["II"],
                  [1, "Kelas BKB", "40 orang", "Mei 2025"], [2, "Penyuluhan", "12,5", "Mei 2025"],
                  [3, "Kunjungan", 1_200, "Mei 2025"]])
    rows = by_name(sheet)
    assert (rows["Kelas BKB"].target_count, rows["Kelas BKB"].target_unit) == (40, "orang")
    assert rows["Penyuluhan"].target_count is None and len(rows["Penyuluhan"].warnings) == 1
    assert not rows["Penyuluhan"].errors
    assert (rows["Kunjungan"].target_count, rows["Kunjungan"].target_unit) == (1_200, None)


def test_too_long_text_is_a_row_error_not_a_truncation():
    sheet = read(table(activity(1, "K" * 301), activity(2, "Baik", pelaksana="P" * 301)))
    assert sheet.rows[0].errors == ["Kegiatan terlalu panjang (301 karakter; paling banyak 300)."]
    assert sheet.rows[1].errors == ["Pelaksana terlalu panjang (301 karakter; paling banyak 300)."]


# -- what the preview reads ---------------------------------------------------------------------

def test_rows_become_plan_rows_read_like_the_row_form(app):
    sheet = read(table(
        activity(1, "Rapat pendataan", schedule="kapan-kapan", funding="Dana Desa", anggaran=1_500_000),
        activity(2, "Pemutakhiran data", schedule="Juni 2025", funding="Dana Desa, BOKB", anggaran=2_000_000),
        activity(3, "Rekap data", schedule="Maret 2025", funding="BOKB Rp 500.000", anggaran=700_000),
        activity(4, "Papan data", schedule="Juli 2025", funding=None, anggaran=250_000),
    ))
    built = {item.kegiatan: (item, row) for item, row in sheet_rows(sheet, YEAR)}
    assert all(row is not None and not item.errors for item, row in built.values())

    item, row = built["Rapat pendataan"]
    assert row.schedule_text == "kapan-kapan" and row.schedule_needs_completion
    assert "kapan-kapan" in row.schedule_problems
    assert [(s.type, s.amount) for s in row.funding_sources] == [("dana_desa", 1_500_000)]
    assert row.funding_problems is None and row.budget == 1_500_000
    assert (row.part, row.seksi, row.kegiatan, row.pelaksana) == ("I", "data", "Rapat pendataan", "Kader KB")

    item, row = built["Pemutakhiran data"]
    assert (row.frequency, str(row.start_date), str(row.end_date)) == ("period", "2025-06-01", "2025-06-30")
    assert not row.schedule_needs_completion
    assert [(s.type, s.amount) for s in row.funding_sources] == [("dana_desa", None), ("dak_bokb", None)]
    assert "belum dibagi ke 2 sumber dana" in row.funding_problems

    item, row = built["Rekap data"]
    assert [(s.type, s.amount) for s in row.funding_sources] == [("dak_bokb", 500_000)]
    assert any("berbeda" in w for w in item.warnings)

    item, row = built["Papan data"]
    assert [(s.type, s.amount) for s in row.funding_sources] == [("lainnya", 250_000)]
    assert "tanpa sumber dana" in row.funding_problems


def test_preview_names_the_sheet_row_of_an_error_and_offers_no_import(kb, client, login, db):
    login("sekretaris")
    data = xlsx(table(activity(1, "Rapat pendataan", schedule="kapan-kapan"),
                      activity(2, None, schedule="Juni 2025"),
                      activity(3, "Rekap data")))
    url = preview_url(upload(client, kb["kampung"], data))
    r = client.get(url)
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Baris 4: Nama kegiatan kosong." in body
    assert "3 kegiatan terbaca" in body and "1 salah" in body
    assert "Jadwal perlu dilengkapi" in body
    assert "Impor 3 kegiatan" not in body
    assert counts(db) == (0, 0, 0)


def test_unreadable_schedule_is_imported_flagged(kb, client, login, db):
    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], xlsx(table(activity(1, "Rapat", schedule="kapan-kapan")))))
    body = client.get(url).get_data(as_text=True)
    assert "Impor 1 kegiatan" in body and "1 perlu dilengkapi" in body
    assert client.post(url).status_code == 302
    row = db.session.scalar(db.select(PlanRow))
    assert row.schedule_text == "kapan-kapan" and row.schedule_needs_completion


# -- CSV ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_csv_with_any_usual_delimiter(delimiter):
    data = csv_bytes([
        ["Bagian", "No", "Kegiatan", "Pelaksana", "Mitra", "Waktu", "Sumber Dana", "Anggaran (Rp)"],
        ["I", "1", "Pendataan keluarga", "Kader KB; Tim PK", "Desa, PKK", "Juni 2025", "Dana Desa", "1.500.000"],
        ["III", "1", "Pelayanan KB", "Bidan", "", "Juli 2025", "APBD", ""],
    ], delimiter=delimiter)
    sheet = sheets.read_file(data, "rencana.csv")
    assert (sheet.kind, sheet.sheet, sheet.header_row) == ("csv", "CSV", 1)
    first, second = sheet.rows
    assert (first.part, first.kegiatan, first.anggaran) == ("I", "Pendataan keluarga", 1_500_000)
    assert (first.texts["pelaksana"], first.texts["mitra"]) == ("Kader KB; Tim PK", "Desa, PKK")
    assert (second.part, second.kegiatan, second.anggaran) == ("III", "Pelayanan KB", None)


def test_csv_with_title_lines_and_part_headers():
    data = csv_bytes([
        ["RENCANA KEGIATAN KAMPUNG KB 2025"],
        [],
        ["No", "Nama Kegiatan", "Pelaksana", "Jadwal"],
        ["II", "Perubahan perilaku"],
        ["1", "Kelas BKB", "Kader", "Mei 2025"],
        ["", "", "Kader PIK-R", ""],
        ["Jumlah", "", "", ""],
    ], delimiter=";")
    sheet = sheets.read_file(data, "rencana.csv")
    assert sheet.header_row == 3
    assert [(r.part, r.kegiatan, r.texts["pelaksana"]) for r in sheet.rows] == [("II", "Kelas BKB", "Kader, Kader PIK-R")]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp1252"])
def test_csv_encodings(encoding):
    data = csv_bytes([["No", "Kegiatan", "Pelaksana", "Waktu"], ["II"],
                      ["1", "Penyuluhan \u2013 ibu hamil", "Kader caf\u00e9", "Mei 2025"]], encoding=encoding)
    assert data.startswith(b"\xef\xbb\xbf") is (encoding == "utf-8-sig")
    sheet = sheets.read_file(data, "rencana.csv")
    assert sheet.columns[0] == ("number", "No")  # a BOM does not spoil the first header
    assert (sheet.rows[0].kegiatan, sheet.rows[0].texts["pelaksana"]) == ("Penyuluhan \u2013 ibu hamil", "Kader caf\u00e9")


def test_csv_apostrophe_guard_is_removed_but_text_stays_text(app):
    data = csv_bytes([["No", "Kegiatan", "Pelaksana", "Mitra", "Waktu", "Keterangan"], ["I"],
                      ["1", "'=cmd|' /C calc'!A0", "'+62 812 3456", "'-", "Juni 2025", "'biasa saja"]])
    sheet = sheets.read_file(data, "rencana.csv")
    row = sheet.rows[0]
    assert row.kegiatan == "=cmd|' /C calc'!A0"
    assert (row.texts["pelaksana"], row.texts["mitra"], row.texts["description"]) == ("+62 812 3456", "-", "'biasa saja")
    (_item, plan_row), = sheet_rows(sheet, YEAR)
    assert plan_row.kegiatan == "=cmd|' /C calc'!A0"


# -- hostile files ------------------------------------------------------------------------------

def _zip(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


def _zip_bomb():
    return rezip(SIMPLE, add={"xl/media/image1.bin": bytes(41 * 1024 * 1024)})


def _many_rows_xlsx(count=50_000):
    rows = '<row><c t="inlineStr"><is><t>x</t></is></c></row>' * count
    return with_sheet_rows(SIMPLE, rows, last_row=count + 3)


def _billion_laughs():
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    sst = (f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>'
           '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
           '<si><t>&lol9;</t></si></sst>')
    return with_shared_strings(SIMPLE, sst)


def _long_cell_xlsx(chars):
    return set_cell_xml(SIMPLE, "B3", f'<c r="B3" t="inlineStr"><is><t>{"a" * chars}</t></is></c>')


def _many_activities_csv(count):
    return csv_bytes([["No", "Kegiatan", "Waktu"], ["I"]] + [[str(i), f"Kegiatan {i}", "Mei 2025"]
                                                             for i in range(1, count + 1)])


HOSTILE = {
    "empty": (lambda: b"", "Berkas kosong."),
    "png": (lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02" + bytes(64),
            "bukan CSV atau Excel"),
    "pdf": (lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", "Berkas PDF"),
    "random-binary": (lambda: random.Random(20250101).randbytes(64 * 1024), "bukan CSV atau Excel"),
    "docx": (lambda: _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"}),
             "berkas Word (.docx)"),
    "zip-not-a-workbook": (lambda: _zip({"readme.txt": "halo"}), "bukan buku kerja Excel"),
    "truncated-xlsx": (lambda: SIMPLE[: len(SIMPLE) // 2], "rusak atau tidak lengkap"),
    "ole2-xls": (lambda: OLE2 + bytes(4096), "Format Excel lama (.xls)"),
    "ole2-encrypted": (lambda: OLE2 + bytes(1024) + "EncryptionInfo".encode("utf-16-le") + bytes(1024),
                       "kata sandi"),
    "zip-bomb": (_zip_bomb, "lebih dari 40 MB"),
    "50000-rows-xlsx": (_many_rows_xlsx, "lebih dari 5.000 baris"),
    "50000-rows-csv": (lambda: b"No,Kegiatan,Waktu\n" + b"1,x,Mei\n" * 50_000, "lebih dari 5.000 baris"),
    "1001-activities": (lambda: _many_activities_csv(1_001), "Lebih dari 1.000 kegiatan"),
    "10mb-cell-csv": (lambda: b"No,Kegiatan,Waktu\nI\n1," + b"a" * (10 * 1024 * 1024) + b",Mei\n",
                      "Berkas terlalu besar"),
    "4mb-cell-csv": (lambda: b'No,Kegiatan,Waktu\nI\n1,"' + b"a" * (4 * 1024 * 1024) + b'",Mei\n',
                     "paling banyak 10.000 karakter"),
    "20000-char-cell-csv": (lambda: b"No,Kegiatan,Waktu\nI\n1," + b"a" * 20_000 + b",Mei\n",
                            "Sel B3 berisi 20.000 karakter"),
    "10mb-cell-xlsx": (lambda: _long_cell_xlsx(10 * 1024 * 1024), "Sel B3 berisi 10.485.760 karakter"),
    "malformed-workbook-xml": (lambda: rezip(SIMPLE, replace={"xl/workbook.xml": b"<workbook><<garbage"}),
                               "tidak dapat dibaca"),
    "malformed-sheet-xml": (lambda: rezip(SIMPLE, replace={SHEET_XML: b"\x00\xffnot xml"}), "tidak dapat dibaca"),
    "billion-laughs": (_billion_laughs, "tidak dapat dibaca"),
    "over-5mb": (lambda: b"No,Kegiatan,Waktu\n" + b"1,Rapat,Mei\n" * 500_000, "Berkas terlalu besar"),
    "no-header": (lambda: b"halo,apa kabar\n1,2\n", "Tidak ditemukan baris judul kolom"),
    "header-only": (lambda: xlsx([HEADER, ["I"], [], ["Jumlah"]]), "Tidak ada kegiatan"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file_is_refused_cleanly(case, kb, client, login, db, tmp_path):
    build, fragment = HOSTILE[case]
    data = build()
    assert len(data) <= 11 * 1024 * 1024  # under the app's request limit: the reader must answer
    started = time.perf_counter()
    with pytest.raises(sheets.SheetRefused) as refused:
        sheets.read_file(data, f"{case}.xlsx")
    assert time.perf_counter() - started < 10
    message = str(refused.value)
    assert fragment in message

    login("sekretaris")
    r = upload(client, kb["kampung"], data, filename=f"{case}.xlsx")
    assert r.status_code == 422
    assert ("Pilih berkas Excel (.xlsx) atau CSV." if case == "empty" else fragment) in file_error(r)
    assert counts(db) == (0, 0, 0)
    assert staged_files(tmp_path) == []


def test_oversized_upload_message_does_not_understate_the_size(kb, client, login):
    """Regression: the route reads only MAX_UPLOAD_BYTES + 1 bytes and the reader reported that
    length, so any oversized upload was "Berkas terlalu besar (5.0 MB); paling besar 5 MB."."""
    login("sekretaris")
    r = upload(client, kb["kampung"], b"No,Kegiatan,Waktu\n" + b"1,Rapat,Mei\n" * 900_000, filename="besar.csv")
    assert r.status_code == 422
    message = file_error(r)
    assert "terlalu besar" in message and "5 MB" in message and "(5.0 MB)" not in message


@pytest.mark.parametrize("data", [
    b"No;Kegiatan;Waktu\nI\n1;Rapat \x81\x8d;Mei\n",
    bytes(range(1, 256)) * 64,
], ids=["csv-with-undefined-cp1252-bytes", "binary-without-nul"])
def test_undecodable_bytes_are_refused(data, kb, client, login, db):
    """Regression: bytes that are neither UTF-8 nor cp1252 (0x81, 0x8D, 0x8F, 0x90, 0x9D) with no
    NUL used to leave the decoded text unbound: UnboundLocalError, HTTP 500."""
    with pytest.raises(sheets.SheetRefused):
        sheets.read_file(data, "rencana.csv")
    login("sekretaris")
    assert upload(client, kb["kampung"], data, filename="rencana.csv").status_code == 422
    assert counts(db) == (0, 0, 0)


CELL = '<c r="H3" t="n"><v>1000</v></c>'


@pytest.mark.parametrize("old,new", [
    ("</row></sheetData>", '</row><row r="4"><c r="A4"><<</sheetData>'),
    (CELL, '<c r="H3" t="n"><v>seribu</v></c>'),
    (CELL, '<c r="H3" t="s"><v>99</v></c>'),
    (CELL, '<c r="H3" t="d"><v>bukan-tanggal</v></c>'),
    ('<row r="3">', '<row r="tiga">'),
    ("</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="G:G"/></mergeCells>'),
], ids=["broken-xml-after-dimension", "non-numeric-number", "shared-string-out-of-range", "bad-date",
        "bad-row-number", "whole-column-merge"])
def test_damaged_sheet_body_is_refused(old, new, kb, client, login, db):
    """Regression: openpyxl read-only parses rows lazily, after the workbook opened fine; its
    errors there (and a merge ref without rows) used to escape as HTTP 500."""
    data = edit_sheet(SIMPLE, lambda xml: xml.replace(old, new))
    login("sekretaris")
    r = upload(client, kb["kampung"], data)
    assert r.status_code == 422 and "tidak dapat dibaca" in file_error(r)
    assert counts(db) == (0, 0, 0)


def test_billion_laughs_is_refused_without_expanding():
    started = time.perf_counter()
    try:
        sheet = sheets.read_file(_billion_laughs(), "lol.xlsx")
    except sheets.SheetRefused:
        pass
    else:  # reading it safely would also do: no expanded text
        assert all(len(text) <= sheets.MAX_CELL_CHARS for r in sheet.rows for text in r.texts.values())
    assert time.perf_counter() - started < 5


def test_shared_strings_are_read(app):
    sst = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           'count="1" uniqueCount="1"><si><t>Kegiatan dari tabel string</t></si></sst>')
    sheet = sheets.read_file(with_shared_strings(SIMPLE, sst), "sst.xlsx")
    assert names(sheet) == ["Kegiatan dari tabel string"]


def test_hundred_columns_are_cut_at_forty():
    header = HEADER + [f"Kolom {i}" for i in range(9, 101)]
    header[59] = "Keterangan"  # column 60: beyond MAX_COLUMNS, so not read
    line = activity(1, "Pendataan keluarga") + [f"isi {i}" for i in range(9, 101)]
    sheet = read([header, ["I"], line])
    assert "description" not in dict(sheet.columns)
    assert len(sheet.ignored) == sheets.MAX_COLUMNS - len(HEADER)
    assert names(sheet) == ["Pendataan keluarga"] and "description" not in sheet.rows[0].texts


def test_hundred_columns_upload_is_fine(kb, client, login):
    line = activity(1, "Pendataan keluarga") + ["x"] * 92
    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], xlsx(table(line))))
    assert client.get(url).status_code == 200


def _rows_parsed_by_openpyxl(monkeypatch, data):
    """How many <row> elements openpyxl's worksheet reader parses while ``data`` is read."""
    from openpyxl.worksheet import _reader
    seen = {"rows": 0}
    original = _reader.iterparse

    def counting(source, *args, **kwargs):
        for event, element in original(source, *args, **kwargs):
            if element.tag.endswith("}row") or element.tag == "row":
                seen["rows"] += 1
            yield event, element
    monkeypatch.setattr(_reader, "iterparse", counting)
    with pytest.raises(sheets.SheetRefused, match="5.000 baris"):
        sheets.read_file(data, "besar.xlsx")
    return seen["rows"]


def test_row_limit_stops_reading_when_the_sheet_states_its_size(monkeypatch):
    data = with_sheet_rows(SIMPLE, '<row><c><v>1</v></c></row>' * 8_000, last_row=8_003)
    assert _rows_parsed_by_openpyxl(monkeypatch, data) <= 2 * (sheets.MAX_SHEET_ROWS + 1)


def test_row_limit_stops_reading_when_the_sheet_omits_its_size(monkeypatch):
    """Regression: without <dimension> openpyxl read-only scanned the whole sheet twice before
    the row limit applied (a 100 KB upload unpacking to 37 MB of rows took about a minute)."""
    data = with_sheet_rows(SIMPLE, '<row><c><v>1</v></c></row>' * 8_000, last_row=8_003, dimension=False)
    assert _rows_parsed_by_openpyxl(monkeypatch, data) <= 2 * (sheets.MAX_SHEET_ROWS + 1)


def test_rows_below_a_stale_dimension_are_not_dropped():
    """Regression: openpyxl read-only stops at the <dimension> the file states, so rows below a
    stale one were silently left out of the preview and the import."""
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="n"><v>{n - 2}</v></c>'
                   f'<c r="B{n}" t="inlineStr"><is><t>Kegiatan {n - 2}</t></is></c></row>' for n in range(4, 8))
    data = edit_sheet(SIMPLE, lambda xml: xml.replace("</sheetData>", rows + "</sheetData>"))
    assert 'ref="A1:H3"' in zipfile.ZipFile(io.BytesIO(data)).read(SHEET_XML).decode()
    assert names(sheets.read_file(data, "rencana.xlsx")) == [
        "Pendataan keluarga", "Kegiatan 2", "Kegiatan 3", "Kegiatan 4", "Kegiatan 5"]


def _duplicate_merges():
    return ['<mergeCell ref="C3:C500"/>'] * 1_000


def _overlapping_merges():
    return [f'<mergeCell ref="{col}{top}:{col}500"/>' for col in "CDEFGH" for top in range(3, 499)]


@pytest.mark.parametrize("merges", [_duplicate_merges, _overlapping_merges], ids=["duplicates", "overlapping"])
def test_many_merged_ranges_do_not_multiply_the_work(merges, monkeypatch):
    """Regression: every declared merge range was copied down the grid, duplicates and overlaps
    included (10.000 copies of C3:C5000 in a 74 KB upload took 136 s to read). The cells a
    merge fills are now bounded by the grid's limits: the file is read or refused, cheaply."""
    made = {"cells": 0}
    original = sheets.Cell

    class CountingCell(original):
        def __init__(self, *args, **kwargs):
            made["cells"] += 1
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(sheets, "Cell", CountingCell)
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="n"><v>{n}</v></c><c r="B{n}" t="inlineStr"><is><t>k{n}</t>'
                   f'</is></c></row>' for n in range(4, 501))
    declared = merges()
    block = f'<mergeCells count="{len(declared)}">' + "".join(declared) + "</mergeCells>"
    data = with_sheet_rows(SIMPLE, rows, last_row=500)
    data = edit_sheet(data, lambda xml: xml.replace("</sheetData>", "</sheetData>" + block))
    try:
        sheet = sheets.read_file(data, "merges.xlsx")
    except sheets.SheetRefused as refused:
        assert "digabung" in str(refused)
    else:
        assert len(sheet.rows) == 498
    assert made["cells"] <= 2 * sheets.MAX_SHEET_ROWS * sheets.MAX_COLUMNS


def _within(seconds, work):
    """Run ``work()``; (its result or the exception it raised, whether ``seconds`` ran out first).
    The alarm interrupts the work, so a slow reader fails the test in bounded time."""
    fired = []

    def ring(_signum, _frame):
        fired.append(True)
        raise TimeoutError("too slow")
    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        try:
            outcome = work()
        except Exception as exc:  # noqa: BLE001 - the caller looks at it
            outcome = exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return outcome, bool(fired)


def test_huge_shared_string_table_is_handled_quickly():
    sst = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<si><t>Pendataan keluarga</t></si>' + "<si><t>x</t></si>" * 600_000 + "</sst>")
    data = with_shared_strings(SIMPLE, sst)
    assert len(data) < 200_000
    outcome, too_slow = _within(3, lambda: sheets.read_file(data, "sst.xlsx"))
    assert not too_slow
    assert isinstance(outcome, (sheets.SheetPlan, sheets.SheetRefused)), repr(outcome)


# -- formulas -----------------------------------------------------------------------------------

def test_formula_without_cached_value_is_a_row_error(app):
    sheet = read(table(activity(1, "Pendataan keluarga", anggaran="=2*500000"), activity(2, "Rekap data")))
    first, second = sheet.rows
    assert len(first.errors) == 1 and "rumus" in first.errors[0] and "H3" in first.errors[0]
    assert first.anggaran is None and not second.errors
    built = sheet_rows(sheet, YEAR)
    assert built[0][1] is None and built[1][1] is not None


def test_formula_with_cached_value_uses_it_with_a_warning(app):
    data = set_cell_xml(xlsx(table(activity(1, "Pendataan keluarga", funding="Dana Desa", anggaran=1),
                                   activity(2, "Rekap data"),
                                   activity(3, "Papan data", funding="APBD", anggaran=1))),
                        "H5", '<c r="H5"><f>2*500000</f><v>1000000</v></c>')
    sheet = sheets.read_file(data, "rumus.xlsx")
    cached = sheet.rows[2]
    assert (cached.kegiatan, cached.anggaran, cached.errors) == ("Papan data", 1_000_000, [])
    assert len(cached.warnings) == 1 and "rumus" in cached.warnings[0] and "H5" in cached.warnings[0]
    item, row = sheet_rows(sheet, YEAR)[2]
    assert (item.kegiatan, item.errors) == ("Papan data", [])
    assert [(s.type, s.amount) for s in row.funding_sources] == [("apbd", 1_000_000)]


# -- import through the pages -------------------------------------------------------------------

def _mixed_parts():
    return xlsx([
        HEADER,
        ["II", "Perubahan perilaku"],
        activity(1, "Penyuluhan KB", funding="BOKB Rp 500.000"),
        ["I", "Penyediaan data"],
        activity(1, "Pendataan keluarga", funding="Dana Desa", anggaran=1_500_000),
        activity(2, "Rekap data", schedule="kapan-kapan"),
        ["II"],
        activity(2, "Kelas BKB", schedule="Maret 2025"),
        ["V", "Operasional Kampung KB (BOKB)"],
        activity(1, "Rapat Pokja", pelaksana="Seksi Data", funding="BOKB"),
    ])


def test_import_creates_a_draft_with_rows_in_part_order(kb, client, login, db):
    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], _mixed_parts(), filename="Dokumen/rencana 2025.xlsx"))
    body = client.get(url).get_data(as_text=True)
    assert "Akan dibuat draf baru" in body and "Impor 5 kegiatan" in body
    assert counts(db) == (0, 0, 0)  # the preview stores nothing

    r = client.post(url)
    plan = db.session.scalar(db.select(Plan))
    assert r.status_code == 302 and r.headers["Location"] == f"/rencana/{plan.id}"
    assert (plan.kampung_id, plan.year, plan.status, plan.revision) == (kb["kampung"].id, YEAR, "draf", 0)
    assert [(row.part, number, row.kegiatan) for number, row in content.ordered_rows(plan)] == [
        ("I", 1, "Pendataan keluarga"), ("I", 2, "Rekap data"),
        ("II", 1, "Penyuluhan KB"), ("II", 2, "Kelas BKB"),
        ("V", 1, "Rapat Pokja"),
    ]
    rows = {row.kegiatan: row for row in plan.rows}
    assert rows["Rapat Pokja"].seksi == "data" and rows["Kelas BKB"].seksi == "perilaku"
    assert rows["Pendataan keluarga"].budget == 1_500_000
    assert rows["Rekap data"].schedule_needs_completion
    entries = [e for e in audit.entries_for_plan(plan) if e.action == "plan.import"]
    assert len(entries) == 1
    assert json.loads(entries[0].changes) == {"Diimpor dari": [None, "rencana 2025.xlsx"],
                                              "Jumlah kegiatan": [None, 5]}
    assert entries[0].user_id == kb["sekretaris"].id
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "5 kegiatan diimpor ke Rencana Kegiatan 2025 (draf)" in page


def test_one_bad_row_imports_nothing(kb, client, login, db):
    login("sekretaris")
    data = xlsx(table(activity(1, "Pendataan keluarga"), activity(2, "Rekap data"),
                      ["V"], activity(1, "Pembelian ATK", pelaksana="Bendahara")))
    url = preview_url(upload(client, kb["kampung"], data))
    assert "1 salah" in client.get(url).get_data(as_text=True)
    r = client.post(url)
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "1 baris masih salah (pertama: baris 6: Bagian V tidak punya seksi bawaan" in html.unescape(body)
    assert counts(db) == (0, 0, 0)
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)) == 0
    assert client.get(url).status_code == 200  # still staged: the user may look again


def test_import_sheet_service_is_all_or_nothing(kb, db):
    plan = create_plan(kb["kampung"], YEAR, by=kb["sekretaris"])
    add_row(plan, {"part": "II", "kegiatan": "Kelas BKB", "schedule_text": "Mei 2025"}, by=None)
    db.session.commit()
    before = counts(db)
    sheet = read(table(activity(1, "Baik"), activity(2, "Rumus", anggaran="=1+1")))
    with pytest.raises(PlanError, match="1 baris masih salah"):
        import_sheet(sheet, kb["kampung"], YEAR, by=kb["sekretaris"])
    db.session.rollback()
    assert counts(db) == before and [r.kegiatan for r in plan.rows] == ["Kelas BKB"]


def test_import_appends_to_the_years_draft(kb, client, login, db):
    plan = create_plan(kb["kampung"], YEAR, by=kb["sekretaris"])
    add_row(plan, {"part": "II", "kegiatan": "Kelas BKB", "schedule_text": "Mei 2025"}, by=None)
    db.session.commit()
    login("ketua")
    url = preview_url(upload(client, kb["kampung"], xlsx(table(
        activity(1, "Pendataan keluarga"), ["II"], activity(1, "Penyuluhan KB"), activity(2, "Kelas BKB")))))
    body = client.get(url).get_data(as_text=True)
    assert "ditambahkan" in body and "sudah berisi 1 kegiatan" in body
    r = client.post(url)
    assert r.status_code == 302 and r.headers["Location"] == f"/rencana/{plan.id}"
    assert db.session.scalar(db.select(db.func.count()).select_from(Plan)) == 1
    db.session.refresh(plan)
    assert [(row.part, number, row.kegiatan) for number, row in content.ordered_rows(plan)] == [
        ("I", 1, "Pendataan keluarga"), ("II", 1, "Kelas BKB"), ("II", 2, "Penyuluhan KB"), ("II", 3, "Kelas BKB")]
    assert len(import_actions(plan)) == 1


def _exported(kb, db):
    """An XLSX exported from a 2025 plan whose one schedule was completed by hand."""
    plan = create_plan(kb["kampung"], YEAR, by=None)
    add_row(plan, {"part": "I", "kegiatan": "Pendataan keluarga", "schedule_text": "kalau sempat",
                   "schedule_read_from": "kalau sempat", "frequency": "monthly", "start_date": date(2025, 4, 1),
                   "end_date": date(2025, 9, 30), "funding_text": "Dana Desa Rp 1.500.000"}, by=None)
    add_row(plan, {"part": "II", "kegiatan": "Kelas BKB", "schedule_text": "Mei 2025", "funding_text": "BOKB"},
            by=None)
    db.session.commit()
    return office.to_xlsx(plan)


def _edit_structure(data, old, new):
    """``data`` with ``old`` replaced by ``new`` in the hidden structure sheet's JSON."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    for name in archive.namelist():
        if name.startswith("xl/worksheets/sheet"):
            xml = html.unescape(archive.read(name).decode("utf-8"))
            if sheets.STRUCTURE_FORMAT in xml:
                assert old in xml
                changed = xml.replace(old, new).replace("&", "&amp;")
                return rezip(data, replace={name: changed})
    raise AssertionError("no hidden structure sheet")


def test_exported_workbook_imports_into_the_next_year_keeping_completed_schedules(kb, client, login, db):
    data = _exported(kb, db)
    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], data, filename="rencana-2025.xlsx", year=YEAR + 1))
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    copy = db.session.scalar(db.select(Plan).filter_by(year=YEAR + 1))
    rows = {row.kegiatan: row for row in copy.rows}
    done = rows["Pendataan keluarga"]
    assert (done.schedule_text, done.frequency, done.start_date, done.end_date) == (
        "kalau sempat", "monthly", date(2026, 4, 1), date(2026, 9, 30))
    assert not done.schedule_needs_completion and done.budget == 1_500_000
    assert (rows["Kelas BKB"].part, rows["Kelas BKB"].seksi) == ("II", "perilaku")


@pytest.mark.parametrize("old,new", [
    ('"amount": 1500000', '"amount": "banyak"'),
    ('"amount": 1500000', '"amount": -1500000'),
    ('"interval": 1', '"interval": "dua"'),
    pytest.param('"detail": null', '"detail": {"a": 1}'),
    pytest.param('"detail": null', '"detail": "' + "x" * 500 + '"'),
], ids=["text-amount", "negative-amount", "text-interval", "object-detail", "long-detail"])
def test_tampered_hidden_structure_is_not_trusted(old, new, kb, client, login, db):
    """Regression (amounts, interval): values of the hidden sheet used to be stored unchecked - a
    text amount crashed the preview, a negative one the confirm (HTTP 500)."""
    data = _edit_structure(_exported(kb, db), old, new)
    before = counts(db)
    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], data, year=YEAR + 1))
    assert client.get(url).status_code == 200
    r = client.post(url)
    assert r.status_code in (302, 422)
    if r.status_code == 302:
        copy = db.session.scalar(db.select(Plan).filter_by(year=YEAR + 1))
        assert client.get(f"/rencana/{copy.id}").status_code == 200
        for row in copy.rows:
            assert isinstance(row.interval, int) and row.interval >= 1
            assert all(s.amount is None or (isinstance(s.amount, int) and s.amount >= 0)
                       for s in row.funding_sources)
            assert all(s.detail is None or (isinstance(s.detail, str) and len(s.detail) <= 120)
                       for s in row.funding_sources)
    else:
        assert counts(db) == before


def test_import_into_an_approved_year_is_refused(kb, client, login, db):
    plan = create_plan(kb["kampung"], YEAR, by=kb["sekretaris"])
    add_row(plan, {"part": "I", "kegiatan": "Pendataan", "schedule_text": "Mei 2025"}, by=None)
    db.session.commit()
    approval.perform(plan, "ajukan", kb["ketua"], password=PASSWORD)
    db.session.commit()
    approval.perform(plan, "setujui", kb["lurah"], password=PASSWORD)
    db.session.commit()
    assert plan.status == "disetujui"
    before = counts(db)

    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], SIMPLE))
    body = client.get(url).get_data(as_text=True)
    assert "berstatus Disetujui" in body and "revisi" in body
    assert "Impor 1 kegiatan" not in body
    r = client.post(url)
    assert r.status_code == 422 and "revisi" in r.get_data(as_text=True)
    assert counts(db) == before
    with pytest.raises(PlanError, match="revisi"):
        import_sheet(sheets.read_file(SIMPLE, "x.xlsx"), kb["kampung"], YEAR, by=kb["sekretaris"])


def test_reload_never_imports_twice(kb, client, login, db):
    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], SIMPLE))
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200
    assert counts(db)[:2] == (0, 0)
    assert client.post(url).status_code == 302
    assert counts(db)[:2] == (1, 1)
    again = client.post(url, follow_redirects=True)
    assert again.request.path == f"/kampung/{kb['kampung'].id}/rencana/impor"
    assert "sudah tidak tersedia" in again.get_data(as_text=True)
    assert client.get(url).status_code == 302
    assert counts(db)[:2] == (1, 1)


def test_cancel_discards_the_upload(kb, client, login, db, tmp_path):
    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], SIMPLE))
    assert len(staged_files(tmp_path)) == 2
    r = client.post(url, data={"batal": "1"})
    assert r.status_code == 302 and r.headers["Location"] == f"/kampung/{kb['kampung'].id}/rencana"
    assert staged_files(tmp_path) == [] and counts(db) == (0, 0, 0)
    assert client.post(url).status_code == 302 and counts(db) == (0, 0, 0)


def test_a_token_belongs_to_its_uploader(kb, client, login, db):
    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], SIMPLE))
    login("ketua")  # may import too, but not someone else's upload
    r = client.get(url, follow_redirects=True)
    assert r.request.path == f"/kampung/{kb['kampung'].id}/rencana/impor"
    assert "sudah tidak tersedia" in r.get_data(as_text=True)
    assert client.post(url).status_code == 302
    assert counts(db) == (0, 0, 0)
    login("sekretaris")
    assert client.get(url).status_code == 200  # still there for its owner


def test_a_token_belongs_to_its_kampung(kb, client, login, db):
    login("admin")
    token = TOKEN_URL.match(preview_url(upload(client, kb["kampung"], SIMPLE))).group(2)
    elsewhere = f"/kampung/{kb['other_kampung'].id}/rencana/impor/{token}"
    r = client.post(elsewhere)
    assert r.status_code == 302 and r.headers["Location"] == f"/kampung/{kb['other_kampung'].id}/rencana/impor"
    assert counts(db) == (0, 0, 0)


@pytest.mark.parametrize("token", ["bukan-token", "../../etc/passwd", "A" * 22])
def test_unknown_tokens_go_back_to_upload(kb, client, login, token):
    login("sekretaris")
    r = client.get(f"/kampung/{kb['kampung'].id}/rencana/impor/{token}")
    assert r.status_code in (302, 404)


IMPORT_ACCESS = {"admin": 200, "operator": 200, "operator_kecamatan": 200, "ketua": 200, "sekretaris": 200,
                 "lurah": 403, "seksi_head": 403, "anggota": 403,
                 "operator_other": 404, "outsider": 404, "no_position": 404}


@pytest.mark.parametrize("role", list(IMPORT_ACCESS))
def test_who_may_import(role, kb, client, login, db):
    login("sekretaris")
    url = preview_url(upload(client, kb["kampung"], SIMPLE))
    login(kb[role].username)
    expected = IMPORT_ACCESS[role]
    assert client.get(f"/kampung/{kb['kampung'].id}/rencana/impor").status_code == expected
    posted = upload(client, kb["kampung"], SIMPLE)
    if expected == 200:
        assert TOKEN_URL.match(preview_url(posted))
    else:
        assert posted.status_code == expected
        assert client.get(url).status_code == expected
        assert client.post(url).status_code == expected
    assert counts(db) == (0, 0, 0)


def test_anonymous_is_sent_to_login(kb, client):
    r = upload(client, kb["kampung"], SIMPLE)
    assert r.status_code == 302 and r.headers["Location"].startswith("/masuk")


def test_upload_form_checks_the_year(kb, client, login, tmp_path):
    login("sekretaris")
    r = client.post(f"/kampung/{kb['kampung'].id}/rencana/impor",
                    data={"year": "1999", "file": (io.BytesIO(SIMPLE), "rencana.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and staged_files(tmp_path) == []
