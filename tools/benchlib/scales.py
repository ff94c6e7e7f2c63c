"""The benchmark's databases: build the app for a database URL, migrate, generate a scale."""
import contextlib
import io
import logging
import os
import secrets
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchlib.data import TZ, Generator, KampungSpec, PlanSpec

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "bench-sandi-2026"
SECRET_KEY = "bench-" + secrets.token_hex(16)
FEED_TOKEN = "kkbcal_" + secrets.token_urlsafe(32)
# Feeds are rate limited per token (30 a minute); a load generator polls thousands a second.
FEED_RATE_LIMIT = "100000000 per minute"


def today():
    return datetime.now(ZoneInfo(TZ)).date()


def server_env(database_url, upload_folder):
    """Environment for gunicorn and for the in-process app: this database, a fixed key, no
    PORTAL_*/FLASK_* settings from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PORTAL_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY, PORTAL_ENV="development",
               PORTAL_FEED_RATE_LIMIT=FEED_RATE_LIMIT, PORTAL_UPLOAD_FOLDER=str(upload_folder),
               PYTHONUNBUFFERED="1")
    return env


def make_app(database_url, upload_folder):
    """The portal for ``database_url`` in this process (CSRF off: the test client posts forms
    directly; everything else as served)."""
    for key in [k for k in os.environ if k.startswith("PORTAL_")]:
        del os.environ[key]
    os.environ.update(DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY, PORTAL_ENV="development")
    from portal import create_app
    app = create_app({"WTF_CSRF_ENABLED": False, "UPLOAD_FOLDER": str(upload_folder),
                      "FEED_RATE_LIMIT": FEED_RATE_LIMIT, "RATELIMIT_ENABLED": False})
    return app


def migrate(app):
    """``flask db upgrade`` in this process (Alembic's log lines go to a buffer, not the table)."""
    from flask_migrate import upgrade
    with app.app_context(), contextlib.redirect_stderr(io.StringIO()):
        upgrade(directory=str(ROOT / "migrations"))
    logging.getLogger("weasyprint").setLevel(logging.ERROR)


def _password_hash():
    from portal.models.user import _hasher
    return _hasher().hash(PASSWORD)


def generate(app, build, log=print):
    """Run ``build(generator, year)`` in an app context; returns (Made, seconds)."""
    from portal.extensions import db
    started = time.perf_counter()
    with app.app_context():
        gen = Generator(db, today(), _password_hash(), log=log)
        extra = build(gen, today().year) or {}
        gen.finish()
        made = gen.made
        made.wilayah.update(extra)
    made.seconds = time.perf_counter() - started
    return made


# -- the scales --------------------------------------------------------------------------------------

def kampung_scale(gen, year):
    """One Kampung KB: its approved 30-row plan with a year of progress, and next year's draft."""
    rows = []
    province, kabupaten, desa = gen.barito_timur(rows)
    gen.write_wilayah(rows)
    gen.user("bench.admin", "Admin Benchmark", admin=True)
    gen.user("bench.operator", "Operator Benchmark", area_id=kabupaten, operator=True)
    gen.kampungs([KampungSpec(desa[0], [PlanSpec(year), PlanSpec(year + 1, approved=False, progress=False)],
                              ketua_username="bench.ketua", lurah_username="bench.lurah")])
    return {"kabupaten": kabupaten, "province": province}


def kabupaten_scale(gen, year, previous_year=False):
    """Barito Timur (the seed's real 10 kecamatan and 103 desa), a Kampung KB in every desa,
    each with its approved 30-row plan and a year of progress; a kabupaten calendar feed."""
    rows = []
    province, kabupaten, desa = gen.barito_timur(rows)
    gen.write_wilayah(rows)
    gen.user("bench.admin", "Admin Benchmark", admin=True)
    operator = gen.user("bench.operator", "Operator Benchmark", area_id=kabupaten, operator=True)
    specs = []
    for index, desa_id in enumerate(desa):
        plans = ([PlanSpec(year - 1)] if previous_year else []) + [PlanSpec(year)]
        specs.append(KampungSpec(desa_id, plans, ketua_username="bench.ketua" if index == 0 else None,
                                 lurah_username="bench.lurah" if index == 0 else None))
    gen.kampungs(specs)
    # The whole plan year in the window (January … next year): every activity of the year.
    feed = gen.feed_subscription(operator, kabupaten, FEED_TOKEN, months_back=gen.today.month - 1, months_ahead=12)
    return {"kabupaten": kabupaten, "province": province, "feed": feed}


def province_scale(gen, year, size=1500, previous_year=False):
    """A province of ``size`` Kampung KB: Barito Timur's 103 plus synthetic kabupaten of about
    107 desa each (10 kecamatan), all with approved 30-row plans and a year of progress."""
    rows = []
    province, kabupaten, desa = gen.barito_timur(rows)
    desa = desa[:size]
    remaining = size - len(desa)
    number = 20
    while remaining > 0:
        count = min(107, remaining)
        _kab, more, _kecs = gen.synthetic_kabupaten(rows, province, number, count)
        desa += more
        remaining -= count
        number += 1
    gen.write_wilayah(rows)
    gen.user("bench.admin", "Admin Benchmark", admin=True)
    gen.user("bench.operator", "Operator Benchmark", area_id=kabupaten, operator=True)
    specs = []
    for index, desa_id in enumerate(desa):
        plans = ([PlanSpec(year - 1)] if previous_year else []) + [PlanSpec(year)]
        specs.append(KampungSpec(desa_id, plans, ketua_username="bench.ketua" if index == 0 else None,
                                 lurah_username="bench.lurah" if index == 0 else None))
    gen.kampungs(specs, chunk=150)
    return {"kabupaten": kabupaten, "province": province}


def counting_scale(gen, year):
    """For SQL statement counts and the office formats: kecamatan A, B and C with 1, 10 and 100
    Kampung KB (30, 300 and 3,000 plan rows in their roll-ups), and kecamatan D whose Kampung KB
    has approved plans of 300, 3,000 and 100 rows (earlier years, with progress) and a second
    Kampung KB without plans to import into."""
    rows = []
    province = gen._wilayah(rows, "provinsi", "Kalimantan Tengah", "62", tz=TZ)
    kab = gen._wilayah(rows, "kabupaten", "Hitung", "62.90", province, "Kabupaten", note="Data sintetis")
    kecamatan, desa = {}, {}
    for key, count in (("A", 1), ("B", 10), ("C", 100), ("D", 2)):
        kec = gen._wilayah(rows, "kecamatan", f"Kecamatan {key}", f"62.90.0{'ABCD'.index(key) + 1}", kab)
        kecamatan[key] = kec
        desa[key] = [gen._wilayah(rows, "desa", f"Desa {key}{i:03d}", f"62.90.0{'ABCD'.index(key) + 1}.{2001 + i}",
                                  kec, "Desa") for i in range(count)]
    gen.write_wilayah(rows)
    gen.user("bench.admin", "Admin Benchmark", admin=True)
    gen.user("bench.operator", "Operator Benchmark", area_id=kab, operator=True)
    specs = []
    for key in "ABC":
        for index, desa_id in enumerate(desa[key]):
            name = f"hitung.{key.lower()}" if index == 0 else None
            specs.append(KampungSpec(desa_id, [PlanSpec(year)], ketua_username=name and name + ".ketua",
                                     lurah_username=name and name + ".lurah"))
    specs.append(KampungSpec(desa["D"][0], [PlanSpec(year - 1, rows=300), PlanSpec(year - 2, rows=3000),
                                            PlanSpec(year - 3, rows=100)],
                             ketua_username="hitung.d.ketua", lurah_username="hitung.d.lurah"))
    specs.append(KampungSpec(desa["D"][1], [], ketua_username="hitung.e.ketua", lurah_username="hitung.e.lurah"))
    gen.kampungs(specs)
    return {f"kecamatan_{k}": v for k, v in kecamatan.items()} | {"kabupaten": kab, "province": province}
