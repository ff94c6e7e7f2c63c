"""Occurrences: planned dates from a structured schedule, marks, progress and month counts."""
from datetime import date
from types import SimpleNamespace

import pytest

from portal.occurrences import Occurrence, apply_marks, is_recurring, month_counts, planned_dates, progress

D = date.fromisoformat


def row(**fields):
    """A plan row as the reader fills it; anything not given is left at the model's default."""
    values = dict(start_date=None, end_date=None, frequency=None, interval=1, day_of_month=None,
                  weekday=None, week_of_month=None, start_time=None, duration_minutes=None,
                  duration_days=None)
    values.update(fields)
    return SimpleNamespace(**values)


def dates(*isos):
    return [D(iso) for iso in isos]


MAR_DEC_2025 = dict(start_date=D("2025-03-01"), end_date=D("2025-12-31"))
YEAR_2025 = dict(start_date=D("2025-01-01"), end_date=D("2025-12-31"))


# -- planned_dates ------------------------------------------------------------------------------

PLANNED_CASES = [
    # (id, row fields, expected dates)
    ("no frequency", dict(**MAR_DEC_2025), []),
    ("no start date", dict(frequency="monthly", end_date=D("2025-12-31")), []),
    ("30 hari without start date", dict(frequency="once", duration_days=30), []),
    ("once", dict(frequency="once", start_date=D("2025-08-17"), end_date=D("2025-08-17")),
     dates("2025-08-17")),
    ("once, lasting 30 days", dict(frequency="once", duration_days=30, start_date=D("2025-06-01"),
                                   end_date=D("2025-06-30")), dates("2025-06-01")),
    ("period: continuous, no occurrences", dict(frequency="period", **MAR_DEC_2025), []),
    # Weekly.
    ("weekly on start's weekday", dict(frequency="weekly", start_date=D("2025-03-03"), end_date=D("2025-03-31")),
     dates("2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24", "2025-03-31")),
    ("Setiap hari Senin: first Monday on/after start",
     dict(frequency="weekly", weekday=0, start_date=D("2025-03-01"), end_date=D("2025-03-31")),
     dates("2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24", "2025-03-31")),
    ("weekly, start is the weekday itself",
     dict(frequency="weekly", weekday=1, start_date=D("2025-03-04"), end_date=D("2025-03-18")),
     dates("2025-03-04", "2025-03-11", "2025-03-18")),
    ("2 minggu sekali", dict(frequency="weekly", interval=2, start_date=D("2025-03-03"), end_date=D("2025-04-30")),
     dates("2025-03-03", "2025-03-17", "2025-03-31", "2025-04-14", "2025-04-28")),
    ("weekly without end: through the start year",
     dict(frequency="weekly", start_date=D("2025-12-01")),
     dates("2025-12-01", "2025-12-08", "2025-12-15", "2025-12-22", "2025-12-29")),
    # Monthly.
    ("Setiap bulan, Maret - Desember", dict(frequency="monthly", **MAR_DEC_2025),
     [date(2025, m, 1) for m in range(3, 13)]),
    ("Setiap tanggal 15, Maret - Desember", dict(frequency="monthly", day_of_month=15, **MAR_DEC_2025),
     [date(2025, m, 15) for m in range(3, 13)]),
    ("tanggal 31 in short months",
     dict(frequency="monthly", day_of_month=31, start_date=D("2025-01-01"), end_date=D("2025-06-30")),
     dates("2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30")),
    ("tanggal 30 in a leap February",
     dict(frequency="monthly", day_of_month=30, start_date=D("2024-01-01"), end_date=D("2024-03-31")),
     dates("2024-01-30", "2024-02-29", "2024-03-30")),
    ("start date's day, clamped", dict(frequency="monthly", start_date=D("2025-01-31"), end_date=D("2025-04-30")),
     dates("2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30")),
    ("Tiap minggu ke-2: day 8", dict(frequency="monthly", week_of_month=2, start_date=D("2025-03-01"),
                                      end_date=D("2025-05-31")),
     dates("2025-03-08", "2025-04-08", "2025-05-08")),
    ("minggu ke-5: day 29, clamped in February",
     dict(frequency="monthly", week_of_month=5, start_date=D("2025-01-01"), end_date=D("2025-03-31")),
     dates("2025-01-29", "2025-02-28", "2025-03-29")),
    ("Senin minggu ke-2: 2nd Monday",
     dict(frequency="monthly", weekday=0, week_of_month=2, start_date=D("2025-03-01"), end_date=D("2025-05-31")),
     dates("2025-03-10", "2025-04-14", "2025-05-12")),
    ("5th Monday missing: the last Monday",
     dict(frequency="monthly", weekday=0, week_of_month=5, start_date=D("2025-02-01"), end_date=D("2025-05-31")),
     dates("2025-02-24", "2025-03-31", "2025-04-28", "2025-05-26")),
    ("weekday only: first Friday",
     dict(frequency="monthly", weekday=4, start_date=D("2025-03-01"), end_date=D("2025-05-31")),
     dates("2025-03-07", "2025-04-04", "2025-05-02")),
    ("Triwulan: every 3 months", dict(frequency="monthly", interval=3, **YEAR_2025),
     dates("2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01")),
    ("Semester on the 10th", dict(frequency="monthly", interval=6, day_of_month=10, **YEAR_2025),
     dates("2025-01-10", "2025-07-10")),
    ("day before start in the first month is dropped",
     dict(frequency="monthly", day_of_month=15, start_date=D("2025-03-20"), end_date=D("2025-06-30")),
     dates("2025-04-15", "2025-05-15", "2025-06-15")),
    ("day after end in the last month is dropped",
     dict(frequency="monthly", day_of_month=15, start_date=D("2025-10-01"), end_date=D("2025-12-10")),
     dates("2025-10-15", "2025-11-15")),
    ("monthly without end: through the start year",
     dict(frequency="monthly", day_of_month=5, start_date=D("2025-10-01")),
     dates("2025-10-05", "2025-11-05", "2025-12-05")),
    ("monthly across a year end", dict(frequency="monthly", interval=2, start_date=D("2025-11-01"),
                                       end_date=D("2026-03-31")),
     dates("2025-11-01", "2026-01-01", "2026-03-01")),
    # Yearly.
    ("Sekali setahun, one year", dict(frequency="yearly", start_date=D("2025-08-17"), end_date=D("2025-12-31")),
     dates("2025-08-17")),
    ("yearly without end: only the start year", dict(frequency="yearly", start_date=D("2025-08-17")),
     dates("2025-08-17")),
    ("yearly from 29 Feb", dict(frequency="yearly", start_date=D("2024-02-29"), end_date=D("2028-12-31")),
     dates("2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29")),
    ("every 2 years", dict(frequency="yearly", interval=2, start_date=D("2025-05-01"), end_date=D("2030-12-31")),
     dates("2025-05-01", "2027-05-01", "2029-05-01")),
    ("yearly, end before the next anniversary",
     dict(frequency="yearly", start_date=D("2025-05-01"), end_date=D("2026-04-30")), dates("2025-05-01")),
    # Ends before any date, bad intervals.
    ("weekly, end before the first weekday",
     dict(frequency="weekly", weekday=0, start_date=D("2025-03-04"), end_date=D("2025-03-09")), []),
    ("monthly, end before the first day",
     dict(frequency="monthly", day_of_month=15, start_date=D("2025-03-16"), end_date=D("2025-04-10")), []),
    ("end before start", dict(frequency="monthly", start_date=D("2025-06-01"), end_date=D("2025-05-01")), []),
    ("interval None counts as 1", dict(frequency="monthly", interval=None, start_date=D("2025-01-01"),
                                       end_date=D("2025-03-31")),
     dates("2025-01-01", "2025-02-01", "2025-03-01")),
    ("interval 0 counts as 1", dict(frequency="weekly", interval=0, start_date=D("2025-03-03"),
                                    end_date=D("2025-03-10")),
     dates("2025-03-03", "2025-03-10")),
    ("unknown frequency", dict(frequency="daily", **YEAR_2025), []),
]


@pytest.mark.parametrize("fields, expected", [c[1:] for c in PLANNED_CASES], ids=[c[0] for c in PLANNED_CASES])
def test_planned_dates(fields, expected):
    assert planned_dates(row(**fields)) == expected


def test_planned_dates_reads_only_the_attributes_it_needs():
    bare = SimpleNamespace(frequency="monthly", start_date=D("2025-10-01"))
    assert planned_dates(bare) == dates("2025-10-01", "2025-11-01", "2025-12-01")


@pytest.mark.parametrize("fields, limit, expected", [
    (dict(frequency="weekly", start_date=D("2025-03-03"), end_date=D("2025-12-31")), 3,
     dates("2025-03-03", "2025-03-10", "2025-03-17")),
    (dict(frequency="monthly", day_of_month=15, **MAR_DEC_2025), 2, dates("2025-03-15", "2025-04-15")),
    (dict(frequency="yearly", start_date=D("2025-01-01"), end_date=D("2099-12-31")), 1, dates("2025-01-01")),
    (dict(frequency="monthly", **YEAR_2025), 0, []),
])
def test_limit(fields, limit, expected):
    assert planned_dates(row(**fields), limit=limit) == expected


@pytest.mark.parametrize("fields", [
    dict(frequency="weekly", start_date=D("2025-01-06"), end_date=D("2040-12-31")),
    dict(frequency="weekly", start_date=D("2025-01-06"), end_date=date.max),
    dict(frequency="monthly", start_date=D("2025-01-01"), end_date=date.max),
])
def test_default_limit_is_400(fields):
    result = planned_dates(row(**fields))
    assert len(result) == 400
    assert result == sorted(set(result))


@pytest.mark.parametrize("fields, expected", [
    (dict(frequency="once", start_date=D("2025-08-17")), False),
    (dict(frequency="period", **MAR_DEC_2025), False),
    (dict(frequency=None, **MAR_DEC_2025), False),
    (dict(frequency="monthly", **MAR_DEC_2025), True),
    (dict(frequency="weekly", start_date=D("2025-03-03"), end_date=D("2025-03-10")), True),
    (dict(frequency="monthly", interval=3, start_date=D("2025-11-01"), end_date=D("2025-12-31")), False),
    (dict(frequency="yearly", start_date=D("2025-01-01"), end_date=D("2026-12-31")), True),
])
def test_is_recurring(fields, expected):
    assert is_recurring(row(**fields)) is expected


# -- apply_marks --------------------------------------------------------------------------------

PLANNED = dates("2025-03-01", "2025-04-01", "2025-05-01")


def mark(original, state, moved_to=None, reason=None):
    return SimpleNamespace(original_date=D(original), state=state,
                           moved_to=D(moved_to) if moved_to else None, reason=reason)


def occ(planned, day, state, reason=None):
    return Occurrence(planned=D(planned), date=D(day), state=state, reason=reason)


MARK_CASES = [
    ("no marks", [], [
        occ("2025-03-01", "2025-03-01", "planned"),
        occ("2025-04-01", "2025-04-01", "planned"),
        occ("2025-05-01", "2025-05-01", "planned"),
    ]),
    ("done", [mark("2025-04-01", "done")], [
        occ("2025-03-01", "2025-03-01", "planned"),
        occ("2025-04-01", "2025-04-01", "done"),
        occ("2025-05-01", "2025-05-01", "planned"),
    ]),
    ("cancelled keeps its date and reason", [mark("2025-03-01", "cancelled", reason="Banjir")], [
        occ("2025-03-01", "2025-03-01", "cancelled", "Banjir"),
        occ("2025-04-01", "2025-04-01", "planned"),
        occ("2025-05-01", "2025-05-01", "planned"),
    ]),
    ("moved: new date, sorted by it", [mark("2025-03-01", "moved", "2025-04-15", "Bidan cuti")], [
        occ("2025-04-01", "2025-04-01", "planned"),
        occ("2025-03-01", "2025-04-15", "moved", "Bidan cuti"),
        occ("2025-05-01", "2025-05-01", "planned"),
    ]),
    ("moved then done on the new date",
     [mark("2025-03-01", "moved", "2025-04-15"), mark("2025-03-01", "done", "2025-04-15")], [
        occ("2025-04-01", "2025-04-01", "planned"),
        occ("2025-03-01", "2025-04-15", "done"),
        occ("2025-05-01", "2025-05-01", "planned"),
    ]),
    ("done without moved_to means the planned date",
     [mark("2025-03-01", "moved", "2025-04-15"), mark("2025-03-01", "done")], [
        occ("2025-03-01", "2025-03-01", "done"),
        occ("2025-04-01", "2025-04-01", "planned"),
        occ("2025-05-01", "2025-05-01", "planned"),
    ]),
    ("last mark for a date wins", [mark("2025-05-01", "done"), mark("2025-05-01", "cancelled", reason="Salah")], [
        occ("2025-03-01", "2025-03-01", "planned"),
        occ("2025-04-01", "2025-04-01", "planned"),
        occ("2025-05-01", "2025-05-01", "cancelled", "Salah"),
    ]),
    ("moved or cancelled for a date not planned: ignored",
     [mark("2025-03-02", "moved", "2025-03-09"), mark("2025-04-02", "cancelled")], [
        occ("2025-03-01", "2025-03-01", "planned"),
        occ("2025-04-01", "2025-04-01", "planned"),
        occ("2025-05-01", "2025-05-01", "planned"),
    ]),
    ("extra done session is listed", [mark("2025-03-20", "done", reason="Sesi tambahan")], [
        occ("2025-03-01", "2025-03-01", "planned"),
        occ("2025-03-20", "2025-03-20", "done", "Sesi tambahan"),
        occ("2025-04-01", "2025-04-01", "planned"),
        occ("2025-05-01", "2025-05-01", "planned"),
    ]),
    ("moved earlier than another planned date",
     [mark("2025-05-01", "moved", "2025-02-20"), mark("2025-04-01", "done")], [
        occ("2025-05-01", "2025-02-20", "moved"),
        occ("2025-03-01", "2025-03-01", "planned"),
        occ("2025-04-01", "2025-04-01", "done"),
    ]),
]


@pytest.mark.parametrize("marks, expected", [c[1:] for c in MARK_CASES], ids=[c[0] for c in MARK_CASES])
def test_apply_marks(marks, expected):
    assert apply_marks(PLANNED, marks) == expected


def test_apply_marks_on_nothing_planned_lists_only_extra_sessions():
    assert apply_marks([], [mark("2025-03-01", "cancelled"), mark("2025-03-05", "done")]) == [
        occ("2025-03-05", "2025-03-05", "done"),
    ]


# -- progress and month_counts ------------------------------------------------------------------

def occurrences(**counts):
    """Occurrences by state, all on 1 March 2025 (the date does not matter for progress)."""
    return [occ("2025-03-01", "2025-03-01", state) for state, n in counts.items() for _ in range(n)]


@pytest.mark.parametrize("items, expected", [
    ([], None),
    (occurrences(cancelled=3), None),
    (occurrences(done=3, planned=7), 30),
    (occurrences(done=1, planned=2), 33),
    (occurrences(done=2, planned=1), 66),
    (occurrences(done=1, planned=1, cancelled=2), 50),
    (occurrences(done=2, moved=2), 50),
    (occurrences(done=4, cancelled=1), 100),
    (occurrences(planned=5), 0),
])
def test_progress(items, expected):
    assert progress(items) == expected


MONTHS_EMPTY = {month: (0, 0) for month in range(1, 13)}


@pytest.mark.parametrize("items, year, changed", [
    ([], 2025, {}),
    ([occ("2025-03-01", "2025-03-01", "done"), occ("2025-03-15", "2025-03-15", "planned"),
      occ("2025-04-01", "2025-04-01", "cancelled"), occ("2025-05-01", "2025-06-10", "moved"),
      occ("2025-12-20", "2025-12-20", "done"), occ("2026-01-01", "2026-01-01", "done")],
     2025, {3: (2, 1), 6: (1, 0), 12: (1, 1)}),
    ([occ("2025-12-01", "2026-01-05", "done"), occ("2026-01-12", "2026-01-12", "planned")],
     2026, {1: (2, 1)}),
])
def test_month_counts(items, year, changed):
    assert month_counts(items, year) == {**MONTHS_EMPTY, **changed}


def test_from_schedule_to_progress():
    """Setiap tanggal 15, Maret - Desember: 10 sessions, 3 held (one after moving), 1 cancelled."""
    planned = planned_dates(row(frequency="monthly", day_of_month=15, **MAR_DEC_2025))
    marks = [mark("2025-03-15", "done"), mark("2025-04-15", "done"),
             mark("2025-05-15", "moved", "2025-05-20"), mark("2025-05-15", "done", "2025-05-20"),
             mark("2025-06-15", "cancelled", reason="Idul Adha")]
    result = apply_marks(planned, marks)
    assert len(planned) == 10 and len(result) == 10
    assert progress(result) == 33  # 3 of 9
    counts = month_counts(result, 2025)
    assert counts[5] == (1, 1) and counts[6] == (0, 0) and counts[7] == (1, 0)
    assert sum(p for p, _ in counts.values()) == 9
