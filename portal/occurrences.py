"""Occurrences of a plan row: the dates its structured schedule plans, and what became of them.

Pure functions, no Flask or database. ``planned_dates`` works on any object with the schedule
attributes of ``PlanRow`` (``start_date``, ``end_date``, ``frequency``, ``interval``,
``day_of_month``, ``weekday`` 0=Monday, ``week_of_month``); missing attributes count as None.
``apply_marks`` combines planned dates with marks (done / moved / cancelled) into
``Occurrence`` values, which ``progress`` and ``month_counts`` summarise.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

DONE, MOVED, CANCELLED, PLANNED = "done", "moved", "cancelled", "planned"


# -- planned dates ------------------------------------------------------------------------------

def _clamped(year: int, month: int, day: int) -> date:
    """``day`` of the month, or the month's last day when the month is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th ``weekday`` of the month; the last one when there is no n-th (a 5th Monday)."""
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    while day.month != month:
        day -= timedelta(days=7)
    return day


def _monthly_day(row, year: int, month: int, start: date) -> date:
    day_of_month = getattr(row, "day_of_month", None)
    weekday = getattr(row, "weekday", None)
    week = getattr(row, "week_of_month", None)
    if day_of_month:
        return _clamped(year, month, day_of_month)
    if weekday is not None and week:
        return _nth_weekday(year, month, weekday, week)
    if week:
        # The first day of the N-th week (day 1, 8, 15, 22, 29); clamped in a short February.
        return _clamped(year, month, 1 + 7 * (week - 1))
    if weekday is not None:
        return _nth_weekday(year, month, weekday, 1)
    return _clamped(year, month, start.day)


def _candidates(row, frequency: str, start: date, end: date, interval: int):
    """Yield dates in increasing order, possibly some before ``start``; stops after ``end``."""
    if frequency == "weekly":
        weekday = getattr(row, "weekday", None)
        day = start + timedelta(days=((start.weekday() if weekday is None else weekday) - start.weekday()) % 7)
        step = timedelta(weeks=interval)
        while day <= end:
            yield day
            if date.max - day < step:
                return
            day += step
    elif frequency == "monthly":
        index = start.year * 12 + start.month - 1
        while index // 12 <= end.year:
            day = _monthly_day(row, index // 12, index % 12 + 1, start)
            if day > end:
                return
            yield day
            index += interval
    elif frequency == "yearly":
        for year in range(start.year, end.year + 1, interval):
            yield _clamped(year, start.month, start.day)


def planned_dates(row, limit: int = 400) -> list[date]:
    """The dates the row's schedule plans, sorted, at most ``limit``.

    "once" gives the start date; "period" (continuous) gives none; weekly, monthly and yearly
    repeat every ``interval`` from the start date through the end date (the end of the start
    date's year when there is none). See the module tests for every rule.
    """
    frequency = getattr(row, "frequency", None)
    start = getattr(row, "start_date", None)
    if not frequency or start is None or limit <= 0:
        return []
    if frequency == "once":
        return [start]
    end = getattr(row, "end_date", None) or date(start.year, 12, 31)
    interval = max(getattr(row, "interval", None) or 1, 1)
    dates: list[date] = []
    for day in _candidates(row, frequency, start, end, interval):
        if start <= day <= end and (not dates or day > dates[-1]):
            dates.append(day)
            if len(dates) >= limit:
                break
    return dates


def is_recurring(row) -> bool:
    """True when the schedule plans two or more dates."""
    return len(planned_dates(row, limit=2)) >= 2


# -- marks --------------------------------------------------------------------------------------

@dataclass
class Occurrence:
    planned: date          # the planned date (for an extra session: the date it was held)
    date: date             # when it happens or happened: the planned date unless moved
    state: str             # "planned", "done", "moved" or "cancelled"
    reason: str | None = None


def apply_marks(planned: Iterable[date], marks: Iterable) -> list[Occurrence]:
    """Planned dates with their marks applied, sorted by date.

    A mark applies to the planned date equal to its ``original_date``; when several marks
    name the same date, the last one (in the order given) wins. The occurrence's date is the
    mark's ``moved_to`` for "moved" and "done" marks that have one, else the planned date; so
    a session moved and then held is recorded by a "done" mark carrying the new date in
    ``moved_to`` (a "done" mark without it means done on the planned date). A "moved" mark
    counts as not done yet. Marks for dates not planned are ignored, except "done": that is an
    extra session and is listed as done.
    """
    planned_set = set(planned)
    last: dict[date, object] = {}
    for mark in marks:
        last[mark.original_date] = mark
    occurrences = [Occurrence(day, day, PLANNED, None) for day in planned_set if day not in last]
    for original, mark in last.items():
        if original not in planned_set and mark.state != DONE:
            continue
        moved_to = getattr(mark, "moved_to", None)
        day = moved_to if mark.state in (DONE, MOVED) and moved_to else original
        occurrences.append(Occurrence(original, day, mark.state, getattr(mark, "reason", None)))
    occurrences.sort(key=lambda o: (o.date, o.planned))
    return occurrences


# -- summaries ----------------------------------------------------------------------------------

def progress(occurrences: Iterable[Occurrence]) -> int | None:
    """Percentage (rounded down) of done among non-cancelled occurrences; None if there are none."""
    counted = [o for o in occurrences if o.state != CANCELLED]
    if not counted:
        return None
    return 100 * sum(o.state == DONE for o in counted) // len(counted)


def month_counts(occurrences: Iterable[Occurrence], year: int) -> dict[int, tuple[int, int]]:
    """{month: (planned, done)} for months 1–12 of ``year``, by each occurrence's date.

    "Planned" counts every non-cancelled occurrence (extra done sessions included), so done is
    never more than planned and the totals match ``progress``.
    """
    counts = {month: [0, 0] for month in range(1, 13)}
    for o in occurrences:
        if o.date.year != year or o.state == CANCELLED:
            continue
        counts[o.date.month][0] += 1
        counts[o.date.month][1] += o.state == DONE
    return {month: (p, d) for month, (p, d) in counts.items()}
