"""Langganan kalender (create, list, revoke), the private feed, and one activity's .ics.

The feed URL is the only thing that authenticates a feed request: no session, GET only. It
answers 404 for an unknown or revoked token and for an owner who may no longer see what it
shows, and 304 when the calendar app already has the current version.
"""
from datetime import datetime, timezone

from flask import Response, abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required

from portal.blueprints.feeds import bp, builder
from portal.blueprints.feeds.forms import SubscriptionForm
from portal.blueprints.feeds.services import (
    SubscriptionError, active_subscriptions, create, describe, find_by_token, has_own_activities, permitted,
    revoke, revoke_all, token_digest, touch, wilayah_choices,
)
from portal.extensions import db, limiter
from portal.models import FeedSubscription, KampungKB, Wilayah
from portal.rendering import render

CALENDAR_TYPE = "text/calendar; charset=utf-8"
# Google Calendar refuses subscriptions much above 1 MB; warn a little before that.
SIZE_WARNING = 900_000


def feed_url(token):
    return url_for("feeds.feed", token=token, _external=True)


def _row_url(row):
    return url_for("progress.activity", plan_id=row.plan_id, row_id=row.id, _external=True)


def _page(form, created=None, status=200):
    subscriptions = active_subscriptions(current_user)
    positions = current_user.active_positions()
    zone = positions[0].kampung.timezone if positions else current_app.config["DEFAULT_TIMEZONE"]
    body, status = render("feeds/index.html", status=status, form=form, created=created, tz=zone,
                          size_warning=SIZE_WARNING,
                          subscriptions=[(s, describe(s)) for s in subscriptions],
                          has_kampungs=bool(form.kampung.choices))
    # The URL is shown once: no browser or proxy keeps a copy of the page that shows it.
    return body, status, ({"Cache-Control": "no-store"} if created else {})


def _form():
    from portal.blueprints.kampung.services import kampungs_for_home
    form = SubscriptionForm()
    own = has_own_activities(current_user)
    wilayahs = wilayah_choices(current_user)
    form.set_choices(kampungs_for_home(current_user), wilayahs, own_activities=own)
    if request.method == "GET":
        # An Anggota without a seksi has no "Kegiatan saya"; an operator starts from their area.
        if not own:
            form.scope.data = "wilayah" if wilayahs else "kampung"
        if current_user.operator_scope is not None:
            form.wilayah.data = current_user.operator_scope.id
    return form


@bp.route("/kalender", methods=["GET", "POST"])
@login_required
def index():
    form = _form()
    if request.method == "GET":
        return _page(form, created=_created())
    if form.validate_on_submit():
        kampung = db.session.get(KampungKB, form.kampung.data) if form.kampung.data else None
        wilayah = db.session.get(Wilayah, form.wilayah.data) if form.wilayah.data else None
        try:
            subscription, token = create(
                current_user, form.name.data, form.scope.data, kampung=kampung, seksi=form.seksi.data or None,
                wilayah=wilayah, reminder=form.reminder.data,
                months_back=form.months_back.data if form.scope.data == "wilayah" else None,
                months_ahead=form.months_ahead.data if form.scope.data == "wilayah" else None)
        except SubscriptionError as error:
            field = error.field
            if (field == "wilayah" and len(form.wilayah.choices) <= 1) or (field == "kampung" and not form.kampung.choices):
                field = "scope"  # that field is not on this user's page: say it where they look
            getattr(form, field).errors.append(str(error))
        else:
            db.session.commit()
            # Post/Redirect/Get: the next page shows the URL once (taken out of the session), so
            # reloading it neither subscribes again nor shows the URL again.
            session["new_feed"] = {"id": subscription.id, "token": token}
            return redirect(url_for("feeds.index", _anchor="alamat"))
    unshown = (("wilayah", "months_back", "months_ahead") if len(form.wilayah.choices) <= 1 else ()) + (
        ("kampung",) if not form.kampung.choices else ())
    if any(getattr(form, name).errors for name in unshown):
        # A value for a field this user's page does not show: say it where they look.
        form.scope.errors = [*form.scope.errors, "Pilihan kalender ini tidak tersedia untuk Anda. Muat ulang "
                                                 "halaman lalu pilih lagi."]
    return _page(form, status=422)


def _created():
    """The subscription just created and its URL, once; None on any later visit."""
    new = session.pop("new_feed", None)
    subscription = db.session.get(FeedSubscription, new["id"]) if new else None
    if subscription is None or subscription.user_id != current_user.id or not subscription.active:
        return None
    url = feed_url(new["token"])
    return {"subscription": subscription, "url": url, "what": describe(subscription),
            "webcal": "webcal://" + url.split("://", 1)[1]}


@bp.route("/kalender/<int:subscription_id>/cabut", methods=["POST"])
@login_required
def revoke_one(subscription_id):
    subscription = db.session.get(FeedSubscription, subscription_id)
    if subscription is None or subscription.user_id != current_user.id or not subscription.active:
        abort(404)
    revoke(subscription)
    db.session.commit()
    flash(f"Langganan “{subscription.name}” dicabut. Alamatnya tidak dapat dipakai lagi.", "success")
    return redirect(url_for("feeds.index"))


@bp.route("/kalender/cabut-semua", methods=["POST"])
@login_required
def revoke_everything():
    count = revoke_all(current_user)
    db.session.commit()
    flash(f"{count} langganan dicabut." if count else "Tidak ada langganan aktif.", "success")
    return redirect(url_for("feeds.index"))


# -- the feed -------------------------------------------------------------------------------------

def _limit_key():
    token = (request.view_args or {}).get("token", "")
    return "feed:" + token_digest(token)[:16]


def _not_found():
    return Response("Langganan kalender tidak ditemukan atau sudah dicabut.\n", 404,
                    mimetype="text/plain")


@bp.route("/ical/<token>.ics")
@limiter.limit(lambda: current_app.config["FEED_RATE_LIMIT"], key_func=_limit_key)
def feed(token):
    subscription = find_by_token(token)
    if subscription is None or not permitted(subscription):
        return _not_found()
    if touch(subscription):
        db.session.commit()
    current = builder.version(subscription, request.host_url)
    headers = {"ETag": f'"{current.etag}"', "Cache-Control": "private, max-age=900"}
    # If-None-Match decides when sent (RFC 9110 13.2.2), from the version alone: no rows loaded.
    if request.if_none_match:
        if request.if_none_match.contains_weak(current.etag):
            headers["Last-Modified"] = _http_date(_last_modified(subscription, current))
            return Response(status=304, headers=headers)
    body, digest = builder.cached_body(subscription, current, _row_url)
    _record_content(subscription, body, digest)
    last_modified = _last_modified(subscription, current)
    headers["Last-Modified"] = _http_date(last_modified)
    since = request.if_modified_since
    if not request.if_none_match and since is not None and last_modified <= since:
        return Response(status=304, headers=headers)
    headers["Content-Disposition"] = 'inline; filename="kampung-kb.ics"'
    return Response(body, 200, headers=headers, content_type=CALENDAR_TYPE)


def _record_content(subscription, body, digest):
    """Remember when the feed's text last changed (and its size): a change that leaves no
    newer timestamp behind (an undone mark, an ended position) still moves Last-Modified."""
    if subscription.content_hash != digest:
        subscription.content_hash = digest
        subscription.content_changed_at = datetime.now(timezone.utc).replace(microsecond=0)
        subscription.last_size = len(body.encode("utf-8"))
        db.session.commit()


def _last_modified(subscription, current):
    changed = builder.utc(subscription.content_changed_at)
    return max(current.last_modified, changed) if changed else current.last_modified


def _http_date(moment):
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


@bp.route("/rencana/<int:plan_id>/kegiatan/<int:row_id>/kalender.ics")
@login_required
def activity_ics(plan_id, row_id):
    """"Tambahkan ke kalender": one activity of an approved plan as an .ics download."""
    from portal.blueprints.progress.services import get_activity_or_404
    from portal.blueprints.progress.services import is_in_force
    plan, row = get_activity_or_404(plan_id, row_id, current_user)
    # Only the version in force: a superseded one would publish an old schedule under the same UID.
    body = builder.single(row, _row_url(row)) if is_in_force(plan) else None
    if body is None:
        abort(404)
    return Response(body, 200, content_type=CALENDAR_TYPE, headers={
        "Content-Disposition": f'attachment; filename="kegiatan-{row.id}.ics"', "Cache-Control": "private, no-cache"})
