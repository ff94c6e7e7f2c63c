from urllib.parse import urlsplit

from flask import current_app, flash, make_response, redirect, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user

from portal.auth_setup import start_session
from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import LoginForm, PasswordChangeForm, ProfileForm
from portal.blueprints.auth.services import PasswordError, authenticate, change_password, normalise_username
from portal.extensions import db, limiter
from portal.rendering import render


def safe_next(target):
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def landing(user):
    """Where a sign-in without ``next`` goes: a section head of one seksi in one Kampung KB to
    that seksi's page, everyone else to Beranda."""
    positions = user.active_positions()
    if not user.is_platform_admin and user.operator_scope is None and positions and all(
            p.role == "ketua_seksi" for p in positions) and len({(p.kampung_id, p.seksi) for p in positions}) == 1:
        return url_for("progress.seksi_page", kampung_id=positions[0].kampung_id, seksi=positions[0].seksi)
    return url_for("home.index")


THROTTLED = "Terlalu banyak percobaan masuk yang gagal. Tunggu 15 menit lalu coba lagi."


def _account_key():
    return "login-account:" + normalise_username(request.form.get("username"))[:64]


def _failed(response):
    return response.status_code == 422


def _throttled(limit):
    """A breached login limit: the form again (username kept) with the reason, and a log line."""
    current_app.logger.warning("login throttled (%s) for %r from %s", limit.limit,
                               normalise_username(request.form.get("username"))[:64], request.remote_addr)
    form = LoginForm()
    form.password.errors = [THROTTLED]
    return make_response(render("auth/login.html", status=429, form=form))


# Only failed attempts count (deduct_when), per account and per address; GET is never limited.
@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_LIMIT"], key_func=_account_key, methods=["POST"],
               deduct_when=_failed, on_breach=_throttled, scope="login-account")
@limiter.limit(lambda: current_app.config["LOGIN_ADDRESS_LIMIT"], key_func=get_remote_address,
               methods=["POST"], deduct_when=_failed, on_breach=_throttled, scope="login-address")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            db.session.commit()
            start_session(user)
            return redirect(safe_next(request.args.get("next")) or landing(user))
        # Never the password; the username is cut and quoted (no log injection).
        current_app.logger.warning("login failed for %r from %s",
                                   normalise_username(form.username.data)[:64], request.remote_addr)
        form.password.errors.append("Nama pengguna atau kata sandi salah, atau akun tidak aktif.")
    status = 422 if form.errors else 200
    return render("auth/login.html", status=status, form=form)


@bp.route("/keluar", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        # The session cookie is signed, not stored: rotating the token is what makes a copy of
        # it useless. It ends the account's sessions on every device.
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    session.clear()
    flash("Anda telah keluar.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        form.populate_obj(current_user)
        db.session.commit()
        flash("Profil disimpan.", "success")
        return redirect(url_for("auth.profile"))
    return render("auth/profile.html", status=422 if form.errors else 200, form=form)


@bp.route("/profil/kata-sandi", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data)
        except PasswordError as exc:
            form.current.errors.append(str(exc))
        else:
            db.session.commit()
            # The session token rotated: other sessions end, this one continues.
            start_session(current_user._get_current_object())
            flash("Kata sandi diganti. Sesi di perangkat lain telah diakhiri.", "success")
            return redirect(url_for("auth.profile"))
    return render("auth/password.html", status=422 if form.errors else 200, form=form)
