"""iCalendar (RFC 5545) for plan activities: schedule → event, and a small, fast writer.

Pure functions, no Flask or database. ``event_schedule`` turns a row's structured schedule (the
attributes ``portal.occurrences.planned_dates`` reads, plus ``start_time``,
``duration_minutes`` and ``duration_days``) and its occurrence marks into an
``EventSchedule``: one all-day or timed event, or one recurring event whose RRULE produces
exactly the dates ``planned_dates`` plans, with cancelled dates as EXDATE and moved ones as
overrides (RECURRENCE-ID). ``write_event`` and ``calendar`` write the text; writing lines by
hand instead of building icalendar objects is what keeps a kabupaten feed cheap (see
``docs/calendar.md``); the tests parse everything written here with two independent parsers.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portal.formatting import tanggal
from portal.occurrences import CANCELLED, PLANNED, apply_marks, planned_dates

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DEFAULT_MINUTES = 60
PRODID = "-//Portal Kampung KB//Rencana Kegiatan//ID"
ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


# -- schedule → event ----------------------------------------------------------------------------

@dataclass
class Override:
    """One occurrence of a recurring event held on another date (RECURRENCE-ID)."""
    recurrence_id: date | datetime
    start: date | datetime
    end: date | datetime
    note: str


@dataclass
class EventSchedule:
    """When an event happens. ``start``/``end`` are dates (all-day, end exclusive) or naive
    local datetimes in ``tzid``."""
    start: date | datetime
    end: date | datetime
    tzid: str | None = None
    rrule: str | None = None
    exdates: list = field(default_factory=list)
    overrides: list = field(default_factory=list)
    cancelled: bool = False      # a single event whose one date was cancelled
    note: str | None = None      # a single event moved: why
    continuous: bool = False     # a period the activity runs through (shown as free time)
    # The first and last day any occurrence covers (moved ones included), for date windows.
    first_day: date | None = None
    last_day: date | None = None


def _month_day(day: int) -> str:
    """BYMONTHDAY for ``day``, or the month's last day when the month is shorter (as
    ``occurrences._clamped`` does): 30 → "28,29,30" and the last of those that exists."""
    day = min(day, 31)
    if day <= 28:
        return f"BYMONTHDAY={day}"
    return "BYMONTHDAY=" + ",".join(str(d) for d in range(28, day + 1)) + ";BYSETPOS=-1"


def _monthly_part(row, start: date) -> str:
    """The BY… part matching ``occurrences._monthly_day``."""
    day_of_month = getattr(row, "day_of_month", None)
    weekday = getattr(row, "weekday", None)
    week = getattr(row, "week_of_month", None)
    if day_of_month:
        return _month_day(day_of_month)
    if weekday is not None and week:
        # The n-th weekday; a 5th that does not exist is the last, and a 5th that does is too.
        return f"BYDAY={'-1' if week >= 5 else week}{WEEKDAYS[weekday]}"
    if week:
        return _month_day(1 + 7 * (week - 1))
    if weekday is not None:
        return f"BYDAY=1{WEEKDAYS[weekday]}"
    return _month_day(start.day)


def recurrence_rule(row, dates: list[date], until: date | datetime) -> str:
    """RRULE (without the name) producing ``dates`` from ``dates[0]``; ``until`` is the last
    date, or its UTC moment for a timed event."""
    interval = max(getattr(row, "interval", None) or 1, 1)
    frequency = row.frequency
    if frequency == "weekly":
        by = f"BYDAY={WEEKDAYS[dates[0].weekday()]}"
    elif frequency == "monthly":
        by = _monthly_part(row, row.start_date)
    else:  # yearly
        by = f"BYMONTH={row.start_date.month};" + _month_day(row.start_date.day)
    until_text = (until.strftime("%Y%m%dT%H%M%SZ") if isinstance(until, datetime) else until.strftime("%Y%m%d"))
    return f"FREQ={frequency.upper()};INTERVAL={interval};{by};UNTIL={until_text}"


def event_schedule(row, marks=(), tzid: str = "Asia/Jakarta") -> EventSchedule | None:
    """The event for ``row``'s schedule and ``marks``; None when the schedule has no start
    date or frequency (it cannot be placed in a calendar until someone completes it)."""
    frequency = getattr(row, "frequency", None)
    start = getattr(row, "start_date", None)
    if not frequency or start is None:
        return None
    if frequency == "period":
        end = getattr(row, "end_date", None) or date(start.year, 12, 31)
        end = max(end, start)
        return EventSchedule(start, end + timedelta(days=1), continuous=True, first_day=start, last_day=end)

    clock = getattr(row, "start_time", None)
    minutes = getattr(row, "duration_minutes", None)
    days = max(getattr(row, "duration_days", None) or 1, 1)

    def last_day(day: date) -> date:
        """The last day an occurrence starting on ``day`` covers (a timed one may pass midnight)."""
        end = span(day)[1]
        if isinstance(end, datetime):
            return (end - timedelta(microseconds=1)).date()
        return end - timedelta(days=1)

    def span(day: date):
        if clock is None:
            return day, day + timedelta(days=days)
        begin = datetime.combine(day, clock)
        length = timedelta(minutes=minutes) if minutes else (
            timedelta(days=days) if getattr(row, "duration_days", None) else timedelta(minutes=DEFAULT_MINUTES))
        return begin, begin + length

    dates = planned_dates(row)
    if not dates:
        return None
    marks = list(marks)
    # Only marked dates differ from the plan (most activities have none: skip the work).
    occurrences = [o for o in apply_marks(dates, marks) if o.state != PLANNED] if marks else []
    if len(dates) == 1:
        only = next((o for o in occurrences if o.planned == dates[0]), None)
        begin, end = span(only.date if only else dates[0])
        moved = only is not None and only.date != only.planned
        return EventSchedule(begin, end, tzid if clock else None,
                             cancelled=bool(only and only.state == CANCELLED),
                             note=(_moved_note(only) if moved else None),
                             first_day=only.date if only else dates[0],
                             last_day=last_day(only.date if only else dates[0]))

    begin, end = span(dates[0])
    if clock is None:
        until = dates[-1]
    else:
        until = datetime.combine(dates[-1], clock, ZoneInfo(tzid)).astimezone(timezone.utc)
    schedule = EventSchedule(begin, end, tzid if clock else None, rrule=recurrence_rule(row, dates, until),
                             first_day=min([dates[0]] + [o.date for o in occurrences]),
                             last_day=last_day(max([dates[-1]] + [o.date for o in occurrences])))
    planned = set(dates)
    for o in occurrences:
        if o.planned not in planned:
            continue  # an extra session, not part of the plan's schedule
        if o.state == CANCELLED:
            schedule.exdates.append(span(o.planned)[0])
        elif o.date != o.planned:
            new_begin, new_end = span(o.date)
            schedule.overrides.append(Override(span(o.planned)[0], new_begin, new_end, _moved_note(o)))
    return schedule


def _moved_note(occurrence) -> str:
    note = f"Dipindah dari {tanggal(occurrence.planned)}"
    return f"{note}: {occurrence.reason}" if occurrence.reason else note


# -- writing ------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape(value) -> str:
    """TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped;
    other control characters dropped."""
    text = _CONTROL.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """The line, CRLF-terminated, folded to at most 75 octets per physical line without
    splitting a UTF-8 character."""
    if len(line) <= 75 and line.isascii():
        return line + "\r\n"
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts, start, limit = [], 0, 75
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # never inside a multi-byte character
            cut -= 1
        parts.append(data[start:cut])
        start, limit = cut, 74  # continuation lines start with a space
    parts.append(data[start:])
    return b"\r\n ".join(parts).decode("utf-8") + "\r\n"


def _value(moment: date | datetime) -> str:
    if isinstance(moment, datetime):
        return moment.strftime("%Y%m%dT%H%M%S")
    return moment.strftime("%Y%m%d")


def _dt(name: str, moment: date | datetime, tzid: str | None) -> str:
    if isinstance(moment, datetime):
        return f"{name};TZID={tzid}:{_value(moment)}"
    return f"{name};VALUE=DATE:{_value(moment)}"


def utc_stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Event:
    """One activity as a calendar event. ``description`` lines are the content; the link back
    (``url``) is added when writing, so the content hash does not depend on the host name."""
    uid: str
    summary: str
    schedule: EventSchedule
    description: list[str] = field(default_factory=list)
    location: str | None = None
    categories: list[str] = field(default_factory=list)
    cancelled: bool = False
    # A shorter description for compact feeds (a kabupaten's thousands of events).
    brief: list[str] | None = None
    _blocks: list | None = field(default=None, init=False, repr=False, compare=False)

    def blocks(self) -> list[list[str]]:
        """The unfolded content lines of each VEVENT: the master, then one per moved
        occurrence (without SEQUENCE, DTSTAMP, LAST-MODIFIED, URL and alarms)."""
        if self._blocks is None:
            self._blocks = self._make_blocks()
        return self._blocks

    def _make_blocks(self) -> list[list[str]]:
        s = self.schedule
        status = "STATUS:" + ("CANCELLED" if self.cancelled or s.cancelled else "CONFIRMED")
        common = [f"SUMMARY:{escape(self.summary)}"]
        if self.location:
            common.append(f"LOCATION:{escape(self.location)}")
        if self.categories:
            common.append("CATEGORIES:" + ",".join(escape(c) for c in self.categories))
        master = [f"UID:{self.uid}", _dt("DTSTART", s.start, s.tzid), _dt("DTEND", s.end, s.tzid)]
        if s.rrule:
            master.append(f"RRULE:{s.rrule}")
        master += [_dt("EXDATE", day, s.tzid) for day in s.exdates]
        master += common + [self._description(s.note), status]
        if s.continuous:
            master.append("TRANSP:TRANSPARENT")
        blocks = [master]
        for o in s.overrides:
            blocks.append([f"UID:{self.uid}", _dt("RECURRENCE-ID", o.recurrence_id, s.tzid),
                           _dt("DTSTART", o.start, s.tzid), _dt("DTEND", o.end, s.tzid),
                           *common, self._description(o.note), status])
        return blocks

    def _description(self, note):
        return "DESCRIPTION:" + escape("\n".join(self.description + ([note] if note else [])))

    def content_hash(self) -> str:
        text = "\n".join("\n".join(block) for block in self.blocks())
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_event(out: list[str], event: Event, sequence: int, modified: datetime,
                url: str | None = None, alarm: bool = False, compact: bool = False) -> None:
    """Append the event's VEVENT blocks (the master, then one per moved occurrence) to ``out``
    as folded text. ``url`` is added as URL and at the end of the description (calendar apps
    that ignore URL still show it); ``alarm`` adds a reminder the day before. ``compact``
    writes the brief description and no URL property (the link stays in the description)."""
    stamp = utc_stamp(modified)
    extra = [f"SEQUENCE:{sequence}", f"DTSTAMP:{stamp}", f"LAST-MODIFIED:{stamp}"]
    if url and not compact:
        extra.append(f"URL:{url}")
    link = escape(f"\n\nLihat di portal: {url}") if url else ""
    timed = isinstance(event.schedule.start, datetime)
    notes = [event.schedule.note] + [o.note for o in event.schedule.overrides]
    for index, block in enumerate(event.blocks()):
        out.append("BEGIN:VEVENT\r\n")
        for line in block:
            if line.startswith("DESCRIPTION:"):
                if compact and event.brief is not None:
                    note = notes[index]
                    line = "DESCRIPTION:" + escape("\n".join(event.brief + ([note] if note else [])))
                line += link
            out.append(fold(line))
        out.extend(fold(line) for line in extra)
        if alarm and not event.schedule.continuous:  # no reminder for a year-long period
            # Timed: 24 hours before; all-day: 09.00 the day before (15 hours before midnight).
            out.append("BEGIN:VALARM\r\nACTION:DISPLAY\r\n")
            out.append(fold(f"DESCRIPTION:{escape('Besok: ' + event.summary)}"))
            out.append(f"TRIGGER:{'-P1D' if timed else '-PT15H'}\r\nEND:VALARM\r\n")
        out.append("END:VEVENT\r\n")


def vtimezone(tzid: str) -> str:
    """A VTIMEZONE for a zone without daylight saving time (Indonesia's three zones)."""
    zone = ZoneInfo(tzid)
    offset = zone.utcoffset(datetime(2000, 1, 1))
    if zone.utcoffset(datetime(2000, 7, 1)) != offset:
        raise ValueError(f"{tzid} observes daylight saving time; not supported")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    text = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    name = ZONE_NAMES.get(tzid) or zone.tzname(datetime(2000, 1, 1)) or text
    return ("BEGIN:VTIMEZONE\r\n" + fold(f"TZID:{tzid}") + fold(f"X-LIC-LOCATION:{tzid}")
            + "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
            f"TZOFFSETFROM:{text}\r\nTZOFFSETTO:{text}\r\nTZNAME:{name}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n")


def calendar(name: str, events: list[str], zones=(), description: str | None = None) -> str:
    """A VCALENDAR around already written ``events`` text, with a one-hour refresh hint."""
    head = ["BEGIN:VCALENDAR\r\n", "VERSION:2.0\r\n", fold(f"PRODID:{PRODID}"), "CALSCALE:GREGORIAN\r\n",
            "METHOD:PUBLISH\r\n", fold(f"NAME:{escape(name)}"), fold(f"X-WR-CALNAME:{escape(name)}")]
    if description:
        head += [fold(f"DESCRIPTION:{escape(description)}"), fold(f"X-WR-CALDESC:{escape(description)}")]
    head += ["REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n", "X-PUBLISHED-TTL:PT1H\r\n"]
    head += [vtimezone(z) for z in sorted(set(zones))]
    return "".join(head) + "".join(events) + "END:VCALENDAR\r\n"
