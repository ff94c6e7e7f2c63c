"""The Kampung KB dashboard and the area roll-up send the same number of SQL statements however
many Kampung KB, rows, marks and realisations they show (issue 10: no query per row, nor per 500
rows as selectinload batches them); and the roll-up's figures, summed in the database, are the
ones the dashboard's activities give.

Statements are counted with SQLAlchemy's ``before_cursor_execute``. Only counts are asserted,
never timings. The counts are taken with the real ``KampungKB.today`` (its time zone is read from
the database); the figures with "today" pinned to 15 June, so overdue dates are the same whenever
the suite runs.
"""
import csv
import io
import random
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from portal.blueprints.progress.services import activities
from portal.extensions import db
from portal.models import (
    ActivityProgress, FundingSource, KampungKB, OccurrenceMark, Plan, PlanRow, Realisation, RealisationSpend,
    Wilayah,
)
from portal.models.plan import PARTS
from portal.occurrences import planned_dates

YEAR = 2025
TODAY = date(YEAR, 6, 15)
# More rows, and more realisations, than one selectinload batch (500).
LARGE = 510

SCHEDULES = [
    {"frequency": "monthly", "start_date": date(YEAR, 1, 10), "end_date": date(YEAR, 12, 31)},
    {"frequency": "weekly", "start_date": date(YEAR, 1, 6), "end_date": date(YEAR, 12, 31), "weekday": 0},
    {"frequency": "once", "start_date": date(YEAR, 3, 12)},
    {"frequency": "monthly", "start_date": date(YEAR, 2, 1), "end_date": date(YEAR, 11, 30), "weekday": 2,
     "week_of_month": 1},
    {"frequency": "monthly", "start_date": date(YEAR, 1, 31), "end_date": date(YEAR, 12, 31), "interval": 2},
    {"frequency": "period", "start_date": date(YEAR, 7, 1), "end_date": date(YEAR, 7, 31)},
    {"frequency": "once", "start_date": date(YEAR, 9, 1)},
    {},  # no schedule yet
]
SEKSI = ("data", "perilaku", "layanan", "lingkungan")
STATUSES = (None, "belum", "berjalan", "berjalan", "selesai", "tertunda", "dibatalkan")


@pytest.fixture
def area(wilayah, make_user):
    """Kecamatan Dusun Timur with one Kampung KB and Awang with three more desa; a platform
    admin."""
    for n in range(3):
        db.session.add(Wilayah(level="desa", code=f"62.13.04.210{n}", name=f"Awang {n}", kind="Desa",
                               parent=wilayah["kec2"]))
    db.session.commit()
    make_user("admin", is_platform_admin=True)
    return wilayah


def approved_plan(desa, rows, seed, year=YEAR):
    """A Kampung KB in ``desa`` with an approved plan of ``rows`` rows of every kind of schedule,
    funding and progress: statuses, done/moved/cancelled marks (some on dates not planned),
    realisations with and without money spent."""
    rng = random.Random(seed)
    kampung = db.session.scalar(db.select(KampungKB).where(KampungKB.desa_id == desa.id))
    if kampung is None:
        kampung = KampungKB(name=f"Kampung KB {desa.name}", desa=desa)
    plan = Plan(kampung=kampung, year=year, status="draf")
    for i in range(rows):
        schedule = {k: v.replace(year=year) if isinstance(v, date) else v
                    for k, v in SCHEDULES[i % len(SCHEDULES)].items()}
        row = PlanRow(part=list(PARTS)[i % len(PARTS)], position=i // len(PARTS), kegiatan=f"Kegiatan {i}",
                      seksi=SEKSI[i % len(SEKSI)], sasaran="Keluarga" if i % 2 else None,
                      target_count=rng.choice([None, 20]), target_unit="KK", **schedule)
        row.funding_sources = [FundingSource(position=p, type=t, amount=rng.choice([None, 0, 150_000, 1_000_000]))
                               for p, t in enumerate(rng.sample(["dana_desa", "swadaya", "apbd"], rng.randint(0, 2)))]
        plan.rows.append(row)
    db.session.add(plan)
    db.session.flush()
    plan.status, plan.approved_at = "disetujui", datetime(year, 1, 5, tzinfo=timezone.utc)
    db.session.commit()
    for row in plan.rows:
        status = rng.choice(STATUSES)
        if status:
            db.session.add(ActivityProgress(
                lineage=row.lineage, status=status, percent=rng.choice([None, None, 40]), version=1,
                updated_at=datetime(year, rng.randint(1, 6), rng.randint(1, 28), 23, 30, tzinfo=timezone.utc)))
        days = planned_dates(row)
        for day in rng.sample(days, min(len(days), rng.randint(0, 4))):
            state = rng.choice(["done", "done", "moved", "cancelled"])
            moved_to = day + timedelta(days=rng.choice([-20, 3, 40])) if state != "cancelled" and rng.random() < 0.6 else None
            db.session.add(OccurrenceMark(lineage=row.lineage, original_date=day, state=state, moved_to=moved_to))
        if rng.random() < 0.2:  # an extra session, and a move of a date no longer planned
            db.session.add(OccurrenceMark(lineage=row.lineage, original_date=date(year, 2, 27), state="done"))
            db.session.add(OccurrenceMark(lineage=row.lineage, original_date=date(year, 1, 2), state="moved",
                                          moved_to=date(year, 1, 3)))
        types = [s.type for s in row.funding_sources]
        for _ in range(rng.choice([0, 1, 1, 2, 2])):
            db.session.add(Realisation(
                lineage=row.lineage, kampung_id=kampung.id, year=year, on=date(year, rng.randint(1, 6), 1),
                description="Dilaksanakan", people_reached=rng.choice([None, 12]),
                created_at=datetime(year, rng.randint(1, 6), rng.randint(1, 28), 17, tzinfo=timezone.utc),
                spends=[RealisationSpend(source_type=t, amount=rng.choice([0, 50_000])) for t in types]))
    db.session.commit()
    return plan


@contextmanager
def counting():
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def statements_of(client, url):
    """SQL statements of a GET of ``url`` (after one to warm per-process caches)."""
    assert client.get(url).status_code == 200
    with counting() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


@pytest.fixture
def cold(app):
    """Roll-ups and plan tables drawn on every request (not kept: portal/fragments.py), so the
    counts are those of the work itself."""
    app.extensions["fragments"].seconds = 0


def test_dashboard_statements_do_not_grow_with_rows(area, client, login):
    small = approved_plan(area["desa"], 3, seed=1)
    large = approved_plan(area["desa_c"], LARGE, seed=2)
    assert db.session.scalar(db.select(db.func.count()).select_from(Realisation)
                             .where(Realisation.kampung_id == large.kampung_id)) > 500
    login("admin")
    assert statements_of(client, f"/kampung/{small.kampung_id}/dasbor?tahun={YEAR}") == statements_of(
        client, f"/kampung/{large.kampung_id}/dasbor?tahun={YEAR}")


def test_rollup_statements_do_not_grow_with_kampung_kb_and_rows(area, client, login, cold):
    approved_plan(area["desa"], 3, seed=3)
    awang = db.session.scalars(db.select(Wilayah).where(Wilayah.parent_id == area["kec2"].id)).all()
    for n, desa in enumerate(awang):
        approved_plan(desa, 150, seed=10 + n)
        approved_plan(desa, 60, seed=20 + n, year=YEAR - 1)
    assert db.session.scalar(db.select(db.func.count()).select_from(PlanRow)) > 500
    login("admin")
    assert statements_of(client, f"/wilayah/{area['kec'].id}/rekap?tahun={YEAR}") == statements_of(
        client, f"/wilayah/{area['kec2'].id}/rekap?tahun={YEAR}")


# -- the roll-up's figures against the activities' ------------------------------------------------

def expected_figures(plan):
    """% done, % budget, overdue occurrences and last update of ``plan``, from its activities
    one by one (as the roll-up computed them before it summed in the database)."""
    items = activities(plan)
    live = [a for a in items if a.status != "dibatalkan"]
    planned = sum(s.amount or 0 for a in items for s in a.row.funding_sources)
    spent = sum(a.spent for a in items)
    stamps = [a.progress.updated_at for a in items if a.progress] + [r.created_at for a in items for r in a.realisations]
    return {
        "Kegiatan selesai": str(round(100 * sum(a.status == "selesai" for a in live) / len(live))) if live else "",
        "Anggaran terealisasi": str(round(100 * spent / planned)) if planned else "",
        "Jadwal terlambat": str(sum(len(a.overdue) for a in live)),
        "Pembaruan terakhir": max(s.date() for s in stamps).isoformat() if stamps else "",
    }


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_rollup_figures_are_those_of_the_activities(area, client, login, monkeypatch, seed):
    monkeypatch.setattr(KampungKB, "today", lambda self: TODAY)
    awang = db.session.scalars(db.select(Wilayah).where(Wilayah.parent_id == area["kec2"].id)).all()
    plans = [approved_plan(desa, 40, seed=seed * 100 + n) for n, desa in enumerate(awang)]
    login("admin")
    response = client.get(f"/wilayah/{area['kab'].id}/rekap?tahun={YEAR}&unduh=rekap.csv")
    shown = {r["Kampung KB"]: r for r in csv.DictReader(io.StringIO(response.data.decode("utf-8-sig")))}
    assert any(shown[p.kampung.name]["Jadwal terlambat"] != "0" for p in plans)
    for plan in plans:
        row = shown[plan.kampung.name]
        assert {key: row[key] for key in expected_figures(plan)} == expected_figures(plan)


@pytest.mark.parametrize("cached", [False, True])
def test_plan_page_statements_do_not_grow_with_rows(area, client, login, app, cached):
    """With the rendered table kept (the second view) and without it (every view drawn)."""
    app.extensions["fragments"].seconds = 60 if cached else 0
    small = approved_plan(area["desa"], 3, seed=7)
    large = approved_plan(area["desa_c"], LARGE, seed=8)
    login("admin")
    assert statements_of(client, f"/rencana/{small.id}") == statements_of(client, f"/rencana/{large.id}")


def rollup_csv(client, wilayah):
    response = client.get(f"/wilayah/{wilayah.id}/rekap?tahun={YEAR}&unduh=rekap.csv")
    assert response.status_code == 200
    return {r["Kampung KB"]: r for r in csv.DictReader(io.StringIO(response.data.decode("utf-8-sig")))}


def test_kept_rollup_shows_a_new_realisation_at_once(area, client, login, app):
    plan = approved_plan(area["desa"], 8, seed=9)
    login("admin")
    cache = app.extensions["fragments"]
    before = rollup_csv(client, area["kab"])[plan.kampung.name]
    hits = cache.hits
    assert rollup_csv(client, area["kab"])[plan.kampung.name] == before
    assert cache.hits == hits + 1  # the second view was the kept table
    db.session.add(Realisation(
        lineage=plan.rows[0].lineage, kampung_id=plan.kampung_id, year=YEAR, on=date(YEAR, 6, 1),
        description="Rapat", created_at=datetime(YEAR, 6, 30, 9, tzinfo=timezone.utc)))  # after every other
    db.session.commit()
    assert before["Pembaruan terakhir"] != f"{YEAR}-06-30"
    assert rollup_csv(client, area["kab"])[plan.kampung.name]["Pembaruan terakhir"] == f"{YEAR}-06-30"


def test_kept_rollup_is_not_shared_between_areas(area, client, login):
    approved_plan(area["desa"], 3, seed=11)
    approved_plan(area["desa_c"], 3, seed=12)
    login("admin")
    one, other = rollup_csv(client, area["kec"]), rollup_csv(client, area["kec2"])
    assert one and other and not set(one) & set(other)
