"""Migrations through the real CLI (`flask --app wsgi db …`, `seed demo`), on a fresh SQLite file
and on an empty PostgreSQL 15 database: upgrade from nothing, seed twice (idempotent), downgrade
to base and up again, and no drift between the migrations and the models (`flask db check`)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.pg_cluster import engine_for, running_cluster

ROOT = Path(__file__).resolve().parents[1]
APP_TABLES = {"wilayah", "user", "kampung_kb", "pokja_position", "plan", "plan_row", "funding_source",
              "signature", "audit_entry", "activity_progress", "occurrence_mark", "realisation",
              "realisation_spend", "feed_subscription", "calendar_event"}


def flask_cli(database_url, *args):
    """Run the app's Flask CLI in a subprocess against ``database_url``; returns the result."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PORTAL_"))}
    env.update(
        DATABASE_URL=database_url, SECRET_KEY="migration-test-secret", PORTAL_ENV="development",
        # Cheap password hashes for the demo accounts: hashing is not what is tested here.
        PORTAL_ARGON2_TIME_COST="1", PORTAL_ARGON2_MEMORY_COST="1024", PORTAL_ARGON2_PARALLELISM="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def table_names(database_url):
    engine = engine_for(database_url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def row_counts(database_url, tables=APP_TABLES):
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            return {t: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) for t in sorted(tables)}
    finally:
        engine.dispose()


def alembic_versions(database_url):
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def triggers(database_url):
    """The lock triggers as the database describes them: name → definition (and, on
    PostgreSQL, the trigger functions' source)."""
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return dict(conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
            found = dict(conn.execute(sa.text(
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")).all())
            found.update(conn.execute(sa.text(
                "SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'portal\\_%'")).all())
            return found
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pg_cluster():
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """An empty database: a SQLite file that does not exist yet, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portal.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    cluster.admin("DROP DATABASE IF EXISTS portal WITH (FORCE)", "CREATE DATABASE portal")
    return cluster.url("portal")


def test_single_head():
    heads = ok(flask_cli("sqlite://", "db", "heads")).stdout.strip().splitlines()
    assert len(heads) == 1 and "(head)" in heads[0], heads


def test_upgrade_creates_schema_on_empty_database(db_url):
    assert table_names(db_url) == set()
    ok(flask_cli(db_url, "db", "upgrade"))
    assert APP_TABLES | {"alembic_version"} <= table_names(db_url)
    assert len(alembic_versions(db_url)) == 1


def test_demo_seed_loads_and_is_idempotent(db_url):
    ok(flask_cli(db_url, "db", "upgrade"))
    first = ok(flask_cli(db_url, "seed", "demo"))
    assert "Data demo siap" in first.stdout
    counts = row_counts(db_url)
    assert counts["kampung_kb"] == 9  # Pgs Dua and eight demo Kampung KB in Barito Timur
    assert counts["user"] == 12
    assert counts["pokja_position"] == 30
    assert counts["wilayah"] > 100

    second = ok(flask_cli(db_url, "seed", "demo"))
    assert second.stdout == first.stdout
    assert row_counts(db_url) == counts


def test_downgrade_to_base_and_back(db_url):
    ok(flask_cli(db_url, "db", "upgrade"))
    ok(flask_cli(db_url, "seed", "demo"))
    ok(flask_cli(db_url, "db", "downgrade", "base"))
    assert not (APP_TABLES & table_names(db_url)), table_names(db_url)
    assert alembic_versions(db_url) == []
    # And the empty database takes the migrations again.
    ok(flask_cli(db_url, "db", "upgrade"))
    assert APP_TABLES <= table_names(db_url)


def test_downgrade_one_step_and_back_keeps_the_data(db_url):
    ok(flask_cli(db_url, "db", "upgrade"))
    ok(flask_cli(db_url, "seed", "demo"))
    head, counts = alembic_versions(db_url), row_counts(db_url)
    ok(flask_cli(db_url, "db", "downgrade"))  # one step: Flask-Migrate's default revision is -1
    assert alembic_versions(db_url) not in ([], head)
    assert row_counts(db_url) == counts  # the last step's downgrade leaves the older tables' rows
    ok(flask_cli(db_url, "db", "upgrade"))
    assert alembic_versions(db_url) == head
    assert row_counts(db_url) == counts
    ok(flask_cli(db_url, "seed", "demo"))  # and the app works on it: the seed finds its data


def test_migration_triggers_match_the_models(db_url, tmp_path, request):
    """The migration keeps a frozen copy of the lock triggers; the models create them for
    ``create_all``. Both must give the same triggers."""
    ok(flask_cli(db_url, "db", "upgrade"))
    if db_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path / 'create_all.db'}"
    else:
        cluster = request.getfixturevalue("pg_cluster")
        cluster.admin("DROP DATABASE IF EXISTS portal_create_all WITH (FORCE)", "CREATE DATABASE portal_create_all")
        other = cluster.url("portal_create_all")
    script = "from portal import create_app\nfrom portal.extensions import db\n" \
             "with create_app().app_context(): db.create_all()"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PORTAL_"))}
    env.update(DATABASE_URL=other, SECRET_KEY="migration-test-secret", PORTAL_ENV="development")
    ok(subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120))
    migrated = triggers(db_url)
    assert len(migrated) >= 5
    assert migrated == triggers(other)


def test_migrated_schema_matches_models(db_url):
    ok(flask_cli(db_url, "db", "upgrade"))
    result = flask_cli(db_url, "db", "check")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"migrations and models differ:\n{output}"
    assert "No new upgrade operations detected" in output


def test_calendar_feed_on_migrated_demo_database(db_url):
    """The feed's aggregate version queries, the Core publish of SEQUENCE state and the build run
    on both engines against the migrated schema and the demo data (not only create_all)."""
    import icalendar
    from portal import create_app
    from portal.blueprints.feeds import services
    from portal.extensions import db
    from portal.models import KampungKB, User

    ok(flask_cli(db_url, "db", "upgrade"))
    ok(flask_cli(db_url, "seed", "demo"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url.replace("postgresql://", "postgresql+psycopg://", 1),
                      "SECRET_KEY": "feed-test", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(username="sekretaris"))
        kampung = db.session.scalar(db.select(KampungKB).where(KampungKB.name.like("%Pgs Dua%")))
        _, token = services.create(user, "HP saya", "kampung", kampung=kampung)
        db.session.commit()
        client = app.test_client()
        first = client.get(f"/ical/{token}.ics")
        assert first.status_code == 200, first.get_data(as_text=True)[:500]
        events = icalendar.Calendar.from_ical(first.data).walk("VEVENT")
        assert len(events) >= 10 and all(int(e["SEQUENCE"]) == 0 for e in events)
        again = client.get(f"/ical/{token}.ics", headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
        db.session.remove()
        db.engine.dispose()
