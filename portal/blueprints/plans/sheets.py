"""Reading a Rencana Kegiatan from a spreadsheet laid out like the paper form.

``read_file(data, filename)`` accepts XLSX or CSV and returns a ``SheetPlan``: the rows found
under the part headers ("I Penyediaan data …", "II Perubahan Perilaku" …), each with its sheet
row number, its cell texts by field and what was wrong with it. Nothing here touches the
database; ``services.sheet_rows`` turns the texts into plan rows with the same readers the row
form uses, so the preview shows exactly what the import will store.

Hostile files are refused with ``SheetRefused`` (message in Indonesian) before any expensive
work: the type is decided by content, not name; a zip whose members would unpack to more than
``MAX_UNPACKED`` bytes is refused from its directory; the sheet is streamed (openpyxl read-only)
and reading stops at ``MAX_SHEET_ROWS`` rows, ``MAX_COLUMNS`` columns and ``MAX_CELL_CHARS``
characters in a cell. Formulas are never evaluated: the value Excel cached is used and the row
says so, and a formula without a cached value is a row error.
"""
import csv
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time

from defusedxml.ElementTree import iterparse
from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException

from portal.blueprints.plans.reading import normalize_space, parse_rupiah
from portal.models.plan import PARTS
from portal.models.pokja import SEKSI

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNPACKED = 40 * 1024 * 1024
MAX_ZIP_MEMBERS = 500
MAX_SHEET_ROWS = 5_000
MAX_COLUMNS = 40
MAX_CELL_CHARS = 10_000
MAX_ACTIVITIES = 1_000
HEADER_SEARCH_ROWS = 30

# The hidden sheet an export carries, so a round trip keeps structure a text cannot say.
STRUCTURE_SHEET = "_portal_struktur"
STRUCTURE_FORMAT = "portal-kampung-kb/struktur-baris/2"

# Field → (column header as exported, accepted header spellings after normalising).
COLUMNS = {
    "part": ("Bagian", {"bagian", "bag"}),
    "number": ("No", {"no", "nomor", "no urut", "nomor urut"}),
    "kegiatan": ("Kegiatan", {"kegiatan", "nama kegiatan", "uraian kegiatan", "jenis kegiatan",
                              "program kegiatan", "uraian", "rencana kegiatan"}),
    "pelaksana": ("Pelaksana", {"pelaksana", "pelaksana kegiatan", "penanggung jawab", "penanggungjawab",
                                "pj", "pic"}),
    "seksi": ("Seksi", {"seksi", "bidang", "seksi penanggung jawab", "seksi pj"}),
    "sasaran": ("Sasaran", {"sasaran", "kelompok sasaran", "sasaran kegiatan", "target sasaran"}),
    "target": ("Jumlah Sasaran", {"jumlah sasaran", "jml sasaran", "target", "jumlah target", "volume"}),
    "mitra": ("Mitra", {"mitra", "mitra kerja", "mitra kegiatan", "kemitraan", "lintas sektor"}),
    "place": ("Tempat", {"tempat", "lokasi", "tempat kegiatan", "lokasi kegiatan"}),
    "schedule_text": ("Waktu", {"waktu", "jadwal", "waktu pelaksanaan", "jadwal pelaksanaan",
                                "waktu kegiatan", "jadwal kegiatan", "bulan", "pelaksanaan"}),
    "funding_text": ("Sumber Dana", {"sumber dana", "sumber anggaran", "sumber pendanaan", "pendanaan",
                                     "sumber biaya", "dana"}),
    "anggaran": ("Anggaran (Rp)", {"anggaran", "biaya", "jumlah anggaran", "jumlah dana", "nilai",
                                   "besaran", "anggaran rp", "biaya rp", "jumlah biaya", "rp"}),
    "description": ("Keterangan", {"keterangan", "ket", "catatan", "deskripsi"}),
}
TEXT_FIELDS = ("kegiatan", "pelaksana", "sasaran", "mitra", "place", "schedule_text", "funding_text",
               "description")
# The stored column sizes (portal.models.plan); longer text is a row error, not a truncation.
MAX_LENGTH = {"kegiatan": 300, "pelaksana": 300, "sasaran": 300, "mitra": 300, "place": 200,
              "schedule_text": 200, "funding_text": 300, "description": 4000}
LABELS = {"kegiatan": "Kegiatan", "pelaksana": "Pelaksana", "sasaran": "Sasaran", "mitra": "Mitra",
          "place": "Tempat", "schedule_text": "Waktu", "funding_text": "Sumber Dana",
          "description": "Keterangan", "target": "Jumlah Sasaran", "anggaran": "Anggaran",
          "seksi": "Seksi", "part": "Bagian", "number": "No"}

ROMAN = {"I": "I", "II": "II", "III": "III", "IV": "IV", "V": "V", "VI": "VI"}
# Words that name a part when the numeral is missing (checked in this order).
PART_WORDS = (
    ("VI", ("dana desa", "dana kelurahan", "mandiri", "apbdes")),
    ("V", ("operasional", "bokb")),
    ("I", ("penyediaan data", "administrasi kependudukan", "data dan administrasi")),
    ("II", ("perubahan perilaku", "perilaku")),
    ("III", ("pelayanan dan rujukan", "pelayanan", "rujukan")),
    ("IV", ("penataan lingkungan", "lingkungan")),
)
SEKSI_WORDS = {
    "data": ("data", "penyediaan data", "rumah data"),
    "perilaku": ("perilaku", "perubahan perilaku"),
    "layanan": ("layanan", "pelayanan", "rujukan", "pelayanan dan rujukan"),
    "lingkungan": ("lingkungan", "penataan lingkungan"),
}
TOTAL_WORDS = re.compile(r"^(jumlah|total|sub\s*total|subtotal|grand\s*total)\b", re.IGNORECASE)
# The signature block below the table: "Mengetahui," always opens it; a role title only when the
# row has nothing else an activity would ("Kepala Desa membuka Pekan KB" is an activity).
SIGNATURE_OPENERS = re.compile(r"^(mengetahui|menyetujui|disetujui|dibuat oleh)\b", re.IGNORECASE)
SIGNATURE_WORDS = re.compile(r"^(mengetahui|menyetujui|ketua pokja|lurah|kepala desa|disetujui|dibuat oleh)\b",
                             re.IGNORECASE)


class SheetRefused(ValueError):
    """The file cannot be read as a plan at all (message in Indonesian)."""


@dataclass
class Cell:
    text: str = ""
    number: float | None = None  # when the cell held a number
    formula: str | None = None  # the formula, when the cell had one
    ref: str = ""  # "H12"


@dataclass
class SheetRow:
    sheet_row: int
    part: str | None
    texts: dict = field(default_factory=dict)  # field → text
    anggaran: int | None = None
    target_count: int | None = None
    target_unit: str | None = None
    seksi: str | None = None
    warnings: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    structure: dict | None = None  # from an export's hidden sheet

    @property
    def kegiatan(self):
        return self.texts.get("kegiatan", "")

    def visible_keys(self):
        return visible_keys(self.part, self.texts, self.anggaran)


@dataclass
class SheetPlan:
    filename: str
    kind: str  # "xlsx" | "csv"
    sheet: str
    header_row: int
    columns: list  # [(field, header as written)]
    ignored: list  # headers not understood
    rows: list
    notes: list = field(default_factory=list)  # file-level remarks

    @property
    def error_count(self):
        return sum(1 for r in self.rows if r.errors)

    @property
    def warning_count(self):
        return sum(1 for r in self.rows if r.warnings and not r.errors)


def clean_lines(text):
    """Spaces normalised within each line; line breaks kept (only Keterangan keeps them)."""
    return "\n".join(normalize_space(line) for line in text.splitlines()).strip("\n")


def field_text(name, text):
    """A cell's text as the field stores it: one line, except the multi-line Keterangan."""
    return clean_lines(text) if name == "description" else normalize_space(text)


def visible_keys(part, texts, anggaran):
    """(schedule key, funding key): what a row shows that its kept schedule and funding belong
    to, for matching a row to an export's hidden structure."""
    def digest(*payload):
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()[:24]
    kegiatan = texts.get("kegiatan", "")
    return (digest("jadwal", part, kegiatan, texts.get("schedule_text", "")),
            digest("dana", part, kegiatan, texts.get("funding_text", ""), anggaran))


# -- entry point --------------------------------------------------------------------------------

def read_file(data, filename=""):
    """Read an uploaded plan. Raises SheetRefused for a file that is not a readable plan."""
    kind, grids = open_grids(data)
    plan = None
    try:
        for sheet, grid, merges, hidden in grids:
            plan = _parse(grid, merges, filename, kind, sheet)
            if plan is not None:
                if hidden:
                    _hidden_structure(plan, hidden)
                break
    except SheetRefused:
        raise
    except Exception as exc:  # openpyxl parses rows lazily: a damaged sheet body fails here
        raise SheetRefused("Lembar kerja rusak dan tidak dapat dibaca. Buka di Excel, simpan ulang, "
                           "lalu unggah lagi.") from exc
    if plan is None:
        raise SheetRefused("Tidak ditemukan baris judul kolom (mis. No, Kegiatan, Pelaksana, Sasaran, Mitra, "
                           "Waktu, Sumber Dana). Pastikan tabel memakai judul kolom seperti formulir.")
    if not plan.rows:
        raise SheetRefused("Tidak ada kegiatan di bawah judul kolom.")
    return plan


def open_grids(data):
    """("xlsx"|"csv", iterator of (sheet title, rows of Cells, merges, hidden structure)) for an
    upload, after the size and type checks; raises SheetRefused. The rows are read lazily, so
    a damaged sheet may still fail while iterating (callers catch it)."""
    if not data:
        raise SheetRefused("Berkas kosong.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise SheetRefused("Berkas terlalu besar: paling besar 5 MB. Simpan hanya lembar yang diperlukan, lalu unggah lagi.")
    if data.startswith(b"PK\x03\x04"):
        return "xlsx", _xlsx_grids(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise SheetRefused(_ole_message(data))
    if data.startswith(b"%PDF"):
        raise SheetRefused("Berkas PDF tidak dapat dibaca. Unggah tabel dalam format Excel (.xlsx) atau CSV.")
    return "csv", _csv_grids(data)


def _ole_message(data):
    if "EncryptionInfo".encode("utf-16-le") in data[:512 * 1024] or b"EncryptionInfo" in data[:512 * 1024]:
        return "Berkas dilindungi kata sandi. Buka di Excel, hapus kata sandinya, simpan, lalu unggah lagi."
    return ("Format Excel lama (.xls) atau Word (.doc) tidak didukung. Buka di Excel dan simpan sebagai "
            "\u201cBuku Kerja Excel (.xlsx)\u201d, lalu unggah lagi.")


# -- XLSX ---------------------------------------------------------------------------------------

def _xlsx_grids(data):
    """Check the archive, then yield (sheet title, rows of Cells, hidden structure sheet) per
    visible sheet."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise SheetRefused("Berkas .xlsx rusak atau tidak lengkap.") from exc
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names:
            raise SheetRefused("Ini berkas Word (.docx). Salin tabel rencana ke Excel, simpan sebagai .xlsx, "
                               "lalu unggah lagi.")
        raise SheetRefused("Berkas bukan buku kerja Excel (.xlsx).")
    if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED:
        raise SheetRefused("Isi berkas terlalu besar setelah dibuka (lebih dari 40 MB). "
                           "Simpan hanya lembar rencana kegiatan, lalu unggah lagi.")
    _count_rows_and_cells(archive, [m for m in members if m.filename.startswith("xl/worksheets/")
                                    or m.filename == "xl/sharedStrings.xml"])
    try:
        formulas = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise SheetRefused("Berkas .xlsx tidak dapat dibaca. Buka di Excel, simpan ulang, lalu unggah lagi.") from exc
    except Exception as exc:  # defusedxml refusals, malformed XML from hand-made archives
        raise SheetRefused("Berkas .xlsx tidak dapat dibaca (isi XML tidak valid).") from exc
    hidden = None
    if STRUCTURE_SHEET in values.sheetnames:
        hidden = _structure_rows(values[STRUCTURE_SHEET])
    try:
        for name in formulas.sheetnames:
            sheet_f, sheet_v = formulas[name], values[name]
            if name == STRUCTURE_SHEET or getattr(sheet_v, "sheet_state", "visible") != "visible":
                continue
            # Read to the last row there is, not to a stale <dimension> the file claims.
            sheet_f.reset_dimensions()
            sheet_v.reset_dimensions()
            yield name, _xlsx_rows(sheet_f, sheet_v), _merged_ranges(formulas, sheet_f), hidden
    finally:
        formulas.close()
        values.close()


_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_CELL_TAG = re.compile(rb"<(?:\w+:)?(?:c|si)[\s>/]")  # a cell, or a shared string


def _count_rows_and_cells(archive, members):
    """Refuse sheets with more than MAX_SHEET_ROWS rows or MAX_SHEET_ROWS × MAX_COLUMNS cells,
    and a shared-string table larger than that, by counting tags while unpacking, before openpyxl
    parses anything (read-only mode scans a whole sheet that lacks a <dimension> just to size it,
    and loads every shared string)."""
    for member in members:
        rows = cells = 0
        tail = b""
        with archive.open(member) as source:
            while chunk := source.read(1 << 20):
                block = tail + chunk
                rows += len(_ROW_TAG.findall(block))
                cells += len(_CELL_TAG.findall(block))
                # Keep a partial tag at the end for the next block, without counting it twice.
                cut = block.rfind(b"<")
                tail = block[cut:] if cut >= len(block) - 8 and cut != -1 else b""
                if tail:
                    rows -= len(_ROW_TAG.findall(tail))
                    cells -= len(_CELL_TAG.findall(tail))
                if rows > MAX_SHEET_ROWS or cells > MAX_SHEET_ROWS * MAX_COLUMNS:
                    raise SheetRefused(f"Lembar kerja berisi lebih dari {_count(MAX_SHEET_ROWS)} baris atau terlalu "
                                       "banyak sel (batas impor). Simpan hanya tabel rencana kegiatan, lalu unggah lagi.")


def _merged_ranges(workbook, sheet):
    """Merged ranges from the sheet XML (read-only mode does not expose them), streamed."""
    ranges = []
    try:
        with workbook._archive.open(sheet._worksheet_path) as source:  # openpyxl 3.1 internals
            for _event, element in iterparse(source, events=("end",)):
                tag = element.tag.rsplit("}", 1)[-1]
                if tag == "mergeCell" and element.get("ref"):
                    if len(ranges) < 10_000:
                        ranges.append(range_boundaries(element.get("ref")))
                elif tag in ("row", "c", "v", "f", "is"):
                    element.clear()
    except Exception as exc:
        raise SheetRefused("Berkas .xlsx tidak dapat dibaca (lembar kerja rusak).") from exc
    return ranges


def _xlsx_rows(sheet_f, sheet_v):
    """[(sheet row, [Cell])], at most MAX_COLUMNS wide."""
    rows = []
    cells_f = sheet_f.iter_rows(max_col=MAX_COLUMNS)
    cells_v = sheet_v.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    for index, (row_f, row_v) in enumerate(zip(cells_f, cells_v), start=1):
        if index > MAX_SHEET_ROWS:
            raise SheetRefused(f"Lembar \u201c{sheet_f.title}\u201d berisi lebih dari {_count(MAX_SHEET_ROWS)} baris "
                               "(batas impor). Hapus baris kosong atau data lain di bawah tabel, lalu unggah lagi.")
        rows.append([_cell(value, f"{_column_letter(col)}{index}",
                           formula=str(cell.value) if getattr(cell, "data_type", None) == "f" else None)
                     for col, (cell, value) in enumerate(zip(row_f, row_v), start=1)])
    return [(i, row) for i, row in enumerate(rows, start=1)]


def _fill_merges(grid, merges, keep_empty, report=()):
    """Copy each vertically merged range's top value down its first column (a funding source
    merged over three activities belongs to all three), except in the columns ``keep_empty``
    (0-based): No or Kegiatan merged down stay empty below, so those rows read as the
    continuation of one activity. Returns the ranges ("H5:H7") of vertical merges in the
    columns ``report``."""
    reported = []
    budget = MAX_SHEET_ROWS * MAX_COLUMNS  # cells a merge may fill in all; more is not a plan
    for min_col, min_row, max_col, max_row in sorted(set(merges)):
        col = min_col - 1
        if max_row == min_row or min_row > len(grid) or col >= MAX_COLUMNS:
            continue
        if col in report:
            reported.append(f"{_column_letter(min_col)}{min_row}:{_column_letter(max_col)}{max_row}")
        if col in keep_empty:
            continue
        top_cells = grid[min_row - 1][1]
        if col >= len(top_cells) or not top_cells[col].text:
            continue
        top = top_cells[col]
        budget -= min(max_row, len(grid)) - min_row
        if budget < 0:
            raise SheetRefused("Lembar kerja berisi terlalu banyak sel yang digabung (merge). "
                               "Hapus gabungan sel di luar tabel rencana, lalu unggah lagi.")
        for r in range(min_row + 1, min(max_row, len(grid)) + 1):
            cells = grid[r - 1][1]
            while len(cells) <= col:
                cells.append(Cell(ref=f"{_column_letter(len(cells) + 1)}{r}"))
            cells[col] = Cell(text=top.text, number=top.number, ref=cells[col].ref)
    return reported


def _count(number):
    return f"{number:,}".replace(",", ".")


def _column_letter(col):
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(value, ref, formula=None):
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        raise SheetRefused(f"Sel {ref} berisi {_count(len(value))} karakter; paling banyak {_count(MAX_CELL_CHARS)} per sel.")
    if value is None:
        return Cell(ref=ref, formula=formula)
    if isinstance(value, bool):
        return Cell(text="YA" if value else "TIDAK", ref=ref, formula=formula)
    if isinstance(value, (int, float)):
        text = str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")
        return Cell(text=text, number=value, ref=ref, formula=formula)
    if isinstance(value, datetime):
        value = value.date() if value.time() == time() else value
    if isinstance(value, date) and not isinstance(value, datetime):
        return Cell(text=_date_text(value), ref=ref, formula=formula)
    if isinstance(value, datetime):
        return Cell(text=f"{_date_text(value.date())} pukul {value:%H.%M}", ref=ref, formula=formula)
    if isinstance(value, time):
        return Cell(text=f"pukul {value:%H.%M}", ref=ref, formula=formula)
    return Cell(text=clean_lines(str(value)), ref=ref, formula=formula)


def _date_text(value):
    from portal.formatting import tanggal
    return tanggal(value)


def _structure_rows(sheet):
    """({schedule key: [schedule, …]}, {funding key: [funding, …]}, exported year) from an
    export's hidden sheet, in row order (two rows may look the same and differ only in
    structure). Bad entries are skipped: such rows are read from their texts like any other."""
    schedules, fundings, year = {}, {}, None
    for index, row in enumerate(sheet.iter_rows(max_col=3, values_only=True), start=1):
        if index > MAX_ACTIVITIES + 1:
            break
        if index == 1:
            if not row or row[0] != STRUCTURE_FORMAT:
                return None
            year = row[1] if len(row) > 1 and isinstance(row[1], int) and 2000 <= row[1] <= 2100 else None
            continue
        schedule_key, funding_key, text = (tuple(row) + (None, None, None))[:3]
        if not (isinstance(schedule_key, str) and isinstance(funding_key, str) and isinstance(text, str)
                and len(text) <= MAX_CELL_CHARS):
            continue
        try:
            structure = json.loads(text)
        except ValueError:
            continue
        if isinstance(structure, dict):
            if isinstance(structure.get("schedule"), dict):
                schedules.setdefault(schedule_key, []).append(structure["schedule"])
            if isinstance(structure.get("funding"), dict):
                fundings.setdefault(funding_key, []).append(structure["funding"])
    return schedules, fundings, year


def _hidden_structure(plan, hidden):
    schedules, fundings, year = hidden
    for row in plan.rows:
        schedule_key, funding_key = row.visible_keys()
        schedule = schedules[schedule_key].pop(0) if schedules.get(schedule_key) else None
        funding = fundings[funding_key].pop(0) if fundings.get(funding_key) else None
        if schedule or funding:
            row.structure = {"schedule": schedule, "funding": funding, "year": year}


# -- CSV ----------------------------------------------------------------------------------------

def _csv_grids(data):
    if b"\x00" in data[:8192]:
        raise SheetRefused("Berkas bukan CSV atau Excel (.xlsx) yang dapat dibaca.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetRefused("Berkas bukan teks CSV yang dapat dibaca (UTF-8 atau Windows-1252), bukan pula Excel (.xlsx).")
    first_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=lambda d: first_line.count(d))
    if first_line.count(delimiter) == 0:
        sample = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
        delimiter = max((";", ",", "\t"), key=lambda d: sample.count(d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for index, values in enumerate(reader, start=1):
            if index > MAX_SHEET_ROWS:
                raise SheetRefused(f"Berkas berisi lebih dari {_count(MAX_SHEET_ROWS)} baris (batas impor).")
            rows.append((index, [_csv_cell(v, f"{_column_letter(c)}{index}")
                                 for c, v in enumerate(values[:MAX_COLUMNS], start=1)]))
    except csv.Error as exc:
        if "field larger" in str(exc):
            raise SheetRefused(f"Sel terlalu panjang (paling banyak {_count(MAX_CELL_CHARS)} karakter per sel).") from exc
        raise SheetRefused(f"Berkas CSV tidak dapat dibaca: {exc}.") from exc
    yield "CSV", rows, [], None


def _csv_cell(value, ref):
    if len(value) > MAX_CELL_CHARS:
        raise SheetRefused(f"Sel {ref} berisi {_count(len(value))} karakter; paling banyak {_count(MAX_CELL_CHARS)} per sel.")
    value = value.strip()
    # CSV export guards text against formula injection with a leading apostrophe.
    if value.startswith("'") and value[1:2] in ("=", "+", "-", "@"):
        value = value[1:]
    return Cell(text=clean_lines(value), ref=ref)


# -- the form's layout --------------------------------------------------------------------------

def _norm(text):
    text = text.lower().replace("\u00a0", " ")
    text = re.sub(r"[().:/\\*_\-]+", " ", text)
    return " ".join(text.split())


HEADER_LOOKUP = {spelling: name for name, (_label, spellings) in COLUMNS.items() for spelling in spellings}


def _header_field(text):
    normal = _norm(text)
    if normal in HEADER_LOOKUP:
        return HEADER_LOOKUP[normal]
    without_rp = " ".join(w for w in normal.split() if w != "rp")
    return HEADER_LOOKUP.get(without_rp)


def _find_header(grid):
    for position, (sheet_row, cells) in enumerate(grid[:HEADER_SEARCH_ROWS]):
        found = {}
        for col, cell in enumerate(cells):
            name = _header_field(cell.text) if cell.text else None
            if name and name not in found:
                found[name] = col
        if "kegiatan" in found and len(found) >= 3:
            return position, found
    return None, None


def _parse(grid, merges, filename, kind, sheet):
    position, columns = _find_header(grid)
    if position is None:
        return None
    header_sheet_row, header_cells = grid[position]
    ignored = [c.text for i, c in enumerate(header_cells) if c.text and i not in columns.values()]
    plan = SheetPlan(filename=filename, kind=kind, sheet=sheet, header_row=header_sheet_row,
                     columns=[(name, header_cells[col].text) for name, col in sorted(columns.items(), key=lambda x: x[1])],
                     ignored=ignored, rows=[])
    # An amount merged over several activities is one amount: it stays on the first row.
    shared = {columns[n] for n in ("kegiatan", "number", "part", "anggaran") if n in columns}
    for ref in _fill_merges(grid, merges, keep_empty=shared, report={columns.get("anggaran")}):
        plan.notes.append(f"Sel Anggaran {ref} digabung untuk beberapa baris; jumlahnya dicatat sekali, pada baris "
                          f"pertamanya. Bagi anggaran per kegiatan bila perlu.")
    part = None
    previous = None
    rows = grid[position + 1:]
    # A second header line directly below (e.g. "(1) (2) (3)" column numbers) is skipped.
    for sheet_row, cells in rows:
        values = {name: (cells[col] if col < len(cells) else Cell()) for name, col in columns.items()}
        texts = [c.text for c in cells if c.text]
        if not texts:
            continue
        joined = " ".join(texts)
        if all(re.fullmatch(r"\(?\d+\)?", t) for t in texts) and len(texts) >= 3:
            continue  # column numbering row
        found_part = _part_header(values, texts)
        if found_part:
            part, previous = found_part, None
            continue
        number = values.get("number", Cell()).text
        kegiatan = values["kegiatan"].text
        # An activity named "Jumlah peserta …" or "Kepala Desa …" still has its other columns.
        activity_like = bool(kegiatan) and any(
            values[f].text for f in ("pelaksana", "sasaran", "mitra", "schedule_text", "funding_text") if f in values)
        if not activity_like and (TOTAL_WORDS.match(joined) or (not kegiatan and TOTAL_WORDS.match(texts[0]))):
            previous = None  # nothing below a total continues the activity above it
            continue
        if not number and (SIGNATURE_OPENERS.match(texts[0]) or (
                not activity_like and SIGNATURE_WORDS.match(texts[0])
                and (not kegiatan or SIGNATURE_WORDS.match(kegiatan)))):
            break  # the signature block below the table
        if not kegiatan and not number and not values.get("part", Cell()).text:
            if previous is not None:
                _continue(previous, values)
            else:
                plan.notes.append(f"Baris {sheet_row} diabaikan (tanpa No dan Kegiatan): \u201c{joined[:80]}\u201d.")
            continue
        if len(plan.rows) >= MAX_ACTIVITIES:
            raise SheetRefused(f"Lebih dari {_count(MAX_ACTIVITIES)} kegiatan dalam satu berkas (batas impor).")
        row = _row(sheet_row, part, values)
        plan.rows.append(row)
        previous = row
    if any(r.part is None for r in plan.rows):
        plan.notes.append("Beberapa kegiatan tidak berada di bawah judul bagian (I\u2013VI) dan tidak punya kolom "
                          "Seksi/Bagian; bagiannya perlu dipilih.")
    return plan


def _part_header(values, texts):
    """The part a header row opens ("II", "II. Perubahan Perilaku", "Perubahan perilaku"), or
    None for an activity row."""
    if len(texts) > 2 or values.get("pelaksana", Cell()).text or values.get("schedule_text", Cell()).text:
        return None
    number = values.get("number", Cell()).text.strip().rstrip(".").upper()
    if number in ROMAN:
        return number
    if number[:1].isdigit():
        return None  # a numbered activity
    # The title typed in the No column ("I Penyediaan data …" merged across the row) or in
    # the Kegiatan column, with or without its numeral.
    joined = " ".join(texts)
    match = re.match(r"^(VI|IV|V|III|II|I)(?:[.)]\s*|\s+|$)(.*)$", joined)
    if match:
        return match.group(1)
    return _part_by_words(_norm(joined))


def _part_by_words(normal):
    if not normal:
        return None
    for key, words in PART_WORDS:
        if any(normal.startswith(w) or f" {w}" in f" {normal}" for w in words):
            return key if _looks_like_title(normal, key) else None
    return None


def _looks_like_title(normal, key):
    """A part title, not an activity that happens to mention "lingkungan": the row must read
    like the title (its words) and be short."""
    title = _norm(PARTS[key][0])
    title_words = set(title.split())
    words = normal.split()
    return len(words) <= len(title_words) + 3 and sum(w in title_words for w in words) >= min(2, len(title_words))


def _continue(previous, values):
    """A row with no number and no kegiatan continues the row above (wrapped or merged cells)."""
    if (cell := values.get("anggaran")) is not None and cell.text:
        if previous.anggaran is None and not previous.errors:
            try:
                previous.anggaran = parse_rupiah(int(cell.number) if cell.number is not None
                                                 and float(cell.number).is_integer() else cell.text)
            except ValueError as exc:
                previous.errors.append(f"Anggaran (sel {cell.ref}): {exc}")
        else:
            previous.warnings.append(f"Anggaran kedua di sel {cell.ref} tidak dipakai; satu kegiatan satu anggaran.")
    for name in TEXT_FIELDS:
        if name == "kegiatan":
            continue
        cell = values.get(name)
        if cell is None or not cell.text:
            continue
        text = field_text(name, cell.text)
        current = previous.texts.get(name, "")
        if current == text:
            continue  # the same value from a vertically merged cell
        sep = "\n" if name == "description" else ", "
        previous.texts[name] = f"{current}{sep}{text}" if current else text
    _check_lengths(previous)


def _row(sheet_row, part, values):
    row = SheetRow(sheet_row=sheet_row, part=part)
    for name in TEXT_FIELDS:
        cell = values.get(name)
        if cell is None:
            continue
        row.texts[name] = field_text(name, cell.text)
        if cell.formula:
            _formula(row, name, cell)
    if "part" in values and values["part"].text:
        given = values["part"].text.strip().rstrip(".").upper()
        if given in ROMAN:
            row.part = given
        elif (by_words := _part_by_words(_norm(values["part"].text))) is not None:
            row.part = by_words
        else:
            row.errors.append(f"Bagian \u201c{values['part'].text}\u201d tidak dikenal (isi I\u2013VI).")
    if "seksi" in values and values["seksi"].text:
        row.seksi = _seksi(values["seksi"].text)
        if row.seksi is None:
            row.warnings.append(f"Seksi \u201c{values['seksi'].text}\u201d tidak dikenal; dipakai seksi bawaan bagian.")
    if row.part is None and row.seksi:
        row.part = next(key for key, (_t, seksi) in PARTS.items() if seksi == row.seksi)
    if row.part is None:
        row.errors.append("Bagian (I\u2013VI) tidak diketahui: letakkan kegiatan di bawah judul bagian.")
    elif row.seksi is None and PARTS[row.part][1] is None:
        # Parts V and VI have no seksi of their own; the form names it as pelaksana.
        row.seksi = _seksi_named_in(row.texts.get("pelaksana", ""))
        if row.seksi is None:
            row.errors.append(f"Bagian {row.part} tidak punya seksi bawaan: tulis seksinya di kolom Seksi "
                              "(Data, Perilaku, Layanan, Lingkungan) atau di Pelaksana (mis. \u201cSeksi Pelayanan\u201d).")
    if (cell := values.get("anggaran")) is not None and (cell.text or cell.formula):
        if cell.formula:
            _formula(row, "anggaran", cell)
        if cell.text:
            try:
                integral = cell.number is not None and float(cell.number).is_integer()
                row.anggaran = parse_rupiah(int(cell.number) if integral else cell.text)
            except ValueError as exc:
                row.errors.append(f"Anggaran (sel {cell.ref}): {exc}")
    if "target" in values and (text := normalize_space(values["target"].text)):
        # "90", "1.250 keluarga", "90 org.", or a unit alone ("keluarga").
        match = re.fullmatch(r"(\d{1,3}(?:\.\d{3})+|\d{1,9})(?:\s+(.{1,40}))?|(\D.{0,39})", text)
        if match is None:
            row.warnings.append(f"Jumlah sasaran \u201c{text}\u201d tidak terbaca; tidak dipakai.")
        elif match.group(3):
            row.target_unit = match.group(3)
        else:
            row.target_count, row.target_unit = int(match.group(1).replace(".", "")), match.group(2)
    if not row.kegiatan:
        row.errors.append("Nama kegiatan kosong.")
    _check_lengths(row)
    return row


def _formula(row, name, cell):
    if cell.text:
        row.warnings.append(f"Sel {cell.ref} ({LABELS[name]}) berisi rumus; dipakai nilai hasilnya: "
                            f"\u201c{cell.text}\u201d.")
    else:
        row.errors.append(f"Sel {cell.ref} ({LABELS[name]}) berisi rumus tanpa nilai tersimpan. "
                          "Salin sel itu lalu tempel sebagai nilai.")


def _check_lengths(row):
    for name, limit in MAX_LENGTH.items():
        text = row.texts.get(name, "")
        message = f"{LABELS[name]} terlalu panjang ({len(text)} karakter; paling banyak {limit})."
        if len(text) > limit and message not in row.errors:
            row.errors.append(message)


def _seksi_named_in(pelaksana):
    """"Seksi peningkatan cakupan layanan" → "layanan"; None when no seksi is named."""
    normal = _norm(pelaksana)
    if "seksi" not in normal.split():
        return None
    return next((key for key, words in SEKSI_WORDS.items() if any(w in normal for w in words)), None)


def _seksi(text):
    normal = _norm(text)
    if normal in SEKSI:
        return normal
    normal = re.sub(r"^seksi\s+", "", normal)
    for key, words in SEKSI_WORDS.items():
        if normal in words or any(normal.startswith(w) for w in words):
            return key
    return None
