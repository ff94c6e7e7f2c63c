from urllib.parse import urlsplit

from flask import flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import LoginForm, PasswordChangeForm, ProfileForm
from portal.blueprints.auth.services import PasswordError, authenticate, change_password
from portal.extensions import db
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


@bp.route("/masuk", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            db.session.commit()
            session.clear()  # a fresh session at login
            login_user(user)
            session.permanent = True
            return redirect(safe_next(request.args.get("next")) or landing(user))
        form.password.errors.append("Nama pengguna atau kata sandi salah, atau akun tidak aktif.")
    status = 422 if form.errors else 200
    return render("auth/login.html", status=status, form=form)


@bp.route("/keluar", methods=["POST"])
def logout():
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
            user = current_user._get_current_object()
            session.clear()
            login_user(user)
            session.permanent = True
            flash("Kata sandi diganti. Sesi di perangkat lain telah diakhiri.", "success")
            return redirect(url_for("auth.profile"))
    return render("auth/password.html", status=422 if form.errors else 200, form=form)
