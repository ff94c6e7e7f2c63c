"""iCalendar export (``portal/ical.py``): schedules become events whose recurrence reproduces
``portal.occurrences`` exactly, and the hand-written text is valid RFC 5545.

Every calendar written here is read back by two independent parsers: icalendar (with
recurring_ical_events expanding RRULE, EXDATE and RECURRENCE-ID overrides) and vobject; RRULEs
are also expanded on their own with dateutil. The truth is ``planned_dates(row)`` and
``apply_marks(dates, marks)``. Pure functions: no database or Flask app.
"""
import re
from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import vobject
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from portal import ical
from portal.formatting import tanggal
from portal.occurrences import CANCELLED, apply_marks, planned_dates

D = date.fromisoformat
UTC = timezone.utc
# zone: (UTC offset as written, TZNAME, hours)
ZONES = {"Asia/Jakarta": ("+0700", "WIB", 7), "Asia/Makassar": ("+0800", "WITA", 8),
         "Asia/Jayapura": ("+0900", "WIT", 9)}
MODIFIED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
WIDE = (date(2000, 1, 1), date(2040, 1, 1))  # the range every calendar is expanded over
URL = "https://portal.test/rencana/7?baris=3,4;x"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# -- helpers ------------------------------------------------------------------------------------

def row(**fields):
    """A plan row with its schedule attributes; anything not given is None (interval 1)."""
    values = dict(start_date=None, end_date=None, frequency=None, interval=1, day_of_month=None,
                  weekday=None, week_of_month=None, start_time=None, duration_minutes=None,
                  duration_days=None)
    values.update(fields)
    return SimpleNamespace(**values)


def mark(original, state, moved_to=None, reason=None):
    return SimpleNamespace(original_date=original, state=state, moved_to=moved_to, reason=reason)


def event(schedule, summary="Posyandu Melati", uid="baris-1@portal.test", **fields):
    return ical.Event(uid=uid, summary=summary, schedule=schedule, **fields)


def write(*events, zones=("Asia/Jakarta",), sequence=0, modified=MODIFIED, url=None, alarm=False,
          compact=False, name="Kampung KB — Uji", description=None) -> str:
    out: list[str] = []
    for e in events:
        ical.write_event(out, e, sequence, modified, url, alarm, compact)
    return ical.calendar(name, out, zones, description)


def physical_lines(text: str) -> list[str]:
    assert text.endswith("\r\n")
    return text[:-2].split("\r\n")


def check_text(text: str) -> None:
    """Every line ends with CRLF (no bare CR or LF) and is at most 75 octets."""
    for line in physical_lines(text):
        assert "\r" not in line and "\n" not in line, repr(line)
        assert len(line.encode("utf-8")) <= 75, repr(line)


def unfold(text: str) -> list[str]:
    """The logical content lines."""
    return text[:-2].replace("\r\n ", "").split("\r\n")


def parse(text: str) -> icalendar.Calendar:
    """The text is well formed, both parsers read it and both see every VEVENT."""
    check_text(text)
    expected = physical_lines(text).count("BEGIN:VEVENT")
    cal = icalendar.Calendar.from_ical(text)
    assert len(cal.walk("VEVENT")) == expected
    assert len(vobject.readOne(text).contents.get("vevent", [])) == expected
    return cal


def expand(cal) -> list:
    return recurring_ical_events.of(cal).between(*WIDE)


def day_of(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def clean(text: str) -> str:
    """What a TEXT value reads back as: line breaks as LF, other control characters dropped."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def length(r) -> timedelta:
    """How long one occurrence lasts (all-day: whole days, end exclusive)."""
    if r.start_time is None:
        return timedelta(days=max(r.duration_days or 1, 1))
    if r.duration_minutes:
        return timedelta(minutes=r.duration_minutes)
    return timedelta(days=r.duration_days) if r.duration_days else timedelta(hours=1)


def check_occurrence(occurrence, r, tzid) -> None:
    """An expanded occurrence is all-day or at the row's time in its zone, and lasts as long."""
    start, end = occurrence["DTSTART"].dt, occurrence["DTEND"].dt
    if r.start_time is None:
        assert not isinstance(start, datetime) and not isinstance(end, datetime)
    else:
        assert start.utcoffset() == timedelta(hours=ZONES[tzid][2])
        assert start.time() == r.start_time
    assert end - start == length(r)


# -- strategies ---------------------------------------------------------------------------------

def _month_end(year, month, day):
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1


STARTS = st.one_of(
    st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    st.sampled_from([date(2024, 2, 29), date(2028, 2, 29)]),
    st.builds(_month_end, st.integers(2024, 2030), st.integers(1, 12), st.integers(28, 31)),
)
CLOCKS = st.one_of(
    st.none(),
    # Around midnight in local time and in UTC (17.00 WIB is 00.00 UTC).
    st.sampled_from([time(0, 0), time(0, 30), time(6, 30), time(8, 59), time(16, 59), time(17, 0),
                     time(23, 45)]),
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
)


@st.composite
def schedules(draw, frequencies=("weekly", "monthly", "yearly")):
    start = draw(STARTS)
    clock = draw(CLOCKS)
    return row(
        frequency=draw(st.sampled_from(frequencies)),
        start_date=start,
        end_date=draw(st.one_of(st.none(), st.integers(0, 760).map(lambda n: start + timedelta(days=n)))),
        interval=draw(st.integers(1, 6)),
        day_of_month=draw(st.one_of(st.none(), st.integers(1, 31))),
        weekday=draw(st.one_of(st.none(), st.integers(0, 6))),
        week_of_month=draw(st.one_of(st.none(), st.integers(1, 5))),
        start_time=clock,
        duration_minutes=draw(st.one_of(st.none(), st.integers(15, 600))) if clock else None,
        duration_days=draw(st.one_of(st.none(), st.integers(1, 3))),
    )


@st.composite
def marked_schedules(draw):
    """A schedule with marks: planned dates cancelled, moved within their year or done
    (possibly elsewhere), several marks for one date, and marks for dates not planned."""
    r = draw(schedules(("once", "weekly", "monthly", "yearly")))
    dates = planned_dates(r)
    assume(dates)

    def same_year(day):
        return st.dates(date(day.year, 1, 1), date(day.year, 12, 31))

    def marks_for(day):
        return st.builds(mark, st.just(day), st.sampled_from(["done", "moved", "cancelled"]),
                         st.one_of(st.none(), same_year(day)), st.one_of(st.none(), st.text(max_size=30)))

    planned = st.sampled_from(dates).flatmap(marks_for)
    anywhere = st.dates(date(2024, 1, 1), date(2032, 12, 31)).flatmap(marks_for)
    marks = draw(st.lists(st.one_of(planned, planned, anywhere), max_size=15))
    return r, marks


# -- 1. recurrence reproduces planned_dates -----------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(r=schedules(), tzid=st.sampled_from(sorted(ZONES)))
def test_recurrence_expands_to_exactly_the_planned_dates(r, tzid):
    dates = planned_dates(r)
    assume(dates)
    s = ical.event_schedule(r, [], tzid)
    assert s.tzid == (tzid if r.start_time else None)
    text = write(event(s), zones=[tzid] if s.tzid else [])
    cal = parse(text)

    (master,) = cal.walk("VEVENT")
    assert ("RRULE" in master) == (len(dates) >= 2)
    assert (s.rrule is not None) == (len(dates) >= 2)
    occurrences = expand(cal)
    assert sorted(day_of(o["DTSTART"].dt) for o in occurrences) == dates
    for o in occurrences:
        check_occurrence(o, r, tzid)

    if len(dates) >= 2:
        # dateutil, on its own, from the same RRULE and the first planned moment.
        assert f"RRULE:{s.rrule}" in unfold(text)
        if r.start_time is None:
            first = datetime.combine(dates[0], time())
        else:
            first = datetime.combine(dates[0], r.start_time, ZoneInfo(tzid))
        assert [moment.date() for moment in rrulestr(f"RRULE:{s.rrule}", dtstart=first)] == dates
        # UNTIL is the last occurrence: its date, or its moment in UTC.
        until = re.search(r"UNTIL=(\w+)", s.rrule).group(1)
        if r.start_time is None:
            assert until == dates[-1].strftime("%Y%m%d")
        else:
            last = datetime.combine(dates[-1], r.start_time, ZoneInfo(tzid)).astimezone(UTC)
            assert until == last.strftime("%Y%m%dT%H%M%SZ")


# -- 2. marks: EXDATE and overrides ---------------------------------------------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=marked_schedules(), tzid=st.sampled_from(sorted(ZONES)))
def test_marks_become_exdates_and_overrides(case, tzid):
    r, marks = case
    dates = planned_dates(r)
    planned = set(dates)
    occurrences = apply_marks(dates, marks)
    expected = sorted(o.date for o in occurrences if o.state != CANCELLED and o.planned in planned)

    s = ical.event_schedule(r, marks, tzid)
    cal = parse(write(event(s), zones=[tzid] if s.tzid else []))
    expanded = expand(cal)
    assert sorted(day_of(o["DTSTART"].dt) for o in expanded if o.get("STATUS") != "CANCELLED") == expected
    for o in expanded:
        check_occurrence(o, r, tzid)

    moved = [o for o in occurrences if o.planned in planned and o.state != CANCELLED and o.date != o.planned]
    if len(dates) == 1:
        # A single event: no recurrence; a cancelled one stays, marked CANCELLED.
        (only,) = expanded
        assert cal.walk("VEVENT")[0].get("RECURRENCE-ID") is None
        cancelled = any(o.state == CANCELLED for o in occurrences if o.planned == dates[0])
        assert (str(only["STATUS"]) == "CANCELLED") == cancelled
        return
    cancelled = sorted(o.planned for o in occurrences if o.planned in planned and o.state == CANCELLED)
    master, *overrides = cal.walk("VEVENT")
    exdates = [] if "EXDATE" not in master else (
        master["EXDATE"] if isinstance(master["EXDATE"], list) else [master["EXDATE"]])
    assert sorted(day_of(d.dt) for e in exdates for d in e.dts) == cancelled
    assert sorted(day_of(o["RECURRENCE-ID"].dt) for o in overrides) == sorted(o.planned for o in moved)
    by_planned = {o.planned: o for o in moved}
    for override in overrides:
        original = by_planned[day_of(override["RECURRENCE-ID"].dt)]
        assert day_of(override["DTSTART"].dt) == original.date
        note = f"Dipindah dari {tanggal(original.planned)}"
        assert str(override["DESCRIPTION"]) == (f"{note}: {clean(original.reason)}" if original.reason else note)


# -- 3. all-day ends, periods, zones, UNTIL -------------------------------------------------------

@pytest.mark.parametrize("days, end", [(None, "2025-08-18"), (1, "2025-08-18"), (3, "2025-08-20"),
                                       (30, "2025-09-16")])
def test_all_day_once_ends_the_day_after_its_last_day(days, end):
    r = row(frequency="once", start_date=D("2025-08-17"), end_date=D("2025-08-17"), duration_days=days)
    text = write(event(ical.event_schedule(r)), zones=[])
    assert "DTSTART;VALUE=DATE:20250817" in unfold(text)
    assert f"DTEND;VALUE=DATE:{D(end):%Y%m%d}" in unfold(text)
    (vevent,) = parse(text).walk("VEVENT")
    assert vevent["DTEND"].dt == D(end)
    assert "RRULE" not in vevent and "TRANSP" not in vevent


@pytest.mark.parametrize("start, end, dtend", [
    ("2025-03-01", "2025-12-31", "2026-01-01"),
    ("2025-03-01", None, "2026-01-01"),          # no end: through the end of the start's year
    ("2024-02-01", "2024-02-28", "2024-02-29"),  # leap year
    ("2025-05-10", "2025-05-10", "2025-05-11"),
    ("2025-05-10", "2025-05-01", "2025-05-11"),  # an end before the start counts as the start
])
def test_period_is_one_transparent_all_day_span(start, end, dtend):
    r = row(frequency="period", start_date=D(start), end_date=end and D(end), start_time=time(8, 0))
    s = ical.event_schedule(r)
    assert s.continuous and s.last_day == D(dtend) - timedelta(days=1)
    text = write(event(s), zones=[])
    lines = unfold(text)
    assert f"DTSTART;VALUE=DATE:{D(start):%Y%m%d}" in lines
    assert f"DTEND;VALUE=DATE:{D(dtend):%Y%m%d}" in lines
    assert "TRANSP:TRANSPARENT" in lines
    cal = parse(text)
    (occurrence,) = expand(cal)
    assert (occurrence["DTSTART"].dt, occurrence["DTEND"].dt) == (D(start), D(dtend))
    assert str(occurrence["TRANSP"]) == "TRANSPARENT"
    assert vobject.readOne(text).vevent.transp.value == "TRANSPARENT"


@pytest.mark.parametrize("tzid", sorted(ZONES))
def test_timed_event_names_its_zone_and_the_calendar_defines_it(tzid):
    offset, name, hours = ZONES[tzid]
    r = row(frequency="once", start_date=D("2025-08-17"), start_time=time(10, 0), duration_minutes=90)
    text = write(event(ical.event_schedule(r, [], tzid)), zones=[tzid])
    lines = unfold(text)
    assert f"DTSTART;TZID={tzid}:20250817T100000" in lines
    assert f"DTEND;TZID={tzid}:20250817T113000" in lines
    cal = parse(text)

    (zone,) = cal.walk("VTIMEZONE")
    assert str(zone["TZID"]) == tzid
    (standard,) = zone.walk("STANDARD")
    assert standard["TZOFFSETFROM"].td == standard["TZOFFSETTO"].td == timedelta(hours=hours)
    assert str(standard["TZNAME"]) == name
    assert f"TZOFFSETFROM:{offset}" in lines and f"TZOFFSETTO:{offset}" in lines
    # The VTIMEZONE itself (not the parser's own copy of the zone database) gives the offset.
    assert zone.to_tz(lookup_tzid=False).utcoffset(datetime(2025, 8, 17, 10)) == timedelta(hours=hours)

    (vevent,) = cal.walk("VEVENT")
    assert vevent["DTSTART"].dt.astimezone(UTC) == datetime(2025, 8, 17, 10 - hours, tzinfo=UTC)
    assert vevent["DTEND"].dt - vevent["DTSTART"].dt == timedelta(minutes=90)
    v = vobject.readOne(text)
    assert v.vevent.dtstart.value.utcoffset() == timedelta(hours=hours)
    assert v.vevent.dtstart.value.astimezone(UTC) == datetime(2025, 8, 17, 10 - hours, tzinfo=UTC)


def test_vtimezone_refuses_a_zone_with_daylight_saving_time():
    with pytest.raises(ValueError):
        ical.vtimezone("Europe/Amsterdam")


@pytest.mark.parametrize("tzid, until", [("Asia/Jakarta", "20250330T233000Z"),
                                         ("Asia/Makassar", "20250330T223000Z"),
                                         ("Asia/Jayapura", "20250330T213000Z")])
def test_until_of_a_timed_rrule_is_the_last_moment_in_utc(tzid, until):
    # Mondays 06.30 local, Jan 6 through Mar 31 2025: the last is the previous day in UTC.
    r = row(frequency="weekly", start_date=D("2025-01-06"), end_date=D("2025-03-31"), start_time=time(6, 30))
    s = ical.event_schedule(r, [], tzid)
    assert s.rrule == f"FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;UNTIL={until}"
    cal = parse(write(event(s), zones=[tzid]))
    (master,) = cal.walk("VEVENT")
    last = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert master["RRULE"]["UNTIL"] == [last]
    occurrences = expand(cal)
    assert len(occurrences) == 13
    assert max(o["DTSTART"].dt for o in occurrences) == last


def test_until_of_an_all_day_rrule_is_the_last_date():
    r = row(frequency="monthly", start_date=D("2025-01-31"), end_date=D("2025-12-30"))
    s = ical.event_schedule(r)
    assert s.rrule == "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=28,29,30,31;BYSETPOS=-1;UNTIL=20251130"
    assert [o["DTSTART"].dt for o in expand(parse(write(event(s), zones=[])))][-3:] == [
        D("2025-09-30"), D("2025-10-31"), D("2025-11-30")]


@pytest.mark.parametrize("fields, minutes", [
    (dict(duration_minutes=45), 45),
    (dict(duration_days=2), 2 * 24 * 60),
    (dict(duration_minutes=45, duration_days=2), 45),
    ({}, 60),
])
def test_timed_event_length(fields, minutes):
    r = row(frequency="once", start_date=D("2025-08-17"), start_time=time(23, 30), **fields)
    (vevent,) = parse(write(event(ical.event_schedule(r)))).walk("VEVENT")
    assert vevent["DTEND"].dt - vevent["DTSTART"].dt == timedelta(minutes=minutes)


@pytest.mark.parametrize("fields", [
    dict(frequency=None, start_date=D("2025-01-01")),
    dict(frequency="monthly", start_date=None),
    dict(frequency="weekly", start_date=D("2025-05-10"), end_date=D("2025-05-01")),  # no dates
])
def test_no_event_for_a_schedule_that_cannot_be_placed(fields):
    assert ical.event_schedule(row(**fields)) is None


def last_covered_day(occurrence) -> date:
    """The last day an expanded occurrence covers (DTEND is exclusive)."""
    end = occurrence["DTEND"].dt
    return (end - timedelta(seconds=1)).date() if isinstance(end, datetime) else end - timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(case=marked_schedules())
def test_last_day_is_on_or_after_every_occurrence(case):
    """``last_day`` (the feed's window filter uses it) is never before an occurrence's day; for
    all-day events it is at least the last day covered (timed ones past midnight: below)."""
    r, marks = case
    s = ical.event_schedule(r, marks)
    expanded = [o for o in expand(parse(write(event(s)))) if o.get("STATUS") != "CANCELLED"]
    for o in expanded:
        assert s.last_day >= day_of(o["DTSTART"].dt)
        if r.start_time is None:
            assert s.last_day >= last_covered_day(o)
    if not marks and r.start_time is None:
        assert s.last_day == max(last_covered_day(o) for o in expanded)


def test_last_day_covers_a_timed_occurrence_past_midnight():
    r = row(frequency="weekly", start_date=D("2025-01-06"), end_date=D("2025-01-31"), start_time=time(23, 0),
            duration_minutes=120)
    s = ical.event_schedule(r)
    last = max(expand(parse(write(event(s)))), key=lambda o: o["DTSTART"].dt)
    assert last["DTEND"].dt.replace(tzinfo=None) == datetime(2025, 1, 28, 1, 0)
    assert s.last_day == D("2025-01-28")


def test_first_day_covers_an_occurrence_moved_before_the_first_planned_date():
    r = row(frequency="weekly", start_date=D("2025-03-05"), end_date=D("2025-06-30"))
    s = ical.event_schedule(r, [mark(D("2025-03-05"), "moved", D("2025-02-20"))])
    first = min(o["DTSTART"].dt for o in expand(parse(write(event(s), zones=[]))))
    assert first == D("2025-02-20")
    assert s.first_day == first


# -- 4. writer: folding, escaping, hostile text ---------------------------------------------------

FOLD_SAMPLES = {
    "ascii": "DESCRIPTION:" + "Posyandu balita dan lansia, " * 12,
    "indonesian": "SUMMARY:Penyuluhan KB dan kesehatan reproduksi remaja — Pusat Informasi dan "
                  "Konseling Remaja (PIK-R) «Bina Keluarga Balita» di balai RW 05 · Kelurahan Sukamaju",
    "emoji": "SUMMARY:" + "🎉👶🏽🤰🏾‍👩‍👩‍👧" * 12,
    "arabic": "LOCATION:" + "مسجد الإخلاص، جالان مرديكا " * 8,
    "mixed": "DESCRIPTION:" + "Rapat é ✓ 𝄞 漢字 مرحبا 🇮🇩 " * 10,
    "2-octet at the edge": "X" * 74 + "é" + "é" * 100,
    "3-octet at the edge": "X" * 73 + "漢" + "漢" * 60,
    "exactly 75": "X" * 75,
    "76": "X" * 76,
}


def check_fold(line: str) -> None:
    folded = ical.fold(line)
    parts = physical_lines(folded)
    for i, part in enumerate(parts):
        data = part.encode("utf-8")
        assert len(data) <= 75
        data.decode("utf-8", errors="strict")
        if i:
            assert part.startswith(" ") and len(part) > 1
    for part, following in zip(parts, parts[1:]):
        # Folded only when the next character would not have fitted.
        assert len(part.encode("utf-8")) + len(following[1].encode("utf-8")) > 75
    assert folded[:-2].replace("\r\n ", "") == line


@pytest.mark.parametrize("line", FOLD_SAMPLES.values(), ids=FOLD_SAMPLES.keys())
def test_fold_keeps_lines_within_75_octets_without_splitting_characters(line):
    check_fold(line)


def test_fold_boundary():
    assert ical.fold("X" * 75) == "X" * 75 + "\r\n"
    assert ical.fold("X" * 76) == "X" * 75 + "\r\n X\r\n"
    assert ical.fold("X" * 74 + "é") == "X" * 74 + "\r\n é\r\n"  # 76 octets: é does not fit


@given(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=400))
def test_fold_property(text):
    check_fold("DESCRIPTION:" + text)


@pytest.mark.parametrize("raw, escaped", [
    ("a\\b", "a\\\\b"),
    ("a;b", "a\\;b"),
    ("a,b", "a\\,b"),
    ("a\nb", "a\\nb"),
    ("a\r\nb", "a\\nb"),
    ("a\rb", "a\\nb"),
    ("a\r\n\r\nb\n", "a\\n\\nb\\n"),
    ("a\x00b\x07\x08\x0b\x0c\x1b\x1f\x7f", "ab"),
    ("tab\tkept: colon", "tab\tkept: colon"),
    ("\\n is not a newline", "\\\\n is not a newline"),
    ("Rp 1.000,00; \\ 50%", "Rp 1.000\\,00\\; \\\\ 50%"),
    (2025, "2025"),
])
def test_escape(raw, escaped):
    assert ical.escape(raw) == escaped


@settings(max_examples=200, deadline=None)
@given(summary=st.text(), description=st.lists(st.text(), max_size=3), location=st.text())
def test_hostile_text_round_trips_through_both_parsers(summary, description, location):
    r = row(frequency="once", start_date=D("2025-08-17"))
    e = event(ical.event_schedule(r), summary=summary, description=description, location=location or None)
    text = write(e, zones=[], url=URL, alarm=True)
    cal = parse(text)
    full_description = clean("\n".join(description)) + f"\n\nLihat di portal: {URL}"

    (vevent,) = cal.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == clean(summary)
    assert str(vevent["DESCRIPTION"]) == full_description
    assert str(vevent["URL"]) == URL
    assert str(vevent.walk("VALARM")[0]["DESCRIPTION"]) == "Besok: " + clean(summary)
    v = vobject.readOne(text).vevent
    assert v.summary.value == clean(summary)
    assert v.description.value == full_description
    assert v.valarm.description.value == "Besok: " + clean(summary)
    if location:
        assert str(vevent["LOCATION"]) == v.location.value == clean(location)
    else:
        assert "LOCATION" not in vevent and "location" not in v.contents


@settings(max_examples=100, deadline=None)
@given(categories=st.lists(st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1), min_size=1,
                           max_size=3))
def test_categories_round_trip(categories):
    r = row(frequency="once", start_date=D("2025-08-17"))
    text = write(event(ical.event_schedule(r), categories=categories), zones=[])
    (vevent,) = parse(text).walk("VEVENT")
    assert [str(c) for c in vevent["CATEGORIES"].cats] == categories
    assert vobject.readOne(text).vevent.categories.value == categories


def test_calendar_head_round_trips():
    name, about = "Kampung KB — Sukamaju; RW 05, \"Melati\"", "Jadwal\r\nkegiatan\\bulanan\x00"
    text = ical.calendar(name, [], description=about)
    cal = parse(text)
    about_read = "Jadwal\nkegiatan\\bulanan"
    assert str(cal["DESCRIPTION"]) == about_read
    assert str(cal["VERSION"]) == "2.0" and str(cal["PRODID"]) == ical.PRODID
    # icalendar keeps NAME and X-WR-* as raw (still escaped) text; vobject unescapes them.
    assert str(cal["NAME"]) == str(cal["X-WR-CALNAME"]) == ical.escape(name)
    v = vobject.readOne(text)
    assert v.contents["name"][0].value == v.contents["x-wr-calname"][0].value == name
    assert v.contents["description"][0].value == v.contents["x-wr-caldesc"][0].value == about_read


# -- 5. status, alarms, sequence and content hash -------------------------------------------------

def test_cancelled_single_event():
    r = row(frequency="once", start_date=D("2025-08-17"))
    s = ical.event_schedule(r, [mark(D("2025-08-17"), "cancelled", reason="hujan")])
    assert s.cancelled
    text = write(event(s), zones=[])
    assert "STATUS:CANCELLED" in unfold(text)
    (occurrence,) = expand(parse(text))  # still there, so calendars drop it
    assert str(occurrence["STATUS"]) == "CANCELLED"
    assert vobject.readOne(text).vevent.status.value == "CANCELLED"
    assert "STATUS:CONFIRMED" in unfold(write(event(ical.event_schedule(r)), zones=[]))


def test_moved_single_event():
    r = row(frequency="once", start_date=D("2025-08-17"), start_time=time(9, 0))
    s = ical.event_schedule(r, [mark(D("2025-08-17"), "moved", D("2025-08-24"), "hujan deras")])
    assert not s.cancelled and not s.overrides and s.rrule is None
    (vevent,) = parse(write(event(s, description=["Status: belum"]))).walk("VEVENT")
    assert vevent["DTSTART"].dt.replace(tzinfo=None) == datetime(2025, 8, 24, 9)
    assert "RECURRENCE-ID" not in vevent
    assert str(vevent["DESCRIPTION"]) == "Status: belum\nDipindah dari 17 Agustus 2025: hujan deras"
    assert str(vevent["STATUS"]) == "CONFIRMED"


def test_event_cancelled_cancels_every_vevent():
    r = row(frequency="weekly", start_date=D("2025-01-06"), end_date=D("2025-02-28"))
    s = ical.event_schedule(r, [mark(D("2025-01-13"), "moved", D("2025-01-15"))])
    cal = parse(write(event(s, cancelled=True)))
    assert [str(v["STATUS"]) for v in cal.walk("VEVENT")] == ["CANCELLED", "CANCELLED"]


ONCE = row(frequency="once", start_date=D("2025-08-17"))
ONCE_TIMED = row(frequency="once", start_date=D("2025-08-17"), start_time=time(8, 0))
WEEKLY_MOVED = (row(frequency="weekly", start_date=D("2025-01-06"), end_date=D("2025-02-28")),
                [mark(D("2025-01-13"), "moved", D("2025-01-15"))])
PERIOD = row(frequency="period", start_date=D("2025-01-01"), end_date=D("2025-12-31"))


@pytest.mark.parametrize("r, marks, trigger", [
    (ONCE, [], timedelta(hours=-15)),           # 09.00 the day before
    (ONCE_TIMED, [], timedelta(days=-1)),
    (*WEEKLY_MOVED, timedelta(hours=-15)),      # every VEVENT, overrides too
    (PERIOD, [], None),                         # no reminder for a continuous period
])
def test_alarm(r, marks, trigger):
    s = ical.event_schedule(r, marks)
    text = write(event(s), alarm=True)
    vevents = parse(text).walk("VEVENT")
    v_vevents = vobject.readOne(text).contents["vevent"]
    for vevent, v in zip(vevents, v_vevents, strict=True):
        alarms = vevent.walk("VALARM")
        if trigger is None:
            assert alarms == [] and "valarm" not in v.contents
            continue
        (alarm,) = alarms
        assert alarm["TRIGGER"].dt == trigger == v.valarm.trigger.value
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert str(alarm["DESCRIPTION"]) == "Besok: Posyandu Melati"
    assert "BEGIN:VALARM" not in write(event(s), alarm=False)


@pytest.mark.parametrize("modified, stamp", [
    (datetime(2025, 3, 4, 5, 6, 7, tzinfo=ZoneInfo("Asia/Jakarta")), "20250303T220607Z"),
    (datetime(2025, 3, 4, 5, 6, 7), "20250304T050607Z"),  # naive: UTC
])
def test_sequence_dtstamp_last_modified_and_url(modified, stamp):
    s = ical.event_schedule(*WEEKLY_MOVED)
    text = write(event(s), sequence=7, modified=modified, url=URL)
    moment = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    vevents = parse(text).walk("VEVENT")
    assert len(vevents) == 2
    for vevent in vevents:
        assert vevent["SEQUENCE"] == 7
        assert vevent["DTSTAMP"].dt == vevent["LAST-MODIFIED"].dt == moment
        assert str(vevent["URL"]) == URL
        assert str(vevent["DESCRIPTION"]).endswith(f"\n\nLihat di portal: {URL}")
    assert unfold(text).count(f"DTSTAMP:{stamp}") == 2
    for v in vobject.readOne(text).contents["vevent"]:
        assert v.sequence.value == "7" and v.dtstamp.value == moment


def test_content_hash_ignores_how_it_is_written_but_not_what():
    r, marks = WEEKLY_MOVED

    def make(r=r, marks=marks, **fields):
        values = dict(summary="Posyandu Melati", description=["Status: belum"], location="Balai RW 05",
                      categories=["Pokja I"])
        values.update(fields)
        return event(ical.event_schedule(r, marks), **values)

    base = make()
    digest = base.content_hash()
    assert make().content_hash() == digest  # deterministic
    write(base, sequence=9, url=URL, alarm=True)
    write(base, sequence=0, url=None, alarm=False)
    assert base.content_hash() == digest  # writing (sequence, URL, alarm) leaves it unchanged

    changed = [
        make(summary="Posyandu Mawar"),
        make(description=["Status: selesai"]),
        make(location="Balai RW 06"),
        make(categories=["Pokja II"]),
        make(cancelled=True),
        make(marks=[]),                                                         # the override goes
        make(marks=marks + [mark(D("2025-01-20"), "cancelled")]),               # an EXDATE comes
        make(marks=[mark(D("2025-01-13"), "moved", D("2025-01-16"))]),          # moved elsewhere
        make(r=row(**{**vars(r), "end_date": D("2025-03-31")})),                # UNTIL
        make(r=row(**{**vars(r), "start_time": time(8, 0)})),                   # timed
        make(r=row(**{**vars(r), "start_time": time(8, 0), "duration_minutes": 30})),
        make(r=row(**{**vars(r), "interval": 2})),
    ]
    digests = [e.content_hash() for e in changed]
    assert digest not in digests
    assert len(set(digests)) == len(digests)


BRIEF = ["Kampung KB Melati · Rencana 2025", "Status: Belum dilaksanakan"]
FULL = [BRIEF[0], "Pelaksana: Kader PKK", "Sasaran: ibu hamil (20 orang)", BRIEF[1]]


@pytest.mark.parametrize("r, marks, notes", [
    (*WEEKLY_MOVED, [None, "Dipindah dari 13 Januari 2025"]),
    (ONCE, [mark(D("2025-08-17"), "moved", D("2025-08-20"), "banjir")], ["Dipindah dari 17 Agustus 2025: banjir"]),
])
def test_compact_writes_the_brief_description_without_url_property(r, marks, notes):
    e = event(ical.event_schedule(r, marks), description=FULL, brief=BRIEF)
    digest = e.content_hash()
    link = f"\n\nLihat di portal: {URL}"

    def descriptions(text):
        return [str(v["DESCRIPTION"]) for v in parse(text).walk("VEVENT")]

    def expected(lines):
        return ["\n".join(lines + ([note] if note else [])) + link for note in notes]

    compact = write(e, url=URL, compact=True)
    assert descriptions(compact) == expected(BRIEF)
    assert "URL" not in {line.split(":")[0] for line in unfold(compact)}
    full = write(e, url=URL)
    assert descriptions(full) == expected(FULL)
    assert unfold(full).count(f"URL:{URL}") == len(notes)
    # Without a brief, compact keeps the full description (and still drops URL).
    plain = event(ical.event_schedule(r, marks), description=FULL)
    assert descriptions(write(plain, url=URL, compact=True)) == expected(FULL)
    assert e.content_hash() == plain.content_hash() == digest  # the hash is the full content


# -- 6. a whole feed ------------------------------------------------------------------------------

def test_mixed_feed_parses_with_both_parsers():
    events = [
        event(ical.event_schedule(ONCE), uid="baris-1@portal.test"),
        event(ical.event_schedule(PERIOD), summary="Bulan bakti KB", uid="baris-2@portal.test"),
        event(ical.event_schedule(*WEEKLY_MOVED), summary="Kelas ibu hamil", uid="baris-3@portal.test"),
        event(ical.event_schedule(row(frequency="monthly", start_date=D("2025-01-01"), weekday=1,
                                      week_of_month=5, start_time=time(19, 30)), [], "Asia/Makassar"),
              summary="Rapat pokja", uid="baris-4@portal.test"),
        event(ical.event_schedule(row(frequency="yearly", start_date=D("2024-02-29"), end_date=D("2030-12-31"),
                                      start_time=time(7, 0)), [], "Asia/Jayapura"),
              summary="Ulang tahun", uid="baris-5@portal.test"),
    ]
    text = write(*events, zones=["Asia/Makassar", "Asia/Jayapura", "Asia/Makassar"], url=URL, alarm=True,
                 description="Semua kegiatan")
    cal = parse(text)
    assert len(cal.walk("VEVENT")) == 6
    assert sorted(str(z["TZID"]) for z in cal.walk("VTIMEZONE")) == ["Asia/Jayapura", "Asia/Makassar"]
    v = vobject.readOne(text)
    assert len(v.contents["vtimezone"]) == 2
    counts = {}
    for o in expand(cal):
        counts[str(o["SUMMARY"])] = counts.get(str(o["SUMMARY"]), 0) + 1
    assert counts == {"Posyandu Melati": 1, "Bulan bakti KB": 1, "Kelas ibu hamil": 8, "Rapat pokja": 12,
                      "Ulang tahun": 7}
