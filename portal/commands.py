"""CLI: `flask --app wsgi seed demo|logins`, `users create`, `audit verify`; `backup`/`restore`
live in portal/backup.py, `plan …` and `feed …` with their blueprints."""
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from portal.extensions import db

seed_cli = AppGroup("seed", help="Data demo dari dokumen rujukan (ditolak di produksi).")
users_cli = AppGroup("users", help="Kelola akun pengguna.")
audit_cli = AppGroup("audit", help="Jejak audit (riwayat perubahan berantai hash).")


@seed_cli.command("demo")
def seed_demo():
    """Muat data demo (idempoten): wilayah, Kampung KB Kel. Pgs Dua, akun demo per peran."""
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("Data demo tidak boleh dimuat ketika PORTAL_ENV=production.")
    from seeds.demo import load_demo
    summary = load_demo()
    db.session.commit()
    click.echo(f"Data demo siap: {summary['wilayah']} wilayah, {summary['kampung']} Kampung KB, "
               f"{summary['users']} akun.")


@seed_cli.command("logins")
def seed_logins():
    """Tampilkan akun demo dan kata sandinya."""
    from seeds.demo import DEMO_LOGINS, DEMO_PASSWORD
    click.echo("\nAkun demo (kata sandi semuanya: %s)" % DEMO_PASSWORD)
    for username, role in DEMO_LOGINS:
        click.echo(f"  {username:<18} {role}")
    click.echo("")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", required=True, help="Nama lengkap.")
@click.option("--phone", default=None, help="Nomor HP.")
@click.option("--operator-area", default=None, metavar="KODE",
              help="Jadikan operator untuk kecamatan/kabupaten dengan kode Kemendagri ini.")
@click.option("--admin", is_flag=True, help="Jadikan admin platform (mengelola semua wilayah).")
def users_create(username, name, phone, operator_area, admin):
    """Buat akun USERNAME. Kata sandi dibaca dari prompt, atau dari stdin bila bukan terminal."""
    from portal.blueprints.accounts.forms import USERNAME_RE
    from portal.models import User, Wilayah

    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise click.ClickException("Nama pengguna: 3–40 huruf kecil, angka, titik, garis bawah atau tanda hubung.")
    if db.session.scalar(db.select(User.id).filter_by(username=username)):
        raise click.ClickException(f"Nama pengguna {username} sudah dipakai.")
    area = None
    if operator_area:
        area = db.session.scalar(db.select(Wilayah).filter_by(code=operator_area))
        if area is None or area.level not in ("kecamatan", "kabupaten"):
            raise click.ClickException("Kode wilayah operator harus kode kecamatan atau kabupaten/kota yang ada.")
    if sys.stdin.isatty():
        password = click.prompt("Kata sandi", hide_input=True, confirmation_prompt="Ulangi kata sandi")
    else:
        password = sys.stdin.readline().rstrip("\n")
    minimum = current_app.config["MIN_PASSWORD_LENGTH"]
    if len(password) < minimum:
        raise click.ClickException(f"Kata sandi minimal {minimum} karakter.")
    user = User(username=username, full_name=name, phone=phone, area=area,
                is_operator=area is not None, is_platform_admin=admin)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Akun {username} dibuat.")


@audit_cli.command("verify")
def audit_verify():
    """Periksa seluruh rantai riwayat; keluar dengan kode 1 bila ada catatan yang diubah atau
    dihapus."""
    from portal import audit
    result = audit.check_all()
    if result.intact:
        click.echo(f"Rantai riwayat utuh: {result.checked} catatan diperiksa.")
        return
    for seq, reason in result.broken:
        click.echo(f"Catatan no. {seq}: {reason}", err=True)
    raise SystemExit(1)


def init_app(app):
    from portal import backup
    backup.init_app(app)
    from portal.blueprints.feeds.cli import feed_cli
    from portal.blueprints.plans.cli import plan_cli
    app.cli.add_command(plan_cli)
    app.cli.add_command(feed_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
