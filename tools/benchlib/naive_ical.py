"""The baseline a kabupaten feed is compared with: the same events built the obvious way, with
the ``icalendar`` library's objects (one ``Event`` per VEVENT, properties added one by one,
``Calendar.to_ical()`` at the end).

It loads exactly what ``portal.blueprints.feeds.builder.build`` loads (the same query for rows,
the same progress and marks through ``builder._events``, the same window), so the comparison is
of building the text. It does less than the portal does: no SEQUENCE bookkeeping (every event at
SEQUENCE 0, nothing written to ``calendar_event``), which only favours the baseline.
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy.orm import selectinload

from portal.blueprints.feeds import builder
from portal.extensions import db
from portal.models import KampungKB, Plan, PlanRow, Wilayah


def _moment(value, tzid):
    if isinstance(value, datetime) and tzid:
        return value.replace(tzinfo=ZoneInfo(tzid))
    return value


def build(subscription, current, url_for_row):
    rows = []
    if current.plan_ids:
        rows = db.session.scalars(
            db.select(PlanRow).where(PlanRow.plan_id.in_(current.plan_ids))
            .options(selectinload(PlanRow.funding_sources),
                     selectinload(PlanRow.plan).selectinload(Plan.kampung).selectinload(KampungKB.desa)
                     .selectinload(Wilayah.parent))
            .order_by(PlanRow.plan_id, PlanRow.part, PlanRow.position)).all()
    rows = [r for r in rows if current.coverage.get(r.plan.kampung_id) is None
            or r.seksi in current.coverage[r.plan.kampung_id]]
    found = {lineage: item for lineage, item in builder._events(rows, builder._lineages(current.plan_ids)).items()
             if item[1].schedule.first_day <= current.last and item[1].schedule.last_day >= current.first}

    cal = icalendar.Calendar()
    cal.add("prodid", "-//Portal Kampung KB//Rencana Kegiatan//ID")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", builder.calendar_name(subscription))
    stamp = datetime.now(timezone.utc).replace(microsecond=0)
    ordered = sorted(found.items(), key=lambda item: (builder._day(item[1][1].schedule.start), item[1][1].summary))
    for _lineage, (row, event) in ordered:
        s = event.schedule
        url = url_for_row(row)
        status = "CANCELLED" if event.cancelled or s.cancelled else "CONFIRMED"
        description = "\n".join((event.brief or event.description) + [f"\nLihat di portal: {url}"])
        master = icalendar.Event()
        master.add("uid", event.uid)
        master.add("dtstart", _moment(s.start, s.tzid))
        master.add("dtend", _moment(s.end, s.tzid))
        if s.rrule:
            master.add("rrule", icalendar.vRecur.from_ical(s.rrule))
        for day in s.exdates:
            master.add("exdate", _moment(day, s.tzid))
        master.add("summary", event.summary)
        if event.location:
            master.add("location", event.location)
        if event.categories:
            master.add("categories", event.categories)
        master.add("description", description + (f"\n{s.note}" if s.note else ""))
        master.add("status", status)
        if s.continuous:
            master.add("transp", "TRANSPARENT")
        master.add("sequence", 0)
        master.add("dtstamp", stamp)
        master.add("last-modified", stamp)
        cal.add_component(master)
        for o in s.overrides:
            moved = icalendar.Event()
            moved.add("uid", event.uid)
            moved.add("recurrence-id", _moment(o.recurrence_id, s.tzid))
            moved.add("dtstart", _moment(o.start, s.tzid))
            moved.add("dtend", _moment(o.end, s.tzid))
            moved.add("summary", event.summary)
            moved.add("description", description + f"\n{o.note}")
            moved.add("status", status)
            moved.add("sequence", 0)
            moved.add("dtstamp", stamp)
            cal.add_component(moved)
    return cal.to_ical().decode("utf-8")
