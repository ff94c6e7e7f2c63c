"""`flask --app wsgi backup FILE` and `restore FILE`.

SQLite: SQLite's online backup API, so a backup taken while the portal serves requests is a
consistent snapshot, and a restore replaces the database in one step (other connections wait).
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --single-transaction``.
"""
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app

from portal.extensions import db


def _sqlite_path():
    url = db.engine.url
    if not url.database or url.database == ":memory:":
        raise click.ClickException("Basis data SQLite di memori tidak dapat dicadangkan.")
    return Path(url.database)


def _libpq_env():
    """Connection settings for pg_dump/pg_restore in their environment variables, so the
    password never appears on a command line (visible to every user of the machine)."""
    url = db.engine.url
    settings = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username,
                "PGPASSWORD": url.password, "PGDATABASE": url.database}
    return {**os.environ, **{k: str(v) for k, v in settings.items() if v is not None}}


def _pg_tool(name):
    candidates = [os.environ.get("PG_BIN_DIR", ""), "/usr/lib/postgresql/15/bin"]
    for folder in candidates:
        if folder and (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    found = shutil.which(name)
    if not found:
        raise click.ClickException(f"Program {name} tidak ditemukan. Pasang paket Debian 'postgresql-client' "
                                   "atau tetapkan PG_BIN_DIR (lihat docs/operations.md).")
    return found


def _run_pg(tool, *args):
    env = _libpq_env()
    result = subprocess.run([_pg_tool(tool), *args], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise click.ClickException(f"{tool} gagal:\n{result.stderr.strip()}")


def table_counts():
    """Rows per table of the app's schema, to show what a backup or restore holds."""
    with db.engine.connect() as conn:
        return {table.name: conn.scalar(sa.select(sa.func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


def _check_sqlite_file(path):
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            has_schema = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        ok, has_schema = False, False
    if not ok or not has_schema:
        raise click.ClickException(f"{path} bukan cadangan Portal Kampung KB yang utuh.")


def backup(target):
    target = Path(target)
    if target.exists():
        raise click.ClickException(f"{target} sudah ada; pilih nama berkas lain.")
    if db.engine.dialect.name == "postgresql":
        _run_pg("pg_dump", "--format=custom", "--no-owner", "--file", str(target))
        return
    # Write beside the target and rename: a half-written backup never carries the final name.
    fd, partial = tempfile.mkstemp(prefix=".cadangan-", dir=target.parent or ".")
    os.close(fd)
    try:
        source, copy = sqlite3.connect(_sqlite_path()), sqlite3.connect(partial)
        try:
            with copy:
                source.backup(copy)
        finally:
            source.close()
            copy.close()
        _check_sqlite_file(partial)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def restore(source):
    source = Path(source)
    if not source.is_file():
        raise click.ClickException(f"Berkas {source} tidak ada.")
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        db.engine.dispose()
        _run_pg("pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                "--dbname", db.engine.url.database, str(source))
        return
    _check_sqlite_file(source)
    db.engine.dispose()
    backup_conn, live = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(_sqlite_path())
    try:
        with live:
            backup_conn.backup(live)
    finally:
        backup_conn.close()
        live.close()


def _summary(counts):
    total = sum(counts.values())
    main = ", ".join(f"{name} {counts[name]}" for name in ("kampung_kb", "plan", "plan_row", "user")
                     if name in counts)
    return f"{total} baris di {len(counts)} tabel ({main})"


def init_app(app):
    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False))
    def backup_command(file):
        """Cadangkan seluruh basis data ke FILE (SQLite: salinan utuh saat aplikasi berjalan;
        PostgreSQL: pg_dump format custom). FILE tidak boleh sudah ada."""
        backup(file)
        click.echo(f"Cadangan ditulis ke {file}: {_summary(table_counts())}.")

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--yes", is_flag=True, help="Jangan tanya konfirmasi.")
    def restore_command(file, yes):
        """Ganti SELURUH isi basis data dengan cadangan FILE. Setelahnya jalankan
        `flask --app wsgi db upgrade` bila cadangan berasal dari versi yang lebih lama."""
        if not yes:
            click.confirm(f"Semua data di basis data sekarang akan diganti dengan isi {file}. Lanjutkan?",
                          abort=True)
        restore(file)
        click.echo(f"Dipulihkan dari {file}: {_summary(table_counts())}.")
        current_app.logger.warning("database restored from a backup file")
