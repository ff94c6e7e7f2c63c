"""`flask backup FILE` / `flask restore FILE` through the real CLI: a restore brings back exactly
the content that was backed up (every row of every table), refuses files that are not backups,
and asks before replacing everything. SQLite always; PostgreSQL (pg_dump/pg_restore) in the
PostgreSQL run of the suite."""
import shutil

import sqlalchemy as sa
import pytest

from tests.conftest import ON_POSTGRES
from tests.pg_cluster import engine_for
from tests.test_migrations import flask_cli, ok

BACKENDS = ["sqlite"] + (["postgresql"] if ON_POSTGRES else [])


@pytest.fixture(scope="module")
def migrated_file(tmp_path_factory):
    """An empty migrated SQLite file, made once; tests get copies (``empty_url``)."""
    path = tmp_path_factory.mktemp("migrated") / "portal.db"
    ok(flask_cli(f"sqlite:///{path}", "db", "upgrade"))
    return path


@pytest.fixture
def empty_url(migrated_file, tmp_path):
    shutil.copy(migrated_file, tmp_path / "portal.db")
    return f"sqlite:///{tmp_path / 'portal.db'}"


@pytest.fixture(params=BACKENDS)
def seeded_url(request, tmp_path):
    """A migrated database with the demo data."""
    if request.param == "sqlite":
        url = request.getfixturevalue("empty_url")
        ok(flask_cli(url, "seed", "demo"))
        return url
    else:
        cluster = request.getfixturevalue("pg_server")
        cluster.admin("DROP DATABASE IF EXISTS portal_backup WITH (FORCE)", "CREATE DATABASE portal_backup")
        url = cluster.url("portal_backup")
    ok(flask_cli(url, "db", "upgrade"))
    ok(flask_cli(url, "seed", "demo"))
    return url


def content(url):
    """Every row of every table, as comparable text, by table."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            return {name: sorted(repr(tuple(row)) for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')))
                    for name in names}
    finally:
        engine.dispose()


def execute(url, *statements):
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_restore_brings_back_exactly_what_was_backed_up(seeded_url, tmp_path):
    before = content(seeded_url)
    assert sum(map(len, before.values())) > 500  # the demo data: wilayah, plans, rows, accounts
    result = ok(flask_cli(seeded_url, "backup", str(tmp_path / "cadangan.db")))
    assert "Cadangan ditulis" in result.stdout

    # Work after the backup: changed, added and deleted rows.
    execute(seeded_url, "UPDATE kampung_kb SET name = 'Diubah setelah cadangan'",
            "DELETE FROM feed_subscription", "UPDATE \"user\" SET full_name = 'Nama baru' WHERE username = 'anggota'")
    assert content(seeded_url) != before

    result = ok(flask_cli(seeded_url, "restore", "--yes", str(tmp_path / "cadangan.db")))
    assert "Dipulihkan dari" in result.stdout
    assert content(seeded_url) == before
    ok(flask_cli(seeded_url, "audit", "verify"))  # the hash chain survived the round trip


def test_backup_does_not_overwrite_a_file(empty_url, tmp_path):
    url = empty_url
    target = tmp_path / "ada.db"
    target.write_text("jangan ditimpa")
    result = flask_cli(url, "backup", str(target))
    assert result.returncode != 0 and "sudah ada" in result.stderr
    assert target.read_text() == "jangan ditimpa"


def test_restore_refuses_a_file_that_is_not_a_backup(empty_url, tmp_path):
    url = empty_url
    execute(url, "INSERT INTO wilayah (level, code, name) VALUES ('provinsi', '62', 'Kalimantan Tengah')")
    before = content(url)
    junk = tmp_path / "bukan-cadangan.db"
    junk.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    result = flask_cli(url, "restore", "--yes", str(junk))
    assert result.returncode != 0 and "bukan cadangan Portal Kampung KB" in result.stderr
    missing = flask_cli(url, "restore", "--yes", str(tmp_path / "tidak-ada.db"))
    assert missing.returncode != 0 and "tidak ada" in missing.stderr
    assert content(url) == before


def test_restore_asks_first(empty_url, tmp_path):
    url = empty_url
    ok(flask_cli(url, "backup", str(tmp_path / "kosong.db")))
    execute(url, "INSERT INTO wilayah (level, code, name) VALUES ('provinsi', '62', 'Kalimantan Tengah')")
    before = content(url)
    result = flask_cli(url, "restore", str(tmp_path / "kosong.db"))  # stdin is empty: no answer
    assert result.returncode != 0 and "Semua data" in result.stdout
    assert content(url) == before
