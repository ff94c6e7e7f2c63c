"""Laporan kegiatan (portal/blueprints/progress/laporan.py and GET /kampung/<id>/laporan):
periods, the per-activity figures of one month or quarter against hand-computed values, the
screen, the XLSX, the print view and the PDF, and who may read it.

The plan is for the Kampung KB's current year with "today" pinned to 15 June of that year, as in
tests/test_progress.py (whose helpers are reused).
"""
import io
import re
from datetime import date
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest
from markupsafe import escape
from openpyxl import load_workbook

from portal.blueprints.plans import approval
from portal.blueprints.plans.services import add_row, create_plan
from portal.blueprints.progress import laporan as lap
from portal.blueprints.progress.services import add_realisation, mark_occurrence
from portal.extensions import db
from portal.models import KampungKB
from tests.test_progress import TODAY, YEAR, act, body, d, location, make_plan

# -- Period -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,year,expected", [
    ("2026-03", 2026, lap.Period(2026, month=3)),
    ("2026-01", 2026, lap.Period(2026, month=1)),
    ("2026-12", 2026, lap.Period(2026, month=12)),
    ("2026-T1", 2026, lap.Period(2026, quarter=1)),
    ("2026-T4", 2026, lap.Period(2026, quarter=4)),
    ("2025-03", 2026, None),  # another year
    ("2027-T1", 2026, None),
    ("2026-13", 2026, None),
    ("2026-00", 2026, None),
    ("2026-T5", 2026, None),
    ("2026-T0", 2026, None),
    ("2026-3", 2026, None),
    ("2026-t1", 2026, None),
    ("2026-Q1", 2026, None),
    (" 2026-03", 2026, None),
    ("2026-03 ", 2026, None),
    ("2026-03-01", 2026, None),
    ("Maret 2026", 2026, None),
    ("", 2026, None),
    (None, 2026, None),
    ("<script>", 2026, None),
])
def test_period_parse(text, year, expected):
    assert lap.Period.parse(text, year) == expected


@pytest.mark.parametrize("period,first,last", [
    (lap.Period(2026, month=1), date(2026, 1, 1), date(2026, 1, 31)),
    (lap.Period(2026, month=2), date(2026, 2, 1), date(2026, 2, 28)),
    (lap.Period(2028, month=2), date(2028, 2, 1), date(2028, 2, 29)),  # leap year
    (lap.Period(2026, month=4), date(2026, 4, 1), date(2026, 4, 30)),
    (lap.Period(2026, month=12), date(2026, 12, 1), date(2026, 12, 31)),
    (lap.Period(2026, quarter=1), date(2026, 1, 1), date(2026, 3, 31)),
    (lap.Period(2026, quarter=2), date(2026, 4, 1), date(2026, 6, 30)),
    (lap.Period(2026, quarter=3), date(2026, 7, 1), date(2026, 9, 30)),
    (lap.Period(2026, quarter=4), date(2026, 10, 1), date(2026, 12, 31)),
])
def test_period_first_and_last_day(period, first, last):
    assert (period.first, period.last) == (first, last)
    assert period.contains(first) and period.contains(last)
    assert not period.contains(date.fromordinal(first.toordinal() - 1))
    assert not period.contains(date.fromordinal(last.toordinal() + 1))


@pytest.mark.parametrize("period,key,label", [
    (lap.Period(2026, month=3), "2026-03", "Maret 2026"),
    (lap.Period(2026, month=1), "2026-01", "Januari 2026"),
    (lap.Period(2026, month=12), "2026-12", "Desember 2026"),
    (lap.Period(2026, quarter=1), "2026-T1", "Triwulan I 2026 (Januari\u2013Maret)"),
    (lap.Period(2026, quarter=2), "2026-T2", "Triwulan II 2026 (April\u2013Juni)"),
    (lap.Period(2026, quarter=3), "2026-T3", "Triwulan III 2026 (Juli\u2013September)"),
    (lap.Period(2026, quarter=4), "2026-T4", "Triwulan IV 2026 (Oktober\u2013Desember)"),
])
def test_period_key_and_label(period, key, label):
    assert (period.key, period.label) == (key, label)
    assert lap.Period.parse(period.key, period.year) == period  # the picker's value reads back


def test_period_containing_falls_back_to_december_of_another_year():
    assert lap.Period.containing(date(2026, 5, 31), 2026) == lap.Period(2026, month=5)
    assert lap.Period.containing(date(2027, 1, 2), 2026) == lap.Period(2026, month=12)
    assert lap.Period.containing(date(2025, 7, 1), 2026) == lap.Period(2026, month=12)


def test_periods_are_the_months_then_the_quarters():
    keys = [p.key for p in lap.periods(2026)]
    assert keys == [f"2026-{m:02d}" for m in range(1, 13)] + [f"2026-T{q}" for q in range(1, 5)]


# -- a plan with progress ---------------------------------------------------------------------------

KAMPUNG_NAME = "Kampung KB Harara"
XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'

# key → row data; report order is part I (A, C), part II (B), part IV (D).
ROWS = {
    "A": {"part": "I", "kegiatan": "Rapat bulanan Pokja", "schedule_text": "Setiap bulan",
          "funding_text": "Dana Desa Rp 1.200.000", "target_count": 20, "target_unit": "orang"},
    "B": {"part": "II", "kegiatan": "Kelas BKB", "schedule_text": "Setiap bulan",
          "funding_text": "Swadaya Rp 600.000", "target_count": 50, "target_unit": "keluarga"},
    "C": {"part": "I", "kegiatan": "Pendataan keluarga baru", "schedule_text": f"Tanggal 12 Maret {YEAR}"},
    "D": {"part": "IV", "kegiatan": "Kerja bakti lingkungan", "schedule_text": f"Tanggal 5 Juli {YEAR}",
          "funding_text": "Dana Desa Rp 800.000"},
}
ORDER = ["A", "C", "B", "D"]


@pytest.fixture
def kb(pokja, monkeypatch):
    assert pokja["kampung"].name == KAMPUNG_NAME
    monkeypatch.setattr(KampungKB, "today", lambda self: TODAY)
    return pokja


def build_plan(kb, approve=True):
    return make_plan(kb, approve=approve, rows=ROWS)


def rows_by_key(plan):
    by_name = {r.kegiatan: r for r in plan.rows}
    return {key: by_name[data["kegiatan"]] for key, data in ROWS.items()}


@pytest.fixture
def plan(kb):
    """Marks and realisations inside and outside March / the first quarter:

    A (1st of every month): 1 Jan done; 1 Feb cancelled; 1 Mar moved to 3 Apr; 1 Apr moved to
      25 Mar and held there; extra session held 15 Mar; 1 May done. Realisations: 1 Jan 15 people
      Rp 100.000; 15 Mar 18 people Rp 120.000; 25 Mar no head count Rp 60.000; 1 May 20 people
      Rp 100.000.
    B (1st of every month): no marks. Realisations: 10 Feb 30 people Rp 200.000; 31 Mar 12 people.
    C (12 Mar): done; realisation 12 Mar 40 people, no money (no funding, no target).
    D (5 Jul): nothing.
    """
    plan = build_plan(kb)
    rows = rows_by_key(plan)
    by = kb["ketua"]
    a, b, c = rows["A"], rows["B"], rows["C"]
    mark_occurrence(a, d(1, 1), "done", by=by)
    mark_occurrence(a, d(2, 1), "cancelled", by=by, reason="Kepala desa berhalangan")
    mark_occurrence(a, d(3, 1), "moved", by=by, moved_to=d(4, 3))
    mark_occurrence(a, d(4, 1), "moved", by=by, moved_to=d(3, 25))
    mark_occurrence(a, d(4, 1), "done", by=by)
    mark_occurrence(a, d(3, 15), "done", by=by)  # an extra session
    mark_occurrence(a, d(5, 1), "done", by=by)
    mark_occurrence(c, d(3, 12), "done", by=by)
    for row, on, people, spends in [
        (a, d(1, 1), 15, {"dana_desa": 100_000}),
        (a, d(3, 15), 18, {"dana_desa": 120_000}),
        (a, d(3, 25), None, {"dana_desa": 60_000}),
        (a, d(5, 1), 20, {"dana_desa": 100_000}),
        (b, d(2, 10), 30, {"swadaya": 200_000}),
        (b, d(3, 31), 12, {}),
        (c, d(3, 12), 40, {}),
    ]:
        add_realisation(row, {"on": on, "description": f"Dilaksanakan {on.isoformat()}", "people_reached": people,
                              "spends": spends}, by=by)
    db.session.commit()
    return plan


FIELDS = ("number", "kegiatan", "seksi", "status", "planned", "held", "reached", "reached_to_date", "target",
          "target_unit", "target_pct", "budget", "spent", "spent_to_date", "budget_pct", "active")

NAMES = {k: ROWS[k]["kegiatan"] for k in ROWS}
SEKSI_DATA, SEKSI_PERILAKU, SEKSI_LINGKUNGAN = "Penyediaan Data", "Perubahan Perilaku", "Penataan Lingkungan"

# Worked out by hand from the fixture's docstring (not with the report's helpers).
EXPECTED = {
    # March: A has 15 Mar (extra, done) and 25 Mar (moved in, done); 1 Mar moved out to April.
    "03": [
        ("I.1", NAMES["A"], SEKSI_DATA, "Berjalan", 2, 2, 18, 33, 20, "orang", 165,
         1_200_000, 180_000, 280_000, 23, True),
        ("I.2", NAMES["C"], SEKSI_DATA, "Selesai", 1, 1, 40, 40, None, "", None, None, 0, 0, None, True),
        ("II.1", NAMES["B"], SEKSI_PERILAKU, "Belum mulai", 1, 0, 12, 42, 50, "keluarga", 84,
         600_000, 0, 200_000, 33, True),
        ("IV.1", NAMES["D"], SEKSI_LINGKUNGAN, "Belum mulai", 0, 0, 0, 0, None, "", None,
         800_000, 0, 0, 0, False),
    ],
    # First quarter: A's 1 Feb is cancelled, so 1 Jan + 15 Mar + 25 Mar; B 1 Jan, 1 Feb, 1 Mar.
    "T1": [
        ("I.1", NAMES["A"], SEKSI_DATA, "Berjalan", 3, 3, 33, 33, 20, "orang", 165,
         1_200_000, 280_000, 280_000, 23, True),
        ("I.2", NAMES["C"], SEKSI_DATA, "Selesai", 1, 1, 40, 40, None, "", None, None, 0, 0, None, True),
        ("II.1", NAMES["B"], SEKSI_PERILAKU, "Belum mulai", 3, 0, 42, 42, 50, "keluarga", 84,
         600_000, 200_000, 200_000, 33, True),
        ("IV.1", NAMES["D"], SEKSI_LINGKUNGAN, "Belum mulai", 0, 0, 0, 0, None, "", None,
         800_000, 0, 0, 0, False),
    ],
    # April: A's 1 Mar moved to 3 Apr is planned, not held; its 1 Apr was held in March.
    "04": [
        ("I.1", NAMES["A"], SEKSI_DATA, "Berjalan", 1, 0, 0, 33, 20, "orang", 165,
         1_200_000, 0, 280_000, 23, True),
        ("I.2", NAMES["C"], SEKSI_DATA, "Selesai", 0, 0, 0, 40, None, "", None, None, 0, 0, None, False),
        ("II.1", NAMES["B"], SEKSI_PERILAKU, "Belum mulai", 1, 0, 0, 42, 50, "keluarga", 84,
         600_000, 0, 200_000, 33, True),
        ("IV.1", NAMES["D"], SEKSI_LINGKUNGAN, "Belum mulai", 0, 0, 0, 0, None, "", None,
         800_000, 0, 0, 0, False),
    ],
    # Second quarter: A 3 Apr (moved), 1 May (done), 1 Jun (planned); 1 May's 20 people and Rp 100.000.
    "T2": [
        ("I.1", NAMES["A"], SEKSI_DATA, "Berjalan", 3, 1, 20, 53, 20, "orang", 265,
         1_200_000, 100_000, 380_000, 32, True),
        ("I.2", NAMES["C"], SEKSI_DATA, "Selesai", 0, 0, 0, 40, None, "", None, None, 0, 0, None, False),
        ("II.1", NAMES["B"], SEKSI_PERILAKU, "Belum mulai", 3, 0, 0, 42, 50, "keluarga", 84,
         600_000, 0, 200_000, 33, True),
        ("IV.1", NAMES["D"], SEKSI_LINGKUNGAN, "Belum mulai", 0, 0, 0, 0, None, "", None,
         800_000, 0, 0, 0, False),
    ],
}
SUMMARY = {
    "03": dict(scheduled=3, held_any=2, sessions_planned=4, sessions_held=3, reached=70, spent=180_000,
               spent_to_date=480_000, budget=2_600_000, budget_pct=18),
    "T1": dict(scheduled=3, held_any=2, sessions_planned=7, sessions_held=4, reached=115, spent=480_000,
               spent_to_date=480_000, budget=2_600_000, budget_pct=18),
    "04": dict(scheduled=2, held_any=0, sessions_planned=2, sessions_held=0, reached=0, spent=0,
               spent_to_date=480_000, budget=2_600_000, budget_pct=18),
    "T2": dict(scheduled=2, held_any=1, sessions_planned=6, sessions_held=1, reached=20, spent=100_000,
               spent_to_date=580_000, budget=2_600_000, budget_pct=22),
}


def period_of(suffix):
    return lap.Period.parse(f"{YEAR}-{suffix}", YEAR)


# One plan for several periods: building it (accounts, signatures) is the slow part.

def test_report_rows(plan):
    for suffix, expected in EXPECTED.items():
        table, _summary = lap.report(plan, period_of(suffix))
        got = [tuple(row[f] for f in FIELDS) for row in table.rows]
        assert got == expected, suffix


def test_report_summary_matches_hand_totals_and_row_sums(plan):
    for suffix in EXPECTED:
        table, summary = lap.report(plan, period_of(suffix))
        assert summary == SUMMARY[suffix], suffix
        check_summary_is_row_sums(summary, [dict(zip(FIELDS, r)) for r in EXPECTED[suffix]])
        check_summary_is_row_sums(summary, table.rows)


def check_summary_is_row_sums(summary, rows):
    assert summary["sessions_planned"] == sum(r["planned"] for r in rows)
    assert summary["sessions_held"] == sum(r["held"] for r in rows)
    assert summary["reached"] == sum(r["reached"] for r in rows)
    assert summary["spent"] == sum(r["spent"] for r in rows)
    assert summary["spent_to_date"] == sum(r["spent_to_date"] for r in rows)
    assert summary["budget"] == sum(r["budget"] or 0 for r in rows)
    assert summary["scheduled"] == sum(1 for r in rows if r["planned"])
    assert summary["held_any"] == sum(1 for r in rows if r["held"])


def test_report_table_title_and_subtitle(plan):
    table, _ = lap.report(plan, period_of("T1"))
    assert table.title == f"Laporan kegiatan Triwulan I {YEAR} (Januari\u2013Maret)"
    assert table.subtitle.startswith(f"{KAMPUNG_NAME} \u00b7 {plan.title} \u00b7 ")
    assert table.subtitle.endswith(f"1 Januari \u2013 31 Maret {YEAR}")
    february = lap.Period(YEAR, month=2)
    assert lap.report(plan, february)[0].subtitle.endswith(f"1 Februari \u2013 {february.last.day} Februari {YEAR}")


def test_report_of_a_later_month(plan):
    """December (after today): only planned sessions (A and B), and everything to date."""
    table, summary = lap.report(plan, period_of("12"))
    assert [(r["planned"], r["held"], r["reached"], r["spent"]) for r in table.rows] == \
        [(1, 0, 0, 0), (0, 0, 0, 0), (1, 0, 0, 0), (0, 0, 0, 0)]
    assert [r["reached_to_date"] for r in table.rows] == [53, 40, 42, 0]
    assert summary["spent_to_date"] == 580_000 and summary["spent"] == 0


def test_report_without_any_progress(kb):
    plan = build_plan(kb)
    table, summary = lap.report(plan, period_of("T3"))
    # July–September: A and B monthly (3 each), D on 5 July.
    assert [(r["kegiatan"], r["planned"], r["held"], r["target_pct"], r["budget_pct"]) for r in table.rows] == [
        (NAMES["A"], 3, 0, 0, 0), (NAMES["C"], 0, 0, None, None), (NAMES["B"], 3, 0, 0, 0), (NAMES["D"], 1, 0, None, 0),
    ]
    assert summary == dict(scheduled=3, held_any=0, sessions_planned=7, sessions_held=0, reached=0, spent=0,
                           spent_to_date=0, budget=2_600_000, budget_pct=0)


# -- the route --------------------------------------------------------------------------------------

def url(kb_or_kampung, **args):
    kampung = kb_or_kampung["kampung"] if isinstance(kb_or_kampung, dict) else kb_or_kampung
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/kampung/{kampung.id}/laporan" + (f"?{query}" if query else "")


def selected_period(html):
    select = re.search(r'<select name="periode">(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option value="([^"]*)" selected>', select).group(1)


def facts(html):
    """The summary's <dt>/<dd> pairs, tags removed and whitespace collapsed."""
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html, re.S)
    return {dt: " ".join(re.sub(r"<[^>]+>", "", dd).split()) for dt, dd in pairs}


def test_screen_for_readers(kb, plan, client, login):
    for role in ["lurah", "ketua", "sekretaris", "seksi_head", "anggota", "operator", "operator_kecamatan", "admin"]:
        login(kb[role].username)
        response = client.get(url(kb, tahun=YEAR, periode=f"{YEAR}-03"))
        assert response.status_code == 200, role
        html = body(response)
        assert f"<h2>Maret {YEAR}</h2>" in html, role
        assert selected_period(html) == f"{YEAR}-03"


def test_screen_shows_the_summary_and_each_activity(kb, plan, client, login):
    login("anggota")
    html = body(client.get(url(kb, periode=f"{YEAR}-03")))
    assert facts(html) == {
        "Kegiatan terjadwal": "3 kegiatan, 4 jadwal",
        "Terlaksana": "3 dari 4 jadwal (2 kegiatan)",
        "Sasaran terjangkau": "70 orang/keluarga pada periode ini",
        "Realisasi anggaran": "Rp 180.000 pada periode ini; Rp 480.000 s.d. periode dari Rp 2.600.000 (18%)",
    }
    items = [" ".join(re.sub(r"<[^>]+>", "", li).split())
             for li in re.findall(r"<li[^>]*>(.*?)</li>", html.split("<h2>Per kegiatan</h2>")[1], re.S)]
    assert items == [
        f"I.1 {NAMES['A']} · Penyediaan Data · Berjalan Terlaksana 2 dari 2 jadwal · terjangkau 18 "
        "(s.d. periode 33 dari 20 orang, 165%) · realisasi Rp 180.000 (s.d. periode Rp 280.000 dari Rp 1.200.000)",
        f"I.2 {NAMES['C']} · Penyediaan Data · Selesai Terlaksana 1 dari 1 jadwal · terjangkau 40",
        f"II.1 {NAMES['B']} · Perubahan Perilaku · Belum mulai Terlaksana 0 dari 1 jadwal · terjangkau 12 "
        "(s.d. periode 42 dari 50 keluarga, 84%) · realisasi Rp 0 (s.d. periode Rp 200.000 dari Rp 600.000)",
        f"IV.1 {NAMES['D']} · Penataan Lingkungan · Belum mulai Tidak ada jadwal pada periode ini · realisasi Rp 0 "
        "(s.d. periode Rp 0 dari Rp 800.000)",
    ]
    inactive = re.findall(r'<li class="muted">', html)
    assert len(inactive) == 1  # D only
    downloads = re.search(r'<p class="downloads">(.*?)</p>', html, re.S).group(1)
    links = {text: parse_qs(urlparse(unescape(href)).query)
             for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', downloads)}
    same = {"tahun": [str(YEAR)], "periode": [f"{YEAR}-03"]}
    assert links == {"Cetak": {"cetak": ["1"], **same}, "PDF": {"unduh": ["pdf"], **same},
                     "Excel": {"unduh": ["xlsx"], **same}}


def test_screen_of_a_quarter(kb, plan, client, login):
    login("ketua")
    html = body(client.get(url(kb, periode=f"{YEAR}-T1")))
    assert f"<h2>Triwulan I {YEAR} (Januari\u2013Maret)</h2>" in html
    assert selected_period(html) == f"{YEAR}-T1"
    assert facts(html)["Terlaksana"] == "4 dari 7 jadwal (2 kegiatan)"


def test_missing_or_bad_period_shows_the_month_of_today(kb, plan, client, login):
    login("ketua")
    for periode in [None, "", f"{YEAR}-13", f"{YEAR}-T5", f"{YEAR - 1}-03", "zzz"]:
        args = {} if periode is None else {"periode": periode}
        response = client.get(url(kb, **args))
        assert response.status_code == 200, periode
        html = body(response)
        assert selected_period(html) == f"{YEAR}-06", periode  # today is 15 June
        assert f"<h2>Juni {YEAR}</h2>" in html


def test_xlsx_download(kb, plan, client, login):
    login("anggota")
    response = client.get(url(kb, periode=f"{YEAR}-03", unduh="xlsx"))
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="laporan-kegiatan-kampung-kb-harara-{YEAR}-03.xlsx"'
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][0] == f"Laporan kegiatan Maret {YEAR}"
    assert values[1][0].startswith(KAMPUNG_NAME)
    assert values[2][:6] == ["No", "Kegiatan", "Seksi", "Jadwal pada periode", "Terlaksana", "Status sekarang"]
    data = values[3:]
    assert [r[1] for r in data] == [NAMES[k] for k in ORDER]
    columns = ["number", "kegiatan", "seksi", "planned", "held", "status", "reached", "reached_to_date", "target",
               "target_unit", "target_pct", "budget", "spent", "spent_to_date", "budget_pct"]
    expected = [dict(zip(FIELDS, r)) for r in EXPECTED["03"]]
    for got, want in zip(data, expected):
        row = dict(zip(columns, got))
        assert (row["number"], row["planned"], row["held"], row["reached"], row["reached_to_date"]) == \
            (want["number"], want["planned"], want["held"], want["reached"], want["reached_to_date"])
        assert (row["budget"], row["spent"], row["spent_to_date"]) == \
            (want["budget"], want["spent"], want["spent_to_date"])
        # Percentages are stored as fractions (cell format 0%); none when there is nothing to compare.
        for key in ("target_pct", "budget_pct"):
            assert row[key] == (None if want[key] is None else pytest.approx(want[key] / 100))


def test_pdf_download(kb, plan, client, login):
    from pypdf import PdfReader

    login("anggota")
    response = client.get(url(kb, periode=f"{YEAR}-T1", unduh="pdf"))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="laporan-kegiatan-kampung-kb-harara-{YEAR}-t1.pdf"'
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages).split())
    assert KAMPUNG_NAME.upper() in text
    assert f"Triwulan I {YEAR} (Januari\u2013Maret)" in text
    assert "LAPORAN KEGIATAN KAMPUNG KB" in text
    assert NAMES["A"] in text and NAMES["D"] in text


def test_print_view(kb, plan, client, login):
    login("anggota")
    response = client.get(url(kb, periode=f"{YEAR}-03", cetak=1))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    html = body(response)
    assert "LAPORAN KEGIATAN KAMPUNG KB" in html and KAMPUNG_NAME.upper() in html
    assert f"Maret {YEAR} \u00b7 {plan.title}" in html
    assert "print.css" in html and "<h1>Laporan kegiatan</h1>" not in html  # not the screen
    rows = [[" ".join(re.sub(r"<[^>]+>", "", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1], re.S)]
    assert rows == [
        ["I.1", NAMES["A"], "Penyediaan Data", "2", "2", "Berjalan", "18", "33 / 20 orang (165%)", "1.200.000",
         "180.000", "280.000 (23%)"],
        ["I.2", NAMES["C"], "Penyediaan Data", "1", "1", "Selesai", "40", "40", "", "0", "0"],
        ["II.1", NAMES["B"], "Perubahan Perilaku", "1", "0", "Belum mulai", "12", "42 / 50 keluarga (84%)", "600.000",
         "0", "200.000 (33%)"],
        ["IV.1", NAMES["D"], "Penataan Lingkungan", "0", "0", "Belum mulai", "0", "0", "800.000", "0", "0 (0%)"],
    ]
    total = re.search(r'<tr class="total">(.*?)</tr>', html, re.S).group(1)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", total, re.S)] == \
        ["", "JUMLAH", "70", "", "2.600.000", "180.000", "480.000"]


def test_unknown_download_format_is_404(kb, plan, client, login):
    login("ketua")
    for unduh in ["csv", "xls", "PDF", "json", "html", "pdf.xlsx", "xlsx%00"]:
        assert client.get(url(kb, periode=f"{YEAR}-03", unduh=unduh)).status_code == 404, unduh
        assert client.get(url(kb, periode=f"{YEAR}-03", unduh=unduh, cetak=1)).status_code == 404, unduh


VARIANTS = [{}, {"unduh": "xlsx"}, {"unduh": "pdf"}, {"cetak": 1}]


def test_other_kampung_gets_404(kb, plan, client, login):
    for role in ["outsider", "operator_other", "no_position"]:
        login(kb[role].username)
        for args in VARIANTS:
            assert client.get(url(kb, periode=f"{YEAR}-03", **args)).status_code == 404, (role, args)


def test_unknown_kampung_is_404(kb, plan, client, login):
    login("admin")
    assert client.get("/kampung/99999/laporan").status_code == 404


def test_anonymous_is_sent_to_login(kb, plan, client):
    for args in VARIANTS:
        response = client.get(url(kb, **args))
        assert response.status_code == 302, args
        assert location(response) == "/masuk"


def test_outsider_reads_the_report_of_their_own_kampung(kb, plan, client, login):
    """The other Kampung KB has no plan: its own member sees the empty state, not 404."""
    login("ketua.lain")
    response = client.get(url(kb["other_kampung"]))
    assert response.status_code == 200
    assert "Belum ada rencana kegiatan" in body(response)


@pytest.mark.parametrize("approved", [False, True])
def test_without_an_approved_plan(approved, kb, client, login):
    """A draft only, or an approved plan of another year than the one asked for."""
    build_plan(kb, approve=approved)
    login("ketua")
    year = YEAR + 1 if approved else YEAR
    response = client.get(url(kb, tahun=year, periode=f"{year}-03"))
    assert response.status_code == 200
    html = body(response)
    assert f"Belum ada rencana kegiatan {year} yang disetujui." in html
    assert "unduh=pdf" not in html and "<h2>Per kegiatan</h2>" not in html
    for args in ({"unduh": "pdf"}, {"unduh": "xlsx"}, {"cetak": 1}):
        assert client.get(url(kb, tahun=year, periode=f"{year}-03", **args)).status_code == 404


def test_no_plan_at_all(kb, client, login):
    login("ketua")
    html = body(client.get(url(kb)))
    assert f"Belum ada rencana kegiatan {YEAR} yang disetujui." in html
    assert client.get(url(kb, unduh="pdf")).status_code == 404


def test_latest_approved_year_is_shown_when_this_year_has_none(kb, client, login):
    """Only last year's plan is approved: the page opens on it, at its December (today is in
    another year); asking for this year explicitly says there is none."""
    plan = create_plan(kb["kampung"], YEAR - 1, by=kb["sekretaris"])
    add_row(plan, {"part": "I", "kegiatan": "Rapat bulanan Pokja", "schedule_text": "Setiap bulan"},
            by=kb["sekretaris"])
    db.session.commit()
    act(plan, "ajukan", kb["ketua"])
    act(plan, "setujui", kb["lurah"])
    login("ketua")
    html = body(client.get(url(kb)))
    assert selected_period(html) == f"{YEAR - 1}-12"
    assert f"<h2>Desember {YEAR - 1}</h2>" in html
    assert facts(html)["Kegiatan terjadwal"] == "1 kegiatan, 1 jadwal"
    assert "Belum ada rencana kegiatan" in body(client.get(url(kb, tahun=YEAR)))


def test_activity_names_are_escaped(kb, client, login):
    plan = create_plan(kb["kampung"], YEAR, by=kb["sekretaris"])
    add_row(plan, {"part": "I", "kegiatan": XSS, "schedule_text": "Setiap bulan"}, by=kb["sekretaris"])
    db.session.commit()
    act(plan, "ajukan", kb["ketua"])
    act(plan, "setujui", kb["lurah"])
    login("ketua")
    for args in ({}, {"cetak": 1}):
        html = body(client.get(url(kb, periode=f"{YEAR}-03", **args)))
        assert XSS not in html and str(escape(XSS)) in html, args


def test_report_follows_the_revision_in_force(kb, plan, client, login):
    """After a revision is approved the report reads it; progress carries over by lineage."""
    revision = approval.create_revision(plan, by=kb["sekretaris"])
    db.session.commit()
    add_row(revision, {"part": "III", "kegiatan": "Pelayanan KB keliling", "schedule_text": f"Tanggal 20 Maret {YEAR}"},
            by=kb["sekretaris"])
    db.session.commit()
    login("ketua")
    # While the revision is a draft the approved version is reported.
    html = body(client.get(url(kb, periode=f"{YEAR}-03")))
    assert "Pelayanan KB keliling" not in html and facts(html)["Kegiatan terjadwal"] == "3 kegiatan, 4 jadwal"
    act(revision, "ajukan", kb["ketua"])
    act(revision, "setujui", kb["lurah"])
    table, summary = lap.report(revision, period_of("03"))
    assert [r["kegiatan"] for r in table.rows] == [NAMES["A"], NAMES["C"], NAMES["B"], "Pelayanan KB keliling",
                                                   NAMES["D"]]
    assert summary["sessions_planned"] == 5 and summary["sessions_held"] == 3 and summary["reached"] == 70
    html = body(client.get(url(kb, periode=f"{YEAR}-03")))
    assert "Pelayanan KB keliling" in html
    assert facts(html)["Kegiatan terjadwal"] == "4 kegiatan, 5 jadwal"
