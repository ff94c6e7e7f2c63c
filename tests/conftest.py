"""Shared fixtures: app, client, runner, a login helper and factories returning callables.

``PORTAL_TEST_DATABASE=postgresql`` runs the suite on a real PostgreSQL 15 server: one throwaway
cluster per test process (``tests/pg_cluster.py``), the schema created once, and every table
emptied after each test. The default is an in-memory SQLite database per test.
"""
import itertools
import os
from datetime import date

import pytest
from flask import g
from flask.testing import FlaskClient

from portal import create_app
from portal.extensions import db as _db
from portal.models import KampungKB, PokjaPosition, User, Wilayah
from tests.pg_cluster import running_cluster

PASSWORD = "rahasia-123"
TEST_DATABASE = os.environ.get("PORTAL_TEST_DATABASE", "sqlite")
if TEST_DATABASE not in ("sqlite", "postgresql"):
    raise ValueError(f"PORTAL_TEST_DATABASE must be sqlite or postgresql, not {TEST_DATABASE!r}")
ON_POSTGRES = TEST_DATABASE == "postgresql"


class RequestLikeClient(FlaskClient):
    """The fixture keeps an app context pushed, which Flask then reuses for every request, so
    ``g`` (where Flask-Login caches the user and Flask-WTF the CSRF token) would outlive a
    request. Empty it per request, and expire the session afterwards so objects a test holds
    show what the request stored."""

    def open(self, *args, **kwargs):
        for name in list(vars(g)):
            delattr(g, name)
        try:
            return super().open(*args, **kwargs)
        finally:
            _db.session.expire_all()


@pytest.fixture(scope="session")
def pg_server():
    """The PostgreSQL run's cluster (one per test process), or None on SQLite."""
    if not ON_POSTGRES:
        yield None
        return
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def suite_database(pg_server):
    """The database URL the ``app`` fixture uses: in-memory SQLite, or a PostgreSQL database
    whose schema (tables and lock triggers) is created once for the session."""
    if pg_server is None:
        yield "sqlite://"
        return
    pg_server.admin("CREATE DATABASE portal_suite")
    url = pg_server.url("portal_suite").replace("postgresql://", "postgresql+psycopg://", 1)
    schema_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with schema_app.app_context():
        _db.create_all()  # the suite's schema; migrations are tested on their own
        _db.engine.dispose()
    yield url


def _reset_tables():
    """Empty every table, and enable the lock triggers a tampering test may have disabled."""
    tables = [f'"{t.name}"' for t in _db.metadata.sorted_tables]
    with _db.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        disabled = conn.exec_driver_sql(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'")
        for (table,) in disabled.all():
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")


@pytest.fixture
def app(suite_database):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": suite_database})
    app.test_client_class = RequestLikeClient
    with app.app_context():
        if ON_POSTGRES:
            yield app
            _db.session.remove()
            _reset_tables()
            _db.engine.dispose()
        else:
            _db.create_all()  # the suite's schema; migrations are tested on their own
            yield app
            _db.session.remove()
            _db.drop_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def login(client):
    def do_login(username, password=PASSWORD, follow=False):
        client.post("/keluar")
        return client.post("/masuk", data={"username": username, "password": password},
                           follow_redirects=follow)
    return do_login


_counter = itertools.count(1)


@pytest.fixture
def make_user(db):
    def make(username=None, full_name=None, area=None, **kwargs):
        username = username or f"user{next(_counter)}"
        user = User(username=username, full_name=full_name or username.title(), area=area, **kwargs)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user
    return make


@pytest.fixture
def wilayah(db):
    """Two kabupaten, each with kecamatan and desa: enough to test scopes."""
    prov = Wilayah(level="provinsi", code="62", name="Kalimantan Tengah", timezone="Asia/Jakarta")
    kab = Wilayah(level="kabupaten", code="62.13", name="Barito Timur", kind="Kabupaten", parent=prov)
    kec = Wilayah(level="kecamatan", code="62.13.01", name="Dusun Timur", parent=kab)
    kec2 = Wilayah(level="kecamatan", code="62.13.04", name="Awang", parent=kab)
    desa = Wilayah(level="desa", code="62.13.01.2001", name="Harara", kind="Desa", parent=kec)
    desa_b = Wilayah(level="desa", code="62.13.01.2002", name="Sumur", kind="Desa", parent=kec)
    desa_c = Wilayah(level="desa", code="62.13.04.2001", name="Hayaping", kind="Desa", parent=kec2)
    papua = Wilayah(level="provinsi", code="91", name="Papua", timezone="Asia/Jayapura")
    kab_other = Wilayah(level="kabupaten", code="91.03", name="Jayapura", kind="Kabupaten", parent=papua)
    kec_other = Wilayah(level="kecamatan", code="91.03.01", name="Sentani", parent=kab_other)
    desa_other = Wilayah(level="desa", code="91.03.01.2001", name="Sereh", kind="Kelurahan", parent=kec_other)
    db.session.add_all([prov, papua])
    db.session.commit()
    return dict(prov=prov, kab=kab, kec=kec, kec2=kec2, desa=desa, desa_b=desa_b, desa_c=desa_c,
                kab_other=kab_other, kec_other=kec_other, desa_other=desa_other)


@pytest.fixture
def make_kampung(db):
    def make(desa, name=None):
        kampung = KampungKB(name=name or f"Kampung KB {desa.name}", desa=desa)
        db.session.add(kampung)
        db.session.commit()
        return kampung
    return make


@pytest.fixture
def make_position(db):
    def make(kampung, role, seksi=None, user=None, person_name=None, started_on=date(2025, 1, 2), **kw):
        position = PokjaPosition(
            kampung=kampung, role=role, seksi=seksi, user=user,
            person_name=person_name or (user.full_name if user else f"Orang {next(_counter)}"),
            started_on=started_on, **kw,
        )
        db.session.add(position)
        db.session.commit()
        return position
    return make


@pytest.fixture
def pokja(wilayah, make_user, make_kampung, make_position):
    """A Kampung KB in Dusun Timur with one account per role, plus outsiders.

    Returns a dict of users by role key and the Kampung KB (``kampung``) and another
    Kampung KB (``other_kampung``) in another kabupaten.
    """
    kampung = make_kampung(wilayah["desa"])
    other_kampung = make_kampung(wilayah["desa_other"])
    users = {
        "admin": make_user("admin", is_platform_admin=True),
        "operator": make_user("op.kab", area=wilayah["kab"], is_operator=True),
        "operator_kecamatan": make_user("op.kec", area=wilayah["kec"], is_operator=True),
        "operator_other": make_user("op.lain", area=wilayah["kab_other"], is_operator=True),
        "lurah": make_user("lurah", area=wilayah["desa"]),
        "ketua": make_user("ketua", area=wilayah["desa"]),
        "sekretaris": make_user("sekretaris", area=wilayah["desa"]),
        "seksi_head": make_user("seksi.data", area=wilayah["desa"]),
        "anggota": make_user("anggota", area=wilayah["desa"]),
        "outsider": make_user("ketua.lain", area=wilayah["desa_other"]),
        "no_position": make_user("tanpa.jabatan", area=wilayah["desa"]),
    }
    make_position(kampung, "pengarah", user=users["lurah"])
    make_position(kampung, "ketua", user=users["ketua"])
    make_position(kampung, "sekretaris", user=users["sekretaris"])
    make_position(kampung, "ketua_seksi", "data", user=users["seksi_head"])
    make_position(kampung, "anggota", user=users["anggota"])
    make_position(other_kampung, "ketua", user=users["outsider"])
    return {"kampung": kampung, "other_kampung": other_kampung, **users}


def is_fragment(response):
    body = response.get_data(as_text=True)
    return "<html" not in body and "<body" not in body
