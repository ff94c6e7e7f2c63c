"""Flask-Login wiring: session identity, and what an unauthenticated request gets back."""
import secrets
import time
from datetime import timedelta

from flask import current_app, flash, make_response, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import joinedload

from portal.extensions import db, htmx, login_manager
from portal.models import User


LOGIN_MESSAGE = "Silakan masuk untuk membuka halaman ini."


def start_session(user):
    """A fresh session for ``user``: nothing carried over from before the login (fixation),
    with the times the idle and absolute lifetimes are measured from."""
    session.clear()
    login_user(user)
    session.permanent = True
    session["login_at"] = session["seen_at"] = int(time.time())


def seconds(value):
    """A lifetime from the config: a timedelta, or seconds (from a PORTAL_* variable)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def init_app(app):
    # The cookie lives as long as the absolute lifetime, however that was set.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=seconds(app.config["SESSION_ABSOLUTE_TIMEOUT"]))
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    @app.before_request
    def _end_stale_session():
        """Idle and absolute session lifetimes, checked on the server (the signed cookie only
        carries the times): an expired session is logged out and treated as anonymous."""
        if not current_user.is_authenticated or request.endpoint in ("static", "home.healthz"):
            return None
        now = int(time.time())
        started, seen = session.get("login_at", 0), session.get("seen_at", 0)
        idle, absolute = seconds(current_app.config["SESSION_IDLE_TIMEOUT"]), seconds(
            current_app.config["SESSION_ABSOLUTE_TIMEOUT"])
        too_old, idle_too_long = now - started > absolute, now - seen > idle
        if too_old or idle_too_long:
            current_app.logger.info("session ended (%s) for user %s",
                                    "absolute" if too_old else "idle", current_user.id)
            logout_user()
            session.clear()
            reason = "sudah terlalu lama" if too_old else "tidak aktif terlalu lama"
            return to_login(f"Sesi Anda berakhir karena {reason}. Silakan masuk lagi.")
        if now - seen >= 60:  # refresh at most once a minute, not a new cookie per request
            session["seen_at"] = now
        return None

    @app.before_request
    def _force_password_change():
        """An account with a temporary password may only change it (or log out)."""
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in ("auth.password", "auth.logout", "static", "home.healthz")
        ):
            return redirect(url_for("auth.password"))
        return None


@login_manager.user_loader
def load_user(session_id):
    """The session holds "id:token"; a rotated token (password change) ends the session."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    # Positions with the account: nearly every page asks what the user holds.
    user = db.session.get(User, int(user_id), options=[joinedload(User.positions)])
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    return to_login(LOGIN_MESSAGE)


def to_login(message):
    """Send an anonymous request to the login page, coming back here afterwards."""
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if htmx:
        # Never swap a login form into a table cell: send the whole page to the login screen.
        response = make_response("", 401)
        response.headers["HX-Redirect"] = login_url
        return response
    flash(message, "info")
    return redirect(login_url)
