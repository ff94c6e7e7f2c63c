"""Migrations on PostgreSQL 15, through the real CLI, in a throwaway cluster the test starts itself:
upgrade from an empty database, seed twice (idempotent), downgrade to base, and no drift between
the migrations and the models.

The cluster lives in a temp dir, listens on 127.0.0.1 on a free port with trust authentication,
and is stopped afterwards even when a test fails. PostgreSQL refuses to run as root, so as root
the server binaries run as the ``postgres`` user the Debian package creates. Without the binaries
the tests are skipped, except under CI=true, where that is a failure.
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
APP_TABLES = {"wilayah", "user", "kampung_kb", "pokja_position"}
PG_USER = "postgres"


# -- the CLI under test ---------------------------------------------------------------------------

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


def _engine(url):
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def table_names(url):
    engine = _engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def row_counts(url, tables=APP_TABLES):
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) for t in sorted(tables)}
    finally:
        engine.dispose()


def alembic_versions(url):
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


# -- a throwaway PostgreSQL cluster ---------------------------------------------------------------

def _unavailable(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL tests cannot run under CI: {reason}")
    pytest.skip(reason)


def _pg_bin_dir():
    """PostgreSQL 15's server binaries (Debian keeps initdb/pg_ctl out of PATH)."""
    candidates = [os.environ.get("PG_BIN_DIR"), "/usr/lib/postgresql/15/bin"]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("pg_ctl"):
        candidates.append(str(Path(shutil.which("pg_ctl")).parent))
    for candidate in filter(None, candidates):
        if all((Path(candidate) / b).is_file() for b in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian "
                 "package 'postgresql' (make setup does) or set PG_BIN_DIR")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bin_dir, base):
        self.bin_dir, self.base = bin_dir, base
        self.data, self.sockets, self.log = base / "data", base / "sockets", base / "server.log"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def run(self, binary, *args, check=True, timeout=120):
        cmd = [str(self.bin_dir / binary), *args]
        if self.as_root:
            cmd = ["runuser", "-u", PG_USER, "--", *cmd]
        result = subprocess.run(cmd, cwd=self.base, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            pytest.fail(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{log}")
        return result

    def start(self):
        self.sockets.mkdir()
        if self.as_root:
            entry = pwd.getpwnam(PG_USER)
            for path in (self.base, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", PG_USER, "-E", "UTF8",
                 "--locale=C", "--no-sync")
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self.run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options)

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", check=False)

    def url(self, database):
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements):
        """Run statements outside a transaction (CREATE/DROP DATABASE) in the maintenance db."""
        engine = _engine(self.url("postgres")).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement))
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def pg_cluster():
    bin_dir = _pg_bin_dir()
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            _unavailable(f"running as root and there is no '{PG_USER}' user to run PostgreSQL as")
        if not shutil.which("runuser"):
            _unavailable("running as root and 'runuser' is missing")
    base = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    cluster = Cluster(bin_dir, base)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster):
    """URL of an empty database ``portal``, created fresh for each test."""
    pg_cluster.admin("DROP DATABASE IF EXISTS portal WITH (FORCE)", "CREATE DATABASE portal")
    return pg_cluster.url("portal")


# -- tests ----------------------------------------------------------------------------------------

def test_upgrade_creates_schema_on_empty_database(pg_url):
    assert table_names(pg_url) == set()
    ok(flask_cli(pg_url, "db", "upgrade"))
    assert APP_TABLES | {"alembic_version"} <= table_names(pg_url)
    assert len(alembic_versions(pg_url)) == 1


def test_demo_seed_loads_and_is_idempotent(pg_url):
    ok(flask_cli(pg_url, "db", "upgrade"))
    first = ok(flask_cli(pg_url, "seed", "demo"))
    assert "Data demo siap" in first.stdout
    counts = row_counts(pg_url)
    assert counts["kampung_kb"] == 1
    assert counts["user"] == 10
    assert counts["pokja_position"] == 14
    assert counts["wilayah"] > 100

    second = ok(flask_cli(pg_url, "seed", "demo"))
    assert second.stdout == first.stdout
    assert row_counts(pg_url) == counts


def test_downgrade_to_base_and_back(pg_url):
    ok(flask_cli(pg_url, "db", "upgrade"))
    ok(flask_cli(pg_url, "seed", "demo"))
    ok(flask_cli(pg_url, "db", "downgrade", "base"))
    assert not (APP_TABLES & table_names(pg_url)), table_names(pg_url)
    assert alembic_versions(pg_url) == []
    # Nothing left behind (types, sequences, indexes) that would stop a second upgrade.
    ok(flask_cli(pg_url, "db", "upgrade"))
    assert APP_TABLES <= table_names(pg_url)


def test_migrated_schema_matches_models(pg_url):
    ok(flask_cli(pg_url, "db", "upgrade"))
    result = flask_cli(pg_url, "db", "check")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"migrations and models differ on PostgreSQL:\n{output}"
    assert "No new upgrade operations detected" in output
