"""The indicator table as CSV/XLSX, out and back in.

One row per region and period: Kode wilayah, Wilayah, Tingkat, Putaran, Tahun, Bulan awal, Bulan
akhir, then one column per indicator (by its label), then the computed percentages, which an
import ignores (they are computed again), except "Prevalensi stunting balita (%)" on a row without
"Balita diukur", kept as the document's figure.

An import is read in full and checked before anything is saved (``read``); confirming saves every
row or none (``apply``).
"""
import re
from dataclasses import dataclass, field

from portal.blueprints.plans.sheets import SheetRefused, open_grids
from portal.blueprints.rumahdata import services
from portal.blueprints.rumahdata.figures import parse_number
from portal.blueprints.rumahdata.forms import read_count
from portal.blueprints.rumahdata.indicators import COUNTS, DERIVED, label
from portal.extensions import db
from portal.formatting import MONTHS
from portal.models import DataRecord, Wilayah
from portal.models.rumahdata import COUNT_COLUMNS, ROUNDS
from portal.tables import Column, Table

MAX_ROWS = 2_000
PREVALENCE_HEADER = "Prevalensi stunting balita (%)"
HEAD = (("code", "Kode wilayah"), ("wilayah", "Wilayah"), ("level", "Tingkat"), ("round", "Putaran"),
        ("year", "Tahun"), ("month_from", "Bulan awal"), ("month_to", "Bulan akhir"))


def _norm(text):
    return " ".join(re.sub(r"[^a-z0-9%]+", " ", (text or "").lower()).split())


HEADERS = {_norm(text): key for key, text in HEAD}
HEADERS.update({_norm(i.label): i.key for i in COUNTS})
HEADERS.update({_norm(i.key): i.key for i in COUNTS})
HEADERS.update({_norm("Kode"): "code", _norm("Desa"): "wilayah", _norm("Desa/Kelurahan"): "wilayah",
                _norm("Periode"): "round", _norm(PREVALENCE_HEADER): "prevalence"})
ROUND_NAMES = {_norm(v): k for k, v in ROUNDS.items()} | {_norm(k): k for k in ROUNDS} | {"verval": "verval_krs"}
MONTH_NAMES = {_norm(m): i for i, m in enumerate(MONTHS, start=1)}


# -- export ---------------------------------------------------------------------------------------

def table(records, title):
    columns = [Column(k, t, "int" if k in ("year", "month_from", "month_to") else "text") for k, t in HEAD]
    columns += [Column(i.key, i.label, "int") for i in COUNTS]
    columns += [Column("prevalence", PREVALENCE_HEADER, "text")]
    columns += [Column(k, f"{v[0]} (%)", "text") for k, v in DERIVED.items() if k not in ("prevalence", "not_at_risk")]
    from portal.blueprints.rumahdata.figures import derive
    rows = []
    for r in records:
        derived = derive(r.values(), r.prevalence_stated)
        row = {"code": r.wilayah.code or "", "wilayah": r.wilayah.name, "level": r.wilayah.level,
               "round": ROUNDS[r.round], "year": r.year, "month_from": r.month_from, "month_to": r.month_to,
               **r.values()}
        for key, value in derived.items():
            row[key] = _decimal(value)
        rows.append(row)
    return Table(title, columns, rows)


def _decimal(value):
    return f"{value:.2f}".replace(".", ",") if isinstance(value, float) else value


def records_under(wilayah, round_=None, year=None):
    ids = db.session.scalars(wilayah.descendant_ids_query()).all()
    query = db.select(DataRecord).where(DataRecord.wilayah_id.in_(ids))
    if round_:
        query = query.where(DataRecord.round == round_)
    if year:
        query = query.where(DataRecord.year == year)
    records = db.session.scalars(query).all()
    return sorted(records, key=lambda r: (r.year, r.round, r.wilayah.level != "kecamatan", r.wilayah.code or "~",
                                          r.wilayah.name))


# -- import ---------------------------------------------------------------------------------------

@dataclass
class ImportRow:
    sheet_row: int
    wilayah: object = None
    round: str | None = None
    year: int | None = None
    month_from: int | None = None
    month_to: int | None = None
    values: dict = field(default_factory=dict)
    prevalence: float | None = None
    existing: object = None
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def changes(self):
        """[(label, stored, new)] for a row that updates a record."""
        if self.existing is None:
            return []
        return [(label(k), getattr(self.existing, k), v) for k, v in self.values.items()
                if getattr(self.existing, k) != v]


@dataclass
class ImportFile:
    rows: list
    columns: list  # labels recognised
    ignored: list

    @property
    def errors(self):
        return sum(bool(r.errors) for r in self.rows)


def read(data, scope, user):
    """Read and check an upload for regions inside ``scope``. Raises SheetRefused."""
    _kind, grids = open_grids(data)
    try:
        for _sheet, grid, _merges, _hidden in grids:
            found = _header(grid)
            if found:
                return _rows(grid, *found, scope, user)
    except SheetRefused:
        raise
    except Exception as exc:  # a damaged sheet body fails while its rows are read
        raise SheetRefused("Lembar kerja rusak dan tidak dapat dibaca. Buka di Excel, simpan ulang, lalu unggah lagi.") from exc
    raise SheetRefused("Tidak ditemukan baris judul kolom (mis. Kode wilayah, Wilayah, Putaran, Tahun, lalu nama "
                       "indikator seperti \u201cKeluarga sasaran dengan PUS\u201d). Unduh contoh dari halaman "
                       "Rumah Data dan pakai susunannya.")


def _header(grid):
    for index, (sheet_row, cells) in enumerate(grid):
        if index >= 30:
            return None
        keys = {i: HEADERS.get(_norm(c.text)) for i, c in enumerate(cells)}
        if "year" in keys.values() and any(k in COUNT_COLUMNS for k in keys.values()):
            return index, keys, cells
    return None


def _rows(grid, header_index, keys, header_cells, scope, user):
    under = {w.id: w for w in db.session.scalars(db.select(Wilayah).where(
        Wilayah.id.in_(scope.descendant_ids_query())))}
    by_code = {w.code: w for w in under.values() if w.code}
    by_name = {}
    for w in under.values():
        by_name.setdefault(_norm(w.name), []).append(w)
    rows, seen = [], {}
    for sheet_row, cells in grid[header_index + 1:]:
        texts = {keys[i]: c for i, c in enumerate(cells) if keys.get(i)}
        if not any((c.text or "").strip() for c in texts.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise SheetRefused(f"Berkas berisi lebih dari {MAX_ROWS:,} baris data (batas impor).".replace(",", "."))
        row = ImportRow(sheet_row)
        _place(row, texts, scope, by_code, by_name)
        _period(row, texts)
        for key in COUNT_COLUMNS:
            if key in texts:
                try:
                    value = _count(texts[key])
                    if value is not None:  # an empty cell leaves the stored figure as it is
                        row.values[key] = value
                except ValueError as exc:
                    row.errors.append(f"{label(key)} ({texts[key].ref}): {exc}")
        if "prevalence" in texts and (texts["prevalence"].text or "").strip():
            row.prevalence = parse_number(texts["prevalence"].text, integer=False)
            if row.prevalence is None or not 0 <= row.prevalence <= 100:
                row.errors.append(f"{PREVALENCE_HEADER} ({texts['prevalence'].ref}): isi angka 0 sampai 100.")
        if row.wilayah is not None and row.round and row.year:
            if not services.can_edit(user, row.wilayah):
                row.errors.append(f"Anda tidak berwenang mengisi data {row.wilayah.display_name}.")
            key = (row.wilayah.id, row.round, row.year)
            if key in seen:
                row.errors.append(f"Periode yang sama untuk {row.wilayah.name} sudah ada di baris {seen[key]}.")
            seen[key] = sheet_row
            row.existing = services.record_of(row.wilayah, row.round, row.year)
            merged = {k: getattr(row.existing, k) for k in COUNT_COLUMNS} if row.existing else {}
            merged.update(row.values)
            errors, warnings = services.validate(merged, row.month_from, row.month_to)
            row.errors += [f"{label(k) if k in COUNT_COLUMNS else 'Bulan'}: {m}" for k, m in errors.items()]
            row.warnings += [f"{label(k)}: {m}" for k, m in warnings.items()]
            if row.prevalence is not None and merged.get("balita_measured"):
                row.warnings.append(f"{PREVALENCE_HEADER} diabaikan: dihitung dari balita diukur dan balita stunting.")
                row.prevalence = None
        rows.append(row)
    if not rows:
        raise SheetRefused("Tidak ada baris data di bawah judul kolom.")
    recognised = [c.text for i, c in enumerate(header_cells) if keys.get(i)]
    ignored = [c.text for i, c in enumerate(header_cells) if (c.text or "").strip() and not keys.get(i)]
    return ImportFile(rows, recognised, ignored)


def _count(cell):
    if cell.number is not None:
        if cell.number != int(cell.number):
            raise ValueError("Isi dengan bilangan bulat.")
        if cell.number < 0:
            raise ValueError("Tidak boleh negatif.")
        return int(cell.number)
    return read_count(cell.text)


def _place(row, texts, scope, by_code, by_name):
    code = (texts["code"].text or "").strip() if "code" in texts else ""
    name = (texts["wilayah"].text or "").strip() if "wilayah" in texts else ""
    if code:
        row.wilayah = by_code.get(code)
        if row.wilayah is None:
            row.errors.append(f"Kode wilayah {code} tidak ada di {scope.display_name}.")
    elif name:
        matches = by_name.get(_norm(name), [])
        if len(matches) == 1:
            row.wilayah = matches[0]
        elif matches:
            row.errors.append(f"Nama \u201c{name}\u201d ada di lebih dari satu wilayah; isi kolom Kode wilayah.")
        else:
            row.errors.append(f"Wilayah \u201c{name}\u201d tidak ada di {scope.display_name}.")
    elif scope.level == "desa":
        row.wilayah = scope
    else:
        row.errors.append("Isi Kode wilayah atau Wilayah.")


def _period(row, texts):
    text = (texts["round"].text or "").strip() if "round" in texts else ""
    row.round = ROUND_NAMES.get(_norm(text)) if text else "tahunan"
    if row.round is None:
        row.errors.append(f"Putaran \u201c{text}\u201d tidak dikenal; pakai salah satu: {', '.join(ROUNDS.values())}.")
    year_cell = texts.get("year")
    try:
        year = read_count(year_cell.text if year_cell else "") if not (year_cell and year_cell.number) else int(year_cell.number)
    except ValueError:
        year = None
    if year is None or not services.YEARS[0] <= year <= services.YEARS[1]:
        row.errors.append("Tahun harus diisi, 2000 sampai 2100.")
    else:
        row.year = year
    for key in ("month_from", "month_to"):
        cell = texts.get(key)
        if cell is None or not (cell.text or "").strip():
            continue
        value = MONTH_NAMES.get(_norm(cell.text))
        if value is None and (cell.text.strip().isdigit() or cell.number):
            value = int(cell.number or cell.text)
        if value is None or not 1 <= value <= 12:
            row.errors.append(f"{dict(HEAD)[key]} ({cell.ref}): isi nama bulan atau 1 sampai 12.")
        else:
            setattr(row, key, value)


def apply(upload, user):
    """Save every row (the caller has checked there are no errors). Returns the number saved."""
    for row in upload.rows:
        months = (row.month_from, row.month_to)
        if months == (None, None) and row.existing is not None:  # no month cells: keep the stored range
            months = (row.existing.month_from, row.existing.month_to)
        record = services.save(row.wilayah, row.round, row.year, row.values, user,
                               month_from=months[0], month_to=months[1])
        if row.prevalence is not None and not record.balita_measured:
            record.prevalence_stated = row.prevalence
    return len(upload.rows)
