"""Office formats in a real browser on a 360 px wide phone screen, end to end:

1. the Sekretaris imports a Rencana Kegiatan from a workbook of her own (a title row, headers
   written with synonyms, part headers, a blank row, a "Jumlah" row, one activity whose schedule
   cannot be read): the preview names every activity with its sheet row and flags exactly the
   unreadable schedule; importing lands on the new draft;
2. she completes the flagged schedule in the row form and the flag disappears;
3. the plan's Excel download, uploaded again for another year, previews the same activities with
   nothing left to complete; "Batal" saves nothing;
4. the PDF of the approved demo plan carries both signatures and a QR code whose address opens
   the public Verifikasi dokumen page, which says the plan is intact;
5. the print view of the demo draft shows the DRAF watermark.

Every screen is kept as a screenshot in tmp_path and copied to test-results/ as
``office-<name>.png``. The workbook is built here with openpyxl, not taken from the demo data.

This module runs its own server (same start-up as conftest.live_server, its own temp database
and upload folder, where staged imports are kept): it creates a plan, which other tests do not
expect.
"""
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pypdf
import pypdfium2
import pytest
import zxingcpp
from openpyxl import Workbook
from playwright.sync_api import expect
from tests.browser.conftest import VIEWPORT, demo_server
from tests.browser.helpers import scroll_width

pytestmark = pytest.mark.browser

PHONE_WIDTH = VIEWPORT["width"]
STEP_MS = 15_000  # the longest any single step may wait (downloads render a PDF)
SEED_PLAN = Path(__file__).resolve().parents[2] / "seeds" / "data" / "rencana_kegiatan_pgs_dua_2025.json"
DRAFT_YEAR = json.loads(SEED_PLAN.read_text(encoding="utf-8"))["year"]  # the demo draft (2025)
# seeds/demo.py ACCOUNTS: who signed the demo's approved plan (also read from the page below).
KETUA_NAME = "Sri Wahyuni"
LURAH_NAME = "Hendra Saputra"
CODE_RE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
UNREADABLE = "kapan-kapan saja"
FIXED_SCHEDULE = "Maret - Mei"
HEADERS = ["No", "Nama Kegiatan", "Pelaksana", "Kelompok Sasaran", "Mitra", "Jadwal",
           "Sumber Anggaran", "Biaya (Rp)"]
PART_TITLES = {"I": "Penyediaan data dan administrasi kependudukan", "II": "Perubahan Perilaku",
               "IV": "Penataan lingkungan"}
# (part, kegiatan, pelaksana, sasaran, mitra, jadwal, sumber anggaran, biaya)
ACTIVITIES = [
    ("I", "Pemutakhiran data keluarga RT 01-04", "Seksi Data", "Keluarga", "Dukcapil",
     "Januari - Maret", "Dana Desa", 1_500_000),
    ("I", "Pelatihan kader pencatat data", "Seksi Data", "Kader", "PLKB", UNREADABLE, "Swadaya", None),
    ("II", "Penyuluhan kesehatan reproduksi remaja", "Seksi Perilaku", "Remaja", "Puskesmas",
     "Sebulan sekali", "BOKB", 600_000),
    ("II", "Kelas ibu hamil", "Seksi Perilaku", "Ibu hamil", "Bidan desa", "Juni - Agustus", "Swadaya", None),
    ("IV", "Kerja bakti saluran air", "Seksi Lingkungan", "Warga", "RT/RW", "Seminggu sekali", "Swadaya", None),
]
FLAGGED = ACTIVITIES[1][1]


# -- a server of our own ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def office_server(tmp_path_factory):
    """Like conftest.live_server, for this module only (it imports a plan), with the upload folder
    (staged imports) in the temp dir too."""
    tmp = tmp_path_factory.mktemp("office-server")
    with demo_server(tmp, PORTAL_UPLOAD_FOLDER=str(tmp / "uploads")) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def live_server(office_server):
    """Overrides conftest.live_server for this module, so conftest.page opens our server."""
    return office_server


# -- the workbook ----------------------------------------------------------------------------------

@dataclass
class Built:
    path: Path
    rows: dict = field(default_factory=dict)  # kegiatan → sheet row

    @property
    def names(self):
        return list(self.rows)


def build_workbook(path, year, part_header_in_first_column=False):
    """A plan as a Pokja might type it: a title, headers in its own words, part headers, a blank
    row and a "Jumlah" row. Part headers are written as one text in the Nama Kegiatan column, or
    (``part_header_in_first_column``) in the No column merged across the table, as on paper."""
    wb = Workbook()
    ws = wb.active
    ws.title = f"Rencana {year}"
    ws.append([f"RENCANA KEGIATAN KAMPUNG KB TAHUN {year}"])
    ws.merge_cells(f"A1:H{ws.max_row}")
    ws.append(HEADERS)
    built = Built(path)
    part = None
    total = 0
    for key, kegiatan, pelaksana, sasaran, mitra, jadwal, dana, biaya in ACTIVITIES:
        if key != part:
            if part is not None and key == "IV":
                ws.append([])  # a blank spacer row
            title = f"{key} {PART_TITLES[key]}"
            ws.append([title] if part_header_in_first_column else [None, title])
            if part_header_in_first_column:
                ws.merge_cells(f"A{ws.max_row}:H{ws.max_row}")
            part, number = key, 0
        number += 1
        ws.append([number, kegiatan, pelaksana, sasaran, mitra, jadwal, dana, biaya])
        built.rows[kegiatan] = ws.max_row
        total += biaya or 0
    ws.append(["Jumlah", None, None, None, None, None, None, total])
    ws.merge_cells(f"A{ws.max_row}:G{ws.max_row}")
    wb.save(path)
    return built


# -- small steps -----------------------------------------------------------------------------------

def click_and_load(page, locator):
    """Click something that loads a new page; returns the response."""
    with page.expect_navigation(timeout=STEP_MS) as navigation:
        locator.click()
    return navigation.value


def flash(page):
    return page.locator("#messages .flash")


def check_page(page, tmp_path, results_dir, name, what, fits=True, locator=None):
    """A screenshot kept in tmp_path and copied to test-results/; unless ``fits`` is False, no
    sideways scrolling at 360 px. Returns the page's scrollWidth."""
    width = scroll_width(page)
    path = tmp_path / f"{name}.png"
    if locator is not None:
        locator.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    shutil.copy(path, results_dir / f"office-{name}.png")
    if fits:
        assert width <= PHONE_WIDTH, f"{what}: horizontal scroll at {PHONE_WIDTH} px (scrollWidth={width})"
    return width


def open_plan_list(page):
    """Beranda → Rencana Kegiatan of the demo Kampung KB. Returns the years listed."""
    page.goto("/")
    click_and_load(page, page.get_by_role("link", name="Rencana Kegiatan", exact=True).first)
    expect(page.get_by_role("heading", level=1, name="Rencana Kegiatan")).to_be_visible()
    titles = page.locator("main li a strong").all_inner_texts()
    return {int(m.group(1)) for t in titles if (m := re.match(r"Rencana Kegiatan (\d{4})", t))}


def plan_item(page, year, badge):
    """The list entry of ``year``'s plan carrying the status ``badge``."""
    return page.locator("li").filter(
        has=page.get_by_role("link", name=f"Rencana Kegiatan {year}", exact=True)).filter(
        has=page.locator(".badge", has_text=re.compile(f"^{badge}$")))


def free_years(existing, count):
    years = [y for y in range(2028, 2100) if y not in existing]
    return years[:count]


def upload(page, year, path):
    """On the import page: the year, the file, "Unggah dan lihat pratinjau" → the preview."""
    expect(page.get_by_role("heading", level=1, name="Impor rencana dari Excel/CSV")).to_be_visible()
    page.get_by_label("Tahun rencana").fill(str(year))
    page.set_input_files("input[type=file][name=file]", str(path))
    response = click_and_load(page, page.get_by_role("button", name="Unggah dan lihat pratinjau"))
    assert response.status == 200, f"upload answered {response.status}"
    expect(page.get_by_role("heading", level=1, name="Pratinjau impor")).to_be_visible()


def preview_rows(page):
    return page.locator("li.import-row")


def preview_row(page, kegiatan):
    return preview_rows(page).filter(
        has=page.locator(".import-head strong", has_text=re.compile(f"^{re.escape(kegiatan)}$")))


def plan_rows(page):
    return page.locator("#plan-body table.rows > tbody > tr:not(.editing)")


def row_named(page, kegiatan):
    return plan_rows(page).filter(
        has=page.locator("td.kegiatan strong", has_text=re.compile(f"^{re.escape(kegiatan)}$")))


def no_page_errors(page_errors):
    errors = [e for e in page_errors if "Failed to load resource" not in e]
    assert errors == [], errors


# -- the story: import, fix, round trip ------------------------------------------------------------

def sekretaris_uploads(page, tmp_path, results_dir, year, built):
    existing = open_plan_list(page)
    assert year not in existing
    click_and_load(page, page.get_by_role("link", name="Impor dari Excel/CSV"))
    check_page(page, tmp_path, results_dir, "01-impor-form", "import form")
    upload(page, year, built.path)

    summary = page.locator("section.card").first
    expect(summary).to_contain_text(f"{len(ACTIVITIES)} kegiatan terbaca, 1 perlu dilengkapi")
    expect(summary).to_contain_text(f"Akan dibuat draf baru Rencana Kegiatan {year}")
    expect(summary).to_contain_text("judul kolom di baris 2")
    expect(page.locator(".error, .error-text")).to_have_count(0)

    # Every activity, in the sheet's order, each with its sheet row.
    expect(preview_rows(page)).to_have_count(len(ACTIVITIES))
    expect(page.locator("li.import-row .import-head strong")).to_have_text(built.names)
    for kegiatan, sheet_row in built.rows.items():
        expect(preview_row(page, kegiatan).locator(".import-head .muted")).to_have_text(f"Baris {sheet_row}")
    # The parts as the sheet placed them.
    for key, title in PART_TITLES.items():
        expect(page.locator("section.card h2", has_text=re.compile(f"^{key}\\. "))).to_have_count(1)
    for key, kegiatan, *_rest in ACTIVITIES:
        section = page.locator("section.card").filter(has=page.locator("h2", has_text=re.compile(f"^{key}\\. ")))
        expect(section.locator(".import-head strong", has_text=re.compile(f"^{re.escape(kegiatan)}$"))).to_have_count(1)

    # Exactly one flag, on the unreadable schedule.
    flags = page.locator("li.import-row .flag")
    expect(flags).to_have_count(1)
    expect(flags).to_have_text("Jadwal perlu dilengkapi")
    flagged = preview_row(page, FLAGGED)
    expect(flagged).to_have_class(re.compile(r"\bhas-warning\b"))
    expect(flagged.locator(".flag")).to_have_count(1)
    expect(flagged).to_contain_text(UNREADABLE)
    expect(page.locator("li.import-row.has-warning")).to_have_count(1)

    button = page.get_by_role("button", name=f"Impor {len(ACTIVITIES)} kegiatan", exact=True)
    expect(button).to_be_visible()
    check_page(page, tmp_path, results_dir, "02-pratinjau", "import preview")
    flagged.scroll_into_view_if_needed()
    check_page(page, tmp_path, results_dir, "02a-pratinjau-baris-ditandai", "import preview", locator=flagged)
    return button


def sekretaris_imports(page, tmp_path, results_dir, year, button):
    click_and_load(page, button)
    title = f"Rencana Kegiatan {year}"
    expect(page.get_by_role("heading", level=1, name=title, exact=True)).to_be_visible()
    assert re.fullmatch(r"/rencana/\d+", urlsplit(page.url).path), page.url
    expect(flash(page)).to_have_class(re.compile(r"\bsuccess\b"))
    expect(flash(page)).to_have_text(f"{len(ACTIVITIES)} kegiatan diimpor ke {title} (draf). "
                                     "Periksa kegiatan bertanda \u201cperlu dilengkapi\u201d.")
    expect(plan_rows(page)).to_have_count(len(ACTIVITIES))
    for _key, kegiatan, *_rest in ACTIVITIES:
        expect(row_named(page, kegiatan)).to_have_count(1)
    flags = page.locator("#plan-body .flag")
    expect(flags).to_have_count(1)
    expect(row_named(page, FLAGGED).locator(".flag")).to_have_text("jadwal perlu dilengkapi")
    check_page(page, tmp_path, results_dir, "03-rencana-diimpor", "imported plan")


def sekretaris_completes_schedule(page, tmp_path, results_dir):
    row = row_named(page, FLAGGED)
    row.get_by_role("link", name=f"Ubah {FLAGGED}", exact=True).click()
    form = page.locator("tr.editing form.row-form")
    expect(form).to_be_visible()
    waktu = form.get_by_label("Waktu", exact=True)
    expect(waktu).to_have_value(UNREADABLE)
    details = form.locator("details.schedule")
    expect(details).to_have_attribute("open", "")
    expect(details.locator("summary")).to_contain_text("perlu dilengkapi")
    expect(details.locator("ul.problems")).to_contain_text("tidak terbaca")
    check_page(page, tmp_path, results_dir, "04-ubah-jadwal", "row form", locator=form)

    waktu.fill(FIXED_SCHEDULE)
    with page.expect_response(lambda r: r.request.method == "POST" and "/baris/" in r.url,
                              timeout=STEP_MS) as info:
        form.get_by_role("button", name="Simpan").click()
    assert info.value.status == 200, info.value.status
    expect(page.locator("#plan-body .flash.success")).to_have_text(f"Kegiatan \u201c{FLAGGED}\u201d disimpan.")
    expect(page.locator("tr.editing")).to_have_count(0)
    fixed = row_named(page, FLAGGED)
    expect(fixed.locator("td[data-label='Waktu']")).to_contain_text(FIXED_SCHEDULE)
    expect(fixed.locator(".flag")).to_have_count(0)
    expect(page.locator("#plan-body .flag")).to_have_count(0)
    # Still none after a full reload (what was stored, not only what htmx swapped in).
    page.reload()
    expect(plan_rows(page)).to_have_count(len(ACTIVITIES))
    expect(page.locator("#plan-body .flag")).to_have_count(0)
    check_page(page, tmp_path, results_dir, "05-jadwal-dilengkapi", "plan after the fix")


def download_excel(page, tmp_path, year):
    with page.expect_download(timeout=STEP_MS) as info:
        page.locator("p.downloads").get_by_role("link", name="Excel", exact=True).click()
    download = info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename.endswith(f"-{year}.xlsx"), download.suggested_filename
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_bytes()[:4] == b"PK\x03\x04"
    return path


def excel_round_trip(page, tmp_path, results_dir, path, year, names):
    click_and_load(page, page.locator("p.downloads").get_by_role("link", name="Impor dari Excel/CSV"))
    upload(page, year, path)
    summary = page.locator("section.card").first
    expect(summary).to_contain_text(f"{len(names)} kegiatan terbaca.")
    expect(summary).to_contain_text(f"Akan dibuat draf baru Rencana Kegiatan {year}")
    expect(preview_rows(page)).to_have_count(len(names))
    expect(page.locator("li.import-row .import-head strong")).to_have_text(names)
    expect(page.get_by_text("perlu dilengkapi")).to_have_count(0)
    expect(page.locator(".flag")).to_have_count(0)
    expect(page.locator("li.import-row.has-warning, li.import-row.has-error")).to_have_count(0)
    expect(page.locator(".error, .error-text")).to_have_count(0)
    # The completed schedule came back with the file.
    expect(preview_row(page, FLAGGED).locator("dd").filter(has_text=FIXED_SCHEDULE)).to_have_count(1)
    expect(page.get_by_role("button", name=f"Impor {len(names)} kegiatan", exact=True)).to_be_visible()
    check_page(page, tmp_path, results_dir, "06-pratinjau-unggah-ulang", "round-trip preview")

    click_and_load(page, page.get_by_role("button", name="Batal", exact=True))
    expect(page.get_by_role("heading", level=1, name="Rencana Kegiatan")).to_be_visible()
    expect(flash(page)).to_have_text("Impor dibatalkan; tidak ada yang disimpan.")
    expect(page.get_by_role("link", name=f"Rencana Kegiatan {year}", exact=True)).to_have_count(0)


def test_sekretaris_imports_completes_and_round_trips_a_plan(page, log_in, tmp_path, results_dir, page_errors):
    started = time.monotonic()
    log_in("sekretaris")
    year, again = free_years(open_plan_list(page), 2)
    built = build_workbook(tmp_path / f"rencana-{year}.xlsx", year)
    assert sum(1 for a in ACTIVITIES if a[5] == UNREADABLE) == 1

    button = sekretaris_uploads(page, tmp_path, results_dir, year, built)
    sekretaris_imports(page, tmp_path, results_dir, year, button)
    sekretaris_completes_schedule(page, tmp_path, results_dir)
    excel = download_excel(page, tmp_path, year)
    excel_round_trip(page, tmp_path, results_dir, excel, again, built.names)
    assert again not in open_plan_list(page)
    no_page_errors(page_errors)
    print(f"office import story took {time.monotonic() - started:.1f} s; screenshots in {tmp_path}")


# -- the signed PDF and its QR code ----------------------------------------------------------------

def pdf_text(path):
    reader = pypdf.PdfReader(str(path))
    return " ".join(" ".join((p.extract_text() or "") for p in reader.pages).split())


def qr_texts(path):
    """Texts of the QR codes on the PDF's last page (rendered at twice the size)."""
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        image = pdf[len(pdf) - 1].render(scale=2).to_pil()
    finally:
        pdf.close()
    return [b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]


def test_signed_plan_pdf_carries_signatures_and_a_qr_to_verification(page, browser, log_in, live_server,
                                                                    tmp_path, results_dir, page_errors):
    log_in("sekretaris")
    open_plan_list(page)
    approved = page.locator("li").filter(has=page.locator(".badge.status-berlaku"))
    expect(approved).to_have_count(1)
    expect(approved.locator(".badge.status-disetujui")).to_have_text("Disetujui")
    link = approved.get_by_role("link", name=re.compile(r"^Rencana Kegiatan \d{4}$"))
    title = link.inner_text().strip()
    click_and_load(page, link)
    expect(page.get_by_role("heading", level=1, name=title, exact=True)).to_be_visible()

    panel = page.locator("#persetujuan")
    signers = panel.locator("ul.signatures li strong").all_inner_texts()
    assert sorted(signers) == sorted([KETUA_NAME, LURAH_NAME]), signers
    code = panel.locator(".code").first.inner_text().strip()
    assert CODE_RE.match(code), code

    with page.expect_download(timeout=STEP_MS) as info:
        page.locator("p.downloads").get_by_role("link", name="PDF", exact=True).click()
    download = info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_bytes()[:5] == b"%PDF-"

    text = pdf_text(path)
    for name in signers:
        assert name in text, f"{name} not in the PDF text"
    assert text.count("Ditandatangani secara elektronik") == 2, text[-800:]
    assert code in text
    assert "DRAF" not in text

    found = qr_texts(path)
    assert len(found) == 1, f"QR codes on the last page: {found}"
    url = urlsplit(found[0])
    # The QR carries PUBLIC_URL (http://127.0.0.1:5000 by default), not this server's port.
    assert url.scheme in ("http", "https") and url.netloc, found[0]
    assert url.path == f"/verifikasi/{code}", found[0]

    # A stranger with the paper: a fresh browser context, not logged in.
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server, locale="id-ID",
                                  timezone_id="Asia/Jakarta")
    context.set_default_timeout(10_000)
    stranger = context.new_page()
    stranger.on("pageerror", lambda exc: page_errors.append(f"pageerror: {exc}"))
    try:
        response = stranger.goto(live_server + url.path, timeout=STEP_MS)
        assert response.status == 200, response.status
        expect(stranger.get_by_role("heading", level=1, name="Verifikasi dokumen")).to_be_visible()
        expect(stranger.get_by_role("button", name="Keluar")).to_have_count(0)  # really logged out
        verdict = stranger.locator("section.verdict")
        expect(verdict).to_have_class(re.compile(r"\bok\b"))
        expect(verdict.locator("h2")).to_contain_text("Utuh: isi sama dengan yang ditandatangani")
        facts = stranger.locator("dl.facts")
        expect(stranger.get_by_role("heading", level=2, name=title, exact=True)).to_be_visible()
        expect(facts.locator("dd.code")).to_have_text(code)
        expect(facts).to_contain_text("Disetujui, berlaku")
        for name in signers:
            expect(facts).to_contain_text(f"{name} (")
        expect(facts).to_contain_text("ditandatangani secara elektronik")
        check_page(stranger, tmp_path, results_dir, "07-verifikasi-dari-qr", "verification page")
    finally:
        context.close()

    # The approved plan's print view carries no DRAF watermark.
    click_and_load(page, page.locator("p.downloads").get_by_role("link", name="Cetak", exact=True))
    expect(page.locator(".watermark")).to_have_count(0)
    expect(page.locator("section.verify")).to_contain_text(code)
    no_page_errors(page_errors)


# -- the print view of a draft ---------------------------------------------------------------------

def test_draft_print_view_shows_the_watermark(page, log_in, tmp_path, results_dir, page_errors):
    log_in("sekretaris")
    assert DRAFT_YEAR in open_plan_list(page)
    item = plan_item(page, DRAFT_YEAR, "Draf")
    expect(item).to_have_count(1)
    title = f"Rencana Kegiatan {DRAFT_YEAR}"
    click_and_load(page, item.get_by_role("link", name=title, exact=True))
    expect(page.get_by_role("heading", level=1, name=title, exact=True)).to_be_visible()

    response = click_and_load(page, page.locator("p.downloads").get_by_role("link", name="Cetak", exact=True))
    assert response.status == 200
    assert re.fullmatch(r"/rencana/\d+/cetak", urlsplit(page.url).path), page.url
    watermark = page.locator(".watermark")
    expect(watermark).to_have_count(1)
    expect(watermark).to_have_text("DRAF")
    expect(watermark).to_be_visible()
    expect(page.locator(".doc-note")).to_contain_text("belum disetujui")
    expect(page.locator("nav.toolbar").get_by_role("button", name="Cetak")).to_be_visible()
    expect(page.locator("section.verify")).to_have_count(0)
    # The printed form is a wide table (A4 landscape); at 360 px it may scroll sideways, so the
    # width is recorded, not asserted.
    width = check_page(page, tmp_path, results_dir, "08-cetak-draf", "print view", fits=False)
    page.screenshot(path=str(tmp_path / "08a-cetak-draf-layar.png"))  # what the phone shows first
    shutil.copy(tmp_path / "08a-cetak-draf-layar.png", results_dir / "office-08a-cetak-draf-layar.png")
    print(f"print view scrollWidth at {PHONE_WIDTH} px: {width}")
    no_page_errors(page_errors)


# -- a known bug -----------------------------------------------------------------------------------

def test_part_headers_in_the_first_column_are_read(page, log_in, tmp_path, results_dir):
    log_in("sekretaris")
    (year,) = free_years(open_plan_list(page), 1)
    built = build_workbook(tmp_path / "rencana-kolom-a.xlsx", year, part_header_in_first_column=True)
    click_and_load(page, page.get_by_role("link", name="Impor dari Excel/CSV"))
    upload(page, year, built.path)
    check_page(page, tmp_path, results_dir, "09-pratinjau-judul-bagian-kolom-a", "import preview", fits=False)
    try:
        expect(page.locator(".error, .error-text")).to_have_count(0, timeout=2_000)
        expect(preview_rows(page)).to_have_count(len(ACTIVITIES), timeout=2_000)
        expect(page.locator("li.import-row .import-head strong")).to_have_text(built.names, timeout=2_000)
        expect(page.get_by_role("button", name=f"Impor {len(ACTIVITIES)} kegiatan", exact=True)).to_be_visible(
            timeout=2_000)
    finally:
        click_and_load(page, page.get_by_role("button", name="Batal", exact=True))
        expect(flash(page)).to_have_text("Impor dibatalkan; tidak ada yang disimpan.")


def test_excel_export_imported_for_another_year_is_scheduled_in_that_year(page, log_in, tmp_path, results_dir):
    log_in("sekretaris")
    (year,) = free_years(open_plan_list(page), 1)
    title = f"Rencana Kegiatan {DRAFT_YEAR}"
    click_and_load(page, plan_item(page, DRAFT_YEAR, "Draf").get_by_role("link", name=title, exact=True))
    excel = download_excel(page, tmp_path, DRAFT_YEAR)
    click_and_load(page, page.locator("p.downloads").get_by_role("link", name="Impor dari Excel/CSV"))
    upload(page, year, excel)
    expect(page.locator("section.card").first).to_contain_text(f"Akan dibuat draf baru Rencana Kegiatan {year}")
    summaries = [t for t in page.locator("li.import-row dd .hint").all_inner_texts() if t.startswith("\u2192")]
    years = {int(y) for t in summaries for y in re.findall(r"\b(20\d\d)\b", t)}
    check_page(page, tmp_path, results_dir, "10-pratinjau-ekspor-tahun-lain", "import preview", fits=False)
    click_and_load(page, page.get_by_role("button", name="Batal", exact=True))
    expect(flash(page)).to_have_text("Impor dibatalkan; tidak ada yang disimpan.")
    assert summaries, "no schedule summaries in the preview"
    assert years == {year}, f"schedules of a {year} import fall in {sorted(years)}"
