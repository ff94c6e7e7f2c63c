"""Subscriptions: tokens, who may subscribe to what, and what a subscription covers.

A token is ``kkbcal_`` and 43 URL-safe characters (32 random bytes). Only its SHA-256 is
stored; looking a token up hashes it and compares the digest in constant time. Every fetch
checks again that the account is active and may still see what the feed shows.
"""
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from functools import cache

from sqlalchemy.orm import joinedload

from portal import labels
from portal.errors import RuleError
from portal.extensions import db
from portal.models import FeedSubscription, KampungKB, Wilayah
from portal.models.calendar import SCOPES
from portal.models.pokja import SEKSI, SEKSI_ROLES

TOKEN_PREFIX = "kkbcal_"
TOKEN_BYTES = 32
MAX_ACTIVE = 20
NAME_MAX = 60
# Positions that see every activity of their Kampung KB in "Kegiatan saya".
WHOLE_PLAN_ROLES = ("pengarah", "ketua", "wakil_ketua", "sekretaris", "bendahara")
# Default windows in months (back, ahead): one's own Kampung KB keeps last year's history;
# a district feed keeps to what Google Calendar accepts (about 1 MB).
WINDOWS = {"wilayah": (1, 12)}
DEFAULT_WINDOW = (12, 12)
MAX_MONTHS = 24


class SubscriptionError(RuleError):
    """A subscription request that breaks a rule (message beside ``field``)."""


def token_digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token():
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


@cache
def _by_digest():
    """The subscription with what ``permitted`` reads of it, in one statement. Built once: a
    feed poll is mostly this and a few more small queries, so building them counts."""
    return (db.select(FeedSubscription).where(FeedSubscription.token_hash == db.bindparam("digest"))
            .options(joinedload(FeedSubscription.user), joinedload(FeedSubscription.kampung),
                     joinedload(FeedSubscription.wilayah)))


def find_by_token(token):
    """The active subscription for ``token``, or None (unknown, malformed or revoked)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    digest = token_digest(token)
    subscription = db.session.scalar(_by_digest(), {"digest": digest})
    if subscription is None or not hmac.compare_digest(subscription.token_hash, digest):
        return None
    return subscription if subscription.active else None


# -- what a user may subscribe to ------------------------------------------------------------------

def own_seksi(user, kampung):
    """Seksi keys of ``user``'s activities in ``kampung``: None for the whole plan (core
    positions), a set (possibly empty) otherwise."""
    positions = user.active_positions(kampung)
    if any(p.role in WHOLE_PLAN_ROLES for p in positions):
        return None
    return {p.seksi for p in positions if p.role in SEKSI_ROLES}


def has_own_activities(user):
    """Whether "Kegiatan saya" means anything for ``user``: a core position or a seksi."""
    return any(own_seksi(user, p.kampung) is None or own_seksi(user, p.kampung) for p in user.active_positions())


def wilayah_choices(user):
    """Kecamatan and kabupaten (or larger) an operator or admin may subscribe to."""
    if user.is_platform_admin:
        query = db.select(Wilayah).where(Wilayah.level.in_(("kabupaten", "kecamatan")))
    elif user.operator_scope is not None:
        scope = user.operator_scope
        query = db.select(Wilayah).where(Wilayah.id.in_(scope.descendant_ids_query()),
                                         Wilayah.level.in_(("provinsi", "kabupaten", "kecamatan")))
    else:
        return []
    found = db.session.scalars(query).all()
    order = {"provinsi": 0, "kabupaten": 1, "kecamatan": 2}
    return sorted(found, key=lambda w: (order[w.level], w.name))


def may_see_wilayah(user, wilayah):
    if wilayah is None or wilayah.level == "desa":
        return False
    scope = user.operator_scope
    # The same region needs no walk up its ancestors (the usual district feed: one's own area).
    return user.is_platform_admin or (scope is not None and (scope.id == wilayah.id or scope.contains(wilayah)))


def permitted(subscription):
    """Whether the owner may still see what the feed shows (checked on every fetch)."""
    user = subscription.user
    if user is None or not user.is_active:
        return False
    if subscription.scope == "saya":
        return True  # computed from the current positions each time
    if subscription.scope in ("kampung", "seksi"):
        return subscription.kampung is not None and subscription.kampung.can_view(user)
    return may_see_wilayah(user, subscription.wilayah)


def coverage(subscription):
    """{kampung id: seksi keys, or None for all} the feed covers right now."""
    user, scope = subscription.user, subscription.scope
    if scope == "kampung":
        return {subscription.kampung_id: None}
    if scope == "seksi":
        return {subscription.kampung_id: {subscription.seksi}}
    if scope == "wilayah":
        ids = db.session.scalars(db.select(KampungKB.id).where(
            KampungKB.desa_id.in_(subscription.wilayah.descendant_ids_query()))).all()
        return dict.fromkeys(ids)
    covered = {}
    for position in user.active_positions():
        kampung = position.kampung
        seksi = own_seksi(user, kampung)
        if seksi is None or seksi:
            covered[kampung.id] = seksi
    return covered


def describe(subscription):
    """What the subscription shows, in words."""
    scope = subscription.scope
    if scope == "kampung":
        return f"Seluruh rencana {subscription.kampung.name}"
    if scope == "seksi":
        return f"{labels.SEKSI_SHORT[subscription.seksi]} — {subscription.kampung.name}"
    if scope == "wilayah":
        return (f"{subscription.wilayah.display_name}: {subscription.months_back} bulan lalu sampai "
                f"{subscription.months_ahead} bulan ke depan")
    return SCOPES["saya"]


# -- changes ---------------------------------------------------------------------------------------

def active_subscriptions(user):
    return db.session.scalars(db.select(FeedSubscription).where(
        FeedSubscription.user_id == user.id, FeedSubscription.revoked_at.is_(None))
        .order_by(FeedSubscription.created_at.desc(), FeedSubscription.id.desc())).all()


def create(user, name, scope, kampung=None, seksi=None, wilayah=None, reminder=False,
           months_back=None, months_ahead=None):
    """Validate and add a subscription; returns (subscription, token). The token is shown
    once and cannot be recovered. Raises SubscriptionError."""
    name = " ".join((name or "").split())
    if not name:
        raise SubscriptionError("Beri nama langganan, misalnya \"HP saya\".", "name")
    if len(name) > NAME_MAX:
        raise SubscriptionError(f"Nama paling banyak {NAME_MAX} karakter.", "name")
    if scope not in SCOPES:
        raise SubscriptionError("Pilih isi kalender.", "scope")
    if len(active_subscriptions(user)) >= MAX_ACTIVE:
        raise SubscriptionError(f"Anda sudah punya {MAX_ACTIVE} langganan aktif. Cabut yang tidak dipakai "
                                "sebelum membuat yang baru.", "name")
    if scope in ("kampung", "seksi"):
        if kampung is None or not kampung.can_view(user):
            raise SubscriptionError("Pilih Kampung KB.", "kampung")
        if scope == "seksi" and seksi not in SEKSI:
            raise SubscriptionError("Pilih seksi.", "seksi")
    if scope == "wilayah" and not may_see_wilayah(user, wilayah):
        raise SubscriptionError("Pilih kecamatan atau kabupaten dalam wilayah kerja Anda.", "wilayah")
    if scope == "saya" and not has_own_activities(user):
        raise SubscriptionError("Anda belum tercatat sebagai pengurus atau anggota seksi, jadi belum ada "
                                "\"kegiatan saya\". Pilih seluruh rencana Kampung KB atau satu seksi.", "scope")
    back, ahead = WINDOWS.get(scope, DEFAULT_WINDOW)
    back = back if months_back is None else months_back
    ahead = ahead if months_ahead is None else months_ahead
    for value, field in ((back, "months_back"), (ahead, "months_ahead")):
        if not 0 <= value <= MAX_MONTHS:
            raise SubscriptionError(f"Isi antara 0 dan {MAX_MONTHS} bulan.", field)
    token = new_token()
    subscription = FeedSubscription(
        user=user, name=name, scope=scope, reminder=bool(reminder), months_back=back, months_ahead=ahead,
        kampung=kampung if scope in ("kampung", "seksi") else None,
        seksi=seksi if scope == "seksi" else None, wilayah=wilayah if scope == "wilayah" else None,
        token_hash=token_digest(token), token_hint=token[-4:])
    db.session.add(subscription)
    db.session.flush()
    return subscription, token


def revoke(subscription):
    if subscription.revoked_at is None:
        subscription.revoked_at = datetime.now(timezone.utc)


def revoke_all(user):
    subscriptions = active_subscriptions(user)
    for subscription in subscriptions:
        revoke(subscription)
    return len(subscriptions)


def touch(subscription, now=None):
    """Record use, at most every five minutes (a feed poll should rarely write)."""
    now = now or datetime.now(timezone.utc)
    last = subscription.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    if last is None or now - last >= timedelta(minutes=5):
        subscription.last_used_at = now
        return True
    return False
