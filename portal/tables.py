"""Describe a screen's table once, export it as CSV or XLSX.

A ``Table`` is a title, a list of ``Column``s and rows (dicts or objects, read by column key).
``to_csv`` writes raw values for further processing; ``to_xlsx`` writes a formatted sheet;
``export_response`` wraps either in a download response.
"""
import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from flask import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from werkzeug.exceptions import NotFound

KINDS = ("text", "int", "rupiah", "percent", "date")
NUMERIC_KINDS = ("int", "rupiah", "percent")

# Text starting with one of these may be run as a formula by a spreadsheet (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

XLSX_FORMATS = {"int": "#,##0", "rupiah": '"Rp" #,##0', "percent": "0%", "date": "dd/mm/yyyy"}
HEADER_FILL = PatternFill("solid", fgColor="CFE8DC")  # --brand light, as in the charts
MIN_WIDTH, MAX_WIDTH = 8, 50

MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass
class Table:
    title: str
    columns: list
    rows: list = field(default_factory=list)
    subtitle: str | None = None

    def values(self, row):
        """The row's values in column order."""
        return [cell_value(row, column.key) for column in self.columns]


def cell_value(row, key):
    if isinstance(row, Mapping):
        return row.get(key)
    return getattr(row, key, None)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _typed(kind, value):
    """True when ``value`` is what the column kind promises (else it is written as text)."""
    if kind in NUMERIC_KINDS:
        return _is_number(value)
    if kind == "date":
        return isinstance(value, date)
    return False


def _guard(text):
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


# -- CSV ----------------------------------------------------------------------------------------

def _csv_cell(kind, value):
    if value is None:
        return ""
    if _typed(kind, value):
        return value.isoformat() if kind == "date" else str(value)
    return _guard(str(value))


def to_csv(table):
    """UTF-8 with BOM, comma separated, a header row of labels, then raw values."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_guard(column.label) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(column.kind, value)
                         for column, value in zip(table.columns, table.values(row))])
    return out.getvalue().encode("utf-8-sig")


# -- XLSX ---------------------------------------------------------------------------------------

def sheet_title(title):
    """Excel's rules: at most 31 characters, none of []:*?/\\, no apostrophe at either end."""
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title or "")
    cleaned = ILLEGAL_CHARACTERS_RE.sub("", cleaned)
    cleaned = " ".join(cleaned.split()).strip("'")
    cleaned = cleaned[:31].strip().strip("'")
    return cleaned or "Data"


def _display(kind, value):
    """Roughly what Excel shows, to size the column."""
    if value is None:
        return ""
    if not _typed(kind, value):
        return str(value)
    if kind == "date":
        return "00/00/0000"
    if kind == "percent":
        return f"{value:.0f}%"
    text = f"{value:,.0f}"
    return "Rp " + text if kind == "rupiah" else text


def _set_text(cell, value):
    """Store as a string whatever it looks like: never a formula or an error value."""
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell.data_type = "s"
    if cell.value.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True  # Excel keeps it text when the cell is edited


def _set_cell(cell, kind, value):
    if value is None:
        return
    if not _typed(kind, value):
        _set_text(cell, value)
        return
    cell.value = value / 100 if kind == "percent" else value
    cell.number_format = XLSX_FORMATS[kind]


def to_xlsx(table):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title(table.title)

    _set_text(sheet.cell(row=1, column=1), table.title)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    header_row = 2
    if table.subtitle:
        _set_text(sheet.cell(row=2, column=1), table.subtitle)
        sheet.cell(row=2, column=1).font = Font(italic=True)
        header_row = 3

    # A wrapped header needs room for its longest word only.
    widths = [max((len(word) for word in column.label.split()), default=0)
              for column in table.columns]
    for index, column in enumerate(table.columns, start=1):
        cell = sheet.cell(row=header_row, column=index)
        _set_text(cell, column.label)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    for offset, row in enumerate(table.rows, start=1):
        for index, (column, value) in enumerate(zip(table.columns, table.values(row)), start=1):
            _set_cell(sheet.cell(row=header_row + offset, column=index), column.kind, value)
            widths[index - 1] = max(widths[index - 1], len(_display(column.kind, value)))

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = \
            min(max(width + 2, MIN_WIDTH), MAX_WIDTH)

    if table.columns:
        last = f"{get_column_letter(len(table.columns))}{header_row + len(table.rows)}"
        sheet.auto_filter.ref = f"A{header_row}:{last}"
    sheet.freeze_panes = f"A{header_row + 1}"

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# -- download -----------------------------------------------------------------------------------

def safe_stem(stem):
    """"Rencana Kegiatan 2025!" → "rencana-kegiatan-2025"."""
    ascii_text = unicodedata.normalize("NFKD", stem or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "export"


def export_response(table, fmt, filename_stem):
    writers = {"csv": to_csv, "xlsx": to_xlsx}
    if fmt not in writers:
        raise NotFound()
    response = Response(writers[fmt](table), mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{safe_stem(filename_stem)}.{fmt}"'
    return response
