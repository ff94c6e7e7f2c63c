"""`flask plan export|import` with the office formats (portal/blueprints/plans/cli.py): files
written in each format, the import preview (--dry-run), all-or-nothing import of XLSX, CSV and
JSON, refusals (locked year, bad rows, hostile files) and the XLSX round trip into a new year."""
import csv
import io
import json
import re
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from portal.blueprints.plans import approval
from portal.blueprints.plans.services import add_row, create_plan
from portal.extensions import db
from portal.models import AuditEntry, Plan, PlanRow
from tests.conftest import PASSWORD

YEAR = 2026
HEADERS = ["No", "Kegiatan", "Pelaksana", "Sasaran", "Jumlah Sasaran", "Mitra", "Waktu", "Sumber Dana",
           "Anggaran (Rp)"]

# A plan laid out like the paper form: part headers as rows, activities below them.
# (part, no, kegiatan, pelaksana, sasaran, jumlah, mitra, waktu, sumber dana, anggaran)
GOOD = [
    ("I", "1", "Pemutakhiran data keluarga", "Kader PPKBD", "Seluruh keluarga", "350 KK", "Pemerintah Desa",
     "Setiap bulan", "Dana Desa", "1500000"),
    ("I", "2", "Rapat koordinasi Pokja", "Ketua Pokja", "Pengurus", "", "", "Januari - Maret",
     "Swadaya Rp 300.000", ""),
    ("II", "1", "Penyuluhan KB di Posyandu", "Bidan Desa", "PUS", "40 pasangan", "Puskesmas",
     "Sesuai jadwal posyandu", "BOKB Rp 2.000.000", ""),  # unreadable schedule: perlu dilengkapi
]
PART_TITLES = {"I": "I. Penyediaan data dan administrasi kependudukan", "II": "II. Perubahan perilaku"}
NAMES = [r[2] for r in GOOD]
BAD_ROW = ("II", "2", "Kelas BKB", "Kader BKB", "Keluarga balita", "", "", "Setiap bulan", "Swadaya",
           "banyak sekali")  # Anggaran that is not an amount: a row error
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def grid(rows):
    """Title line, header row, then each part's header row and its activities (sheet rows 1…)."""
    lines = [["RENCANA KEGIATAN KAMPUNG KB"], HEADERS]
    part = None
    for row in rows:
        if row[0] != part:
            part = row[0]
            lines.append([PART_TITLES[part]])
        lines.append(list(row[1:]))
    return lines


def sheet_row_of(rows, kegiatan):
    return next(i for i, line in enumerate(grid(rows), start=1) if len(line) > 1 and line[1] == kegiatan)


def xlsx_bytes(rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Rencana"
    for line in grid(rows):
        sheet.append(line)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows):
    """As Indonesian Excel saves it: semicolons."""
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(grid(rows))
    return out.getvalue().encode("utf-8")


WRITERS = {"xlsx": xlsx_bytes, "csv": csv_bytes}


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def counts():
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Plan, PlanRow, AuditEntry))


def plan_import(runner, path, kampung, year=YEAR, *extra):
    return runner.invoke(args=["plan", "import", path, "--kampung", str(kampung.id), "--year", str(year), *extra])


def assert_clean_refusal(result):
    """Refused the way the CLI refuses: exit 1 and an "Error: …" line, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "Error: " in result.output


@pytest.fixture
def kampung(wilayah, make_kampung):
    """A Kampung KB without accounts: enough for the importer (by=None, as the CLI does)."""
    return make_kampung(wilayah["desa"])


# -- help ---------------------------------------------------------------------------------------

def test_help_texts(runner):
    group = runner.invoke(args=["plan", "--help"])
    assert group.exit_code == 0 and "export" in group.output and "import" in group.output
    imported = runner.invoke(args=["plan", "import", "--help"])
    assert imported.exit_code == 0
    for word in (".xlsx", ".csv", ".json", "--dry-run", "--kampung", "--year", "tidak ada yang disimpan"):
        assert word in imported.output, word
    exported = runner.invoke(args=["plan", "export", "--help"])
    assert exported.exit_code == 0
    assert "[json|xlsx|csv|pdf]" in exported.output and "-o, --output" in exported.output


# -- import: preview (--dry-run) ------------------------------------------------------------------

def preview_lines(output):
    return [line for line in output.splitlines() if line.startswith("baris ")]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_dry_run_previews_every_activity_and_saves_nothing(fmt, kampung, runner, tmp_path):
    path = write(tmp_path, f"rencana.{fmt}", WRITERS[fmt](GOOD))
    before = counts()
    result = plan_import(runner, path, kampung, YEAR, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = preview_lines(result.output)
    assert len(lines) == len(GOOD)
    for line, row in zip(lines, GOOD):
        assert re.fullmatch(rf"baris\s+{sheet_row_of(GOOD, row[2])}\s+{row[0]}\s+{re.escape(row[2])}", line), line
    # The unreadable schedule is named below its activity's line.
    assert re.search(rf"{NAMES[2]}\n\s+perlu dilengkapi: Jadwal tidak terbaca: 'Sesuai jadwal posyandu'",
                     result.output), result.output
    assert "3 kegiatan, 0 salah, 1 perlu dilengkapi" in result.output
    assert "judul kolom di baris 2" in result.output
    assert f"dibuat sebagai draf baru {YEAR}" in result.output
    assert "tidak ada yang disimpan" in result.output
    assert counts() == before


def test_dry_run_into_an_existing_draft_says_where_rows_go(kampung, runner, tmp_path):
    draft = create_plan(kampung, YEAR, by=None)
    db.session.commit()
    before = counts()
    result = plan_import(runner, write(tmp_path, "r.xlsx", xlsx_bytes(GOOD)), kampung, YEAR, "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"ditambahkan ke {draft.title} (id {draft.id})" in result.output
    assert counts() == before


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_file_with_a_bad_row_is_refused_and_saves_nothing(fmt, dry_run, kampung, runner, tmp_path):
    rows = GOOD + [BAD_ROW]
    path = write(tmp_path, f"rencana.{fmt}", WRITERS[fmt](rows))
    before = counts()
    result = plan_import(runner, path, kampung, YEAR, *(["--dry-run"] if dry_run else []))
    assert_clean_refusal(result)
    assert len(preview_lines(result.output)) == 4
    bad = sheet_row_of(rows, BAD_ROW[2])
    assert re.search(rf"baris\s+{bad}\s+II\s+Kelas BKB\n\s+SALAH: Anggaran", result.output), result.output
    assert "4 kegiatan, 1 salah, 1 perlu dilengkapi" in result.output
    assert "Tidak ada yang disimpan" in result.output
    assert counts() == before


# -- import: saving -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_good_file_is_imported_into_a_new_draft(fmt, kampung, runner, tmp_path):
    before = counts()
    result = plan_import(runner, write(tmp_path, f"rencana.{fmt}", WRITERS[fmt](GOOD)), kampung, YEAR)
    assert result.exit_code == 0, result.output
    plans = db.session.scalars(sa.select(Plan)).all()
    assert len(plans) == before[0] + 1
    plan = plans[-1]
    assert (plan.kampung_id, plan.year, plan.status) == (kampung.id, YEAR, "draf")
    assert f"3 kegiatan diimpor ke {plan.title} untuk {kampung.name} (id {plan.id})." in result.output
    rows = sorted(plan.rows, key=lambda r: (r.part, r.position))
    assert [(r.part, r.kegiatan, r.seksi) for r in rows] == [
        ("I", NAMES[0], "data"), ("I", NAMES[1], "data"), ("II", NAMES[2], "perilaku")]
    first, second, third = rows
    assert (first.pelaksana, first.sasaran, first.target_count, first.target_unit, first.mitra) == \
        ("Kader PPKBD", "Seluruh keluarga", 350, "KK", "Pemerintah Desa")
    assert (first.frequency, first.start_date.year, first.schedule_problems) == ("monthly", YEAR, None)
    assert [(s.type, s.amount) for s in first.funding_sources] == [("dana_desa", 1_500_000)]
    assert [(s.type, s.amount) for s in second.funding_sources] == [("swadaya", 300_000)]
    assert (second.start_date.month, second.end_date.month) == (1, 3)
    assert third.schedule_needs_completion and third.schedule_problems
    assert third.target_count == 40 and third.budget == 2_000_000
    assert counts()[1] == before[1] + 3
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "plan.import")).one()
    assert entry.plan_id == plan.id and entry.user_id is None


def test_import_adds_to_the_years_draft(kampung, runner, tmp_path):
    draft = create_plan(kampung, YEAR, by=None)
    add_row(draft, {"part": "I", "kegiatan": "Kegiatan yang sudah ada", "schedule_text": "Setiap bulan"}, by=None)
    db.session.commit()
    plans_before = counts()[0]
    result = plan_import(runner, write(tmp_path, "r.csv", csv_bytes(GOOD)), kampung, YEAR)
    assert result.exit_code == 0, result.output
    assert counts()[0] == plans_before
    db.session.refresh(draft)
    assert [r.kegiatan for r in draft.rows_in("I")] == ["Kegiatan yang sudah ada", NAMES[0], NAMES[1]]
    assert [r.kegiatan for r in draft.rows_in("II")] == [NAMES[2]]


def test_unknown_kampung_is_refused(kampung, runner, tmp_path):
    path = write(tmp_path, "r.xlsx", xlsx_bytes(GOOD))
    result = runner.invoke(args=["plan", "import", path, "--kampung", "9999", "--year", str(YEAR)])
    assert_clean_refusal(result)
    assert "Kampung KB dengan id 9999 tidak ada." in result.output


def test_missing_file_or_options_are_usage_errors(kampung, runner, tmp_path):
    missing = runner.invoke(args=["plan", "import", str(tmp_path / "tidak-ada.xlsx"), "--kampung", str(kampung.id),
                                  "--year", str(YEAR)])
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    path = write(tmp_path, "r.xlsx", xlsx_bytes(GOOD))
    no_year = runner.invoke(args=["plan", "import", path, "--kampung", str(kampung.id)])
    assert no_year.exit_code == 2 and "--year" in no_year.output
    assert counts()[0] == 0


def test_year_out_of_range_is_refused(kampung, runner, tmp_path):
    result = plan_import(runner, write(tmp_path, "r.xlsx", xlsx_bytes(GOOD)), kampung, 1999)
    assert_clean_refusal(result)
    assert "Tahun tidak valid." in result.output
    assert counts()[0] == 0


def test_dry_run_refuses_the_year_the_import_refuses(kampung, runner, tmp_path):
    result = plan_import(runner, write(tmp_path, "r.xlsx", xlsx_bytes(GOOD)), kampung, 1999, "--dry-run")
    assert_clean_refusal(result)
    assert "Tahun tidak valid." in result.output


@pytest.mark.parametrize("year", [0, 10000])
def test_year_outside_the_calendar_is_refused_cleanly(year, kampung, runner, tmp_path):
    path = write(tmp_path, "r.xlsx", xlsx_bytes(GOOD))
    for extra in ([], ["--dry-run"]):
        result = plan_import(runner, path, kampung, year, *extra)
        assert_clean_refusal(result)
        assert "Tahun tidak valid." in result.output
    assert counts()[0] == 0


def test_too_big_file_is_refused(kampung, runner, tmp_path):
    path = write(tmp_path, "besar.csv", b"Kegiatan;Pelaksana;Waktu\n" + b"x;y;z\n" * (1024 * 1024))
    result = plan_import(runner, path, kampung, YEAR)
    assert_clean_refusal(result)
    assert "Berkas terlalu besar" in result.output and "paling besar 5 MB" in result.output
    assert counts()[0] == 0


# -- hostile files ----------------------------------------------------------------------------------

def docx_bytes():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


HOSTILE = [
    ("gambar.png", PNG, "Berkas bukan CSV atau Excel (.xlsx) yang dapat dibaca."),
    ("gambar.xlsx", PNG, "Berkas bukan CSV atau Excel (.xlsx) yang dapat dibaca."),
    ("gambar.csv", PNG, "Berkas bukan CSV atau Excel (.xlsx) yang dapat dibaca."),
    ("dokumen.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "Berkas PDF tidak dapat dibaca."),
    ("lama.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "Format Excel lama (.xls)"),
    ("surat.xlsx", docx_bytes(), "Ini berkas Word (.docx)."),
    ("kosong.xlsx", b"", "Berkas kosong."),
    ("rusak.xlsx", b"PK\x03\x04" + b"\x00" * 64, "Berkas .xlsx rusak atau tidak lengkap."),
    ("catatan.csv", "Belanja pasar;Rp 10.000\nGula;2 kg\n".encode(), "Tidak ditemukan baris judul kolom"),
    ("rusak.json", b"{\"format\": ", "Berkas bukan JSON yang valid"),
    ("lain.json", b'{"hello": "world"}', "Berkas bukan ekspor rencana kegiatan Portal Kampung KB."),
]


def test_hostile_files_are_refused_cleanly(kampung, runner, tmp_path):
    for name, data, message in HOSTILE:
        for extra in ([], ["--dry-run"]):
            result = plan_import(runner, write(tmp_path, name, data), kampung, YEAR, *extra)
            assert_clean_refusal(result)
            assert message in result.output, (name, result.output)
            assert not preview_lines(result.output), name
    assert counts() == (0, 0, 0)


# -- plans with accounts: locked years, export, round trip ------------------------------------------

ROWS = [
    {"part": "I", "kegiatan": "Pemutakhiran data keluarga", "pelaksana": "Kader PPKBD", "target_count": 350,
     "target_unit": "KK", "schedule_text": "Setiap bulan", "funding_text": "Dana Desa Rp 1.500.000"},
    {"part": "I", "kegiatan": "Pendataan keluarga baru", "schedule_text": f"Tanggal 12 Maret {YEAR}"},
    {"part": "II", "kegiatan": "Kelas BKB", "sasaran": "Keluarga balita",
     "schedule_text": "Tiap Sabtu Februari - April", "funding_text": "BOKB Rp 750.000"},
    {"part": "IV", "kegiatan": "Kerja bakti lingkungan", "schedule_text": "Triwulan", "funding_text": "Swadaya"},
    {"part": "VI", "kegiatan": "Pemberian makanan tambahan", "seksi": "layanan", "schedule_text": "Agustus",
     "funding_text": "Dana Desa Rp 3.000.000"},
]
ROW_NAMES = [r["kegiatan"] for r in ROWS]


def make_plan(pokja, year=YEAR, status="disetujui"):
    plan = create_plan(pokja["kampung"], year, by=pokja["sekretaris"])
    for data in ROWS:
        add_row(plan, dict(data), by=pokja["sekretaris"])
    db.session.commit()
    steps = {"draf": [], "diajukan": [("ajukan", "ketua")], "disetujui": [("ajukan", "ketua"), ("setujui", "lurah")]}
    for action, role in steps[status]:
        approval.perform(plan, action, pokja[role], password=PASSWORD)
        db.session.commit()
    assert plan.status == status
    return plan


@pytest.mark.parametrize("status,fmt", [("disetujui", "xlsx"), ("disetujui", "csv"), ("diajukan", "xlsx")])
def test_import_into_a_locked_year_is_refused(status, fmt, pokja, runner, tmp_path):
    make_plan(pokja, status=status)
    before = counts()
    for extra in ([], ["--dry-run"]):
        result = plan_import(runner, write(tmp_path, f"r.{fmt}", WRITERS[fmt](GOOD)), pokja["kampung"], YEAR, *extra)
        assert_clean_refusal(result)
        assert "revisi" in result.output
        assert f"Rencana kegiatan {YEAR} berstatus" in result.output
        assert len(preview_lines(result.output)) == len(GOOD)  # the preview is still shown
    assert counts() == before


def test_import_into_a_revision_draft_is_allowed(pokja, runner, tmp_path):
    plan = make_plan(pokja)
    revision = approval.create_revision(plan, by=pokja["sekretaris"])
    db.session.commit()
    result = plan_import(runner, write(tmp_path, "r.xlsx", xlsx_bytes(GOOD)), pokja["kampung"], YEAR)
    assert result.exit_code == 0, result.output
    db.session.refresh(revision)
    assert len(revision.rows) == len(ROWS) + len(GOOD)
    assert len(plan.rows) == len(ROWS)


@pytest.fixture
def approved(pokja):
    return make_plan(pokja)


def export(runner, plan_id, fmt, output=None):
    args = ["plan", "export", str(plan_id), "--format", fmt] + (["-o", str(output)] if output else [])
    return runner.invoke(args=args)


def test_export_json_to_a_file_and_to_stdout(approved, runner, tmp_path):
    target = tmp_path / "rencana.json"
    result = export(runner, approved.id, "json", target)
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["format"] == "portal-kampung-kb/rencana-kegiatan" and document["status"] == "disetujui"
    assert [r["kegiatan"] for r in document["rows"]] == ROW_NAMES
    assert f"({len(ROWS)} kegiatan) ditulis ke {target}" in result.stderr
    assert result.stdout == ""
    to_stdout = export(runner, approved.id, "json")
    assert to_stdout.exit_code == 0
    assert json.loads(to_stdout.stdout) == document


def test_export_xlsx_and_csv(approved, runner, tmp_path):
    xlsx = tmp_path / "rencana.xlsx"
    assert export(runner, approved.id, "xlsx", xlsx).exit_code == 0
    workbook = load_workbook(xlsx)
    cells = [c for row in workbook.worksheets[0].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    positions = [cells.index(name) for name in ROW_NAMES]
    assert positions == sorted(positions)
    assert approved.verification_code in " ".join(cells)
    csv_path = tmp_path / "rencana.csv"
    assert export(runner, approved.id, "csv", csv_path).exit_code == 0
    table = list(csv.DictReader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))))
    assert [r["Kegiatan"] for r in table] == ROW_NAMES
    assert [r["Bagian"] for r in table] == [r["part"] for r in ROWS]
    # Without -o the binary XLSX goes to stdout when that is not a terminal.
    piped = export(runner, approved.id, "xlsx")
    assert piped.exit_code == 0 and piped.stdout_bytes.startswith(b"PK\x03\x04")


def test_export_pdf(approved, runner, tmp_path):
    from pypdf import PdfReader

    target = tmp_path / "rencana.pdf"
    result = export(runner, approved.id, "pdf", target)
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    assert "RENCANA KEGIATAN KAMPUNG KB" in text and ROW_NAMES[0] in text


def test_binary_export_to_a_terminal_asks_for_a_file(approved, runner, monkeypatch):
    from portal.blueprints.plans import cli

    class Terminal(io.BytesIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(cli, "_stdout", lambda: terminal)
    for fmt in ("xlsx", "pdf"):
        result = export(runner, approved.id, fmt)
        assert_clean_refusal(result)
        assert f"Format {fmt} adalah berkas biner: pakai -o BERKAS." in result.output
    assert terminal.getvalue() == b""
    assert export(runner, approved.id, "csv").exit_code == 0  # text goes to the terminal
    assert terminal.getvalue().decode("utf-8-sig").startswith("Bagian,")


def test_plan_list(approved, pokja, runner):
    kampung = pokja["kampung"]
    text = runner.invoke(args=["plan", "list"])
    assert text.exit_code == 0
    assert re.search(rf"^\s*{approved.id}\s+{YEAR}\s+Disetujui\s+{len(ROWS)} kegiatan\s+{kampung.name} "
                     rf"\(id {kampung.id}\)$", text.output, re.M), text.output
    as_json = json.loads(runner.invoke(args=["plan", "list", "--json"]).output)
    assert as_json == [{"id": approved.id, "kampung_id": kampung.id, "kampung": kampung.name, "year": YEAR,
                        "revision": 0, "status": "disetujui", "rows": len(ROWS)}]


def test_plan_list_without_plans(kampung, runner):
    result = runner.invoke(args=["plan", "list"])
    assert result.exit_code == 0 and result.output.strip() == "Belum ada rencana kegiatan."
    assert json.loads(runner.invoke(args=["plan", "list", "--json"]).output) == []


def test_export_errors(kampung, runner, tmp_path):
    target = tmp_path / "x.json"
    missing = export(runner, 9999, "json", target)
    assert_clean_refusal(missing)
    assert "Rencana dengan id 9999 tidak ada." in missing.output
    assert not target.exists()
    bad_format = export(runner, 9999, "docx", target)
    assert bad_format.exit_code == 2 and "docx" in bad_format.output
    not_a_number = runner.invoke(args=["plan", "export", "satu"])
    assert not_a_number.exit_code == 2


def test_json_dry_run_import_and_refusal(approved, pokja, runner, tmp_path):
    """JSON keeps its own behaviour (docs/office-formats.md): always a new draft; the dry run only
    counts the rows."""
    path = tmp_path / "rencana.json"
    assert export(runner, approved.id, "json", path).exit_code == 0
    kampung = pokja["kampung"]
    before = counts()
    dry = plan_import(runner, str(path), kampung, YEAR + 1, "--dry-run")
    assert dry.exit_code == 0, dry.output
    # (the number it reads is wrong: test_json_dry_run_counts_each_activity_once)
    assert re.search(r"Uji coba \(--dry-run\): \d+ kegiatan terbaca; tidak ada yang disimpan\.", dry.output)
    assert counts() == before

    # The approved year already has a plan: a JSON import never adds to it.
    locked = plan_import(runner, str(path), kampung, YEAR)
    assert_clean_refusal(locked)
    assert f"Rencana kegiatan {YEAR} sudah ada." in locked.output
    assert counts() == before

    done = plan_import(runner, str(path), kampung, YEAR + 1)
    assert done.exit_code == 0, done.output
    plan = db.session.scalars(sa.select(Plan).where(Plan.year == YEAR + 1)).one()
    assert plan.status == "draf" and f"(id {plan.id}, {len(ROWS)} kegiatan)" in done.output
    assert [r.kegiatan for r in in_order(plan)] == ROW_NAMES


def test_json_dry_run_counts_each_activity_once(approved, pokja, runner, tmp_path):
    path = tmp_path / "rencana.json"
    assert export(runner, approved.id, "json", path).exit_code == 0
    dry = plan_import(runner, str(path), pokja["kampung"], YEAR + 1, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"Uji coba (--dry-run): {len(ROWS)} kegiatan terbaca; tidak ada yang disimpan." in dry.output


def test_json_with_a_bad_row_saves_nothing(approved, pokja, runner, tmp_path):
    path = tmp_path / "rencana.json"
    assert export(runner, approved.id, "json", path).exit_code == 0
    document = json.loads(path.read_text(encoding="utf-8"))
    document["rows"][1]["part"] = "IX"
    path.write_text(json.dumps(document), encoding="utf-8")
    before = counts()
    result = plan_import(runner, str(path), pokja["kampung"], YEAR + 1)
    assert_clean_refusal(result)
    assert "Baris 2: bagian 'IX' tidak dikenal" in result.output
    assert counts() == before


def exported_document(runner, plan, tmp_path):
    path = tmp_path / "ekspor.json"
    assert export(runner, plan.id, "json", path).exit_code == 0
    return json.loads(path.read_text(encoding="utf-8"))


def set_in(document, *path_and_value):
    *path, key, value = path_and_value
    target = document
    for step in path:
        target = target[step]
    target[key] = value


JSON_REFUSED = [  # (change to the first, or given, row, message)
    (("rows", "rows tidak ada"), "Berkas tidak berisi daftar baris (rows)."),
    (("format", "lain"), "Berkas bukan ekspor rencana kegiatan Portal Kampung KB."),
    (("version", 99), "Versi format 99 tidak didukung"),
    (("rows", 0, "part", "IX"), "Baris 1: bagian 'IX' tidak dikenal"),
    (("rows", 0, "seksi", "keuangan"), "Baris 1: kegiatan kosong atau seksi tidak dikenal"),
    (("rows", 0, "kegiatan", ""), "Baris 1: kegiatan kosong atau seksi tidak dikenal"),
    (("rows", 0, "schedule", "frequency", "tiap jam"), "Baris 1: frekuensi 'tiap jam' tidak dikenal"),
    (("rows", 0, "funding", "sources", [{"type": "judi", "amount": 5}]), "Baris 1: Jenis sumber dana tidak dikenal"),
    (("rows", 0, "schedule", "start_date", "2026-13-01"), "Baris 1: "),
    (("rows", 1, "schedule", "abc"), "Baris 2: "),
]


def test_json_with_a_bad_value_is_refused_and_saves_nothing(approved, pokja, runner, tmp_path):
    document = exported_document(runner, approved, tmp_path)
    before = counts()
    for index, (change, message) in enumerate(JSON_REFUSED):
        changed = json.loads(json.dumps(document))
        set_in(changed, *change)
        path = write(tmp_path, f"ubah{index}.json", json.dumps(changed).encode())
        for extra in ([], ["--dry-run"]):
            result = plan_import(runner, path, pokja["kampung"], YEAR + 1, *extra)
            assert_clean_refusal(result)
            assert message in result.output, (change, result.output)
    assert counts() == before


HOSTILE_JSON_BUGS = [
    pytest.param(("rows", 0, "target_count", -5), id="negative-target"),
    pytest.param(("rows", 0, "funding", "sources", [{"type": "dana_desa", "amount": -5}]), id="negative-amount"),
    pytest.param(("rows", 0, "funding", "sources", [{"type": "dana_desa", "amount": "lima"}]), id="text-amount"),
    pytest.param(("rows", 2, "schedule", "weekday", 9), id="weekday-9"),
    pytest.param(("rows", 0, "target_count", "banyak"), id="text-target"),
    pytest.param(("rows", 0, "kegiatan", "x" * 301), id="kegiatan-301-chars"),
]


@pytest.mark.parametrize("change", HOSTILE_JSON_BUGS)
def test_json_with_out_of_range_values_is_refused_cleanly(change, approved, pokja, runner, tmp_path):
    document = exported_document(runner, approved, tmp_path)
    set_in(document, *change)
    path = write(tmp_path, "ubah.json", json.dumps(document).encode())
    before = counts()
    result = plan_import(runner, path, pokja["kampung"], YEAR + 1)
    assert_clean_refusal(result)
    assert "Baris " in result.output
    db.session.rollback()
    assert counts() == before


def test_deeply_nested_json_is_refused_cleanly(kampung, runner, tmp_path):
    path = write(tmp_path, "dalam.json", b'{"a":' * 200_000 + b"1" + b"}" * 200_000)
    result = plan_import(runner, path, kampung, YEAR)
    assert_clean_refusal(result)
    assert "JSON" in result.output


def test_json_with_a_byte_order_mark_is_imported(approved, pokja, runner, tmp_path):
    document = exported_document(runner, approved, tmp_path)
    path = write(tmp_path, "bom.json", b"\xef\xbb\xbf" + json.dumps(document, ensure_ascii=False).encode())
    result = plan_import(runner, path, pokja["kampung"], YEAR + 1)
    assert result.exit_code == 0, result.output
    assert db.session.scalars(sa.select(Plan).where(Plan.year == YEAR + 1)).one()


PART_ORDER = ["I", "II", "III", "IV", "V", "VI"]


def in_order(plan):
    return sorted(plan.rows, key=lambda r: (PART_ORDER.index(r.part), r.position))


def test_xlsx_export_of_an_approved_plan_imports_into_a_new_year(approved, pokja, runner, tmp_path):
    path = tmp_path / "rencana.xlsx"
    assert export(runner, approved.id, "xlsx", path).exit_code == 0
    dry = plan_import(runner, str(path), pokja["kampung"], YEAR + 1, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert [re.sub(r"^baris\s+\d+\s+\S+\s+", "", line) for line in preview_lines(dry.output)] == ROW_NAMES
    assert f"{len(ROWS)} kegiatan, 0 salah" in dry.output

    result = plan_import(runner, str(path), pokja["kampung"], YEAR + 1)
    assert result.exit_code == 0, result.output
    new = db.session.scalars(sa.select(Plan).where(Plan.year == YEAR + 1)).one()
    assert new.id != approved.id and new.status == "draf"
    old_rows, new_rows = in_order(approved), in_order(new)
    assert [r.kegiatan for r in new_rows] == ROW_NAMES
    assert [(r.part, r.seksi, r.frequency, r.interval) for r in new_rows] == \
        [(r.part, r.seksi, r.frequency, r.interval) for r in old_rows]
    assert [r.budget for r in new_rows] == [r.budget for r in old_rows]
    assert {r.lineage for r in new_rows}.isdisjoint({r.lineage for r in old_rows})  # new activities
    # The schedules are in the new year (as "Salin dari tahun lalu" does).
    for row in new_rows:
        if row.start_date:
            assert (row.start_date.year, row.end_date.year) == (YEAR + 1, YEAR + 1), row.kegiatan
    assert approved.status == "disetujui" and len(approved.rows) == len(ROWS)
