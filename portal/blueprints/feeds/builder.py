"""Building a feed: the plans and rows it covers, a cheap version stamp, the text, a cache.

A poll first computes the feed's *version* from a handful of aggregate queries (the plans in
force and when they were approved, and the count, newest change and version sums of progress
and occurrence marks). That gives the ETag and Last-Modified without loading a single row, so
an unchanged feed answers 304, or from the per-process cache, without rebuilding. Only a new
version builds the text, with the hand-written iCalendar writer in ``portal.ical``.

Each event's content hash is compared with what was last published (``CalendarEvent``): a
changed event gets SEQUENCE + 1 and a new LAST-MODIFIED, in the same way for every feed
and for the single-activity download.
"""
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import ical, labels
from portal.blueprints.feeds.services import coverage
from portal.extensions import db
from portal.formatting import rupiah, source_label
from portal.models import ActivityProgress, CalendarEvent, KampungKB, OccurrenceMark, Plan, PlanRow, Wilayah
from portal.models.progress import STATUSES

# Bump when the text written for the same data changes (a deploy then refreshes every feed).
FORMAT = 1
CACHE_SIZE = 128


@dataclass
class Version:
    etag: str
    last_modified: datetime
    plan_ids: list
    coverage: dict
    first: date
    last: date


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
    return db.select(PlanRow.lineage).where(PlanRow.plan_id.in_(plan_ids))


def version(subscription, base_url, today=None):
    """The feed's current Version, from aggregate queries only."""
    today = today or datetime.now(timezone.utc).date()
    covered = coverage(subscription)
    first, last = window(subscription, today)
    plans = plans_in_force(list(covered), first.year, last.year)
    plan_ids = [p[0] for p in plans]
    progress = marks = (0, None, 0)
    names = []
    if plan_ids:
        progress = db.session.execute(db.select(
            func.count(), func.max(ActivityProgress.updated_at), func.coalesce(func.sum(ActivityProgress.version), 0))
            .where(ActivityProgress.lineage.in_(_lineages(plan_ids)))).one()
        marks = db.session.execute(db.select(
            func.count(), func.max(OccurrenceMark.updated_at), func.coalesce(func.sum(OccurrenceMark.id), 0))
            .where(OccurrenceMark.lineage.in_(_lineages(plan_ids)))).one()
        names = db.session.execute(db.select(KampungKB.id, KampungKB.name).where(
            KampungKB.id.in_(db.select(Plan.kampung_id).where(Plan.id.in_(plan_ids)))).order_by(KampungKB.id)).all()
    stamps = [utc(p[1]) for p in plans] + [utc(progress[1]), utc(marks[1]), utc(subscription.created_at)]
    month_start = datetime(today.year, today.month, 1, tzinfo=timezone.utc)
    last_modified = max([s for s in stamps if s is not None] + [month_start]).replace(microsecond=0)
    parts = {
        "format": FORMAT, "subscription": [subscription.id, subscription.name, subscription.reminder],
        "coverage": sorted([k, sorted(v) if v is not None else None] for k, v in covered.items()),
        "window": [first.isoformat(), last.isoformat()], "base": base_url,
        "plans": [[p[0], str(utc(p[1]))] for p in plans],
        "progress": [progress[0], str(utc(progress[1])), progress[2]],
        "marks": [marks[0], str(utc(marks[1])), marks[2]],
        "names": [list(n) for n in names],
    }
    etag = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:40]
    return Version(etag, last_modified, plan_ids, covered, first, last)


# -- events -----------------------------------------------------------------------------------------

def event_for(row, plan, kampung, progress, marks):
    """The ical.Event for one activity, or None when its schedule cannot be placed."""
    schedule = ical.event_schedule(row, marks, kampung.timezone)
    if schedule is None:
        return None
    status = progress.status if progress else "belum"
    # The year, not the plan's title: a revision ("… Revisi 1") must not change every event.
    lines = [f"{kampung.name} · Rencana Kegiatan {plan.year}"]
    if row.pelaksana:
        lines.append(f"Pelaksana: {row.pelaksana}")
    target = f"{row.target_count} {row.target_unit or ''}".strip() if row.target_count else None
    sasaran = f"{row.sasaran} ({target})" if row.sasaran and target else (row.sasaran or target)
    if sasaran:
        lines.append(f"Sasaran: {sasaran}")
    if row.mitra:
        lines.append(f"Mitra: {row.mitra}")
    sources = "; ".join(" ".join(filter(None, [
        source_label(s.type), f"({s.detail})" if s.detail else None,
        rupiah(s.amount) if s.amount is not None else None])) for s in row.funding_sources)
    if sources or row.funding_text:
        lines.append(f"Sumber dana: {sources or row.funding_text}")
    if row.schedule_text:
        lines.append(f"Jadwal: {row.schedule_text}")
    state = STATUSES[status]
    if progress and progress.reason and status in ("tertunda", "dibatalkan"):
        state = f"{state} ({progress.reason})"
    lines.append(f"Status: {state}")
    desa = kampung.desa.display_name if kampung.desa else None
    brief = [lines[0], f"Status: {state}"]
    return ical.Event(brief=brief, 
        uid=str(uuid.UUID(hex=row.lineage)), summary=row.kegiatan, schedule=schedule, description=lines,
        location=", ".join(filter(None, [row.place, desa])) or None,
        categories=[labels.SEKSI_SHORT.get(row.seksi, row.seksi)], cancelled=status == "dibatalkan")


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


def _events(rows, lineages):
    """{lineage: (row, Event)} for rows (with plan and kampung loaded); ``lineages`` is a list
    or a SELECT of them."""
    progress = {p.lineage: p for p in db.session.scalars(
        db.select(ActivityProgress).where(ActivityProgress.lineage.in_(lineages)))}
    marks = {}
    for mark in db.session.scalars(db.select(OccurrenceMark).where(OccurrenceMark.lineage.in_(lineages))
                                   .order_by(OccurrenceMark.id)):
        marks.setdefault(mark.lineage, []).append(mark)
    found = {}
    for row in rows:
        event = event_for(row, row.plan, row.plan.kampung, progress.get(row.lineage), marks.get(row.lineage, []))
        if event is not None:
            found[row.lineage] = (row, event)
    return found


def _write(found, url_for_row, alarm, lineages=None, compact=False):
    urls = {lineage: url_for_row(row) for lineage, (row, _event) in found.items()}  # before the commit
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


def build(subscription, current, url_for_row):
    """The feed text for ``current`` (a Version)."""
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
    lineages = _lineages(current.plan_ids)
    found = {lineage: item for lineage, item in _events(rows, lineages).items()
             if item[1].schedule.first_day <= current.last and item[1].schedule.last_day >= current.first}
    # A district feed holds thousands of events: brief descriptions keep it near what Google
    # Calendar accepts (about 1 MB); the link leads to the rest.
    out, zones = _write(found, url_for_row, subscription.reminder, lineages, compact=subscription.scope == "wilayah")
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
    out, zones = _write(found, lambda _row: url, alarm=False)
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
