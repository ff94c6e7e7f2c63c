"""A plan as office documents: XLSX in the form's layout, CSV, and the printed form as PDF.

The XLSX reads back through ``sheets.read_file`` to the same rows: the visible sheet carries the
form's columns, and a hidden sheet keeps each row's structured schedule (keyed by its Kegiatan
and Waktu text) and funding (keyed by its Kegiatan, Sumber Dana and Anggaran), so a schedule
completed by hand survives the round trip while a cell the user edits is read again from its text.
"""
import csv
import io
import json

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from portal import labels
from portal.blueprints.plans import content
from portal.formatting import tanggal_lokal, waktu
from portal.blueprints.plans.sheets import (
    COLUMNS, STRUCTURE_FORMAT, STRUCTURE_SHEET, TEXT_FIELDS, field_text, visible_keys,
)
from portal.models import workflow
from portal.models.plan import PARTS
from portal.tables import _guard, _set_text, sheet_title

# Exported columns in order, with their width in characters.
LAYOUT = (("number", 5), ("kegiatan", 32), ("pelaksana", 22), ("seksi", 16), ("sasaran", 22),
          ("target", 10), ("mitra", 22), ("place", 14), ("schedule_text", 18), ("funding_text", 22),
          ("anggaran", 15), ("description", 24))
RUPIAH_FORMAT = '#,##0'
PART_FILL = PatternFill("solid", fgColor="CFE8DC")
HEADER_FILL = PatternFill("solid", fgColor="E8F3EE")
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def row_cells(row, number):
    """{field: value} of one row as the form shows it (texts as stored, budget as a number)."""
    target = " ".join(str(v) for v in (row.target_count, row.target_unit) if v not in (None, ""))
    # (a unit alone is written alone: the reader takes text without a number as the unit)
    return {
        "part": row.part, "number": number, "kegiatan": row.kegiatan, "pelaksana": row.pelaksana or "",
        "seksi": labels.SEKSI_SHORT.get(row.seksi, row.seksi), "sasaran": row.sasaran or "",
        "target": target, "mitra": row.mitra or "",
        "place": row.place or "", "schedule_text": row.schedule_text or "", "funding_text": row.funding_text or "",
        "anggaran": row.budget, "description": row.description or "",
    }


def heading(plan):
    """The document's heading lines: title, Kampung KB, where, year and state."""
    desa = plan.kampung.desa
    where = [desa.display_name] + [w.display_name for w in (desa.ancestor("kecamatan"), desa.ancestor("kabupaten"),
                                                            desa.ancestor("provinsi")) if w is not None]
    state = workflow.label(plan)
    return ["RENCANA KEGIATAN KAMPUNG KB", plan.kampung.name.upper(), " \u00b7 ".join(where),
            f"Tahun {plan.year}" + (f" \u00b7 Revisi {plan.revision}" if plan.revision else "") + f" \u00b7 {state}"]


# -- XLSX ---------------------------------------------------------------------------------------

def to_xlsx(plan, verify_url=None):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title(f"Rencana {plan.year}")
    width = len(LAYOUT)
    last_col = get_column_letter(width)

    line = 1
    for index, text in enumerate(heading(plan)):
        cell = sheet.cell(row=line, column=1)
        _set_text(cell, text)
        cell.font = Font(bold=index < 2, size=14 if index == 0 else 12 if index == 1 else 11)
        cell.alignment = Alignment(horizontal="center")
        sheet.merge_cells(f"A{line}:{last_col}{line}")
        line += 1
    line += 1

    header_line = line
    for col, (name, col_width) in enumerate(LAYOUT, start=1):
        cell = sheet.cell(row=line, column=col)
        _set_text(cell, COLUMNS[name][0])
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.border = BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(col)].width = col_width
    line += 1

    hidden = []
    grand_total = 0
    anggaran_col = [name for name, _w in LAYOUT].index("anggaran") + 1
    for key, (title, _seksi) in PARTS.items():
        rows = plan.rows_in(key)
        _set_text(sheet.cell(row=line, column=1), key)
        _set_text(sheet.cell(row=line, column=2), title)
        for col in range(1, width + 1):
            sheet.cell(row=line, column=col).fill = PART_FILL
            sheet.cell(row=line, column=col).font = Font(bold=True)
            sheet.cell(row=line, column=col).border = BOX
        sheet.merge_cells(f"B{line}:{last_col}{line}")
        line += 1
        part_total = 0
        for number, row in enumerate(rows, start=1):
            values = row_cells(row, number)
            for col, (name, _w) in enumerate(LAYOUT, start=1):
                cell = sheet.cell(row=line, column=col)
                value = values[name]
                if name in ("number", "anggaran"):
                    if value is not None:
                        cell.value = value
                        if name == "anggaran":
                            cell.number_format = RUPIAH_FORMAT
                elif value:
                    _set_text(cell, value)
                cell.alignment = Alignment(vertical="top", wrap_text=True)
                cell.border = BOX
            part_total += row.budget or 0
            hidden.append((*_visible_keys(values), _structure(row)))
            line += 1
        _total_line(sheet, line, f"Jumlah bagian {key}", part_total, anggaran_col, width)
        grand_total += part_total
        line += 1
    _total_line(sheet, line, "JUMLAH SELURUHNYA", grand_total, anggaran_col, width)
    line += 2
    _signature_block(sheet, line, plan, verify_url)

    sheet.freeze_panes = f"A{header_line + 1}"
    sheet.print_title_rows = f"{header_line}:{header_line}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True

    structure = workbook.create_sheet(STRUCTURE_SHEET)
    structure.sheet_state = "hidden"
    _set_text(structure.cell(row=1, column=1), STRUCTURE_FORMAT)
    structure.cell(row=1, column=2).value = plan.year
    for index, (schedule_key, funding_key, value) in enumerate(hidden, start=2):
        _set_text(structure.cell(row=index, column=1), schedule_key)
        _set_text(structure.cell(row=index, column=2), funding_key)
        _set_text(structure.cell(row=index, column=3), json.dumps(value, ensure_ascii=False))

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _visible_keys(values):
    """The keys the importer will compute from these cells (texts as it normalises them)."""
    texts = {name: field_text(name, str(values[name])) for name in TEXT_FIELDS}
    return visible_keys(values["part"], texts, values["anggaran"])


def _structure(row):
    item = content.row_content(row)
    schedule, funding = item["schedule"], item["funding"]
    schedule["problems"] = row.schedule_problems.splitlines() if row.schedule_problems else []
    funding["problems"] = row.funding_problems.splitlines() if row.funding_problems else []
    del schedule["text"], funding["text"]
    return {"schedule": schedule, "funding": funding}


def _total_line(sheet, line, label, amount, anggaran_col, width):
    _set_text(sheet.cell(row=line, column=2), label)
    cell = sheet.cell(row=line, column=anggaran_col)
    cell.value = amount
    cell.number_format = RUPIAH_FORMAT
    for col in range(1, width + 1):
        sheet.cell(row=line, column=col).font = Font(bold=True)
        sheet.cell(row=line, column=col).border = BOX


def _signature_block(sheet, line, plan, verify_url):
    """Lurah on the left, Ketua on the right, as on the paper form; outside the Kegiatan
    column, so the importer stops here."""
    signatures = plan.current_signatures() if plan.status in ("diajukan", "disetujui") else {}
    blocks = ((3, "Mengetahui,", "Lurah/Kepala Desa", "lurah"), (9, "", "Ketua Pokja Kampung KB", "ketua"))
    for col, opener, role_title, role in blocks:
        signature = signatures.get(role)
        lines = [opener or (f"{plan.kampung.desa.name}, {tanggal_lokal(signature.signed_at, signature.timezone)}"
                            if signature else
                            f"{plan.kampung.desa.name}, ....................")]
        lines.append(role_title)
        if signature:
            lines += ["Ditandatangani secara elektronik", waktu(signature.signed_at, signature.timezone),
                      signature.signer_name]
        else:
            lines += ["", "", "(........................................)"]
        for offset, text in enumerate(lines):
            if text:
                cell = sheet.cell(row=line + offset, column=col)
                _set_text(cell, text)
                cell.font = Font(bold=offset == len(lines) - 1, italic=text.startswith("Ditandatangani"))
    if plan.verification_code and plan.status == "disetujui":
        _set_text(sheet.cell(row=line + 6, column=3),
                  f"Kode verifikasi: {plan.verification_code}" + (f" \u00b7 {verify_url}" if verify_url else ""))


# -- CSV ----------------------------------------------------------------------------------------

CSV_FIELDS = ("part",) + tuple(name for name, _w in LAYOUT)


def to_csv(plan):
    """One line per activity with a Bagian column (no part header lines), UTF-8 with BOM;
    text that a spreadsheet would run as a formula gets a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([COLUMNS[name][0] for name in CSV_FIELDS])
    for number, row in content.ordered_rows(plan):
        values = row_cells(row, number)
        writer.writerow(["" if values[name] is None else
                         values[name] if isinstance(values[name], int) else _guard(str(values[name]))
                         for name in CSV_FIELDS])
    return out.getvalue().encode("utf-8-sig")
