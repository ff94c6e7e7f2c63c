"""Office documents of a plan: the XLSX and CSV round trip through the importer, the XLSX layout,
the print view and its PDF (signatures, QR code, public verification), escaping and the PDF
renderer's URL fetcher, who may download, and the download responses."""
import csv
import io
import json
import re
import zipfile
from datetime import date, time
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from openpyxl import load_workbook

from portal import create_app
from portal.blueprints.plans import approval, content, office, printing, sheets
from portal.blueprints.plans.services import add_row, create_plan, sheet_rows
from portal.extensions import db
from portal.models import KampungKB, PokjaPosition, User, Wilayah
from portal.models.plan import PARTS
from tests.conftest import PASSWORD, RequestLikeClient

YEAR = 2025
LURAH_NAME = "Drs. Bambang Sutrisno"
KETUA_NAME = "Hj. Siti Rahmawati"
XSS = '<img src="file:///etc/passwd"><script>alert(1)</script>'
HAND_TEXT = "Sesuai jadwal posyandu"  # unreadable: completed by hand with the structured fields
HEADERS = ["No", "Kegiatan", "Pelaksana", "Seksi", "Sasaran", "Jumlah Sasaran", "Mitra", "Tempat", "Waktu",
           "Sumber Dana", "Anggaran (Rp)", "Keterangan"]
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Rows in several parts (III stays empty); every schedule but HAND_TEXT reads from its text.
READABLE_ROWS = [
    {"part": "I", "kegiatan": "Pemutakhiran data keluarga", "pelaksana": "Kader PPKBD", "sasaran": "Seluruh keluarga",
     "target_count": 350, "target_unit": "KK", "mitra": "Pemerintah Desa", "place": "Balai Desa",
     "schedule_text": "Januari - Maret", "funding_text": "Dana Desa Rp 1.500.000; Swadaya Rp 500.000",
     "description": "Rumah Data Kependudukan diperbarui tiap triwulan"},
    {"part": "I", "kegiatan": '=HYPERLINK("http://evil.example/x","klik")', "pelaksana": "+62 812 0000 0000",
     "schedule_text": "Setiap bulan", "funding_text": "Swadaya"},  # formula-looking text, funding without amount
    {"part": "II", "kegiatan": "Kelas BKB", "seksi": "data", "sasaran": "- Keluarga balita", "mitra": "@Puskesmas",
     "target_count": 25, "schedule_text": "Tiap Sabtu Februari - April", "funding_text": "BOKB Rp 750.000"},
    {"part": "IV", "kegiatan": "Kerja bakti jamban sehat", "place": "RT 01-04", "schedule_text": "Triwulan",
     "funding_text": "APBD"},
    {"part": "V", "kegiatan": "Rapat koordinasi Pokja", "seksi": "layanan", "pelaksana": "Ketua Pokja",
     "schedule_text": "Sebulan sekali", "funding_text": "BOKB Rp 600.000"},
    {"part": "VI", "kegiatan": "Pemberian makanan tambahan", "seksi": "perilaku", "pelaksana": "Seksi Perilaku",
     "schedule_text": "Agustus 2025", "funding_text": "Dana Desa Rp 3.000.000", "description": "+ PMT lokal"},
]
HAND_ROW = {"part": "II", "kegiatan": "Penyuluhan KB di Posyandu", "pelaksana": "Bidan Desa", "sasaran": "PUS",
            "target_count": 40, "target_unit": "pasangan", "schedule_text": HAND_TEXT, "frequency": "monthly",
            "start_date": date(YEAR, 2, 1), "end_date": date(YEAR, 11, 30), "day_of_month": 10,
            "start_time": time(9, 0), "duration_minutes": 120, "funding_text": "BOKB Rp 2.000.000"}
ROWS = READABLE_ROWS[:2] + [HAND_ROW] + READABLE_ROWS[2:]


# -- helpers ----------------------------------------------------------------------------------------

@pytest.fixture
def kb(pokja):
    """The pokja fixture with the Lurah's and Ketua's positions naming someone other than the
    account's full name (a signature carries the position's name)."""
    for role, name in (("lurah", LURAH_NAME), ("ketua", KETUA_NAME)):
        pokja[role].active_positions(pokja["kampung"])[0].person_name = name
    db.session.commit()
    return pokja


def make_plan(kampung, by, rows=ROWS, year=YEAR):
    plan = create_plan(kampung, year, by=by)
    for data in rows:
        add_row(plan, dict(data), by=by)
    db.session.commit()
    return plan


def approve(plan, ketua, lurah):
    """Submitted and signed by the Ketua, approved (signed) by the Lurah."""
    approval.perform(plan, "ajukan", ketua, password=PASSWORD)
    db.session.commit()
    approval.perform(plan, "setujui", lurah, password=PASSWORD)
    db.session.commit()
    assert plan.status == "disetujui" and plan.verification_code


def comparable(row):
    item = content.row_content(row)
    del item["lineage"], item["number"]
    return item


def originals(plan):
    return [comparable(row) for _number, row in content.ordered_rows(plan)]


def read_back(data, filename, year=YEAR):
    sheet = sheets.read_file(data, filename)
    return sheet, sheet_rows(sheet, year)


def hand_row(plan):
    return next(r for r in plan.rows if r.schedule_text == HAND_TEXT)


def visible(data):
    return load_workbook(io.BytesIO(data)).worksheets[0]


def texts_of(sheet):
    return [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]


def find(sheet, value):
    return next(c for row in sheet.iter_rows() for c in row if c.value == value)


def location(response):
    return urlparse(response.headers["Location"]).path


def disposition_filename(response, ext):
    header = response.headers["Content-Disposition"]
    match = re.fullmatch(r'attachment; filename="([a-z0-9][a-z0-9-]*\.' + ext + ')"', header)
    assert match, header
    return match.group(1)


@pytest.fixture
def plan(kb):
    return make_plan(kb["kampung"], kb["sekretaris"])


# -- 1. round trip ----------------------------------------------------------------------------------

def test_hand_completed_row_is_complete_with_unreadable_text(plan):
    row = hand_row(plan)
    assert row.schedule_problems is None and not row.schedule_needs_completion
    assert (row.frequency, row.start_date, row.end_date) == ("monthly", date(YEAR, 2, 1), date(YEAR, 11, 30))


def test_xlsx_round_trip_gives_the_same_rows(plan):
    sheet, built = read_back(office.to_xlsx(plan), "rencana.xlsx")
    assert sheet.kind == "xlsx" and sheet.notes == []
    assert [(item.errors, item.warnings) for item, _row in built] == [([], [])] * len(ROWS)
    assert all(row is not None for _item, row in built)
    assert [comparable(row) for _item, row in built] == originals(plan)
    # the structure came from the hidden sheet for every row
    assert all(item.structure for item, _row in built)


def test_xlsx_round_trip_keeps_hand_completed_schedule(plan):
    _sheet, built = read_back(office.to_xlsx(plan), "rencana.xlsx")
    row = next(row for _item, row in built if row.schedule_text == HAND_TEXT)
    assert row.schedule_problems is None and not row.schedule_needs_completion
    assert (row.frequency, row.start_date, row.end_date, row.day_of_month, row.start_time,
            row.duration_minutes) == ("monthly", date(YEAR, 2, 1), date(YEAR, 11, 30), 10, time(9, 0), 120)


def test_xlsx_round_trip_keeps_formula_looking_text(plan):
    _sheet, built = read_back(office.to_xlsx(plan), "rencana.xlsx")
    rows = [row for _item, row in built]
    assert rows[1].kegiatan == READABLE_ROWS[1]["kegiatan"] and rows[1].pelaksana == "+62 812 0000 0000"
    assert rows[-1].description == "+ PMT lokal"


def edit_schedule(data, old, new):
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    cell = find(sheet, old)
    assert cell.column == HEADERS.index("Waktu") + 1
    cell.value = new
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_edited_cell_is_read_again_from_its_text(plan):
    edited = edit_schedule(office.to_xlsx(plan), HAND_TEXT, "Maret - Mei")
    _sheet, built = read_back(edited, "rencana.xlsx")
    assert all(item.errors == [] and row is not None for item, row in built)
    before = originals(plan)
    after = [comparable(row) for _item, row in built]
    index = next(i for i, item in enumerate(before) if item["schedule"]["text"] == HAND_TEXT)
    # the edited row: its schedule read from the new text, not the stored structure; its
    # funding (cells not edited) still comes from the structure
    assert built[index][0].structure["schedule"] is None
    assert built[index][0].structure["funding"] is not None
    schedule = after[index]["schedule"]
    assert schedule["text"] == "Maret - Mei"
    assert (schedule["frequency"], schedule["start_date"], schedule["end_date"]) == (
        "period", f"{YEAR}-03-01", f"{YEAR}-05-31")
    assert schedule["day_of_month"] is None and schedule["start_time"] is None
    assert schedule["duration_minutes"] is None
    row = built[index][1]
    assert row.schedule_problems is None
    # the rest of the edited row is unchanged (funding read again from its text gives the same)
    assert {k: v for k, v in after[index].items() if k != "schedule"} == \
        {k: v for k, v in before[index].items() if k != "schedule"}
    # every other row keeps its structure
    assert after[:index] + after[index + 1:] == before[:index] + before[index + 1:]
    assert all(item.structure for i, (item, _row) in enumerate(built) if i != index)


def test_xlsx_edited_budget_text_drops_the_stored_structure(plan):
    """Changing a row's Sumber Dana text makes the row read from its text (funding and
    schedule), so the hidden sheet cannot contradict what the user sees."""
    workbook = load_workbook(io.BytesIO(office.to_xlsx(plan)))
    sheet = workbook.worksheets[0]
    cell = find(sheet, READABLE_ROWS[0]["funding_text"])
    cell.value = "Dana Desa Rp 2.500.000"
    out = io.BytesIO()
    workbook.save(out)
    _sheet, built = read_back(out.getvalue(), "rencana.xlsx")
    item, row = built[0]
    assert item.structure["funding"] is None and item.errors == []
    assert item.structure["schedule"] is not None  # the Waktu cell was not edited
    assert [(s.type, s.amount) for s in row.funding_sources] == [("dana_desa", 2_500_000)]
    # Anggaran still says 2.000.000: the importer says which one it used
    assert any("berbeda" in w for w in item.warnings)
    assert comparable(row)["schedule"] == originals(plan)[0]["schedule"]


def test_csv_round_trip_of_rows_read_from_text(kb):
    plan = make_plan(kb["kampung"], kb["sekretaris"], rows=READABLE_ROWS)
    sheet, built = read_back(office.to_csv(plan), "rencana.csv")
    assert sheet.kind == "csv"
    assert [item.errors for item, _row in built] == [[]] * len(READABLE_ROWS)
    assert [comparable(row) for _item, row in built] == originals(plan)


def test_csv_guards_formula_text_with_an_apostrophe(kb):
    plan = make_plan(kb["kampung"], kb["sekretaris"], rows=READABLE_ROWS)
    lines = list(csv.reader(io.StringIO(office.to_csv(plan).decode("utf-8-sig"))))
    cells = [cell for line in lines[1:] for cell in line]
    assert "'" + READABLE_ROWS[1]["kegiatan"] in cells
    assert "'+62 812 0000 0000" in cells and "'- Keluarga balita" in cells and "'@Puskesmas" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


# -- 2. XLSX layout ---------------------------------------------------------------------------------

def header_row(sheet):
    return next(r for r in range(1, 20) if sheet.cell(r, 2).value == "Kegiatan")


def test_xlsx_title_and_header_rows(plan):
    sheet = visible(office.to_xlsx(plan))
    assert sheet.title == f"Rencana {YEAR}"
    assert sheet["A1"].value == "RENCANA KEGIATAN KAMPUNG KB"
    assert sheet["A2"].value == "KAMPUNG KB HARARA"
    assert "Harara" in sheet["A3"].value and "Barito Timur" in sheet["A3"].value
    assert sheet["A4"].value.startswith(f"Tahun {YEAR}") and "Draf" in sheet["A4"].value
    assert "A1:L1" in {str(r) for r in sheet.merged_cells.ranges}
    line = header_row(sheet)
    assert [sheet.cell(line, c).value for c in range(1, 13)] == HEADERS
    assert all(sheet.cell(line, c).font.b for c in range(1, 13))
    assert sheet.freeze_panes == f"A{line + 1}"
    assert sheet.page_setup.orientation == "landscape"


def test_xlsx_parts_rows_and_totals(plan):
    sheet = visible(office.to_xlsx(plan))
    start = header_row(sheet) + 1
    part_lines = {sheet.cell(r, 1).value: r for r in range(start, sheet.max_row + 1)
                  if sheet.cell(r, 1).value in PARTS}
    assert list(part_lines) == ["I", "II", "III", "IV", "V", "VI"]
    for key, line in part_lines.items():
        assert sheet.cell(line, 2).value == PARTS[key][0]
        assert sheet.cell(line, 1).font.b
    # numbered activities under their part, then "Jumlah bagian" with the part's total
    expected_totals = {"I": 2_000_000, "II": 2_750_000, "III": 0, "IV": 0, "V": 600_000, "VI": 3_000_000}
    keys = list(part_lines)
    for i, key in enumerate(keys):
        first = part_lines[key] + 1
        end = part_lines[keys[i + 1]] if i + 1 < len(keys) else sheet.max_row + 1
        total_line = next(r for r in range(first, end) if sheet.cell(r, 2).value == f"Jumlah bagian {key}")
        activities = list(range(first, total_line))
        assert [sheet.cell(r, 1).value for r in activities] == list(range(1, len(plan.rows_in(key)) + 1))
        total = sheet.cell(total_line, 11)
        assert total.value == expected_totals[key] and total.data_type == "n" and total.number_format != "General"
    grand = find(sheet, "JUMLAH SELURUHNYA")
    assert sheet.cell(grand.row, 11).value == sum(expected_totals.values())


def test_xlsx_cells_budget_and_wrapping(plan):
    sheet = visible(office.to_xlsx(plan))
    first = find(sheet, READABLE_ROWS[0]["kegiatan"])
    values = [sheet.cell(first.row, c).value for c in range(1, 13)]
    assert values == [1, READABLE_ROWS[0]["kegiatan"], "Kader PPKBD", "Penyediaan Data", "Seluruh keluarga",
                      "350 KK", "Pemerintah Desa", "Balai Desa", "Januari - Maret",
                      "Dana Desa Rp 1.500.000; Swadaya Rp 500.000", 2_000_000,
                      "Rumah Data Kependudukan diperbarui tiap triwulan"]
    budget = sheet.cell(first.row, 11)
    assert isinstance(budget.value, int) and budget.data_type == "n" and "#,##0" in budget.number_format
    # no amount in the text: the Anggaran cell stays empty (not 0)
    unbudgeted = find(sheet, "Kerja bakti jamban sehat")
    assert sheet.cell(unbudgeted.row, 11).value is None
    for c in range(1, 13):
        assert sheet.cell(first.row, c).alignment.wrap_text
    # Part V's seksi is written out, the form has no default for it
    part_v = find(sheet, "Rapat koordinasi Pokja")
    assert sheet.cell(part_v.row, 4).value == "Layanan dan Rujukan"


def test_xlsx_column_widths(plan):
    sheet = visible(office.to_xlsx(plan))
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFGHIJKL"}
    assert all(width and width >= 5 for width in widths.values()), widths
    assert widths["B"] == max(widths.values())  # Kegiatan is the widest


def test_xlsx_formula_looking_text_is_a_string(plan):
    data = office.to_xlsx(plan)
    sheet = visible(data)
    for text in (READABLE_ROWS[1]["kegiatan"], "+62 812 0000 0000", "- Keluarga balita", "@Puskesmas", "+ PMT lokal"):
        cell = find(sheet, text)
        assert cell.data_type == "s", text
        assert cell.quotePrefix, text
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)


def test_xlsx_hidden_structure_sheet(plan):
    workbook = load_workbook(io.BytesIO(office.to_xlsx(plan)))
    assert workbook.sheetnames == [f"Rencana {YEAR}", sheets.STRUCTURE_SHEET]
    hidden = workbook[sheets.STRUCTURE_SHEET]
    assert hidden.sheet_state == "hidden"
    assert workbook.worksheets[0].sheet_state == "visible"
    assert hidden["A1"].value == sheets.STRUCTURE_FORMAT
    assert hidden["B1"].value == YEAR
    entries = [json.loads(hidden.cell(r, 3).value) for r in range(2, hidden.max_row + 1)]
    assert len(entries) == len(ROWS)
    assert {"monthly"} <= {e["schedule"]["frequency"] for e in entries}


def test_xlsx_signature_block_of_a_draft(plan):
    sheet = visible(office.to_xlsx(plan))
    texts = texts_of(sheet)
    assert "Mengetahui," in texts and "Lurah/Kepala Desa" in texts and "Ketua Pokja Kampung KB" in texts
    assert texts.count("(........................................)") == 2
    assert "Ditandatangani secara elektronik" not in texts
    assert not any(t.startswith("Kode verifikasi") for t in texts)
    # below the totals
    assert find(sheet, "Mengetahui,").row > find(sheet, "JUMLAH SELURUHNYA").row


def test_xlsx_of_an_approved_plan_names_the_signers(kb, plan, app, client, login):
    approve(plan, kb["ketua"], kb["lurah"])
    login("anggota")
    response = client.get(f"/rencana/{plan.id}/unduh.xlsx")
    assert response.status_code == 200
    sheet = visible(response.data)
    texts = texts_of(sheet)
    assert LURAH_NAME in texts and KETUA_NAME in texts
    assert texts.count("Ditandatangani secara elektronik") == 2
    assert "(........................................)" not in texts
    code = plan.verification_code
    url = app.config["PUBLIC_URL"].rstrip("/") + f"/verifikasi/{code}"
    assert f"Kode verifikasi: {code} \u00b7 {url}" in texts
    assert "Disetujui" in sheet["A4"].value
    # the signed document still reads back to the same rows
    _sheet, built = read_back(response.data, "rencana.xlsx")
    assert [comparable(row) for _item, row in built] == originals(plan)


def test_xlsx_template_is_the_empty_form_and_is_refused_on_import(kb, client, login):
    login("sekretaris")
    response = client.get(f"/kampung/{kb['kampung'].id}/rencana/contoh.xlsx?tahun=2026")
    assert response.status_code == 200 and response.mimetype == XLSX_MIME
    assert disposition_filename(response, "xlsx") == "contoh-rencana-kegiatan-2026.xlsx"
    sheet = visible(response.data)
    assert sheet["A4"].value.startswith("Tahun 2026")
    line = header_row(sheet)
    assert [sheet.cell(line, c).value for c in range(1, 13)] == HEADERS
    assert [sheet.cell(r, 1).value for r in range(line + 1, sheet.max_row + 1)
            if sheet.cell(r, 1).value in PARTS] == list(PARTS)
    with pytest.raises(sheets.SheetRefused, match="Tidak ada kegiatan"):
        sheets.read_file(response.data, "contoh.xlsx")


def test_xlsx_template_year_out_of_range_falls_back(kb, client, login):
    login("sekretaris")
    response = client.get(f"/kampung/{kb['kampung'].id}/rencana/contoh.xlsx?tahun=1900")
    assert response.status_code == 200
    year = kb["kampung"].today().year
    assert disposition_filename(response, "xlsx") == f"contoh-rencana-kegiatan-{year}.xlsx"


# -- 3./4. print view and PDF -----------------------------------------------------------------------

def test_print_view_of_a_draft_has_watermark_and_no_qr(plan, client, login):
    login("anggota")
    response = client.get(f"/rencana/{plan.id}/cetak")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert re.search(r'<div class="watermark"[^>]*>DRAF</div>', html)
    assert "<svg" not in html and "Kode verifikasi" not in html and "/verifikasi/" not in html
    assert "belum disetujui" in html
    assert html.count("(........................................)") == 2
    assert "Tidak ada kegiatan." in html  # part III


def test_print_view_escapes_row_text(kb, client, login):
    plan = make_plan(kb["kampung"], kb["sekretaris"],
                     rows=[{"part": "I", "kegiatan": XSS, "description": "<b>tebal</b>", "schedule_text": "Mei"}])
    login("anggota")
    html = client.get(f"/rencana/{plan.id}/cetak").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=\"file:" not in html and "<b>tebal" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=" in html and "&lt;b&gt;tebal&lt;/b&gt;" in html


def test_print_context_of_an_approved_plan(kb, plan, app):
    approve(plan, kb["ketua"], kb["lurah"])
    with app.test_request_context():  # url_for outside a request needs one
        context = printing.print_context(plan)
        html = printing.print_html(plan)
        direct = printing.verify_url(plan)
    url = app.config["PUBLIC_URL"].rstrip("/") + f"/verifikasi/{plan.verification_code}"
    assert context["draft"] is False and context["superseded"] is False
    assert context["verify_url"] == direct == url
    assert set(context["signatures"]) == {"ketua", "lurah"}
    assert context["qr"].startswith("<svg") and "<script" not in context["qr"]
    assert [p["total"] for p in context["parts"]] == [2_000_000, 2_750_000, 0, 0, 600_000, 3_000_000]
    assert [p["budgeted"] for p in context["parts"]] == [True, True, False, False, True, True]
    assert 'class="watermark"' not in html and "<svg" in html and plan.verification_code in html


def test_verify_url_only_for_an_approved_plan(kb, plan, app):
    with app.test_request_context():
        assert printing.verify_url(plan) is None
        approval.perform(plan, "ajukan", kb["ketua"], password=PASSWORD)
        db.session.commit()
        assert printing.verify_url(plan) is None
        context = printing.print_context(plan)
    assert context["draft"] is True and context["qr"] is None
    assert set(context["signatures"]) == {"ketua"}


def test_qr_svg_is_generated_markup():
    svg = printing.qr_svg('https://x.example/"><script>')
    assert svg.startswith("<svg") and "<script" not in svg


# One approved plan rendered once for the module, in an app of its own (the PDF takes about a
# second). The fetcher is wrapped to record what WeasyPrint asked for.

def _build_kampung(session):
    prov = Wilayah(level="provinsi", code="62", name="Kalimantan Tengah", timezone="Asia/Jakarta")
    kab = Wilayah(level="kabupaten", code="62.13", name="Barito Timur", kind="Kabupaten", parent=prov)
    kec = Wilayah(level="kecamatan", code="62.13.01", name="Dusun Timur", parent=kab)
    desa = Wilayah(level="desa", code="62.13.01.2001", name="Harara", kind="Desa", parent=kec)
    kampung = KampungKB(name="Kampung KB Harara", desa=desa)
    session.add_all([prov, kampung])
    users = {}
    for role, username, person in (("pengarah", "lurah", LURAH_NAME), ("ketua", "ketua", KETUA_NAME),
                                   ("sekretaris", "sekretaris", "Sekretaris"), ("anggota", "anggota", "Anggota")):
        user = User(username=username, full_name=username.title(), area=desa)
        user.set_password(PASSWORD)
        session.add(user)
        session.add(PokjaPosition(kampung=kampung, role=role, user=user, person_name=person,
                                  started_on=date(2025, 1, 2)))
        users[username] = user
    session.commit()
    return kampung, users


@pytest.fixture(scope="module")
def approved_pdf():
    import pypdfium2 as pdfium
    import zxingcpp
    from pypdf import PdfReader

    app = create_app({"TESTING": True})
    app.test_client_class = RequestLikeClient
    fetched = []
    base = printing._static_only_class()

    class Recording(base):
        def fetch(self, url, headers=None):
            fetched.append(url)
            return super().fetch(url, headers)

    with app.app_context(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(printing, "_static_only", Recording)
        db.create_all()
        try:
            kampung, users = _build_kampung(db.session)
            rows = ROWS + [{"part": "III", "kegiatan": XSS, "schedule_text": "Mei", "funding_text": "Swadaya"}]
            plan = make_plan(kampung, users["sekretaris"], rows=rows)
            approve(plan, users["ketua"], users["lurah"])
            client = app.test_client()
            client.post("/masuk", data={"username": "anggota", "password": PASSWORD})
            response = client.get(f"/rencana/{plan.id}/unduh.pdf")
            assert response.status_code == 200, response.status_code
            pdf = response.data
            reader = PdfReader(io.BytesIO(pdf))
            pages = [page.extract_text() for page in reader.pages]
            boxes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
            document = pdfium.PdfDocument(pdf)
            try:
                image = document[len(document) - 1].render(scale=3).to_pil()
            finally:
                document.close()
            codes = [b.text for b in zxingcpp.read_barcodes(image)]
            code = plan.verification_code
            public = app.config["PUBLIC_URL"]
            verify_path = None
            verify_page = None
            if codes and codes[0].startswith(public):
                verify_path = codes[0][len(public):]
                verify_page = client.get(verify_path)
            yield SimpleNamespace(
                response=response, pdf=pdf, text="\n".join(pages), pages=pages, boxes=boxes, codes=codes,
                code=code, public=public, verify_path=verify_path,
                verify_status=verify_page.status_code if verify_page else None,
                verify_html=verify_page.get_data(as_text=True) if verify_page else "",
                fetched=list(fetched), kampung_name=kampung.name,
                anon_status=app.test_client().get(f"/rencana/{plan.id}/unduh.pdf").status_code,
            )
        finally:
            db.session.remove()
            db.drop_all()


def test_pdf_download_response(approved_pdf):
    response = approved_pdf.response
    assert response.mimetype == "application/pdf" and approved_pdf.pdf.startswith(b"%PDF")
    assert disposition_filename(response, "pdf") == "rencana-kegiatan-kampung-kb-harara-2025.pdf"


def test_pdf_is_a4_landscape(approved_pdf):
    assert approved_pdf.boxes
    for width, height in approved_pdf.boxes:
        assert width > height
        assert width == pytest.approx(841.89, abs=1.5) and height == pytest.approx(595.28, abs=1.5)


def test_pdf_text_of_an_approved_plan(approved_pdf):
    text = approved_pdf.text
    assert "RENCANA KEGIATAN KAMPUNG KB" in text and "KAMPUNG KB HARARA" in text
    assert LURAH_NAME in text and KETUA_NAME in text
    assert text.count("Ditandatangani secara elektronik") == 2
    assert re.search(r"Kode verifikasi:?\s*" + re.escape(approved_pdf.code), text)
    assert "Halaman 1 dari" in approved_pdf.pages[0]
    last = len(approved_pdf.pages)
    assert f"Halaman {last} dari {last}" in approved_pdf.pages[-1]
    assert "DRAF" not in text
    assert "JUMLAH SELURUHNYA" in text and "8.350.000" in text
    assert "(....." not in text


def test_pdf_shows_row_text_literally(approved_pdf):
    # the text wraps inside its cell: compare without whitespace
    compact = "".join(approved_pdf.text.split())
    assert "".join(XSS.split()) in compact
    assert "Pemutakhirandatakeluarga" in compact


def test_pdf_qr_code_is_the_public_verification_url(approved_pdf):
    assert approved_pdf.codes == [approved_pdf.public + "/verifikasi/" + approved_pdf.code]


def test_pdf_qr_code_opens_the_verification_page(approved_pdf):
    assert approved_pdf.verify_path == "/verifikasi/" + approved_pdf.code
    assert approved_pdf.verify_status == 200
    assert approved_pdf.kampung_name in approved_pdf.verify_html
    assert LURAH_NAME in approved_pdf.verify_html


def test_pdf_fetched_only_the_print_stylesheet(approved_pdf):
    """The page's <img src="file:..."> was text, so nothing but the portal's own CSS was asked for."""
    assert approved_pdf.fetched, "the stylesheet should have been fetched"
    assert all(url.startswith(printing.BASE_URL + "static/") for url in approved_pdf.fetched), approved_pdf.fetched
    assert printing.BASE_URL + "static/print.css" in approved_pdf.fetched


def test_pdf_needs_login(approved_pdf):
    assert approved_pdf.anon_status == 302


def test_fetcher_serves_static_files(app):
    fetcher = printing._static_only()
    response = fetcher.fetch("https://portal.invalid/static/print.css")
    body = response.body if hasattr(response, "body") else response
    data = body.read() if hasattr(body, "read") else body
    assert b"@page" in data
    assert response.headers["Content-Type"] == "text/css"


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "http://127.0.0.1/",
    "http://127.0.0.1:5000/static/print.css",
    "https://portal.invalid/static/../../wsgi.py",
    "https://portal.invalid/static/%2e%2e/%2e%2e/wsgi.py",
    "https://portal.invalid/static/..%2f..%2fwsgi.py",
    "https://portal.invalid/static//etc/passwd",
    "https://portal.invalid/static/%2Fetc%2Fpasswd",
    "https://portal.invalid/wsgi.py",
    "https://portal.invalid/static/",
    "https://portal.invalid/static/tidak-ada.css",
    "https://evil.example/static/print.css",
    "https://portal.invalid.evil.example/static/print.css",
    "https://portal.invalid@evil.example/static/print.css",
    "data:text/css,body{}",
    "ftp://portal.invalid/static/print.css",
])
def test_fetcher_refuses_everything_else(url, app):
    fetcher = printing._static_only()
    with pytest.raises(printing.FetchRefused):
        fetcher.fetch(url)


# -- 5. permissions ---------------------------------------------------------------------------------

def routes(plan, kampung):
    return [f"/rencana/{plan.id}/unduh.{fmt}" for fmt in ("xlsx", "csv", "json", "pdf")] + [
        f"/rencana/{plan.id}/cetak", f"/kampung/{kampung.id}/rencana/contoh.xlsx?tahun={YEAR}"]


@pytest.mark.parametrize("role", ["outsider", "operator_other", "no_position"])
def test_other_kampung_gets_404_everywhere(role, kb, plan, client, login):
    login(kb[role].username)
    for url in routes(plan, kb["kampung"]):
        assert client.get(url).status_code == 404, url


def test_anonymous_is_sent_to_login(kb, plan, client):
    for url in routes(plan, kb["kampung"]):
        response = client.get(url)
        assert response.status_code == 302, url
        assert location(response) == "/masuk"


def test_member_may_download(kb, plan, client, login):
    """Anggota holds read permission: every format but the PDF (rendered once in the module
    fixture, also as anggota) and the print view."""
    login("anggota")
    for url in routes(plan, kb["kampung"]):
        if url.endswith(".pdf"):
            continue
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("fmt", ["xls", "html", "docx", "PDF", "txt"])
def test_unknown_format_is_404(fmt, kb, plan, client, login):
    login("anggota")
    assert client.get(f"/rencana/{plan.id}/unduh.{fmt}").status_code == 404


def test_unknown_plan_or_kampung_is_404(kb, plan, client, login):
    login("admin")
    for url in (f"/rencana/{plan.id + 999}/unduh.xlsx", f"/rencana/{plan.id + 999}/unduh.pdf",
                f"/rencana/{plan.id + 999}/cetak", f"/kampung/{kb['kampung'].id + 999}/rencana/contoh.xlsx"):
        assert client.get(url).status_code == 404, url


# -- 6. downloads -----------------------------------------------------------------------------------

@pytest.fixture
def odd_name(kb, plan):
    kb["kampung"].name = 'Kampung KB "Ceria" Sukamaju \u2014 Blok \u00c4/B'
    db.session.commit()
    return plan


@pytest.mark.parametrize("fmt,mimetype", [("xlsx", XLSX_MIME), ("csv", "text/csv"), ("json", "application/json")])
def test_download_is_an_attachment_with_a_safe_name(fmt, mimetype, odd_name, client, login):
    login("sekretaris")
    response = client.get(f"/rencana/{odd_name.id}/unduh.{fmt}")
    assert response.status_code == 200 and response.mimetype == mimetype
    name = disposition_filename(response, fmt)
    assert name == f"rencana-kegiatan-kampung-kb-ceria-sukamaju-blok-a-b-{YEAR}.{fmt}"
    assert response.headers["Content-Disposition"].isascii()


def test_csv_download(plan, client, login):
    login("anggota")
    data = client.get(f"/rencana/{plan.id}/unduh.csv").data
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["Bagian"] + HEADERS
    assert [line[0] for line in lines[1:]] == [r["part"] for r in sorted(ROWS, key=lambda r: list(PARTS).index(r["part"]))]
    assert lines[1][lines[0].index("Anggaran (Rp)")] == "2000000"


def test_json_download(plan, client, login):
    login("anggota")
    document = json.loads(client.get(f"/rencana/{plan.id}/unduh.json").get_data(as_text=True))
    assert document["format"] == "portal-kampung-kb/rencana-kegiatan" and document["version"] == 1
    assert document["year"] == YEAR and document["kampung"]["name"] == "Kampung KB Harara"
    assert len(document["rows"]) == len(ROWS)
    hand = next(r for r in document["rows"] if r["schedule"]["text"] == HAND_TEXT)
    assert hand["schedule"]["frequency"] == "monthly" and hand["schedule"]["problems"] == []


def test_revision_in_filename(kb, plan, client, login):
    approve(plan, kb["ketua"], kb["lurah"])
    revision = approval.create_revision(plan, kb["sekretaris"])
    db.session.commit()
    login("sekretaris")
    response = client.get(f"/rencana/{revision.id}/unduh.csv")
    assert disposition_filename(response, "csv") == f"rencana-kegiatan-kampung-kb-harara-{YEAR}-revisi-1.csv"


# -- bugs found -------------------------------------------------------------------------------------

def round_trip(plan, fmt):
    data = office.to_xlsx(plan) if fmt == "xlsx" else office.to_csv(plan)
    _sheet, built = read_back(data, f"rencana.{fmt}")
    assert all(item.errors == [] for item, _row in built)
    return [comparable(row) for _item, row in built]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_round_trip_keeps_a_unit_without_count(fmt, kb):
    plan = make_plan(kb["kampung"], kb["sekretaris"], rows=[
        {"part": "I", "kegiatan": "Pendataan", "target_unit": "keluarga", "schedule_text": "Mei"}])
    assert round_trip(plan, fmt) == originals(plan)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_round_trip_keeps_a_unit_with_a_dot(fmt, kb):
    plan = make_plan(kb["kampung"], kb["sekretaris"], rows=[
        {"part": "I", "kegiatan": "Pendataan", "target_count": 25, "target_unit": "org.", "schedule_text": "Mei"}])
    assert round_trip(plan, fmt) == originals(plan)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_round_trip_keeps_line_breaks_in_the_description(fmt, kb):
    plan = make_plan(kb["kampung"], kb["sekretaris"], rows=[
        {"part": "I", "kegiatan": "Pendataan", "description": "1. Siapkan formulir\n2. Kunjungi rumah",
         "schedule_text": "Mei"}])
    assert round_trip(plan, fmt) == originals(plan)


def test_xlsx_round_trip_keeps_each_of_two_identical_looking_rows(kb):
    plan = make_plan(kb["kampung"], kb["sekretaris"], rows=[
        {"part": "II", "kegiatan": "Posyandu", "schedule_text": HAND_TEXT, "frequency": "monthly",
         "start_date": date(YEAR, 1, 1), "end_date": date(YEAR, 6, 30)},
        {"part": "II", "kegiatan": "Posyandu", "schedule_text": HAND_TEXT, "frequency": "monthly",
         "start_date": date(YEAR, 7, 1), "end_date": date(YEAR, 12, 31)}])
    assert round_trip(plan, "xlsx") == originals(plan)


@pytest.fixture
def signed_at_night(kb, plan, monkeypatch):
    """Approved with both signatures at 20.30 UTC on 9 March, i.e. 03.30 WIB on 10 March in the
    Kampung KB's zone (Asia/Jakarta)."""
    from datetime import datetime, timezone

    class Night(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(YEAR, 3, 9, 20, 30, tzinfo=timezone.utc)

    monkeypatch.setattr(approval, "datetime", Night)
    approve(plan, kb["ketua"], kb["lurah"])
    monkeypatch.undo()
    return plan


SIGNED_LOCAL = f"10 Maret {YEAR} pukul 03.30 WIB"


def test_xlsx_signature_date_is_the_local_date(signed_at_night, client, login):
    login("anggota")
    texts = texts_of(visible(client.get(f"/rencana/{signed_at_night.id}/unduh.xlsx").data))
    assert SIGNED_LOCAL in texts
    assert f"Harara, 10 Maret {YEAR}" in texts


def test_print_signature_date_is_the_local_date(signed_at_night, client, login):
    login("anggota")
    html = client.get(f"/rencana/{signed_at_night.id}/cetak").get_data(as_text=True)
    assert SIGNED_LOCAL in html
    assert f"Harara, 10 Maret {YEAR}" in html


def test_xlsx_edited_pelaksana_keeps_a_hand_completed_schedule(plan):
    """Fixing a typo in another cell of a row completed by hand keeps its stored schedule."""
    workbook = load_workbook(io.BytesIO(office.to_xlsx(plan)))
    sheet = workbook.worksheets[0]
    header = next(r for r in sheet.iter_rows() if any(c.value == "Waktu" for c in r))
    columns = {c.value: c.column for c in header}
    line = next(r[0].row for r in sheet.iter_rows()
                if r[columns["Waktu"] - 1].value == HAND_TEXT)
    sheet.cell(line, columns["Pelaksana"]).value = "Kader Posyandu (diperbaiki)"
    out = io.BytesIO()
    workbook.save(out)
    _sheet, built = read_back(out.getvalue(), "rencana.xlsx")
    item, row = next((i, r) for i, r in built if i.texts.get("schedule_text") == HAND_TEXT)
    before = next(r for r in originals(plan) if r["schedule"]["text"] == HAND_TEXT)
    assert row.pelaksana == "Kader Posyandu (diperbaiki)"
    assert comparable(row)["schedule"] == before["schedule"]
    assert row.schedule_problems is None and not row.schedule_needs_completion
