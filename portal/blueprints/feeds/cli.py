"""`flask --app wsgi feed create|list|revoke`: calendar subscriptions for operators helping a member."""
import click
from flask import current_app
from flask.cli import AppGroup

from portal.blueprints.feeds.services import (
    SubscriptionError, active_subscriptions, create, describe, revoke,
)
from portal.extensions import db
from portal.models import FeedSubscription, KampungKB, User, Wilayah
from portal.models.calendar import SCOPES
from portal.models.pokja import SEKSI

feed_cli = AppGroup("feed", help="Langganan kalender (alamat iCal pribadi).")


def _user(username):
    user = db.session.scalar(db.select(User).filter_by(username=username.strip().lower()))
    if user is None:
        raise click.ClickException(f"Akun {username} tidak ditemukan.")
    return user


@feed_cli.command("create")
@click.argument("username")
@click.option("--name", required=True, help="Nama langganan, misalnya \"HP saya\".")
@click.option("--scope", type=click.Choice(list(SCOPES)), default="saya", show_default=True,
              help="saya = kegiatan akun ini; kampung = seluruh rencana; seksi = satu seksi; wilayah = "
                   "kecamatan/kabupaten (operator).")
@click.option("--kampung", "kampung_id", type=int, help="ID Kampung KB (untuk --scope kampung/seksi).")
@click.option("--seksi", type=click.Choice(SEKSI), help="Seksi (untuk --scope seksi).")
@click.option("--wilayah", "wilayah_code", help="Kode Kemendagri kecamatan/kabupaten (untuk --scope wilayah).")
@click.option("--reminder", is_flag=True, help="Pengingat sehari sebelum kegiatan.")
@click.option("--base-url", default=None, help="Alamat portal (bawaan: PUBLIC_URL di konfigurasi).")
def feed_create(username, name, scope, kampung_id, seksi, wilayah_code, reminder, base_url):
    """Buat langganan untuk USERNAME dan cetak alamatnya (hanya sekali; tidak dapat ditampilkan lagi).
    Aturan sama dengan halaman Langganan kalender: akun hanya berlangganan yang boleh dilihatnya."""
    user = _user(username)
    kampung = db.session.get(KampungKB, kampung_id) if kampung_id else None
    wilayah = db.session.scalar(db.select(Wilayah).filter_by(code=wilayah_code)) if wilayah_code else None
    try:
        subscription, token = create(user, name, scope, kampung=kampung, seksi=seksi, wilayah=wilayah,
                                     reminder=reminder)
    except SubscriptionError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    base = base_url or current_app.config["PUBLIC_URL"]
    from portal.blueprints.feeds.routes import feed_url
    with current_app.test_request_context(base_url=base):
        url = feed_url(token)
    click.echo(f"Langganan #{subscription.id} \"{subscription.name}\" untuk {user.username}: {describe(subscription)}")
    click.echo(url)


@feed_cli.command("list")
@click.argument("username")
def feed_list(username):
    """Langganan aktif milik USERNAME (tanpa alamatnya: yang tersimpan hanya sidik kuncinya)."""
    user = _user(username)
    subscriptions = active_subscriptions(user)
    for s in subscriptions:
        used = s.last_used_at.strftime("%Y-%m-%d %H:%M UTC") if s.last_used_at else "belum pernah"
        click.echo(f"{s.id:>5}  …{s.token_hint}  {s.name}  ({describe(s)}; terakhir diambil: {used})")
    if not subscriptions:
        click.echo("Tidak ada langganan aktif.")


@feed_cli.command("revoke")
@click.argument("subscription_id", type=int)
def feed_revoke(subscription_id):
    """Cabut langganan SUBSCRIPTION_ID; alamatnya langsung tidak berlaku (404)."""
    subscription = db.session.get(FeedSubscription, subscription_id)
    if subscription is None or not subscription.active:
        raise click.ClickException(f"Langganan aktif #{subscription_id} tidak ditemukan.")
    revoke(subscription)
    db.session.commit()
    click.echo(f"Langganan #{subscription.id} \"{subscription.name}\" dicabut.")
