"""Building a feed: the plans and rows it covers, a cheap version stamp, the text, a cache.

A poll first computes the feed's *version* from the data versions of what it covers
(``portal.models.data_version``: one row for a district feed, one per Kampung KB otherwise,
moved by a session listener whenever anything an event shows changes), the subscription's
settings, what it covers and the date window. That gives the ETag and Last-Modified without
loading a plan or a row, so an unchanged feed answers 304, or from the per-process cache,
without rebuilding. Only a new version builds the text, with the hand-written iCalendar writer
in ``portal.ical``, from plain rows (Core selects of the columns an event needs, as named
tuples, not ORM objects: a kabupaten has thousands of rows and tens of thousands of marks).

Each event's content hash is compared with what was last published (``CalendarEvent``): a
changed event gets SEQUENCE + 1 and a new LAST-MODIFIED, in the same way for every feed
and for the single-activity download.
"""
import hashlib
import json
import threading
import uuid
from collections import OrderedDict, namedtuple
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cached_property

from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import ical, labels
from portal.blueprints.feeds import services
from portal.extensions import db
from portal.formatting import rupiah, source_label
from portal.models import (
    ActivityProgress, CalendarEvent, FundingSource, KampungKB, OccurrenceMark, Plan, PlanRow, Wilayah,
)
from portal.models.data_version import data_versions, wilayah_version
from portal.models.progress import STATUSES

# Bump when the text written for the same data changes (a deploy then refreshes every feed).
FORMAT = 1
CACHE_SIZE = 128


@dataclass
class Version:
    etag: str
    last_modified: datetime
    first: date
    last: date
    subscription: object = field(repr=False)
    # A district feed's version is its wilayah's; what it covers is looked up when building.
    known_coverage: dict | None = field(default=None, repr=False)

    @cached_property
    def coverage(self):
        """{kampung id: seksi keys, or None for all} the feed covers."""
        return self.known_coverage if self.known_coverage is not None else services.coverage(self.subscription)

    @cached_property
    def plan_ids(self):
        """Ids of the plans in force the feed shows (looked up only when building)."""
        return [p[0] for p in plans_in_force(list(self.coverage), self.first.year, self.last.year)]


def utc(moment):
    if moment is None:
        return None
    if isinstance(moment, str):  # SQLite aggregates may come back as text
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _month_shift(day, months):
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def window(subscription, today):
    """First and last day of the feed's window: whole months around the current one."""
    first = _month_shift(today, -subscription.months_back)
    last = _month_shift(today, subscription.months_ahead + 1) - timedelta(days=1)
    return first, last


def plans_in_force(kampung_ids, first_year, last_year):
    """(id, approved_at) of the approved plan in force per Kampung KB and year: the highest
    approved revision. Drafts, submitted and returned plans never reach a feed."""
    if not kampung_ids:
        return []
    found = db.session.execute(
        db.select(Plan.id, Plan.kampung_id, Plan.year, Plan.revision, Plan.approved_at)
        .where(Plan.status == "disetujui", Plan.kampung_id.in_(kampung_ids),
               Plan.year.between(first_year, last_year))).all()
    best = {}
    for plan in found:
        key = (plan.kampung_id, plan.year)
        if key not in best or plan.revision > best[key].revision:
            best[key] = plan
    return sorted(((p.id, p.approved_at) for p in best.values()), key=lambda p: p[0])


def _lineages(plan_ids):
    return db.select(_row.lineage).where(_row.plan_id.in_(plan_ids))


def version(subscription, base_url, today=None):
    """The feed's current Version: from the subscription, what it covers and the data version
    of what it covers (one small row per Kampung KB, or the district's one), without loading a
    plan or a row."""
    today = today or datetime.now(timezone.utc).date()
    first, last = window(subscription, today)
    covered = None
    if subscription.scope == "wilayah":
        # One row for the whole district: it moves with every Kampung KB in it, and with one
        # coming in or leaving.
        number, newest = wilayah_version(subscription.wilayah_id)
        data = [subscription.wilayah_id, number, newest]
        newest = utc(newest)
    else:
        covered = services.coverage(subscription)
        versions = data_versions(covered)
        data = sorted([k, sorted(v) if v is not None else None, *versions.get(k, (0, None))]
                      for k, v in covered.items())
        changes = [utc(row[3]) for row in data if row[3] is not None]
        newest = max(changes) if changes else None
    stamps = [s for s in (newest, utc(subscription.created_at)) if s is not None]
    month_start = datetime(today.year, today.month, 1, tzinfo=timezone.utc)
    last_modified = max(stamps + [month_start]).replace(microsecond=0)
    parts = {
        "format": FORMAT, "subscription": [subscription.id, subscription.name, subscription.reminder],
        "window": [first.isoformat(), last.isoformat()], "base": base_url,
        # Change times at full precision: a database restored from a backup counts its versions
        # up again, but never through the same moments.
        "data": data,
    }
    etag = hashlib.sha256(json.dumps(parts, sort_keys=True, default=_moment).encode()).hexdigest()[:40]
    return Version(etag, last_modified, first, last, subscription, covered)


def _moment(value):
    return utc(value).isoformat()


# -- events -----------------------------------------------------------------------------------------

# What a feed loads, as table columns (a select of them skips the ORM's loading machinery):
# the columns of a plan row that ``ical.event_schedule`` reads (all of them, and only them) and
# those an event shows; the marks, progress and funding sources it shows.
_row, _mark = PlanRow.__table__.c, OccurrenceMark.__table__.c
_progress, _source = ActivityProgress.__table__.c, FundingSource.__table__.c
SCHEDULE_COLUMNS = (_row.frequency, _row.start_date, _row.end_date, _row.interval, _row.day_of_month, _row.weekday,
                    _row.week_of_month, _row.start_time, _row.duration_minutes, _row.duration_days)
ROW_COLUMNS = (_row.id, _row.plan_id, _row.lineage, _row.seksi, _row.kegiatan, _row.pelaksana, _row.sasaran,
               _row.target_count, _row.target_unit, _row.mitra, _row.place, _row.schedule_text, _row.funding_text,
               *SCHEDULE_COLUMNS)
_SCHEDULE = slice(len(ROW_COLUMNS) - len(SCHEDULE_COLUMNS), None)  # of a FeedRow
MARK_COLUMNS = (_mark.lineage, _mark.original_date, _mark.state, _mark.moved_to, _mark.reason)
PROGRESS_COLUMNS = (_progress.lineage, _progress.status, _progress.reason)
SOURCE_COLUMNS = (_source.row_id, _source.type, _source.detail, _source.amount)
# Plain tuples with names: the schedule code reads tens of attributes per row, and a named
# tuple answers faster than a result row (or an ORM object).
FeedRow, Mark, Progress, Source = (namedtuple(name, [c.key for c in columns]) for name, columns in (
    ("FeedRow", ROW_COLUMNS), ("Mark", MARK_COLUMNS), ("Progress", PROGRESS_COLUMNS), ("Source", SOURCE_COLUMNS)))


def _plain(statement, kind):
    """The rows of ``statement`` (a select of ``kind``'s columns) as ``kind`` tuples."""
    return map(kind._make, db.session.execute(statement))


@dataclass(frozen=True)
class Place:
    """What an event shows of its Kampung KB."""
    name: str
    desa: str | None
    timezone: str

    @classmethod
    def of(cls, kampung):
        return cls(kampung.name, kampung.desa.display_name if kampung.desa else None, kampung.timezone)


def event_for(row, schedule, sources, year, place, progress):
    """The ical.Event for one activity, or None when its schedule (``ical.event_schedule`` of
    the row and its marks) cannot be placed. ``row`` is a PlanRow or a ``FeedRow``, ``sources``
    its funding sources in order, ``year`` its plan's, ``place`` its Kampung KB's."""
    if schedule is None:
        return None
    status = progress.status if progress else "belum"
    # The year, not the plan's title: a revision ("… Revisi 1") must not change every event.
    lines = [f"{place.name} · Rencana Kegiatan {year}"]
    if row.pelaksana:
        lines.append(f"Pelaksana: {row.pelaksana}")
    target = f"{row.target_count} {row.target_unit or ''}".strip() if row.target_count else None
    sasaran = f"{row.sasaran} ({target})" if row.sasaran and target else (row.sasaran or target)
    if sasaran:
        lines.append(f"Sasaran: {sasaran}")
    if row.mitra:
        lines.append(f"Mitra: {row.mitra}")
    funding = "; ".join(" ".join(filter(None, [
        source_label(s.type), f"({s.detail})" if s.detail else None,
        rupiah(s.amount) if s.amount is not None else None])) for s in sources)
    if funding or row.funding_text:
        lines.append(f"Sumber dana: {funding or row.funding_text}")
    if row.schedule_text:
        lines.append(f"Jadwal: {row.schedule_text}")
    state = STATUSES[status]
    if progress and progress.reason and status in ("tertunda", "dibatalkan"):
        state = f"{state} ({progress.reason})"
    lines.append(f"Status: {state}")
    brief = [lines[0], f"Status: {state}"]
    return ical.Event(brief=brief,
        uid=str(uuid.UUID(hex=row.lineage)), summary=row.kegiatan, schedule=schedule, description=lines,
        location=", ".join(filter(None, [row.place, place.desa])) or None,
        categories=[labels.SEKSI_SHORT.get(row.seksi, row.seksi)], cancelled=status == "dibatalkan")


def _progress_and_marks(lineages):
    """({lineage: Progress}, {lineage: [Mark, in the order recorded]}); ``lineages`` is a list
    or a SELECT of them."""
    progress = {p.lineage: p for p in _plain(
        db.select(*PROGRESS_COLUMNS).where(_progress.lineage.in_(lineages)), Progress)}
    marks = {}
    # In the order recorded per activity (the last mark of a date wins); by lineage first, the
    # order of its index, so the database need not sort them all.
    for mark in _plain(db.select(*MARK_COLUMNS).where(_mark.lineage.in_(lineages)).order_by(_mark.lineage, _mark.id),
                       Mark):
        marks.setdefault(mark.lineage, []).append(mark)
    return progress, marks


def _events(rows, lineages):
    """{lineage: (row, Event)} for PlanRow objects (with plan and kampung loaded); ``lineages``
    is a list or a SELECT of them. For a handful of rows (the single-activity download); a
    feed loads plain rows (``_feed_events``)."""
    progress, marks = _progress_and_marks(lineages)
    found = {}
    for row in rows:
        place = Place.of(row.plan.kampung)
        schedule = ical.event_schedule(row, marks.get(row.lineage, []), place.timezone)
        event = event_for(row, schedule, row.funding_sources, row.plan.year, place, progress.get(row.lineage))
        if event is not None:
            found[row.lineage] = (row, event)
    return found


def publish(events, lineages=None):
    """{lineage: (sequence, changed_at)} after recording each event's content hash: a new
    event starts at SEQUENCE 0, a changed one goes up by one. Commits. (Core statements: a
    kabupaten has thousands of events, and only the changed ones are written.) ``lineages``,
    a SELECT of the events' lineages, saves sending thousands of them as parameters."""
    table = CalendarEvent.__table__
    for attempt in range(2):
        try:
            known = {r.lineage: r for r in db.session.execute(
                db.select(table.c.lineage, table.c.content_hash, table.c.sequence, table.c.changed_at)
                .where(table.c.lineage.in_(lineages if lineages is not None else list(events))))
                if r.lineage in events}
            now = datetime.now(timezone.utc).replace(microsecond=0)
            published, new, changed = {}, [], []
            for lineage, event in events.items():
                digest = event.content_hash()
                stored = known.get(lineage)
                if stored is None:
                    new.append({"lineage": lineage, "content_hash": digest, "sequence": 0, "changed_at": now})
                    published[lineage] = (0, now)
                elif stored.content_hash != digest:
                    changed.append({"key": lineage, "old": stored.content_hash, "content_hash": digest,
                                    "changed_at": now})
                    published[lineage] = (stored.sequence + 1, now)
                else:
                    published[lineage] = (stored.sequence, stored.changed_at)
            if new:
                db.session.execute(table.insert(), new)
            if changed:
                # Only where the stored hash is still the one read: two workers publishing the same
                # change raise SEQUENCE once.
                db.session.execute(
                    table.update().where(table.c.lineage == db.bindparam("key"),
                                         table.c.content_hash == db.bindparam("old"))
                    .values(sequence=table.c.sequence + 1, content_hash=db.bindparam("content_hash"),
                            changed_at=db.bindparam("changed_at")), changed)
            db.session.commit()
            return published
        except IntegrityError:  # another worker published the same new event first
            db.session.rollback()
            if attempt:
                raise
    return {}


def _write(found, urls, alarm, lineages=None, compact=False):
    published = publish({lineage: event for lineage, (_row, event) in found.items()}, lineages)
    out, zones = [], set()
    ordered = sorted(found.items(), key=lambda item: (_day(item[1][1].schedule.start), item[1][1].summary))
    for lineage, (_row, event) in ordered:
        sequence, changed_at = published[lineage]
        ical.write_event(out, event, sequence, utc(changed_at), urls[lineage], alarm, compact)
        if event.schedule.tzid:
            zones.add(event.schedule.tzid)
    return out, zones


def _day(moment):
    return moment.date() if isinstance(moment, datetime) else moment


# A row id no link contains otherwise (an activity's link is made once per plan with it).
_STAND_IN = 918273645546372819
_StandIn = namedtuple("_StandIn", "plan_id id")


def _urls(found, url_for_row):
    """{lineage: link to the activity page}: ``url_for_row`` once per plan, for a stand-in row
    whose id each row's replaces (thousands of ``url_for`` calls were 4% of a district's
    build); once per row when the stand-in's id does not show exactly once."""
    templates, urls = {}, {}
    for lineage, (row, _event) in found.items():
        if row.plan_id not in templates:
            parts = url_for_row(_StandIn(row.plan_id, _STAND_IN)).split(str(_STAND_IN))
            templates[row.plan_id] = parts if len(parts) == 2 else None
        parts = templates[row.plan_id]
        urls[lineage] = f"{parts[0]}{row.id}{parts[1]}" if parts else url_for_row(row)
    return urls


def _feed_events(current):
    """{lineage: (row, Event)} of the activities the feed shows, from plain rows (Core selects
    of the columns needed: loading thousands of ORM objects was most of a kabupaten's build)."""
    plan_ids = current.plan_ids
    if not plan_ids:
        return {}
    lineages = _lineages(plan_ids)
    columns = Plan.__table__.c
    plans = {p.id: p for p in db.session.execute(
        db.select(columns.id, columns.year, columns.kampung_id).where(columns.id.in_(plan_ids)))}
    kampungs = db.session.scalars(
        db.select(KampungKB).where(KampungKB.id.in_({p.kampung_id for p in plans.values()}))
        .options(selectinload(KampungKB.desa).selectinload(Wilayah.parent)))
    places = {k.id: Place.of(k) for k in kampungs}
    sources = {}
    for source in _plain(
            db.select(*SOURCE_COLUMNS).where(_source.row_id.in_(db.select(_row.id).where(_row.plan_id.in_(plan_ids))))
            .order_by(_source.row_id, _source.position, _source.id), Source):
        sources.setdefault(source.row_id, []).append(source)
    progress, marks = _progress_and_marks(lineages)
    # ``ical.event_schedule`` is a pure function of the schedule columns, the marks and the
    # zone: rows without marks that plan alike ("Sebulan sekali", "Sepanjang tahun" in many
    # Kampung KB) share one result (nothing changes a schedule once made).
    unmarked = {}
    found = {}
    for row in _plain(db.select(*ROW_COLUMNS).where(_row.plan_id.in_(plan_ids))
                      .order_by(_row.plan_id, _row.part, _row.position), FeedRow):
        plan = plans[row.plan_id]
        seksi = current.coverage.get(plan.kampung_id)
        if seksi is not None and row.seksi not in seksi:
            continue
        place = places[plan.kampung_id]
        row_marks = marks.get(row.lineage)
        if row_marks:
            schedule = ical.event_schedule(row, row_marks, place.timezone)
        else:
            key = (place.timezone, row[_SCHEDULE])
            schedule = unmarked[key] if key in unmarked else unmarked.setdefault(
                key, ical.event_schedule(row, (), place.timezone))
        event = event_for(row, schedule, sources.get(row.id, ()), plan.year, place, progress.get(row.lineage))
        if event is not None:
            found[row.lineage] = (row, event)
    return {lineage: item for lineage, item in found.items()
            if item[1].schedule.first_day <= current.last and item[1].schedule.last_day >= current.first}


def build(subscription, current, url_for_row):
    """The feed text for ``current`` (a Version)."""
    found = _feed_events(current)
    # A district feed holds thousands of events: brief descriptions keep it near what Google
    # Calendar accepts (about 1 MB); the link leads to the rest.
    out, zones = _write(found, _urls(found, url_for_row), subscription.reminder, _lineages(current.plan_ids),
                        compact=subscription.scope == "wilayah")
    return ical.calendar(calendar_name(subscription), out, zones,
                         description="Kegiatan Rencana Kegiatan yang disetujui, dari Portal Kampung KB.")


def calendar_name(subscription):
    """What the calendar app lists it as: what it shows, not the device."""
    scope = subscription.scope
    if scope == "kampung":
        return subscription.kampung.name
    if scope == "seksi":
        return f"{subscription.kampung.name} · {labels.SEKSI_SHORT[subscription.seksi]}"
    if scope == "wilayah":
        return f"Kampung KB {subscription.wilayah.display_name}"
    return "Kegiatan saya · Kampung KB"


def single(row, url):
    """One activity as an .ics file (the approved plan's row)."""
    found = _events([row], [row.lineage])
    if not found:
        return None
    out, zones = _write(found, dict.fromkeys(found, url), alarm=False)
    return ical.calendar(row.kegiatan, out, zones)


# -- cache ------------------------------------------------------------------------------------------

_lock = threading.Lock()


def cached_body(subscription, current, url_for_row):
    """(text, its SHA-256) for ``current``, built once per version per process."""
    cache = current_app.extensions.setdefault("feed_cache", OrderedDict())
    with _lock:
        hit = cache.get(subscription.id)
        if hit and hit[0] == current.etag:
            cache.move_to_end(subscription.id)
            return hit[1], hit[2]
    body = build(subscription, current, url_for_row)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    with _lock:
        cache[subscription.id] = (current.etag, body, digest)
        cache.move_to_end(subscription.id)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return body, digest
