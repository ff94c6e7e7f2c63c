"""portal.tables: one table description exported as CSV and XLSX."""
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

import openpyxl
import pytest
from werkzeug.exceptions import NotFound

from portal.tables import Column, Table, export_response, safe_stem, sheet_title, to_csv, to_xlsx

COLUMNS = [
    Column("nama", "Nama kegiatan"),
    Column("peserta", "Jumlah peserta", "int"),
    Column("anggaran", "Anggaran", "rupiah"),
    Column("capaian", "Capaian", "percent"),
    Column("tanggal", "Tanggal", "date"),
]


def sample(rows=None, **kwargs):
    rows = rows if rows is not None else [
        {"nama": "Posyandu balita", "peserta": 1250, "anggaran": 1298900000,
         "capaian": 45, "tanggal": date(2025, 3, 1)},
        {"nama": "Penyuluhan, \"KB\" pria", "peserta": None, "anggaran": 0,
         "capaian": None, "tanggal": None},
    ]
    return Table("Rencana Kegiatan 2025", COLUMNS, rows, **kwargs)


def read_csv(data):
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def load(data):
    return openpyxl.load_workbook(io.BytesIO(data)).active


# -- model --------------------------------------------------------------------------------------

def test_unknown_column_kind_is_rejected():
    with pytest.raises(ValueError):
        Column("x", "X", "money")


def test_rows_may_be_objects():
    @dataclass
    class Row:
        nama: str
        peserta: int

    table = Table("T", [Column("nama", "Nama"), Column("peserta", "Peserta", "int"),
                        Column("hilang", "Tidak ada")], [Row("Rapat", 12)])
    assert read_csv(to_csv(table))[1] == ["Rapat", "12", ""]


# -- CSV ----------------------------------------------------------------------------------------

def test_csv_round_trips_raw_values():
    rows = read_csv(to_csv(sample()))
    assert rows == [
        ["Nama kegiatan", "Jumlah peserta", "Anggaran", "Capaian", "Tanggal"],
        ["Posyandu balita", "1250", "1298900000", "45", "2025-03-01"],
        ["Penyuluhan, \"KB\" pria", "", "0", "", ""],
    ]


def test_csv_uses_comma_and_crlf():
    text = to_csv(sample())[3:].decode()
    assert text.splitlines()[0] == "Nama kegiatan,Jumlah peserta,Anggaran,Capaian,Tanggal"
    assert "\r\n" in text


@pytest.mark.parametrize("text", ["=1+1", "+628123", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_prefixes_formula_like_text(text):
    rows = read_csv(to_csv(Table("T", [Column("nama", "Nama")], [{"nama": text}])))
    assert rows[1] == ["'" + text]


def test_csv_leaves_numbers_and_plain_text_alone():
    table = Table("T", [Column("n", "N", "int"), Column("t", "T")],
                  [{"n": -5, "t": "Rapat = penting"}])
    assert read_csv(to_csv(table))[1] == ["-5", "Rapat = penting"]


def test_csv_writes_a_wrong_typed_value_as_guarded_text():
    table = Table("T", [Column("n", "N", "int")], [{"n": "=HYPERLINK(1)"}])
    assert read_csv(to_csv(table))[1] == ["'=HYPERLINK(1)"]


def test_csv_percent_keeps_fraction():
    table = Table("T", [Column("p", "P", "percent")], [{"p": 37.5}])
    assert read_csv(to_csv(table))[1] == ["37.5"]


# -- XLSX ---------------------------------------------------------------------------------------

def test_xlsx_layout_values_and_formats():
    sheet = load(to_xlsx(sample(subtitle="Kampung KB Sukamaju")))
    assert sheet["A1"].value == "Rencana Kegiatan 2025"
    assert sheet["A1"].font.bold and sheet["A1"].font.size > 11
    assert sheet["A2"].value == "Kampung KB Sukamaju"
    assert [c.value for c in sheet[3]] == [c.label for c in COLUMNS]
    assert all(c.font.bold and c.alignment.wrap_text and c.fill.fgColor.rgb.endswith("CFE8DC")
               for c in sheet[3])
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == "A3:E5"

    name, peserta, anggaran, capaian, tanggal = sheet[4]
    assert name.value == "Posyandu balita"
    assert (peserta.value, peserta.number_format) == (1250, "#,##0")
    assert (anggaran.value, anggaran.number_format) == (1298900000, '"Rp" #,##0')
    assert capaian.value == pytest.approx(0.45) and capaian.number_format == "0%"
    assert tanggal.value == datetime(2025, 3, 1) and tanggal.number_format == "dd/mm/yyyy"
    assert [c.value for c in sheet[5]] == ['Penyuluhan, "KB" pria', None, 0, None, None]


def test_xlsx_without_subtitle_puts_header_on_row_two():
    sheet = load(to_xlsx(sample()))
    assert sheet["A2"].value == "Nama kegiatan"
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:E4"


def test_xlsx_column_widths_follow_content_and_are_capped():
    table = Table("T", [Column("a", "A"), Column("b", "B")],
                  [{"a": "x" * 200, "b": "Posyandu balita"}])
    sheet = load(to_xlsx(table))
    assert sheet.column_dimensions["A"].width == 50
    assert 15 <= sheet.column_dimensions["B"].width < 50


def test_xlsx_never_stores_formulas():
    texts = ["=1+1", "@SUM(A1)", "+1", "-1", "#N/A", "=HYPERLINK(\"http://x\")"]
    table = Table("=CMD()", [Column("t", "=Judul"), Column("n", "Angka", "int")],
                  [{"t": text, "n": text} for text in texts], subtitle="=2*3")
    sheet = load(to_xlsx(table))
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type == "s" for cell in cells)
    assert [c.value for c in sheet["A"][3:]] == texts
    assert [c.value for c in sheet["B"][3:]] == texts
    assert sheet["A4"].quotePrefix  # Excel keeps it as text when edited


def test_xlsx_drops_control_characters():
    table = Table("T", [Column("t", "T")], [{"t": "a\x00b\x07c"}])
    assert load(to_xlsx(table))["A3"].value == "abc"


@pytest.mark.parametrize("title, expected", [
    ("Rencana/Kegiatan: 2025?", "Rencana Kegiatan 2025"),
    ("[Data] *Pokja* \\ A", "Data Pokja A"),
    ("Rekap capaian kegiatan seluruh kampung KB 2025", "Rekap capaian kegiatan seluruh"),
    ("'Kutipan'", "Kutipan"),
    ("???", "Data"),
    ("", "Data"),
])
def test_sheet_title_is_sanitised(title, expected):
    assert sheet_title(title) == expected
    assert len(sheet_title(title)) <= 31
    assert load(to_xlsx(Table(title, COLUMNS, []))).title == expected


def test_xlsx_with_no_rows_still_has_header_and_filter():
    sheet = load(to_xlsx(sample(rows=[])))
    assert [c.value for c in sheet[2]] == [c.label for c in COLUMNS]
    assert sheet.auto_filter.ref == "A2:E2"


# -- download -----------------------------------------------------------------------------------

def test_export_response_csv():
    response = export_response(sample(), "csv", "Rencana Kegiatan 2025")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="rencana-kegiatan-2025.csv"'
    assert response.get_data() == to_csv(sample())


def test_export_response_xlsx():
    response = export_response(sample(), "xlsx", "rekap")
    assert response.mimetype == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == 'attachment; filename="rekap.xlsx"'
    assert load(response.get_data())["A1"].value == "Rencana Kegiatan 2025"


def test_export_response_unknown_format():
    with pytest.raises(NotFound):
        export_response(sample(), "pdf", "rekap")


@pytest.mark.parametrize("stem, expected", [
    ("Rencana Kegiatan 2025", "rencana-kegiatan-2025"),
    ('../../etc/"passwd"\r\nX: y', "etc-passwd-x-y"),
    ("Capaian Desa Ciléungsi", "capaian-desa-cileungsi"),
    ("***", "export"),
])
def test_safe_stem(stem, expected):
    assert safe_stem(stem) == expected
