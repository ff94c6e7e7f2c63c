"""A throwaway PostgreSQL 15 cluster for tests: temp dir, 127.0.0.1 on a free port, trust auth,
stopped afterwards even when a test fails. PostgreSQL refuses to run as root, so as root the
server binaries run as the ``postgres`` user the Debian package creates. Without the binaries the
tests are skipped, except under CI=true, where that is a failure.
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_USER = "postgres"


def engine_for(url):
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


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
        engine = engine_for(self.url("postgres")).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement))
        finally:
            engine.dispose()




@contextmanager
def running_cluster():
    """Start a cluster, yield it, always stop and remove it."""
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
