"""Reading schedules ("waktu") and funding ("sumber dana") of the work plan, table-driven.

Every phrase of the reference form (shared/reference/004_*.txt) has a row, also as it appears
there, with line breaks and odd spaces inside the phrase.
"""
from datetime import date

import pytest

from portal.blueprints.plans import reading
from portal.blueprints.plans.reading import (FREQUENCIES, SOURCE_TYPES, SourceReading, format_rupiah,
                                             parse_rupiah, read_funding, read_schedule)

YEAR = 2025
WHOLE_YEAR = (date(2025, 1, 1), date(2025, 12, 31))


def months(first, last):
    """Period from the 1st of ``first`` to the last day of ``last`` in 2025."""
    ends = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}
    return date(YEAR, first, 1), date(YEAR, last, ends.get(last, 31))


# -- read_schedule: phrases that read completely ------------------------------------------------

# text, (start, end), frequency, interval, extra fields
SCHEDULES = [
    # The reference form, as printed (line breaks, spaces around the dash) and tidied.
    ("Juni \n-\n \nDes", months(6, 12), "period", 1, {}),
    ("Juni - Des", months(6, 12), "period", 1, {}),
    ("Mei\n \n-\n Agustus", months(5, 8), "period", 1, {}),
    ("Mei - Agustus", months(5, 8), "period", 1, {}),
    ("Juli\n \n-\n \nOkt", months(7, 10), "period", 1, {}),
    ("Juli - Okt", months(7, 10), "period", 1, {}),
    ("Sepanjang\n \ntahun", WHOLE_YEAR, "period", 1, {}),
    ("Sepanjang tahun", WHOLE_YEAR, "period", 1, {}),
    ("Sepanjang\n \nTahun", WHOLE_YEAR, "period", 1, {}),
    ("Sepanjang Tahun", WHOLE_YEAR, "period", 1, {}),
    ("SEPANJANG TAHUN", WHOLE_YEAR, "period", 1, {}),
    ("Maret\n \n-\n \nMei", months(3, 5), "period", 1, {}),
    ("Maret - Mei", months(3, 5), "period", 1, {}),
    ("Maret - Nov", months(3, 11), "period", 1, {}),
    ("Maret - Des", months(3, 12), "period", 1, {}),
    ("Maret - Juli", months(3, 7), "period", 1, {}),
    ("Sebulan\n \nsekali", WHOLE_YEAR, "monthly", 1, {}),
    ("Sebulan sekali", WHOLE_YEAR, "monthly", 1, {}),
    ("Seminggu\n \nsekali", WHOLE_YEAR, "weekly", 1, {}),
    ("Seminggu sekali", WHOLE_YEAR, "weekly", 1, {}),
    ("3\n \nbulan\n \nsekali", WHOLE_YEAR, "monthly", 3, {}),
    ("3 bulan sekali", WHOLE_YEAR, "monthly", 3, {}),
    # Whitespace: non-breaking, thin, tabs, surrounding.
    ("Juni\u00a0-\u00a0Des", months(6, 12), "period", 1, {}),
    ("\u00a0 Sebulan\u2009sekali\t", WHOLE_YEAR, "monthly", 1, {}),
    # Range separators.
    ("Maret s.d. Mei", months(3, 5), "period", 1, {}),
    ("Maret s.d Mei", months(3, 5), "period", 1, {}),
    ("Maret s/d Mei", months(3, 5), "period", 1, {}),
    ("Maret sd Mei", months(3, 5), "period", 1, {}),
    ("Mei\u2013Agustus", months(5, 8), "period", 1, {}),
    ("Mei \u2014 Agustus", months(5, 8), "period", 1, {}),
    ("Mei-Agustus", months(5, 8), "period", 1, {}),
    ("Mei sampai Agustus", months(5, 8), "period", 1, {}),
    ("Mei sampai dengan Agustus", months(5, 8), "period", 1, {}),
    ("Mei hingga Agustus", months(5, 8), "period", 1, {}),
    ("bulan Juni - Desember", months(6, 12), "period", 1, {}),
    ("Januari - Desember 2025", WHOLE_YEAR, "period", 1, {}),
    # Month names and abbreviations, any case.
    ("Januari - Februari", months(1, 2), "period", 1, {}),
    ("Jan - Feb", months(1, 2), "period", 1, {}),
    ("Pebruari - Mar", months(2, 3), "period", 1, {}),
    ("Apr - Jun", months(4, 6), "period", 1, {}),
    ("Jul - Agu", months(7, 8), "period", 1, {}),
    ("Jul - Agt", months(7, 8), "period", 1, {}),
    ("Jul - Agust", months(7, 8), "period", 1, {}),
    ("Jul - Ags", months(7, 8), "period", 1, {}),
    ("Sep - Okt", months(9, 10), "period", 1, {}),
    ("Sept - Nop", months(9, 11), "period", 1, {}),
    ("Okt - Nov", months(10, 11), "period", 1, {}),
    ("September - Nopember", months(9, 11), "period", 1, {}),
    ("Oktober - Desember", months(10, 12), "period", 1, {}),
    ("juni - des", months(6, 12), "period", 1, {}),
    ("JUNI - DES.", months(6, 12), "period", 1, {}),
    ("Mei - Mei", months(5, 5), "period", 1, {}),
    # A single month.
    ("Juli", months(7, 7), "period", 1, {}),
    ("Februari", months(2, 2), "period", 1, {}),
    ("Nov", months(11, 11), "period", 1, {}),
    # Frequencies alone: the whole plan year.
    ("setiap bulan", WHOLE_YEAR, "monthly", 1, {}),
    ("tiap bulan", WHOLE_YEAR, "monthly", 1, {}),
    ("per bulan", WHOLE_YEAR, "monthly", 1, {}),
    ("bulanan", WHOLE_YEAR, "monthly", 1, {}),
    ("1x sebulan", WHOLE_YEAR, "monthly", 1, {}),
    ("sekali sebulan", WHOLE_YEAR, "monthly", 1, {}),
    ("tiap minggu", WHOLE_YEAR, "weekly", 1, {}),
    ("setiap minggu", WHOLE_YEAR, "weekly", 1, {}),
    ("mingguan", WHOLE_YEAR, "weekly", 1, {}),
    ("2 minggu sekali", WHOLE_YEAR, "weekly", 2, {}),
    ("triwulan", WHOLE_YEAR, "monthly", 3, {}),
    ("Setiap triwulan", WHOLE_YEAR, "monthly", 3, {}),
    ("tiga bulan sekali", WHOLE_YEAR, "monthly", 3, {}),
    ("tiap 3 bulan", WHOLE_YEAR, "monthly", 3, {}),
    ("6 bulan sekali", WHOLE_YEAR, "monthly", 6, {}),
    ("enam bulan sekali", WHOLE_YEAR, "monthly", 6, {}),
    ("semester", WHOLE_YEAR, "monthly", 6, {}),
    ("per semester", WHOLE_YEAR, "monthly", 6, {}),
    ("2 bulan sekali", WHOLE_YEAR, "monthly", 2, {}),
    ("dua belas bulan sekali", WHOLE_YEAR, "monthly", 12, {}),
    ("12 bulan sekali", WHOLE_YEAR, "monthly", 12, {}),
    ("1 bulan sekali", WHOLE_YEAR, "monthly", 1, {}),
    ("setahun sekali", WHOLE_YEAR, "yearly", 1, {}),
    ("sekali setahun", WHOLE_YEAR, "yearly", 1, {}),
    ("tahunan", WHOLE_YEAR, "yearly", 1, {}),
    ("2 kali setahun", WHOLE_YEAR, "monthly", 6, {}),
    ("dua kali setahun", WHOLE_YEAR, "monthly", 6, {}),
    ("2x setahun", WHOLE_YEAR, "monthly", 6, {}),
    ("4 kali setahun", WHOLE_YEAR, "monthly", 3, {}),
    ("terus-menerus", WHOLE_YEAR, "period", 1, {}),
    # Combinations.
    ("Sebulan sekali, Maret - Des", months(3, 12), "monthly", 1, {}),
    ("Maret - Des, sebulan sekali", months(3, 12), "monthly", 1, {}),
    ("Sebulan sekali (Maret - Des)", months(3, 12), "monthly", 1, {}),
    ("Seminggu sekali, Juni - Agustus", months(6, 8), "weekly", 1, {}),
    ("3 bulan sekali, Januari - Desember", WHOLE_YEAR, "monthly", 3, {}),
    ("Sebulan sekali sepanjang tahun", WHOLE_YEAR, "monthly", 1, {}),
    # Week wording with "minggu ke-2" is read as monthly, in the month's 2nd week.
    ("tiap minggu ke-2, Maret s.d. Nov", months(3, 11), "monthly", 1, {"week_of_month": 2}),
    ("setiap minggu kedua", WHOLE_YEAR, "monthly", 1, {"week_of_month": 2}),
    ("Sebulan sekali pada minggu ke-3", WHOLE_YEAR, "monthly", 1, {"week_of_month": 3}),
    ("3 bulan sekali, minggu ke 1", WHOLE_YEAR, "monthly", 3, {"week_of_month": 1}),
    ("tiap Senin minggu ke-2", WHOLE_YEAR, "monthly", 1, {"week_of_month": 2, "weekday": 0}),
    ("setiap Senin", WHOLE_YEAR, "weekly", 1, {"weekday": 0}),
    ("tiap hari Kamis, Maret - Mei", months(3, 5), "weekly", 1, {"weekday": 3}),
    ("Seminggu sekali hari Jumat", WHOLE_YEAR, "weekly", 1, {"weekday": 4}),
    ("setiap Jum'at", WHOLE_YEAR, "weekly", 1, {"weekday": 4}),
    ("setiap Sabtu", WHOLE_YEAR, "weekly", 1, {"weekday": 5}),
    ("setiap hari Minggu", WHOLE_YEAR, "weekly", 1, {"weekday": 6}),
    ("tiap tanggal 15", WHOLE_YEAR, "monthly", 1, {"day_of_month": 15}),
    ("setiap tgl 5, Maret - Des", months(3, 12), "monthly", 1, {"day_of_month": 5}),
    ("Sebulan sekali tanggal 20", WHOLE_YEAR, "monthly", 1, {"day_of_month": 20}),
    ("tanggal 17 Agustus", (date(2025, 8, 17), date(2025, 8, 17)), "once", 1, {"day_of_month": 17}),
]


@pytest.mark.parametrize("text, period, frequency, interval, extra", SCHEDULES,
                         ids=[repr(row[0]) for row in SCHEDULES])
def test_read_schedule(text, period, frequency, interval, extra):
    r = read_schedule(text, YEAR)
    assert r.problems == []
    assert not r.needs_completion
    assert r.text == text.strip()
    assert (r.start, r.end) == period
    assert r.frequency == frequency and frequency in FREQUENCIES
    assert r.interval == interval
    fields = {"day_of_month": None, "weekday": None, "week_of_month": None, "duration_days": None}
    fields.update(extra)
    assert {name: getattr(r, name) for name in fields} == fields


# -- read_schedule: phrases that need a person ---------------------------------------------------

# text, a piece of the expected problem, fields still read (the rest stays empty)
FAILURES = [
    ("", "Jadwal belum diisi.", {}),
    ("   \n\u00a0", "Jadwal belum diisi.", {}),
    ("xyz", "Jadwal tidak terbaca: 'xyz'.", {}),
    ("akan ditentukan kemudian", "Jadwal tidak terbaca", {}),
    ("setiap hari", "Jadwal tidak terbaca: 'setiap hari'.", {}),
    ("???", "Jadwal tidak terbaca", {}),
    # "30 hari" from the form: read, but there is no start date.
    ("30\n \nhari", "Tanggal mulai kegiatan 30 hari belum ditentukan.", {"frequency": "once", "duration_days": 30}),
    ("30 hari", "Tanggal mulai kegiatan 30 hari belum ditentukan.", {"frequency": "once", "duration_days": 30}),
    ("selama 14 hari", "Tanggal mulai kegiatan 14 hari belum ditentukan.", {"frequency": "once", "duration_days": 14}),
    ("30 hari, Juli - Agustus", "Tanggal mulai kegiatan 30 hari belum ditentukan.",
     {"frequency": "once", "duration_days": 30}),
    ("0 hari", "lama kegiatan harus 1 sampai 366 hari", {}),
    ("Sebulan sekali, 3 hari", "tidak dapat digabung", {"frequency": "monthly", "duration_days": 3,
                                                        "start": WHOLE_YEAR[0], "end": WHOLE_YEAR[1]}),
    # A range across the new year is not guessed.
    ("Nov - Feb", "Bulan akhir (Februari) lebih awal dari bulan mulai (November)", {"frequency": "period"}),
    ("Desember s.d. Januari", "pergantian tahun", {"frequency": "period"}),
    # Partly read, with words left over.
    ("Maret -", "Bagian jadwal tidak dikenali: '-'.", {"frequency": "period", "start": date(2025, 3, 1),
                                                       "end": date(2025, 3, 31)}),
    ("Maret s.d.", "Bagian jadwal tidak dikenali", {"frequency": "period", "start": date(2025, 3, 1),
                                                   "end": date(2025, 3, 31)}),
    ("Sebulan sekali kecuali Juli", "Bagian jadwal tidak dikenali: 'kecuali'.",
     {"frequency": "monthly", "start": date(2025, 7, 1), "end": date(2025, 7, 31)}),
    ("Sebulan sekali pukul 09.00", "Bagian jadwal tidak dikenali",
     {"frequency": "monthly", "start": WHOLE_YEAR[0], "end": WHOLE_YEAR[1]}),
    ("Juni - Des (menyesuaikan)", "Bagian jadwal tidak dikenali: 'menyesuaikan'.",
     {"frequency": "period", "start": date(2025, 6, 1), "end": date(2025, 12, 31)}),
    ("setiap Maret", "Bagian jadwal tidak dikenali: 'setiap'.",
     {"frequency": "period", "start": date(2025, 3, 1), "end": date(2025, 3, 31)}),
    ("2 kali sebulan", "Jadwal tidak terbaca", {}),
    # More than one of a kind.
    ("Maret - Mei, Agustus", "Lebih dari satu periode", {"frequency": "period"}),
    ("Sepanjang tahun, Maret - Mei", "Lebih dari satu periode", {"frequency": "period"}),
    ("sebulan sekali, seminggu sekali", "Lebih dari satu frekuensi", {}),
    ("setiap Senin dan Kamis", "Lebih dari satu hari", {}),
    # Out of range numbers.
    ("13 bulan sekali", "jarak harus 1 sampai 12 bulan", {}),
    ("0 bulan sekali", "jarak harus 1 sampai 12 bulan", {}),
    ("tiap tanggal 32", "tanggal harus 1 sampai 31", {}),
    ("tiap minggu ke-6", "minggu ke- harus 1 sampai 5", {}),
    ("5 kali setahun", "tidak dapat dibagi rata per bulan", {}),
    ("tanggal 31 Februari", "Tanggal 31 Februari 2025 tidak ada.",
     {"day_of_month": 31, "start": date(2025, 2, 1), "end": date(2025, 2, 28)}),
    # Parts without a frequency, or that do not fit the frequency.
    ("minggu ke-2", "Frekuensi untuk 'minggu ke-2' belum jelas", {"week_of_month": 2}),
    ("Senin", "Frekuensi untuk 'Senin' belum jelas", {"weekday": 0}),
    ("tanggal 15", "Frekuensi untuk 'tanggal 15' belum jelas", {"day_of_month": 15}),
    ("Sebulan sekali hari Senin", "minggu ke berapa",
     {"frequency": "monthly", "weekday": 0, "start": WHOLE_YEAR[0], "end": WHOLE_YEAR[1]}),
    ("setahun sekali minggu ke-2", "tidak dapat digabung",
     {"frequency": "yearly", "week_of_month": 2, "start": WHOLE_YEAR[0], "end": WHOLE_YEAR[1]}),
    ("tiap tanggal 15 hari Senin", "tidak dapat dipakai bersamaan", {}),
    # A year other than the plan's.
    ("Juni 2024 - Des", "Tahun 2024 pada jadwal berbeda dengan tahun rencana 2025.", {"frequency": "period"}),
    ("Sepanjang tahun 2026", "Tahun 2026", {"frequency": "period"}),
]


@pytest.mark.parametrize("text, problem, fields", FAILURES, ids=[repr(row[0]) for row in FAILURES])
def test_read_schedule_needs_completion(text, problem, fields):
    r = read_schedule(text, YEAR)
    assert r.needs_completion
    assert r.text == text.strip()  # kept verbatim
    assert any(problem in p for p in r.problems), r.problems
    expected = {"start": None, "end": None, "frequency": None, "day_of_month": None, "weekday": None,
                "week_of_month": None, "duration_days": None}
    expected.update(fields)
    assert {name: getattr(r, name) for name in expected} == expected


def test_needs_completion_without_problems():
    r = reading.ScheduleReading(text="Juli", start=date(2025, 7, 1), end=date(2025, 7, 31))
    assert r.needs_completion  # no frequency
    r.frequency = "period"
    assert not r.needs_completion
    r.end = None
    assert r.needs_completion


def test_read_schedule_uses_the_plan_year():
    r = read_schedule("Februari", 2028)  # leap year
    assert (r.start, r.end) == (date(2028, 2, 1), date(2028, 2, 29))


# -- read_funding --------------------------------------------------------------------------------

def S(type, detail=None, amount=None):  # noqa: N802 - reads like the dataclass in the tables
    return SourceReading(type=type, detail=detail, amount=amount)


# text, sources, problems (each expected problem must be contained in one of the problems)
FUNDING = [
    # The reference form, as printed and tidied.
    ("Dinkes", [S("lainnya", "Dinkes")], ["Sumber dana tidak jelas: 'Dinkes' (hanya nama instansi)"]),
    ("APBD", [S("apbd")], []),
    ("BOKB", [S("dak_bokb")], []),
    ("APBD\n \n(Dinkes,\nBadan\n \nPangan)", [S("apbd", "Dinkes"), S("apbd", "Badan Pangan")], []),
    ("APBD (Dinkes, Badan Pangan)", [S("apbd", "Dinkes"), S("apbd", "Badan Pangan")], []),
    ("APBD\n \n(Dinkes)", [S("apbd", "Dinkes")], []),
    ("APBD (Dinkes)", [S("apbd", "Dinkes")], []),
    ("APBD\n \ndan\n \nmandiri", [S("apbd"), S("swadaya")], []),
    ("APBD dan mandiri", [S("apbd"), S("swadaya")], []),
    ("APBD\n \n(Dinkop\n \ndan\nUKM)", [S("apbd", "Dinkop dan UKM")], []),
    ("APBD (Dinkop dan UKM)", [S("apbd", "Dinkop dan UKM")], []),
    (" \nDinsos", [S("lainnya", "Dinsos")], ["Sumber dana tidak jelas: 'Dinsos' (hanya nama instansi)"]),
    ("Dinsos", [S("lainnya", "Dinsos")], ["Sumber dana tidak jelas: 'Dinsos' (hanya nama instansi)"]),
    ("swadaya", [S("swadaya")], []),
    ("BOKB,\n \nCSR", [S("dak_bokb"), S("csr")], []),
    ("BOKB, CSR", [S("dak_bokb"), S("csr")], []),
    # Source words.
    ("DAK BOKB", [S("dak_bokb")], []),
    ("mandiri", [S("swadaya")], []),
    ("Swadaya masyarakat", [S("swadaya")], []),
    ("Swadaya/mandiri", [S("swadaya")], []),
    ("APBD Provinsi", [S("apbd_provinsi")], []),
    ("APBD Prov", [S("apbd_provinsi")], []),
    ("APBD Prov. (Dinkes)", [S("apbd_provinsi", "Dinkes")], []),
    ("APBD Kabupaten", [S("apbd_kabkota")], []),
    ("APBD Kab/Kota", [S("apbd_kabkota")], []),
    ("APBD Kabupaten/Kota (Dinsos)", [S("apbd_kabkota", "Dinsos")], []),
    ("APBD Kota", [S("apbd_kabkota")], []),
    ("Dana Desa", [S("dana_desa")], []),
    ("DD", [S("dana_desa")], []),
    ("APBDes", [S("dana_desa")], []),
    ("Dana Desa/APBDes", [S("dana_desa")], []),
    ("Dana Kelurahan", [S("dana_kelurahan")], []),
    ("Dana Desa/Kelurahan/Mandiri", [S("dana_desa"), S("dana_kelurahan"), S("swadaya")], []),
    ("Hibah", [S("hibah")], []),
    ("Donasi", [S("hibah")], []),
    ("APBN", [S("apbn")], []),
    ("apbn; apbd prov", [S("apbn"), S("apbd_provinsi")], []),
    ("CSR Bank Mandiri", [S("csr", "Bank Mandiri")], []),
    ("Lainnya", [S("lainnya")], []),
    ("BOKB + CSR & swadaya", [S("dak_bokb"), S("csr"), S("swadaya")], []),
    # Amounts.
    ("BOKB Rp 1.500.000", [S("dak_bokb", amount=1500000)], []),
    ("BOKB Rp1.500.000,00", [S("dak_bokb", amount=1500000)], []),
    ("BOKB: Rp 150.000,-", [S("dak_bokb", amount=150000)], []),
    ("BOKB (Rp 1.500.000)", [S("dak_bokb", amount=1500000)], []),
    ("BOKB 1,5 juta, CSR", [S("dak_bokb", amount=1500000), S("csr")], []),
    ("APBD (Dinkes) Rp 2.000.000", [S("apbd", "Dinkes", 2000000)], []),
    ("APBD (Dinkes Rp 1.000.000, Badan Pangan Rp 2.000.000)",
     [S("apbd", "Dinkes", 1000000), S("apbd", "Badan Pangan", 2000000)], []),
    ("BOKB Rp 1.000.000, CSR Rp 500.000", [S("dak_bokb", amount=1000000), S("csr", amount=500000)], []),
    # Problems.
    ("", [], ["Sumber dana belum diisi."]),
    (" \n ", [], ["Sumber dana belum diisi."]),
    ("-", [], ["Sumber dana belum diisi."]),
    ("Dinkes, APBD", [S("lainnya", "Dinkes"), S("apbd")], ["'Dinkes' (hanya nama instansi)"]),
    ("Din. Kop dan UKM", [S("lainnya", "Din. Kop dan UKM")], ["(hanya nama instansi)"]),
    ("Badan Pangan", [S("lainnya", "Badan Pangan")], ["(hanya nama instansi)"]),
    ("xyz", [S("lainnya", "xyz")], ["Sumber dana tidak dikenali: 'xyz'"]),
    ("APBD, entah", [S("apbd"), S("lainnya", "entah")], ["Sumber dana tidak dikenali: 'entah'"]),
    ("Rp 1.000.000", [S("lainnya", amount=1000000)], ["tidak disebut"]),
    ("APBD (Dinkes, Badan Pangan) Rp 3.000.000", [S("apbd", "Dinkes"), S("apbd", "Badan Pangan")],
     ["Jumlah Rp 3.000.000 untuk beberapa instansi (Dinkes, Badan Pangan) tidak dapat dibagi"]),
    ("BOKB Rp 1.5.00", [S("dak_bokb")], ["Jumlah rupiah tidak valid"]),
    ("BOKB Rp 1.500,50", [S("dak_bokb")], ["bilangan bulat"]),
    ("APBD 2025", [S("apbd", "2025")], ["angka tanpa 'Rp'"]),
    ("APBD BOKB", [S("apbd", "BOKB")], ["Sumber dana tidak jelas: 'APBD BOKB'"]),
    ("APBD (Dinkes", [S("apbd", "Dinkes")], ["Tanda kurung tidak lengkap"]),
]


@pytest.mark.parametrize("text, sources, problems", FUNDING, ids=[repr(row[0]) for row in FUNDING])
def test_read_funding(text, sources, problems):
    r = read_funding(text)
    assert r.text == text.strip()
    assert r.sources == sources
    assert all(s.type in SOURCE_TYPES for s in r.sources)
    if problems:
        for expected in problems:
            assert any(expected in p for p in r.problems), r.problems
    else:
        assert r.problems == []


# -- rupiah --------------------------------------------------------------------------------------

RUPIAH_GOOD = [
    ("Rp 1.298.900.000", 1298900000),
    ("1298900000", 1298900000),
    ("1.500.000", 1500000),
    ("Rp1.500.000,00", 1500000),
    ("Rp. 150.000,-", 150000),
    ("rp 150.000", 150000),
    ("IDR 5.000", 5000),
    ("  Rp\u00a01.000  ", 1000),
    ("1,5 juta", 1500000),
    ("1,25 miliar", 1250000000),
    ("2 jt", 2000000),
    ("750 ribu", 750000),
    ("1.500 juta", 1500000000),
    ("Rp 0", 0),
    ("0", 0),
    ("999", 999),
    (1500, 1500),
]


@pytest.mark.parametrize("text, amount", RUPIAH_GOOD, ids=[repr(row[0]) for row in RUPIAH_GOOD])
def test_parse_rupiah(text, amount):
    assert parse_rupiah(text) == amount


RUPIAH_BAD = [
    ("", "belum diisi"),
    ("   ", "belum diisi"),
    (None, "belum diisi"),
    ("-1.000", "tidak boleh negatif"),
    ("Rp -1.000", "tidak boleh negatif"),
    ("-Rp 1.000", "tidak boleh negatif"),
    ("(1.000)", "tidak boleh negatif"),
    (-5, "tidak boleh negatif"),
    ("abc", "tidak valid"),
    ("Rp", "tidak valid"),
    ("12a", "tidak valid"),
    ("satu juta", "tidak valid"),
    ("1.5", "tidak valid"),  # a dot is the thousands separator
    ("1.5 juta", "tidak valid"),
    ("1,500,000", "tidak valid"),
    ("1 500 000", "tidak valid"),
    ("Rp 1.000.00", "tidak valid"),
    ("1,50", "desimal hanya ,00"),
    ("Rp 1.500.000,25", "desimal hanya ,00"),
    ("1,0000005 juta", "tanpa sen"),
    ("1.000.000.000.000.000", "terlalu besar"),
    (True, "tidak valid"),
]


@pytest.mark.parametrize("text, message", RUPIAH_BAD, ids=[repr(row[0]) for row in RUPIAH_BAD])
def test_parse_rupiah_refuses(text, message):
    with pytest.raises(ValueError, match="Jumlah rupiah") as raised:
        parse_rupiah(text)
    assert message in str(raised.value)


RUPIAH_FORMAT = [
    (1298900000, "Rp 1.298.900.000"),
    (0, "Rp 0"),
    (5, "Rp 5"),
    (999, "Rp 999"),
    (1000, "Rp 1.000"),
    (1500000, "Rp 1.500.000"),
    (-1500, "-Rp 1.500"),
]


@pytest.mark.parametrize("amount, text", RUPIAH_FORMAT, ids=[str(row[0]) for row in RUPIAH_FORMAT])
def test_format_rupiah(amount, text):
    assert format_rupiah(amount) == text


@pytest.mark.parametrize("amount", [1298900000, 0, 1500000, 7])
def test_format_and_parse_round_trip(amount):
    assert parse_rupiah(format_rupiah(amount)) == amount


@pytest.mark.parametrize("value", [1.5, "1000", None, True])
def test_format_rupiah_wants_an_int(value):
    with pytest.raises(TypeError):
        format_rupiah(value)
